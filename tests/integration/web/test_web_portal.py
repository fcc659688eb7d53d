"""The client portal: the invoice behind the emailed link, and when it counts as viewed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from autoinvoice.bootstrap import App
from autoinvoice.services import invoicing
from autoinvoice.services.payments import RecordPayment, record_payment

BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
)
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


@pytest.fixture
def link(app: App) -> str:
    uow = app.uow()
    with uow:
        token = uow.invoices.portal_token(1)  # made by delivery; read back here
        uow.commit()
    return f"/portal/invoices/{token}"


def viewed(app: App) -> tuple[str, int]:
    uow = app.uow()
    with uow:
        status = uow.invoices.get(1).status.value
        views = [
            e
            for e in uow.audit.recent(subject_type="invoice", subject_id="1")
            if e["action"] == "invoice.viewed"
        ]
    return status, len(views)


def test_the_portal_shows_the_invoice_in_the_clients_language(
    client: TestClient, link: str
) -> None:
    r = client.get(link, headers={"User-Agent": BROWSER})
    assert r.status_code == 200
    page = r.text
    assert "Nordlicht IT Services GmbH" in page and "Hanseatic Logistics AG" in page
    assert "Managed IT services retainer" in page
    assert "5.355,00\xa0€" in page  # German client, German figures
    assert "Amount due" in page and "31.12.2026" in page
    assert "IBAN: DE89 3704 0044 0532 0130 00" in page
    assert f'href="{link}/pdf"' in page
    assert 'name="viewport"' in page and "<script" not in page
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "noindex" in r.headers["x-robots-tag"]


def test_a_persons_first_view_marks_the_invoice_viewed_once(
    app: App, client: TestClient, link: str
) -> None:
    client.get(link, headers={"User-Agent": BROWSER})
    client.get(link, headers={"User-Agent": BROWSER})
    assert viewed(app) == ("viewed", 1)


def test_a_head_request_does_not_mark_it_viewed(app: App, client: TestClient, link: str) -> None:
    r = client.head(link, headers={"User-Agent": BROWSER})
    assert r.status_code == 200
    assert viewed(app) == ("sent", 0)


def test_a_link_preview_bot_does_not_mark_it_viewed(
    app: App, client: TestClient, link: str
) -> None:
    assert client.get(link, headers={"User-Agent": SLACK}).status_code == 200
    assert viewed(app) == ("sent", 0)


def test_staff_looking_at_the_client_view_do_not_mark_it_viewed(
    app: App, client: TestClient, owner: str, link: str
) -> None:
    assert client.get(link, headers={"User-Agent": BROWSER}).status_code == 200
    assert viewed(app) == ("sent", 0)


def test_the_portal_pdf_is_the_invoice_pdf(app: App, client: TestClient, link: str) -> None:
    r = client.get(f"{link}/pdf", headers={"User-Agent": BROWSER})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert viewed(app) == ("sent", 0)


def test_an_unknown_link_is_a_friendly_404(client: TestClient) -> None:
    for path in (
        "/portal/invoices/" + "x" * 43,
        "/portal/invoices/short",
        "/portal/invoices/" + "y" * 43 + "/pdf",
    ):
        r = client.get(path, headers={"User-Agent": BROWSER})
        assert r.status_code == 404
        assert "not valid any more" in r.text
        assert "Back to invoices" not in r.text


def test_a_voided_invoice_shows_as_cancelled(app: App, client: TestClient, link: str) -> None:
    invoicing.void_invoice(1, "issued twice", uow=app.uow(), clock=app.clock, actor="test")
    r = client.get(link, headers={"User-Agent": BROWSER})
    assert r.status_code == 200
    assert "This invoice has been cancelled" in r.text
    assert "issued twice" in r.text
    assert viewed(app) == ("void", 0)


def test_a_paid_invoice_says_nothing_is_due(app: App, client: TestClient, link: str) -> None:
    record_payment(RecordPayment(1, "5355.00"), uow=app.uow(), clock=app.clock, actor="test")
    page = client.get(link, headers={"User-Agent": BROWSER}).text
    assert "Paid in full" in page and "How to pay" not in page
