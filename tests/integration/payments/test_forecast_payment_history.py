"""The inflow forecast learns each client's payment habit from its paid invoices — on real
storage (SQLite and PostgreSQL), with invoices settled through the ledger's use cases. A
credit note is not a payment: an invoice it settled says nothing about when the client pays."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from autoinvoice.services.credit_notes import IssueCreditNote, issue_credit_note
from autoinvoice.services.reports import forecast_report
from ledger_world import invoice, issued, receive

pytest_plugins = ["ledger_fixtures"]  # the app and client_id fixtures
D = Decimal


def test_an_invoice_cancelled_by_a_credit_note_does_not_count_as_paying_early(
    app, client_id
) -> None:
    cancelled = issued(app, client_id, "100.00")
    issue_credit_note(
        IssueCreditNote(cancelled, "ordered by mistake"), uow=app.uow(), clock=app.clock, actor="t"
    )
    assert invoice(app, cancelled).status.value == "paid"
    open_one = issued(app, client_id, "1000.00")  # 1190.00, due in 30 days
    due = invoice(app, open_one).due_date
    report = forecast_report(uow=app.uow(), clock=app.clock)
    (row,) = report.rows
    # no payment history: expected on its due date, not in this week
    (k,) = [k for k, w in enumerate(report.weeks) if w.start <= due <= w.end]
    assert row.weeks[k] == D("1190.00"), (row.weeks, due)


def test_an_invoice_settled_by_client_credit_does_not_count_as_paying_early(app, client_id) -> None:
    late = issued(app, client_id, "100.00")  # 119.00, due in 30 days
    start = app.clock.now()
    app.clock.set(start + timedelta(days=40))  # paid 10 days late, twice over
    receive(app, client_id, "238.00")
    assert invoice(app, late).status.value == "paid"
    from_credit = issued(app, client_id, "100.00")  # settled at issue, 30 days "early"
    assert invoice(app, from_credit).status.value == "paid"
    open_one = issued(app, client_id, "1000.00")  # 1190.00
    due = invoice(app, open_one).due_date
    report = forecast_report(uow=app.uow(), clock=app.clock)
    (row,) = report.rows
    # the habit is the one payment: 10 days late, not (10 − 30) / 2 = 10 days early
    (k,) = [k for k, w in enumerate(report.weeks) if w.start <= due + timedelta(days=10) <= w.end]
    assert row.weeks[k] == D("1190.00"), (row.weeks, due)
