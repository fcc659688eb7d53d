"""Importing bank statements end to end on SQLite and PostgreSQL: each format's realistic
sample is stored, matched and applied; a re-import or an overlapping statement adds nothing;
a broken file names the line or element at fault and stores nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from autoinvoice.adapters.bank import StatementError, parse_statement
from autoinvoice.adapters.db import tables as t
from autoinvoice.services.bank import ImportResult, confirm, dismiss, import_statement, review_list
from bank_world import CSV_MAPPING, EXPECTED, SAMPLES, BankWorld, make_bank_world
from ledger_world import check_ledger, invoice


@pytest.fixture
def bank(database_url: str, tmp_path: Path) -> BankWorld:
    return make_bank_world(database_url, tmp_path)


def _import(world: BankWorld, name: str, fmt: str | None = None) -> ImportResult:
    data = (SAMPLES / name).read_bytes()
    mapping = CSV_MAPPING if fmt == "csv" else None
    txs = parse_statement(data, fmt, mapping=mapping)
    app = world.app
    return import_statement(
        txs,
        fmt=fmt or "auto",
        content=data,
        filename=name,
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )


def _count(world: BankWorld, table: Any) -> int:
    with world.app.uow(read_only=True) as uow:
        return int(uow.connection.execute(select(func.count()).select_from(table)).scalar_one())


def _paid(world: BankWorld, no: int) -> Decimal:
    return Decimal(invoice(world.app, world.invoices[no]).amount_paid)


def _status(world: BankWorld, no: int) -> str:
    return str(invoice(world.app, world.invoices[no]).status.value)


def test_a_camt053_statement_is_matched_applied_and_reviewed(bank: BankWorld) -> None:
    result = _import(bank, "camt053_valid.xml", "camt")
    assert (result.lines, result.imported, result.duplicates) == (10, 10, 0)
    assert (result.applied, result.review, result.outgoing) == (6, 3, 1)
    assert [_status(bank, n) for n in (1, 3, 4, 5, 6, 9)] == ["paid"] * 6
    assert [_paid(bank, n) for n in (2, 7, 8, 10)] == [Decimal(0)] * 4
    for client in bank.clients:
        assert check_ledger(bank.app, client) == []


def test_importing_the_same_statement_again_adds_and_applies_nothing(bank: BankWorld) -> None:
    _import(bank, "camt053_valid.xml", "camt")
    payments = _count(bank, t.payments)
    again = _import(bank, "camt053_valid.xml", "camt")
    assert (again.imported, again.duplicates, again.applied) == (0, 10, 0)
    assert _count(bank, t.payments) == payments
    assert _count(bank, t.bank_transactions) == 10


def test_an_overlapping_statement_and_a_camt054_add_only_their_new_lines(bank: BankWorld) -> None:
    _import(bank, "camt053_valid.xml", "camt")
    overlap = _import(bank, "camt053_overlap.xml", "camt")
    assert (overlap.imported, overlap.duplicates, overlap.applied) == (1, 2, 1)
    assert _status(bank, 2) == "paid"  # "RF67 INV2 0260 0000 2" in the free text
    notification = _import(bank, "camt054_valid.xml", "camt")
    assert (notification.imported, notification.duplicates) == (1, 1)
    assert notification.applied == 0  # invoice 4 is paid already: it waits for review
    assert _count(bank, t.bank_transactions) == 12


def test_an_mt940_statement_is_matched_like_camt(bank: BankWorld) -> None:
    result = _import(bank, "mt940_valid.sta", "mt940")
    assert (result.imported, result.applied, result.review, result.outgoing) == (6, 4, 1, 1)
    assert [_status(bank, n) for n in (1, 3, 4, 6)] == ["paid"] * 4
    assert _import(bank, "mt940_valid.sta", "mt940").imported == 0


def test_an_ofx_statement_is_matched_by_reference_and_number(bank: BankWorld) -> None:
    result = _import(bank, "ofx_valid.ofx", "ofx")
    assert (result.imported, result.applied, result.review, result.outgoing) == (5, 3, 1, 1)
    assert [_status(bank, n) for n in (1, 3, 4, 5)] == ["paid"] * 4
    assert _import(bank, "ofx_valid.ofx", "ofx").imported == 0


def test_a_csv_export_is_read_through_its_saved_mapping(bank: BankWorld) -> None:
    result = _import(bank, "csv_valid.csv", "csv")
    assert (result.imported, result.applied, result.review, result.outgoing) == (6, 4, 1, 1)
    assert [_status(bank, n) for n in (1, 6, 9)] == ["paid"] * 3
    assert _import(bank, "csv_valid.csv", "csv").imported == 0  # keys from the content


@pytest.mark.parametrize(
    ("name", "fmt", "where"),
    [
        ("camt053_broken_amount.xml", "camt", "/Document/BkToCstmrStmt/Stmt/Ntry[3]/Amt"),
        ("camt053_broken_xml.xml", "camt", "line 29"),
        ("mt940_broken.sta", "mt940", "line 11"),
        ("ofx_broken.ofx", "ofx", "line 49"),
        ("csv_broken.csv", "csv", "line 6"),
    ],
)
def test_a_broken_file_names_the_place_at_fault_and_stores_nothing(
    bank: BankWorld, name: str, fmt: str, where: str
) -> None:
    with pytest.raises(StatementError) as caught:
        _import(bank, name, fmt)
    assert caught.value.field == where
    assert _count(bank, t.bank_transactions) == 0
    assert _count(bank, t.bank_statements) == 0


def test_an_operator_confirms_a_waiting_line_once_and_dismisses_another(bank: BankWorld) -> None:
    _import(bank, "camt053_valid.xml", "camt")
    app = bank.app
    waiting = {line.tx.bank_ref: line for line in review_list(uow=app.uow())}
    assert set(waiting) == {"2026112500007", "2026112500008", "2026112600010"}
    ambiguous = waiting["2026112500007"]
    assert [c["number"] for c in ambiguous.candidates] == ["INV-2026-000007", "INV-2026-000008"]
    confirm(ambiguous.id, [bank.invoices[8]], uow=app.uow(), clock=app.clock, actor="test")
    assert (_status(bank, 8), _status(bank, 7)) == ("paid", "issued")
    from autoinvoice.services.errors import Conflict

    with pytest.raises(Conflict):
        confirm(ambiguous.id, [bank.invoices[7]], uow=app.uow(), clock=app.clock, actor="test")
    dismiss(waiting["2026112600010"].id, uow=app.uow(), clock=app.clock, actor="test")
    assert {line.tx.bank_ref for line in review_list(uow=app.uow())} == {"2026112500008"}
    assert _paid(bank, 7) == 0


def test_the_match_rate_on_the_samples_has_no_wrong_match(bank: BankWorld) -> None:
    """Every credit of camt.053 + overlap + camt.054 against what it should do."""
    for name in ("camt053_valid.xml", "camt053_overlap.xml", "camt054_valid.xml"):
        _import(bank, name, "camt")
    number = {v: k for k, v in bank.invoices.items()}
    with bank.app.uow(read_only=True) as uow:
        c = t.bank_transactions.c
        rows = uow.connection.execute(
            select(c.bank_ref, c.status, c.payment_id).where(c.amount > 0)
        ).all()
        allocs = {
            r.payment_id: sorted(
                number[a.invoice_id] for a in uow.ledger.allocations(payment_id=r.payment_id)
            )
            for r in rows
            if r.payment_id
        }
    tally = {"auto": 0, "review": 0, "wrong": 0}
    for r in rows:
        want, invoices = EXPECTED[r.bank_ref]
        if r.status == "applied":
            ok = want == "auto" and allocs[r.payment_id] == invoices
            tally["auto" if ok else "wrong"] += 1
        else:
            tally["review"] += 1
    print(f"\nmatch rate on the samples: {tally} of {len(rows)} credits")
    assert tally == {"auto": 7, "review": 4, "wrong": 0}


def test_the_same_day_as_mt940_after_camt053_is_recognised_as_the_same_lines(
    bank: BankWorld,
) -> None:
    _import(bank, "camt053_valid.xml", "camt")
    payments = _count(bank, t.payments)
    mt940 = _import(bank, "mt940_valid.sta", "mt940")  # :25: BLZ/account is the same IBAN
    assert (mt940.imported, mt940.duplicates) == (0, 6)
    assert _count(bank, t.payments) == payments


def test_two_imports_of_one_statement_at_once_store_and_apply_it_once(bank: BankWorld) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: _import(bank, "camt053_valid.xml", "camt"), range(2)))
    assert sorted((r.imported, r.duplicates) for r in results) == [(0, 10), (10, 0)]
    assert _count(bank, t.bank_transactions) == 10
    assert sum(r.applied for r in results) == 6
