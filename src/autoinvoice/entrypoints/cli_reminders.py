"""Reminders on the command line: ``reminders run|list|pause|resume``, ``reminders policy
show|set`` and ``invoices dispute|undispute``. Registered on the main app by :mod:`.cli`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..domain.errors import InvalidValue
from ..services import reminders as rem
from .cli import AsJson, DbUrl, _app, _errors, _find, cli, invoices_cli, out

ACTOR = "cli"

reminders_cli = typer.Typer(
    help="Payment reminders (dunning): run the scan, the policy, pauses.", no_args_is_help=True
)
policy_cli = typer.Typer(help="The reminder ladder: the organisation's and per client.")
cli.add_typer(reminders_cli, name="reminders")
reminders_cli.add_typer(policy_cli, name="policy", no_args_is_help=True)

ClientOpt = Annotated[
    int | None, typer.Option("--client", help="A client's override (default: organisation).")
]


def reminder_json(r: rem.ReminderRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "invoice_id": r.invoice_id,
        "number": r.number,
        "step": r.step,
        "offset_days": r.offset_days,
        "tone": r.tone,
        "due_on": r.due_on.isoformat(),
        "pay_by": r.pay_by.isoformat() if r.pay_by else None,
        "fee": str(r.fee.rounded().amount) if r.fee else None,
        "fee_currency": r.fee.currency if r.fee else None,
        "status": r.status,
        "detail": r.detail,
        "created_at": r.created_at.isoformat(),
        "sent_at": r.sent_at.isoformat() if r.sent_at else None,
    }


@reminders_cli.command("run")
def reminders_run(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """Scan once now and queue every reminder due (the worker sends them)."""
    app = _app(database_url)
    with _errors(), out.status("scanning for reminders due…"):
        report = rem.run_reminders(uow=app.uow(), clock=app.clock)
    data = {"candidates": report.candidates, "queued": report.queued, "not_now": report.reasons}
    if as_json:
        print(json.dumps(data, indent=2))
        return
    out.print(f"queued {report.queued} reminder(s) from {report.candidates} candidate(s)")
    for reason, count in sorted(report.reasons.items()):
        out.print(f"  not now: {reason} ({count})")


@reminders_cli.command("list")
def reminders_list(
    invoice: Annotated[str | None, typer.Option(help="Only this invoice (number or id).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Reminders queued and sent, newest first."""
    app = _app(database_url)
    with _errors():
        inv_id = _find(app, invoice) if invoice else None
        with app.uow(read_only=True) as uow:
            rows = uow.reminders.list(inv_id, limit)
    if as_json:
        print(json.dumps([reminder_json(r) for r in rows], indent=2))
        return
    table = Table("invoice", "step", "tone", "found due", "fee", "pay by", "status")
    for r in rows:
        table.add_row(
            r.number or str(r.invoice_id),
            str(r.step),
            r.tone,
            r.due_on.isoformat(),
            str(r.fee.rounded()) if r.fee else "",
            r.pay_by.isoformat() if r.pay_by else "",
            f"{r.status}: {r.detail}" if r.detail else r.status,
        )
    out.print(table)


@reminders_cli.command("pause")
def reminders_pause(
    client: Annotated[int, typer.Argument(help="Client id.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")],
    until: Annotated[
        str | None, typer.Option(help="Last paused day, YYYY-MM-DD (default: until resumed).")
    ] = None,
    database_url: DbUrl = None,
) -> None:
    """Pause a client's reminders."""
    app = _app(database_url)
    with _errors():
        try:
            last = date.fromisoformat(until) if until else None
        except ValueError:
            raise InvalidValue(f"{until!r} is not a date (YYYY-MM-DD)", field="until") from None
        rem.pause_client(client, reason, until=last, uow=app.uow(), clock=app.clock, actor=ACTOR)
    out.print(f"reminders paused for client {client}" + (f" through {last}" if last else ""))


@reminders_cli.command("resume")
def reminders_resume(
    client: Annotated[int, typer.Argument(help="Client id.")], database_url: DbUrl = None
) -> None:
    """Resume a client's reminders (the latest step due goes out at the next scan)."""
    app = _app(database_url)
    with _errors():
        ended = rem.resume_client(client, uow=app.uow(), clock=app.clock, actor=ACTOR)
    out.print(f"reminders resumed for client {client} ({ended} pause(s) ended)")


@policy_cli.command("show")
def policy_show(client: ClientOpt = None, database_url: DbUrl = None) -> None:
    """Print the policy in force (JSON), and where it comes from."""
    app = _app(database_url)
    with _errors():
        policy, source = rem.policy_for(client, uow=app.uow())
        rules = rem.country_rules(uow=app.uow()) if client is None else {}
    data = {"source": source, **policy.as_dict(), **({"rules": rules} if rules else {})}
    print(json.dumps(data, indent=2))


@policy_cli.command("set")
def policy_set(
    definition: Annotated[
        str | None,
        typer.Argument(help='JSON, e.g. {"steps": [{"offset_days": 7, "tone": "firm"}]}.'),
    ] = None,
    file: Annotated[Path | None, typer.Option(help="Read the JSON from this file.")] = None,
    remove: Annotated[bool, typer.Option(help="Remove the client's override.")] = False,
    client: ClientOpt = None,
    database_url: DbUrl = None,
) -> None:
    """Set the organisation's policy, or a client's override (``--client``)."""
    app = _app(database_url)
    with _errors():
        raw = file.read_text() if file else definition
        if remove:
            data = None
        elif raw is None:
            raise InvalidValue("give the policy as JSON, or --file", field="definition")
        else:
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InvalidValue(f"not JSON: {exc}", field="definition") from None
        policy = rem.set_policy(data, client_id=client, uow=app.uow(), clock=app.clock, actor=ACTOR)
    where = f"client {client}" if client is not None else "the organisation"
    out.print(f"policy for {where} {'set' if policy else 'removed'}")


@invoices_cli.command("dispute")
def invoices_dispute(
    ref: Annotated[str, typer.Argument(help="Invoice number or id.")],
    reason: Annotated[str, typer.Option(help="What the client disputes.")],
    database_url: DbUrl = None,
) -> None:
    """Mark an invoice disputed: its reminders stop until the dispute is resolved."""
    app = _app(database_url)
    with _errors():
        inv_id = _find(app, ref)
        rem.dispute_invoice(inv_id, reason, uow=app.uow(), clock=app.clock, actor=ACTOR)
    out.print(f"invoice {ref} disputed; reminders stop")


@invoices_cli.command("undispute")
def invoices_undispute(
    ref: Annotated[str, typer.Argument(help="Invoice number or id.")],
    resolution: Annotated[str, typer.Option(help="How it was settled.")] = "resolved",
    database_url: DbUrl = None,
) -> None:
    """Resolve an invoice's dispute: reminders resume."""
    app = _app(database_url)
    with _errors():
        inv_id = _find(app, ref)
        rem.resolve_dispute(inv_id, resolution, uow=app.uow(), clock=app.clock, actor=ACTOR)
    out.print(f"invoice {ref}: dispute resolved; reminders resume")
