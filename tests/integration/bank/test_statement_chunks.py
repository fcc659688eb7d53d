"""The import applies its confident matches in chunks (``services.bank.APPLY_CHUNK``): however
the lines fall into chunks — one line each, as it was applied before, or a split payment of
one invoice across two chunks — the statement ends the same, and a line is matched against
what the lines before it paid, though those are not written yet; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from autoinvoice.adapters.bank import parse_statement
from autoinvoice.adapters.db import tables as t
from autoinvoice.domain.payment_aids import creditor_reference
from autoinvoice.domain.statements import StatementTransaction
from autoinvoice.services import bank
from autoinvoice.services.bank import ImportResult, import_statement
from bank_world import SAMPLES, BankWorld, make_bank_world
from fresh_databases import fresh_databases
from ledger_world import check_ledger, credit, invoice

FILES = ("camt053_valid.xml", "camt053_overlap.xml", "camt054_valid.xml")


def _import_all(world: BankWorld) -> list[ImportResult]:
    out = []
    for name in FILES:
        data = (SAMPLES / name).read_bytes()
        out.append(
            import_statement(
                parse_statement(data, "camt"),
                fmt="camt",
                content=data,
                filename=name,
                uow=world.app.uow(),
                clock=world.app.clock,
                actor="test",
            )
        )
    return out


def _rows(world: BankWorld) -> dict[str, list[dict[str, Any]]]:
    b, i = t.bank_transactions.c, t.invoices.c
    queries = {
        "lines": select(b.id, b.status, b.confidence, b.reason, b.client_id, b.payment_id),
        "payments": select(t.payments),
        "allocations": select(t.payment_allocations),
        "credit": select(t.client_credits),
        "invoices": select(i.id, i.status, i.amount_paid, i.paid_at),
        "audit": select(t.audit_log),
    }
    with world.app.engine.connect() as c:
        return {
            name: [dict(r._mapping) for r in c.execute(q.order_by(q.selected_columns[0]))]
            for name, q in queries.items()
        }


@pytest.mark.parametrize("chunk", [1, 2])
def test_a_statement_applied_in_small_chunks_ends_as_in_one_chunk(
    database_url: str,
    tmp_path: Path,
    sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
) -> None:
    fresh = fresh_databases(database_url, tmp_path, sqlite_template)
    whole = make_bank_world(fresh(), tmp_path)
    try:
        expected, rows = _import_all(whole), _rows(whole)
    finally:
        whole.app.engine.dispose()
    assert sum(r.applied for r in expected) == 7  # invoice 6 paid by two lines among them
    monkeypatch.setattr(bank, "APPLY_CHUNK", chunk)
    chunked = make_bank_world(fresh(), tmp_path)
    try:
        assert _import_all(chunked) == expected
        assert _rows(chunked) == rows
        assert all(check_ledger(chunked.app, c) == [] for c in chunked.clients)
    finally:
        chunked.app.engine.dispose()


def test_a_line_naming_an_invoice_an_earlier_line_of_the_file_paid_waits_for_review(
    database_url: str, tmp_path: Path
) -> None:
    world = make_bank_world(database_url, tmp_path)
    try:
        inv = invoice(world.app, world.invoices[1])  # 119.00, Hanseatic
        line = StatementTransaction(
            account="DE89370400440532013000",
            booking_date=date(2026, 11, 23),
            amount=Decimal("119.00"),
            currency="EUR",
            counterparty_name="Hanseatic Logistics AG",
            structured_ref=creditor_reference(inv.number),
        )
        twice = [
            line,
            replace(line, booking_date=date(2026, 11, 24)),
        ]
        result = import_statement(
            twice, fmt="camt", content=b"x", uow=world.app.uow(), clock=world.app.clock, actor="t"
        )
        assert (result.applied, result.review) == (1, 1)
        assert invoice(world.app, inv.id).amount_paid == Decimal("119.00")
        assert credit(world.app, world.clients[0]) == 0
    finally:
        world.app.engine.dispose()
