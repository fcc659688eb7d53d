"""The dashboard's "overdue" and the reminders' "overdue" are one definition, on SQLite and
PostgreSQL: issue 6 says an invoice turns overdue when its due date passes in the *client's*
time zone — the day the reminders, the admin list and the ``invoice.overdue`` webhook use."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import update

from autoinvoice.adapters.db import tables as t
from autoinvoice.services.reminders import client_today
from autoinvoice.services.reports import aging_report, overdue_clients_report
from autoinvoice.services.weekly_audit import weekly_audit
from cashflow_world import make_ledger


def test_an_invoice_the_reminders_treat_as_overdue_is_overdue_on_the_dashboard(
    database_url: str, tmp_path: Path
) -> None:
    # 12:00 UTC on 25 November: 13:00 in Berlin (the entity), 01:00 on the 26th in Auckland
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    ledger = make_ledger(database_url, tmp_path, now=now)
    cid = ledger.client("Kiwi Ltd")
    with ledger.app.engine.begin() as c:
        c.execute(
            update(t.clients).where(t.clients.c.id == cid).values(timezone="Pacific/Auckland")
        )
    ledger.invoice("Kiwi Ltd", "500", due=date(2026, 11, 25))
    with ledger.app.uow(read_only=True) as uow:
        assert client_today(uow.clients.get(cid), now) > date(2026, 11, 25)  # reminders: late
    (row,) = aging_report(uow=ledger.app.uow(read_only=True), clock=ledger.clock).rows
    overdue = overdue_clients_report(uow=ledger.app.uow(read_only=True), clock=ledger.clock)
    ledger.app.engine.dispose()
    assert (row.overdue, [o.name for o in overdue]) == (500, ["Kiwi Ltd"])


def test_the_weekly_audit_lists_an_invoice_overdue_where_the_client_is(
    database_url: str, tmp_path: Path
) -> None:
    # 20:00 UTC on 25 November: 21:00 in Berlin (the entity), 09:00 on the 26th in Auckland
    now = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
    ledger = make_ledger(database_url, tmp_path, now=now)
    ledger.client("Acme")  # Berlin: its invoice due today is not late yet
    kiwi = ledger.client("Kiwi Ltd")
    with ledger.app.engine.begin() as c:
        c.execute(
            update(t.clients).where(t.clients.c.id == kiwi).values(timezone="Pacific/Auckland")
        )
    ledger.invoice("Acme", "300", due=date(2026, 11, 25))
    ledger.invoice("Kiwi Ltd", "500", due=date(2026, 11, 24))
    audit = weekly_audit(uow=ledger.app.uow(read_only=True), clock=ledger.clock)
    ledger.app.engine.dispose()
    (overdue,) = (s for s in audit.sections if s.key == "overdue")
    assert [(i.title, i.detail) for i in overdue.items] == [
        ("T-00002 — Kiwi Ltd", "€500.00 open, 2 days past due")
    ]
