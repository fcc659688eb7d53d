"""The invoices list (filters, bulk send / remind / void), the payments page (filters,
reversing) and the credit-notes page; the list queries on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from demo_copy import copied_demo_app, demo_template
from fastapi.testclient import TestClient
from web_support import add_user, demo_app, milestone_draft, sign_in

from autoinvoice.bootstrap import App
from autoinvoice.entrypoints.web import invoice_list
from autoinvoice.services import credit_notes, jobs, payments

KEY = re.compile(r'name="key" value="([^"]+)"')
FLASH = re.compile(r'class="flash"[^>]*>([^<]*)<')
OVERDUE_DAY = datetime(2027, 2, 10, 9, tzinfo=UTC)  # both demo invoices are past due


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_template(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def app(template: Path, tmp_path: Path) -> App:
    return copied_demo_app(template, tmp_path / "app")


def _key(client: TestClient, path: str = "/invoices") -> str:
    match = KEY.search(client.get(path).text)
    assert match, "no bulk form on the page"
    return match.group(1)


def _bulk(client: TestClient, csrf: str, key: str, action: str, ids: list[int], **extra: str):  # type: ignore[no-untyped-def]
    data = {"csrf_token": csrf, "key": key, "action": action, "invoice_ids": [str(i) for i in ids]}
    return client.post("/invoices/bulk", data={**data, **extra}, follow_redirects=False)


def _flash(client: TestClient, path: str = "/invoices") -> str:
    match = FLASH.search(client.get(path).text)
    assert match, "no flash"
    return match.group(1)


def _run_jobs(app: App) -> None:
    jobs.run_jobs_once(uow=app.uow(), clock=app.clock, worker="t", handlers=app.handlers("t"))


def _pay(app: App, invoice_id: int, amount: str, method: str = "bank_transfer") -> int:
    cmd = payments.RecordPayment(invoice_id=invoice_id, amount=amount, method=method)
    return payments.record_payment(cmd, uow=app.uow(), clock=app.clock, actor="test").payment_id


# -- the invoices list ----------------------------------------------------------------------
def test_invoice_filters_combine_and_paging_keeps_them(
    client: TestClient, owner: str, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    milestone_draft(app)  # a draft for Brightwave beside the two issued invoices
    with app.uow(read_only=True) as uow:
        by_number = {s.number: s for s in uow.invoices.summaries()}
    first = by_number["INV-2026-000001"]
    page = client.get(f"/invoices?client={first.client_id}&q=000001&issued_from=2026-12-01")
    assert "INV-2026-000001" in page.text and "INV-2026-000002" not in page.text
    assert "Draft #" not in page.text
    assert client.get("/invoices?issued_to=2026-11-30").text.count('name="invoice_ids"') == 0
    assert "is not a date" in client.get("/invoices?issued_from=someday").text

    monkeypatch.setattr(invoice_list, "PAGE_SIZE", 1)
    page = client.get("/invoices?status=sent&q=INV").text
    older = re.search(r'href="(/invoices\?[^"]*after=\d+[^"]*)">Older', page)
    assert older, "no link to the next page"
    assert "status=sent" in older.group(1) and "q=INV" in older.group(1)
    assert "INV-2026-000001" in client.get(older.group(1).replace("&amp;", "&")).text


def test_select_all_ticks_every_row_of_the_page(client: TestClient, owner: str) -> None:
    page = client.get("/invoices?select=all").text
    assert page.count('name="invoice_ids"') == page.count(" checked>") == 2
    assert "Clear selection" in page


def test_bulk_send_queues_each_email_once_even_when_submitted_twice(
    client: TestClient, owner: str, app: App
) -> None:
    key = _key(client)
    for _ in range(2):  # a double click: the same form token twice
        assert _bulk(client, owner, key, "send", [1, 2]).status_code == 303
        assert _flash(client) == "Send again: 2 queued."
    _run_jobs(app)
    with app.uow(read_only=True) as uow:
        sent = [m for i in (1, 2) for m in uow.messages.for_invoice(i)]
        audit = uow.audit.search(action="invoice.send_again")
    assert len(sent) == 4  # the first email of each, and one more each
    assert len({m["message_id"] for m in sent}) == 4
    assert sorted(int(a["subject_id"]) for a in audit) == [1, 2]

    draft = milestone_draft(app)
    assert _bulk(client, owner, _key(client), "send", [1, draft]).status_code == 303
    assert _flash(client) == f"Send again: 1 queued, 1 skipped: draft #{draft} is a draft."


def test_bulk_remind_queues_the_next_step_of_overdue_invoices_only(
    client: TestClient, owner: str, app: App
) -> None:
    _bulk(client, owner, _key(client), "remind", [1])
    assert _flash(client) == "Remind: 0 queued, 1 skipped: INV-2026-000001 is not overdue."
    app.clock.set(OVERDUE_DAY)  # type: ignore[attr-defined]
    _pay(app, 2, "10000000")  # paid in full (the rest kept as credit): nothing to remind
    key = _key(client)
    _bulk(client, owner, key, "remind", [1, 2])
    first = _flash(client)
    assert first.startswith("Remind: 1 queued, 1 skipped: INV-2026-000002 is paid")
    _bulk(client, owner, key, "remind", [1])  # the same form again: nothing more
    with app.uow(read_only=True) as uow:
        queued = uow.reminders.list(invoice_id=1)
        audit = uow.audit.search(action="reminder.queued")
    assert len(queued) == 1 and queued[0].status == "queued"
    assert len(audit) == 1 and audit[0]["subject_id"] == "1"
    _run_jobs(app)
    with app.uow(read_only=True) as uow:
        assert [r.status for r in uow.reminders.list(invoice_id=1)] == ["sent"]


def test_bulk_void_needs_a_reason_and_skips_invoices_with_payments(
    client: TestClient, owner: str, app: App
) -> None:
    _pay(app, 2, "100.00")
    refused = _bulk(client, owner, _key(client), "void", [1, 2])
    assert refused.status_code == 422
    assert "say why the invoices are voided" in refused.text
    assert refused.text.count(" checked>") == 2  # the selection survives the error

    _bulk(client, owner, _key(client), "void", [1, 2], reason="billed twice")
    assert _flash(client) == (
        "Void: 1 voided, 1 skipped: INV-2026-000002 has payments "
        "(reverse them or issue a credit note)."
    )
    with app.uow(read_only=True) as uow:
        assert uow.invoices.get(1).status.value == "void"
        assert uow.invoices.get(2).status.value != "void"
    _bulk(client, owner, _key(client), "void", [1], reason="again")
    assert "INV-2026-000001 is void already" in _flash(client)


def test_bulk_actions_refuse_an_unknown_action_or_no_selection(
    client: TestClient, owner: str
) -> None:
    assert _bulk(client, owner, _key(client), "delete", [1]).status_code == 422
    r = _bulk(client, owner, _key(client), "send", [])
    assert r.status_code == 422 and "choose at least one invoice" in r.text


def test_a_viewer_gets_no_checkboxes_and_cannot_post_bulk_actions(
    client: TestClient, app: App
) -> None:
    add_user(app, "viewer@nordlicht.example", "viewer password 1", "viewer")
    csrf = sign_in(client, "viewer@nordlicht.example", "viewer password 1")
    page = client.get("/invoices?select=all").text
    assert 'name="invoice_ids"' not in page and "/invoices/bulk" not in page
    assert _bulk(client, csrf, "k", "send", [1]).status_code == 403
    payments_page = client.get("/payments").text
    assert "/reverse" not in payments_page and "Record a payment" not in payments_page


def test_bulk_form_without_the_csrf_token_is_refused(client: TestClient, owner: str) -> None:
    assert _bulk(client, "forged", _key(client), "send", [1]).status_code == 403


# -- payments and credit notes ----------------------------------------------------------------
def test_payments_page_lists_filters_and_reverses_payments(
    client: TestClient, owner: str, app: App
) -> None:
    assert "No payments yet" in client.get("/payments").text
    first = _pay(app, 1, "100.00", method="cash")
    _pay(app, 2, "10000000")  # more than the balance: the rest is client credit
    page = client.get("/payments").text
    assert f'id="payment-{first}"' in page and "INV-2026-000001" in page
    assert "Cash" in page and "credit-badge" in page
    only_cash = client.get("/payments?method=cash").text
    assert only_cash.count('id="payment-') == 1
    assert "No payments match" in client.get("/payments?received_from=2030-01-01").text
    assert "is not a date" in client.get("/payments?received_to=later").text

    refused = client.post(f"/payments/{first}/reverse", data={"csrf_token": owner, "reason": " "})
    assert refused.status_code == 422 and "say why" in refused.text
    done = client.post(
        f"/payments/{first}/reverse",
        data={"csrf_token": owner, "reason": "bank return", "method": "cash"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/payments?method=cash"
    assert _flash(client, "/payments") == f"Payment {first} reversed. 1 invoice open again."
    page = client.get("/payments").text
    assert "Reversed" in page and "bank return" in page
    again = client.post(f"/payments/{first}/reverse", data={"csrf_token": owner, "reason": "twice"})
    assert again.status_code == 409 and "already reversed" in again.text


def test_credit_notes_page_shows_the_invoice_each_corrects(
    client: TestClient, owner: str, app: App
) -> None:
    assert "No credit notes yet" in client.get("/credit-notes").text
    cmd = credit_notes.IssueCreditNote(invoice_id=1, reason="discount agreed", amount="100.00")
    out = credit_notes.issue_credit_note(cmd, uow=app.uow(), clock=app.clock, actor="test")
    page = client.get("/credit-notes").text
    assert out.number in page and 'href="/invoices/1"' in page and "discount agreed" in page
    with app.uow(read_only=True) as uow:
        other_client = uow.invoices.get(2).client_id
    assert out.number not in client.get(f"/credit-notes?client={other_client}").text
    assert 'aria-current="page">Credit notes' in page


# -- the list queries, on both databases --------------------------------------------------------
def test_list_queries_filter_on_both_databases(tmp_path: Path, database_url: str) -> None:
    app = demo_app(tmp_path, database_url=database_url)
    _pay(app, 1, "50.00", method="cash")
    _pay(app, 2, "60.00")
    with app.uow(read_only=True) as uow:
        inv = uow.invoices.summaries
        assert [s.number for s in inv(number="000002")] == ["INV-2026-000002"]
        assert [s.number for s in inv(number="inv-2026")] == ["INV-2026-000002", "INV-2026-000001"]
        assert inv(issued_from=date(2026, 12, 2)) == []
        assert len(inv(issued_from=date(2026, 12, 1), issued_to=date(2026, 12, 1))) == 2
        assert inv(kind="credit_note") == []
        assert inv(number="%") == []  # a wildcard is text, not a pattern
        pay = uow.ledger.payments
        assert [p.method for p in pay(method="cash")] == ["cash"]
        now = app.clock.now()
        assert len(pay(received_from=now - timedelta(hours=1))) == 2
        assert pay(received_before=now - timedelta(hours=1)) == []
        assert [p.amount for p in pay(method="bank_transfer")] == [Decimal("60.00")]
