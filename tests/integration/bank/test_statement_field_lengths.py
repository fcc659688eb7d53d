"""Statement lines whose text fields are longer than the columns they are stored in import
alike on SQLite and PostgreSQL (as the payer's name and the bank reference already did)."""

from __future__ import annotations

from pathlib import Path

from autoinvoice.adapters.bank import parse_statement
from autoinvoice.services.bank import import_statement
from bank_world import CSV_MAPPING, SAMPLES, make_bank_world

CSV = (SAMPLES / "csv_valid.csv").read_bytes()


def test_a_csv_with_a_long_payer_account_field_imports_on_both_databases(
    database_url: str, tmp_path: Path
) -> None:
    # some exports put "IBAN / BIC / bank" in one column; PostgreSQL refused the 64+ chars
    # with a database error halfway through the import, SQLite stored them
    world = make_bank_world(database_url, tmp_path)
    app = world.app
    long = (
        b"DE12500105170648489890 / BIC INGDDEFFXXX / ING-DiBa AG, Theodor-Heuss-Allee 2, Frankfurt"
    )
    data = CSV.replace(b";DE12500105170648489890;", b";" + long + b";")
    txs = parse_statement(data, "csv", mapping=CSV_MAPPING)
    result = import_statement(
        txs, fmt="csv", content=data, uow=app.uow(), clock=app.clock, actor="test"
    )
    app.engine.dispose()
    assert result.imported == 6
