"""A statement amount finer than its currency's minor units (ISO 4217) is a broken file: it is
refused at its line or element before anything is stored, whichever way it would have been
matched — not failing the import deep inside a payment, nor stored to fail later."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from autoinvoice.adapters.bank import StatementError, parse_statement
from autoinvoice.adapters.db import tables as t
from autoinvoice.services.bank import import_statement
from bank_world import CSV_MAPPING, SAMPLES, make_bank_world

CSV = (SAMPLES / "csv_valid.csv").read_bytes()


def test_a_csv_amount_with_more_decimals_than_its_currency_is_refused_at_its_line() -> None:
    broken = CSV.replace(b";590,00;EUR", b";590,005;EUR")
    with pytest.raises(StatementError) as caught:
        parse_statement(broken, "csv", mapping=CSV_MAPPING)
    assert caught.value.field == "line 3"
    assert "EUR" in caught.value.message


def test_a_yen_amount_with_cents_is_refused_and_whole_yen_with_zero_cents_are_not() -> None:
    jpy = CSV.replace(b"EUR", b"JPY").replace(b",50;", b",00;")
    assert len(parse_statement(jpy, "csv", mapping=CSV_MAPPING)) == 6  # "119,00" is 119 yen
    with pytest.raises(StatementError) as caught:
        parse_statement(jpy.replace(b";178,00;", b";178,50;"), "csv", mapping=CSV_MAPPING)
    assert caught.value.field == "line 5"


def test_a_camt_amount_with_more_decimals_than_its_currency_names_the_element() -> None:
    data = (SAMPLES / "camt053_valid.xml").read_bytes()
    broken = data.replace(b'<Amt Ccy="EUR">119.00</Amt>', b'<Amt Ccy="EUR">119.001</Amt>', 1)
    assert broken != data
    with pytest.raises(StatementError) as caught:
        parse_statement(broken, "camt")
    assert caught.value.field.endswith("/Amt")


def test_a_fine_amount_on_an_unmatched_credit_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    # 297.505 from a known payer matches no invoice exactly: it would wait in review, stored,
    # and fail only when an operator confirms it
    world = make_bank_world(database_url, tmp_path)
    app = world.app
    broken = CSV.replace(b";Zahlung;297,50;", b";Zahlung;297,505;")
    try:
        txs = parse_statement(broken, "csv", mapping=CSV_MAPPING)
        import_statement(
            txs, fmt="csv", content=broken, uow=app.uow(), clock=app.clock, actor="test"
        )
    except StatementError:
        pass
    with app.uow(read_only=True) as uow:
        stored = uow.connection.execute(select(func.count()).select_from(t.bank_transactions))
        assert stored.scalar_one() == 0
    app.engine.dispose()


def test_an_ofx_amount_with_more_decimals_than_its_currency_is_refused_at_its_line() -> None:
    data = (SAMPLES / "ofx_valid.ofx").read_bytes()
    broken = data.replace(b"<TRNAMT>833.00", b"<TRNAMT>833.004", 1)
    with pytest.raises(StatementError) as caught:
        parse_statement(broken, "ofx")
    start = broken.rindex(b"<STMTTRN>", 0, broken.index(b"<TRNAMT>833.004"))
    line = broken[:start].count(b"\n") + 1
    assert caught.value.field == f"line {line}"  # the line its STMTTRN starts on
