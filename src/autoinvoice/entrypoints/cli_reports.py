"""Cash-flow reports on the command line: ``autoinvoice report aging|dso|forecast|overdue``
(rich tables per currency — amounts in two currencies are never added — or ``--json`` with
money as exact decimal strings) and ``autoinvoice clients statement``. Registered on the
main app by :mod:`.cli`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.table import Table

from ..domain.cashflow import BUCKET_KEYS, BUCKET_LABELS, DSO_FORMULA, FORECAST_METHOD
from ..domain.errors import InvalidValue
from ..services import reports
from ..services.account_statements import statement_csv, statement_of_account, statement_pdf
from .cli import AsJson, DbUrl, _app, _errors, cli, clients_cli, out
from .web.api_reports import aging_out, dso_out, forecast_out, overdue_out
from .web.schemas import money_text

report_cli = typer.Typer(
    help="Cash-flow reports: aging, DSO, expected inflows, overdue clients.",
    no_args_is_help=True,
)
cli.add_typer(report_cli, name="report")


def _print_json(data: BaseModel) -> None:
    """The API's own response body (``api_reports``), so scripts see one shape."""
    print(data.model_dump_json(indent=2))


@report_cli.command("aging")
def report_aging(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """Open balances by days past due (per currency, in the issuing entity's date)."""
    app = _app(database_url)
    r = reports.aging_report(uow=app.uow(read_only=True), clock=app.clock)
    if as_json:
        _print_json(aging_out(r))
        return
    table = Table(
        "currency",
        *(BUCKET_LABELS[k] for k in BUCKET_KEYS),
        "open total",
        "overdue",
        title=f"Aging on {r.today:%d %b %Y}",
    )
    for row in r.rows:
        c = row.currency
        table.add_row(
            c,
            *(
                f"{money_text(row.buckets[k], c)}\n[dim]{row.counts[k]} inv.[/dim]"
                for k in BUCKET_KEYS
            ),
            money_text(row.total, c),
            money_text(row.overdue, c),
        )
    out.print(table if r.rows else "No open invoices.")


@report_cli.command("dso")
def report_dso(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """Days sales outstanding per currency."""
    app = _app(database_url)
    r = reports.dso_report(uow=app.uow(read_only=True), clock=app.clock)
    if as_json:
        _print_json(dso_out(r))
        return
    table = Table("currency", "open receivables", "sales, last 90 days", "DSO (days)", title="DSO")
    for d in r.rows:
        table.add_row(
            d.currency,
            money_text(d.receivables, d.currency),
            money_text(d.credit_sales, d.currency),
            "—" if d.dso is None else str(d.dso),
        )
    out.print(table if r.rows else "No invoices.")
    out.print(f"[dim]{DSO_FORMULA}[/dim]")


@report_cli.command("forecast")
def report_forecast(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """Expected inflows per ISO week for the next 8 weeks."""
    app = _app(database_url)
    r = reports.forecast_report(uow=app.uow(read_only=True), clock=app.clock)
    if as_json:
        _print_json(forecast_out(r))
        return
    table = Table("week", "from", *(f.currency for f in r.rows), title="Expected inflows")
    for k, w in enumerate(r.weeks):
        table.add_row(
            w.label, f"{w.start:%d %b}", *(money_text(f.weeks[k], f.currency) for f in r.rows)
        )
    table.add_row("later", "", *(money_text(f.later, f.currency) for f in r.rows))
    out.print(table if r.rows else "No open invoices.")
    out.print(f"[dim]{FORECAST_METHOD}[/dim]")


@report_cli.command("overdue")
def report_overdue(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """The clients with the largest overdue balances, per currency."""
    app = _app(database_url)
    rows = reports.overdue_clients_report(uow=app.uow(read_only=True), clock=app.clock)
    if as_json:
        _print_json(overdue_out(rows))
        return
    table = Table("client", "currency", "overdue", "invoices", "oldest due", "days late")
    for c in rows:
        table.add_row(
            c.name,
            c.currency,
            money_text(c.balance, c.currency),
            str(c.invoices),
            f"{c.oldest_due:%d %b %Y}",
            str(c.days_past_due),
        )
    out.print(table if rows else "Nothing is overdue.")


@clients_cli.command("statement")
def clients_statement(
    client: Annotated[int, typer.Argument(help="Client id.")],
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="pdf or csv.")] = "pdf",
    database_url: DbUrl = None,
) -> None:
    """A client's statement of account for a period (opening balance, invoices, payments,
    credit notes, running and closing balance), per currency."""
    app = _app(database_url)
    with _errors():
        if fmt not in ("pdf", "csv"):
            raise InvalidValue(f"--format must be pdf or csv, not {fmt!r}", field="format")
        first, last = _day(start, "from"), _day(end, "to")
        if fmt == "csv":
            statements = statement_of_account(client, start=first, end=last, uow=app.uow())
            output.write_text(statement_csv(statements), encoding="utf-8", newline="")
        else:
            from ..adapters.documents.statement import statement_renderer

            pdf = statement_pdf(
                client, start=first, end=last, uow=app.uow(), renderer=statement_renderer()
            )
            output.write_bytes(pdf)
    out.print(f"statement of client {client}, {first} – {last}: {output}")


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidValue(f"{name}: {value!r} is not a date (YYYY-MM-DD)", field=name) from None
