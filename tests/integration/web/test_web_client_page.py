"""The client's own page: its open and paid invoices and a statement of account with a
running balance; links that can be revoked; nothing for strangers."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient
from web_support import milestone_draft

from autoinvoice.bootstrap import App
from autoinvoice.services import portal
from autoinvoice.services.payments import RecordPayment, record_payment

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148 Safari/604.1"


def _pay(app: App, invoice_id: int, amount: str) -> None:
    record_payment(
        RecordPayment(invoice_id, amount, method="bank_transfer"),
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )


def test_the_client_page_lists_invoices_and_a_running_balance(app: App, client: TestClient) -> None:
    # Hanseatic (invoice 1, €5,355.00) pays part; a draft for Brightwave stays hidden
    _pay(app, 1, "2000.00")
    milestone_draft(app)
    with app.uow(read_only=True) as uow:
        hanseatic = uow.invoices.get(1).client_id or 0
    token = portal.client_link(hanseatic, uow=app.uow())
    r = client.get(f"/portal/clients/{token}", headers={"User-Agent": PHONE})
    assert r.status_code == 200, r.text
    page = r.text
    assert "Hanseatic Logistics AG" in page and "<script" not in page
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "INV-2026-000001" in page and "INV-2026-000002" not in page  # another client's
    rows = re.findall(r'<tr>\s*<td class="nowrap">([^<]+)</td>\s*<td>(.*?)</td>', page, re.S)
    entries = [re.sub(r"<[^>]+>", "", what).strip() for _, what in rows]
    assert entries == ["Invoice INV-2026-000001", "Payment (bank transfer) for INV-2026-000001"]
    assert "Balance owed" in page and "3.355,00\xa0€" in page  # German client, German figures
    # the invoice's own portal page links here
    with app.uow() as uow:
        invoice_token = uow.invoices.portal_token(1)
        uow.commit()
    assert f"/portal/clients/{token}" in client.get(f"/portal/invoices/{invoice_token}").text


def test_a_fully_paid_client_owes_nothing(app: App, client: TestClient) -> None:
    _pay(app, 1, "5355.00")
    with app.uow(read_only=True) as uow:
        hanseatic = uow.invoices.get(1).client_id or 0
    page = client.get(f"/portal/clients/{portal.client_link(hanseatic, uow=app.uow())}").text
    assert "Nothing is due" in page and "No open invoices." in page
    assert "Paid invoices" in page and "INV-2026-000001" in page


def test_revoked_links_stop_working(app: App, client: TestClient) -> None:
    with app.uow(read_only=True) as uow:
        hanseatic = uow.invoices.get(1).client_id or 0
    old = portal.client_link(hanseatic, uow=app.uow())
    new = portal.client_link(hanseatic, uow=app.uow(), revoke=True)
    assert old != new
    assert client.get(f"/portal/clients/{old}").status_code == 404
    assert client.get(f"/portal/clients/{new}").status_code == 200
    with app.uow() as uow:
        before = uow.invoices.portal_token(1)
        uow.commit()
    after = portal.revoke_invoice_link(1, uow=app.uow(), clock=app.clock, actor="test")
    assert client.get(f"/portal/invoices/{before}").status_code == 404
    assert client.get(f"/portal/invoices/{after}").status_code == 200
    assert client.get("/portal/clients/not-a-token").status_code == 404


def test_amounts_are_exact(app: App) -> None:
    _pay(app, 1, "0.01")
    with app.uow(read_only=True) as uow:
        hanseatic = uow.invoices.get(1).client_id or 0
    [statement] = portal.client_statements(
        portal.client_link(hanseatic, uow=app.uow()), uow=app.uow()
    )
    assert statement.balance == Decimal("5354.99")
