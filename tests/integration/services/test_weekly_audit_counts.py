"""The weekly audit's counts on both databases: a section lists at most ``MAX_ITEMS`` and says
how many more there are — all of them, not a page of them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from autoinvoice.services import weekly_audit as wa
from cashflow_world import TODAY, make_ledger


def test_the_overdue_section_counts_every_overdue_invoice(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wa, "MAX_ITEMS", 2)  # so the cap (2 + 100) is reached with few rows
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    for k in range(105):
        ledger.invoice("Acme", "10", due=TODAY - timedelta(days=1 + k % 30))
    audit = wa.weekly_audit(uow=ledger.app.uow(read_only=True), clock=ledger.clock)
    ledger.app.engine.dispose()
    overdue = next(s for s in audit.sections if s.key == "overdue")
    assert (len(overdue.items), overdue.more, overdue.count) == (2, 103, 105)


def test_the_overdue_section_sums_what_is_open_per_currency(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wa, "MAX_ITEMS", 1)
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    late = TODAY - timedelta(days=3)
    ledger.invoice("Acme", "100.10", due=late, status="partially_paid", paid="0.05")
    ledger.invoice("Acme", "50", due=late)
    ledger.invoice("Acme", "20", due=late, currency="USD")
    ledger.invoice("Acme", "70", due=TODAY)  # due today: not late yet
    audit = wa.weekly_audit(uow=ledger.app.uow(read_only=True), clock=ledger.clock)
    ledger.app.engine.dispose()
    overdue = next(s for s in audit.sections if s.key == "overdue")
    assert [m.format("en") for m in overdue.totals] == ["€150.05", "$20.00"]
    assert (len(overdue.items), overdue.count) == (1, 3)
    _, body = wa.audit_email(audit, "https://ai.example")
    assert "Overdue invoices: 3 (€150.05, $20.00 open)" in body
