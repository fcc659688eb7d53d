"""CLI commands for rules and data: ``rules load|list|history|firings|shadow-report``,
``import time|deals`` and ``simulate``. Registered on the main app by :mod:`.cli`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from ..domain.errors import InvalidValue
from ..services import ingest
from ..services.shadow import Billed, shadow_report
from ..services.triggering import load_rules
from . import rules_yaml
from .cli import AsJson, DbUrl, _app, _errors, cli, err, out
from .cli_sources import ACTOR, _pairs, _when

rules_cli = typer.Typer(help="Trigger rules: load from YAML, list, history.", no_args_is_help=True)
import_cli = typer.Typer(help="Import time entries or won deals from CSV.", no_args_is_help=True)
cli.add_typer(rules_cli, name="rules")
cli.add_typer(import_cli, name="import")


# -- rules ----------------------------------------------------------------------------------
@rules_cli.command("load")
def rules_load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Store the rules of a YAML file (all or none); changed rules get a new version."""
    app = _app(database_url)
    try:
        document = rules_yaml.load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None)
        why = f": {problem}" if problem else ""
        err.print(f"[red]error:[/red] {escape(str(file))} is not valid YAML{where}{escape(why)}")
        raise typer.Exit(2) from None
    with _errors():
        result = load_rules(document, uow=app.uow(), clock=app.clock, actor=ACTOR)
    if as_json:
        print(json.dumps([{"name": n, "version": v, "changed": c} for n, v, c in result]))
        return
    for n, v, c in result:
        out.print(f"{escape(n)}: version {v}" + ("" if c else " (unchanged)"))


@rules_cli.command("list")
def rules_list(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """Every stored rule: kind, what it builds, action, mode."""
    app = _app(database_url)
    with app.uow(read_only=True) as uow:
        records = uow.rules.list()
    rows = [
        {
            "name": r.rule.name,
            "kind": r.rule.kind.value,
            "build": r.rule.build.value,
            "action": r.rule.action.value,
            "shadow": r.rule.shadow,
            "enabled": r.rule.enabled,
            "version": r.version,
            "next_run_at": r.next_run_at.isoformat() if r.next_run_at else None,
            "definition": r.rule.to_dict(),
        }
        for r in records
    ]
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = Table("name", "kind", "builds", "action", "mode", "version")
    for r in rows:
        mode = "shadow" if r["shadow"] else ("live" if r["enabled"] else "disabled")
        table.add_row(
            escape(str(r["name"])),
            str(r["kind"]),
            str(r["build"]),
            str(r["action"]),
            mode,
            str(r["version"]),
        )
    out.print(table)


@rules_cli.command("history")
def rules_history(name: str, database_url: DbUrl = None) -> None:
    """Every version of a rule, who changed it and when."""
    app = _app(database_url)
    with app.uow(read_only=True) as uow:
        rows = uow.rules.history(name)
    if not rows:
        err.print(f"[red]error:[/red] there is no rule named {escape(name)!r}")
        raise typer.Exit(2)
    for r in rows:
        out.print(
            f"[bold]version {r['version']}[/bold] {_when(r['changed_at'])} by {escape(r['actor'])}"
        )
        out.print(escape(yaml.safe_dump(r["definition"], sort_keys=False)))


@rules_cli.command("firings")
def rules_firings(
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    outcome: Annotated[
        str | None, typer.Option(help="issued, draft, held, shadow, waiting, failed, skipped")
    ] = None,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """What the rules did: one row per (rule, subject, period)."""
    app = _app(database_url)
    with _errors(), app.uow(read_only=True) as uow:
        rule_id = uow.rules.get(rule).id if rule else None
        rows = uow.rule_firings.list(rule_id, outcome)
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = Table("rule", "subject", "period", "outcome", "invoice", "gross", "detail")
    for r in rows:
        table.add_row(
            escape(r["rule"]),
            escape(r["subject"]),
            escape(r["period"]),
            r["outcome"],
            str(r["invoice_id"] or ""),
            f"{r['gross_total']} {r['currency']}" if r["gross_total"] is not None else "",
            escape((r["detail"] or "")[:80]),
        )
    out.print(table)


def _mapping(
    app: Any,
    kind: str,
    name: str | None,
    columns: list[str] | None,
    date_format: str | None,
    decimal_comma: bool,
    save_as: str | None,
) -> Any:
    from ..adapters.connectors.csvfile import ColumnMapping

    data: dict[str, Any] = {}
    if name:
        with app.uow(read_only=True) as uow:
            stored_kind, data = uow.csv_mappings.get(name)
        if stored_kind != kind:
            raise InvalidValue(
                f"mapping {name!r} is for {stored_kind}, not {kind}", field="mapping"
            )
    data = dict(data)
    if columns:
        data["columns"] = {**data.get("columns", {}), **_pairs(columns, "column")}
    if date_format:
        data["date_format"] = date_format
    if decimal_comma:
        data["decimal_comma"] = True
    if "columns" not in data:
        raise InvalidValue(
            "give a saved --mapping or --column field=Header options", field="mapping"
        )
    mapping = ColumnMapping.from_dict(data, kind=kind)
    if save_as:
        with app.uow() as uow:
            uow.csv_mappings.save(save_as, kind, mapping.to_dict(), app.clock.now())
            uow.commit()
    return mapping


def _import(
    kind: str,
    file: Path,
    source: str,
    mapping: str | None,
    column: list[str] | None,
    date_format: str | None,
    decimal_comma: bool,
    save_mapping: str | None,
    database_url: str | None,
    as_json: bool,
) -> None:
    from ..adapters.connectors import csvfile

    app = _app(database_url)
    with _errors():
        cmap = _mapping(app, kind, mapping, column, date_format, decimal_comma, save_mapping)
        text = csvfile.decode(file.read_bytes())
        if kind == "time_entries":
            events = csvfile.parse_time_entries(text, cmap, source_name=file.name)
        else:
            events = csvfile.parse_deals(
                text, cmap, source_name=file.name, imported_at=app.clock.now()
            )
        outcomes = []
        with Progress(console=err, transient=True, disable=as_json) as bar:
            task = bar.add_task(f"importing {len(events)} rows", total=len(events))
            for i in range(0, len(events), 200):  # one transaction per chunk
                chunk = events[i : i + 200]
                outcomes += ingest.ingest_events(
                    source, chunk, uow=app.uow(), clock=app.clock, actor=ACTOR
                )
                bar.advance(task, len(chunk))
    fired = [
        {"rule": o.rule, "outcome": o.outcome, "invoice_id": o.invoice_id, "detail": o.detail}
        for o in outcomes
    ]
    if as_json:
        print(json.dumps({"rows": len(events), "fired": fired}))
        return
    out.print(f"{len(events)} {kind.replace('_', ' ')} imported into {escape(source)}")
    for f in fired:
        out.print(
            f"  rule {escape(str(f['rule']))}: {f['outcome']}"
            + (f" — {escape(str(f['detail']))}" if f["detail"] else "")
        )


ColumnOpt = Annotated[
    list[str] | None,
    typer.Option("--column", help="field=CSV header, repeatable (overrides the saved mapping)."),
]


@import_cli.command("time")
def import_time(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    source: Annotated[str, typer.Option(help="A source (kind csv) the entries belong to.")],
    mapping: Annotated[str | None, typer.Option(help="A saved column mapping.")] = None,
    column: ColumnOpt = None,
    date_format: str | None = None,
    decimal_comma: bool = False,
    save_mapping: Annotated[
        str | None, typer.Option(help="Save the mapping under this name.")
    ] = None,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Import time entries from a CSV export (threshold rules fire as they cross)."""
    _import(
        "time_entries",
        file,
        source,
        mapping,
        column,
        date_format,
        decimal_comma,
        save_mapping,
        database_url,
        as_json,
    )


@import_cli.command("deals")
def import_deals(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    source: Annotated[str, typer.Option(help="A source (kind csv) the deals belong to.")],
    mapping: Annotated[str | None, typer.Option(help="A saved column mapping.")] = None,
    column: ColumnOpt = None,
    date_format: str | None = None,
    decimal_comma: bool = False,
    save_mapping: Annotated[
        str | None, typer.Option(help="Save the mapping under this name.")
    ] = None,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Import won deals from a CSV export (deal rules fire on each)."""
    _import(
        "deals",
        file,
        source,
        mapping,
        column,
        date_format,
        decimal_comma,
        save_mapping,
        database_url,
        as_json,
    )


@rules_cli.command("shadow-report")
def rules_shadow_report(
    manual: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="CSV of the invoices issued by hand.")
    ],
    start: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
    end: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"])],
    mapping: Annotated[str | None, typer.Option(help="A saved invoices column mapping.")] = None,
    column: ColumnOpt = None,
    date_format: str | None = None,
    decimal_comma: bool = False,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Compare what shadow rules would have issued with what was issued by hand."""
    from ..adapters.connectors import csvfile

    app = _app(database_url)
    with _errors():
        cmap = _mapping(app, "invoices", mapping, column, date_format, decimal_comma, None)
        rows = csvfile.parse_manual_invoices(
            csvfile.decode(manual.read_bytes()), cmap, source_name=manual.name
        )
        report = shadow_report(
            [Billed(r.client, r.issue_date, r.net, r.gross, r.currency, r.number) for r in rows],
            start.date(),
            end.date(),
            uow=app.uow(),
        )
    if as_json:
        print(json.dumps(report, default=str))
        return
    s = report["summary"]
    out.print(
        f"{s['matched']} matched, {s['different']} with different amounts, "
        f"{s['missing']} missing (issued by hand, not by a rule), "
        f"{s['extra']} extra (a rule would issue, not issued by hand)"
    )
    table = Table("status", "client", "month", "by hand", "by rule")
    for r in report["rows"]:
        if r["status"] != "matched":
            table.add_row(
                r["status"],
                escape(r["client"]),
                r["month"],
                str(r["manual"] or ""),
                str(r["shadow"] or ""),
            )
    out.print(table)


@cli.command()
def simulate(
    start: Annotated[
        datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day to simulate.")
    ],
    end: Annotated[
        datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day to simulate.")
    ],
    events: Annotated[
        Path | None,
        typer.Option(
            help="A folder of recorded/sample events "
            "(*.json); default: the events recorded "
            "in that period."
        ),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where to write preview PDFs and the report.")
    ] = None,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Run every rule over a period in a sandbox: what would fire, holds and why.

    Consumes no invoice number and sends no mail: it runs on a throw-away copy."""
    from .simulate import run_simulation

    app = _app(database_url)
    first = datetime.combine(start.date(), datetime.min.time(), UTC)
    last = datetime.combine(end.date() + timedelta(days=1), datetime.min.time(), UTC)
    target = out_dir or Path(f"simulation-{app.clock.now():%Y%m%d-%H%M%S}")
    with _errors():
        report = run_simulation(
            app, first, last, events_dir=events, out_dir=target, echo=None if as_json else err.print
        )
    if as_json:
        print(json.dumps(report, default=str))
        return
    table = Table("rule / schedule", "client", "outcome", "gross", "preview", "why")
    for r in report["invoices"]:
        table.add_row(
            escape(r["rule"]),
            escape(r["client"]),
            r["outcome"],
            f"{r['gross']} {r['currency']}",
            escape(r.get("preview") or ""),
            escape(r.get("reason") or ""),
        )
    out.print(table)
    for f in report["problems"]:
        out.print(f"[yellow]{escape(f['rule'])}[/yellow]: {f['outcome']} — {escape(f['detail'])}")
    out.print(f"report: {escape(str(target / 'report.json'))}")
