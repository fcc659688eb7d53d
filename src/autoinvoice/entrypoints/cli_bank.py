"""Bank statements on the command line: import (camt.053/054, MT940, OFX, CSV), the review
list, confirming or dismissing a waiting line, and saved CSV column mappings.
Registered on the main app by :mod:`.cli`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..adapters.bank import FORMATS, detect_format, parse_statement
from ..adapters.bank.csvfile import check_mapping
from ..services import bank
from .cli import AsJson, DbUrl, _app, _errors, cli, err, out

ACTOR = "cli"

bank_cli = typer.Typer(
    help="Bank statements: import, match to invoices, review.", no_args_is_help=True
)
mapping_cli = typer.Typer(help="Saved CSV column mappings for bank exports.", no_args_is_help=True)
cli.add_typer(bank_cli, name="bank")
bank_cli.add_typer(mapping_cli, name="mapping")


@bank_cli.command("import")
def bank_import(
    file: Annotated[Path, typer.Argument(help="The statement file.", exists=True, dir_okay=False)],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help=f"One of {', '.join(FORMATS)}; guessed when left out."),
    ] = None,
    mapping: Annotated[str | None, typer.Option(help="Saved column mapping (CSV files).")] = None,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Import a statement: new lines are stored and matched; confident matches are applied,
    uncertain ones wait in `bank review`. Importing a file again adds nothing."""
    app = _app(database_url)
    data = file.read_bytes()
    with _errors():
        kind = fmt or detect_format(data, file.name)
        columns = bank.load_mapping(mapping, uow=app.uow()) if mapping else None
        txs = parse_statement(data, kind, mapping=columns)
        with Progress(
            TextColumn("matching"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=as_json,
        ) as bar:
            task = bar.add_task("import", total=len(txs))
            result = bank.import_statement(
                txs,
                fmt=kind,
                content=data,
                filename=file.name,
                uow=app.uow(),
                clock=app.clock,
                actor=ACTOR,
                progress=lambda n: bar.advance(task, n),
            )
    counts = {
        "statement": result.statement_id,
        "lines": result.lines,
        "imported": result.imported,
        "duplicates": result.duplicates,
        "matched": result.applied,
        "review": result.review,
        "outgoing": result.outgoing,
    }
    if as_json:
        print(json.dumps(counts))
        return
    out.print(", ".join(f"{k} {v}" for k, v in counts.items() if k != "statement"))


@bank_cli.command("review")
def bank_review(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """Lines waiting for a decision, with their candidate invoices."""
    app = _app(database_url)
    lines = bank.review_list(uow=app.uow())
    if as_json:
        print(json.dumps([_line_json(line) for line in lines]))
        return
    table = Table("tx", "date", "amount", "payer", "text", "candidates (score)")
    for line in lines:
        tx = line.tx
        table.add_row(
            str(line.id),
            tx.booking_date.isoformat(),
            f"{tx.amount} {tx.currency}",
            escape(tx.counterparty_name or "—"),
            escape(tx.remittance[:40]),
            escape(
                ", ".join(f"{c['number']} ({c['score']})" for c in line.candidates)
                or line.reason
                or "—"
            ),
        )
    out.print(table)


def _line_json(line: bank.BankLine) -> dict[str, object]:
    tx = line.tx
    return {
        "id": line.id,
        "booking_date": tx.booking_date.isoformat(),
        "amount": str(tx.amount),
        "currency": tx.currency,
        "payer": tx.counterparty_name,
        "iban": tx.counterparty_iban,
        "text": tx.remittance,
        "reason": line.reason,
        "candidates": line.candidates,
    }


@bank_cli.command("confirm")
def bank_confirm(
    tx: Annotated[int, typer.Argument(help="The waiting line (see `bank review`).")],
    invoice: Annotated[list[int], typer.Argument(help="Invoice id(s) it pays, in order.")],
    database_url: DbUrl = None,
) -> None:
    """Apply a waiting line to the invoice(s) it pays."""
    app = _app(database_url)
    with _errors():
        pid = bank.confirm(tx, invoice, uow=app.uow(), clock=app.clock, actor=ACTOR)
    out.print(f"line {tx}: payment {pid} applied to {', '.join(map(str, invoice))}")


@bank_cli.command("dismiss")
def bank_dismiss(
    tx: Annotated[int, typer.Argument(help="The waiting line.")],
    database_url: DbUrl = None,
) -> None:
    """Take a line off the review list: it pays no invoice."""
    app = _app(database_url)
    with _errors():
        bank.dismiss(tx, uow=app.uow(), clock=app.clock, actor=ACTOR)
    out.print(f"line {tx} dismissed")


@mapping_cli.command("save")
def mapping_save(
    name: Annotated[str, typer.Argument(help="Name to import with (--mapping NAME).")],
    date_col: Annotated[str, typer.Option(help="Booking date column.")],
    amount_col: Annotated[str | None, typer.Option(help="Signed amount column.")] = None,
    credit_col: Annotated[str | None, typer.Option(help="Credit column.")] = None,
    debit_col: Annotated[str | None, typer.Option(help="Debit column.")] = None,
    date_format: Annotated[str, typer.Option(help="strptime format.")] = "%Y-%m-%d",
    account: Annotated[str | None, typer.Option(help="Our account (IBAN).")] = None,
    currency: Annotated[str | None, typer.Option(help="Currency of every line.")] = None,
    currency_col: Annotated[str | None, typer.Option(help="Currency column.")] = None,
    name_col: Annotated[str | None, typer.Option(help="Payer name column.")] = None,
    iban_col: Annotated[str | None, typer.Option(help="Payer IBAN column.")] = None,
    text_col: Annotated[str | None, typer.Option(help="Remittance text column.")] = None,
    ref_col: Annotated[str | None, typer.Option(help="Bank reference column.")] = None,
    value_date_col: Annotated[str | None, typer.Option(help="Value date column.")] = None,
    delimiter: Annotated[str, typer.Option(help="Field separator.")] = ",",
    decimal: Annotated[str, typer.Option(help="Decimal mark: . or ,")] = ".",
    encoding: Annotated[str, typer.Option(help="File encoding.")] = "utf-8-sig",
    database_url: DbUrl = None,
) -> None:
    """Save how a bank's CSV export is read."""
    app = _app(database_url)
    given = {
        "date_col": date_col,
        "amount_col": amount_col,
        "credit_col": credit_col,
        "debit_col": debit_col,
        "date_format": date_format,
        "account": account,
        "currency": currency,
        "currency_col": currency_col,
        "name_col": name_col,
        "iban_col": iban_col,
        "text_col": text_col,
        "ref_col": ref_col,
        "value_date_col": value_date_col,
        "delimiter": delimiter,
        "decimal": decimal,
        "encoding": encoding,
    }
    with _errors():
        checked = check_mapping(given)
        bank.save_mapping(name, checked, uow=app.uow(), clock=app.clock, actor=ACTOR)
    out.print(f"mapping {escape(name)} saved")
