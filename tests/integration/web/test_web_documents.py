"""Documents in the signed-in app and the portal: the draft preview, its pre-flight checks on
the invoice page, downloads of every format once issued, and nothing for strangers."""

from __future__ import annotations

import subprocess

from fastapi.testclient import TestClient
from web_support import milestone_draft

from autoinvoice.bootstrap import App
from autoinvoice.services.invoicing import issue_invoice


def _text(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def test_a_draft_preview_needs_sign_in_and_is_marked_draft(app: App) -> None:
    draft = milestone_draft(app)
    with TestClient(create_app_for(app)) as anonymous:
        r = anonymous.get(f"/invoices/{draft}/preview", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_the_preview_and_the_checks_of_a_draft(client: TestClient, owner: str, app: App) -> None:
    draft = milestone_draft(app)
    r = client.get(f"/invoices/{draft}/preview")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "DRAFT" in _text(r.content)
    page = client.get(f"/invoices/{draft}").text
    assert "Not ready to issue" not in page  # the demo draft passes every check
    assert client.get(f"/invoices/{draft}/documents/ubl").status_code == 409  # not issued yet


def test_an_issued_invoice_offers_every_format(client: TestClient, owner: str, app: App) -> None:
    draft = milestone_draft(app)
    issue_invoice(draft, uow=app.uow(), clock=app.clock, actor="test")
    page = client.get(f"/invoices/{draft}").text
    for name in ("facturx", "ubl", "cii"):
        assert f"/invoices/{draft}/documents/{name}" in page
        r = client.get(f"/invoices/{draft}/documents/{name}")
        assert r.status_code == 200, r.text
        assert "attachment" in r.headers["content-disposition"]
    first = client.get(f"/invoices/{draft}/documents/ubl").content
    assert client.get(f"/invoices/{draft}/documents/ubl").content == first  # stored, same bytes
    assert client.get(f"/invoices/{draft}/documents/docx").status_code == 422


def create_app_for(app: App):  # type: ignore[no-untyped-def]
    from autoinvoice.entrypoints.web.app import create_app

    return create_app(app)
