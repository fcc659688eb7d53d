"""CLI commands for sources: ``sources add|set-secret|list|status|link|poll|events|replay``
and ``contracts`` (the ids to link to). Registered on the main app by :mod:`.cli`.
Secrets are read from options or standard input and never printed again."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..domain.errors import InvalidValue
from ..services import ingest, sources
from .cli import AsJson, DbUrl, _app, _errors, cli, err, out

sources_cli = typer.Typer(
    help="Connect outside products and watch their health.", no_args_is_help=True
)
cli.add_typer(sources_cli, name="sources")

ACTOR = "cli"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def _duration(text: str | None, what: str) -> timedelta | None:
    """``90s``, ``15m``, ``2h``, ``3d`` → timedelta."""
    if not text:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return timedelta(seconds=int(text[:-1]) * units[text[-1]])
    except (KeyError, ValueError):
        raise InvalidValue(f"{text!r} is not a duration like 15m, 2h or 3d", field=what) from None


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out_: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidValue(f"{item!r} is not key=value", field=what)
        out_[key.strip()] = value.strip()
    return out_


def _secret(value: str | None) -> str | None:
    if value == "-":
        return sys.stdin.readline().strip()
    return value


SecretOpt = Annotated[
    str | None,
    typer.Option(help="Webhook signing secret / token ('-' reads it from standard input)."),
]


@sources_cli.command("add")
def sources_add(
    kind: Annotated[
        str,
        typer.Argument(
            help="hubspot, pipedrive, jira, linear, asana, clickup, "
            "github, toggl, clockify, generic, harvest or csv"
        ),
    ],
    name: Annotated[str, typer.Option(help="A unique name for this source.")],
    secret: SecretOpt = None,
    api_token: Annotated[
        str | None, typer.Option(help="Token for the vendor's REST API ('-' reads standard input).")
    ] = None,
    basic_user: Annotated[str | None, typer.Option(help="HTTP Basic user (Pipedrive).")] = None,
    basic_password: Annotated[
        str | None, typer.Option(help="HTTP Basic password ('-': stdin).")
    ] = None,
    api_base: Annotated[
        str | None, typer.Option(help="Override the vendor API's base URL.")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(help="Product option key=value (JSON values allowed), repeatable."),
    ] = None,
    field: Annotated[
        list[str] | None, typer.Option(help="Extra mapped field name=dotted.path, repeatable.")
    ] = None,
    max_age: Annotated[
        str | None, typer.Option(help="Stale after this long without a successful sync (e.g. 2d).")
    ] = None,
    poll_every: Annotated[
        str | None, typer.Option(help="Poll on this interval (e.g. 15m).")
    ] = None,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Connect a product. Prints the webhook URL to give the product; secrets never again."""
    app = _app(database_url)
    options: dict[str, Any] = {}
    for k, v in _pairs(option, "option").items():
        try:
            options[k] = json.loads(v)
        except json.JSONDecodeError:
            options[k] = v
    values = {
        "signing_secret": _secret(secret),
        "api_token": _secret(api_token),
        "basic_user": basic_user,
        "basic_password": _secret(basic_password),
    }
    with _errors():
        src = sources.add_source(
            sources.NewSource(
                kind=kind,
                name=name,
                secrets={k: v for k, v in values.items() if v},
                api_base=api_base,
                options=options,
                field_map=_pairs(field, "field"),
                max_age=_duration(max_age, "max_age"),
                poll_interval=_duration(poll_every, "poll_every"),
            ),
            uow=app.uow(),
            clock=app.clock,
            box=app.box,
            actor=ACTOR,
            kinds=app.source_kinds,
        )
    url = f"{app.settings.base_url.rstrip('/')}/webhooks/{src.kind}/{src.url_token}"
    if as_json:
        print(json.dumps({"id": src.id, "name": src.name, "kind": src.kind, "webhook_url": url}))
        return
    out.print(f"source {escape(src.name)} ({src.kind}) added, id {src.id}")
    if src.kind not in ("harvest", "csv"):
        out.print(f"webhook URL: {url}")


@sources_cli.command("set-secret")
def sources_set_secret(
    name: str,
    secret: SecretOpt = None,
    api_token: Annotated[str | None, typer.Option(help="'-' reads standard input.")] = None,
    basic_user: str | None = None,
    basic_password: Annotated[str | None, typer.Option(help="'-' reads standard input.")] = None,
    database_url: DbUrl = None,
) -> None:
    """Replace some of a source's secrets (the others are kept)."""
    app = _app(database_url)
    values = {
        "signing_secret": _secret(secret),
        "api_token": _secret(api_token),
        "basic_user": basic_user,
        "basic_password": _secret(basic_password),
    }
    with _errors():
        sources.set_source_secrets(
            name,
            {k: v for k, v in values.items() if v},
            uow=app.uow(),
            clock=app.clock,
            box=app.box,
            actor=ACTOR,
        )
    out.print(f"secrets of {escape(name)} updated")


def _status_rows(app: Any) -> list[dict[str, Any]]:
    now = app.clock.now()
    with app.uow(read_only=True) as uow:
        sources = uow.sources.list()
    return [
        {
            "name": s.name,
            "kind": s.kind,
            "last_event_at": s.last_event_at.isoformat() if s.last_event_at else None,
            "last_success_at": s.last_success_at.isoformat() if s.last_success_at else None,
            "error_count": s.error_count,
            "consecutive_errors": s.consecutive_errors,
            "last_error": s.last_error,
            "stale": s.is_stale(now),
            "max_age_seconds": int(s.max_age.total_seconds()) if s.max_age else None,
            "webhook_url": f"{app.settings.base_url.rstrip('/')}/webhooks/{s.kind}/{s.url_token}",
            "_s": s,
        }
        for s in sources
    ]


@sources_cli.command("list")
def sources_list(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """Every source with its webhook URL (no secrets)."""
    app = _app(database_url)
    rows = _status_rows(app)
    if as_json:
        print(json.dumps([{k: v for k, v in r.items() if k != "_s"} for r in rows]))
        return
    table = Table("name", "kind", "webhook URL", "last event")
    for r in rows:
        table.add_row(escape(r["name"]), r["kind"], r["webhook_url"], _when(r["_s"].last_event_at))
    out.print(table)


@sources_cli.command("status")
def sources_status(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """Sync health per source: last event, last successful sync, errors, stale."""
    app = _app(database_url)
    rows = _status_rows(app)
    if as_json:
        print(
            json.dumps(
                [{k: v for k, v in r.items() if k not in ("_s", "webhook_url")} for r in rows]
            )
        )
        return
    table = Table("name", "kind", "last event", "last success", "errors", "health")
    for r in rows:
        s = r["_s"]
        health = (
            "[red]stale[/red]"
            if r["stale"]
            else ("[yellow]failing[/yellow]" if s.consecutive_errors else "[green]ok[/green]")
        )
        table.add_row(
            escape(s.name),
            s.kind,
            _when(s.last_event_at),
            _when(s.last_success_at),
            f"{s.error_count}"
            + (f" ({escape((s.last_error or '')[:60])})" if s.last_error else ""),
            health,
        )
    out.print(table)


@sources_cli.command("link")
def sources_link(
    name: Annotated[str, typer.Argument(help="The source's name.")],
    project: Annotated[
        str | None,
        typer.Option(help="The source's project reference (Jira key, Toggl project id …)."),
    ] = None,
    company: Annotated[
        str | None, typer.Option(help="The source's company/organisation id.")
    ] = None,
    client: Annotated[int | None, typer.Option(help="Our client id.")] = None,
    contract: Annotated[int | None, typer.Option(help="Our contract id.")] = None,
    database_url: DbUrl = None,
) -> None:
    """Map a source's project or company to our contract or client."""
    if (project is None) == (company is None):
        err.print("[red]error:[/red] give exactly one of --project or --company")
        raise typer.Exit(2)
    app = _app(database_url)
    ref_type, ref = ("project", project) if project is not None else ("client", company)
    with _errors():
        ingest.link_ref(
            name,
            ref_type,
            str(ref),
            client_id=client,
            contract_id=contract,
            uow=app.uow(),
            clock=app.clock,
            actor=ACTOR,
        )
    out.print(
        f"{ref_type} {escape(str(ref))} of {escape(name)} → "
        f"{'contract ' + str(contract) if contract else 'client ' + str(client)}"
    )


@sources_cli.command("poll")
def sources_poll(name: str, database_url: DbUrl = None) -> None:
    """Pull what changed in a polled source now (Harvest)."""
    app = _app(database_url)
    with _errors():
        try:
            n = ingest.poll_source(
                name,
                uow=app.uow(),
                clock=app.clock,
                box=app.box,
                poller_for=app.poller_for,
                actor=ACTOR,
            )
        except Exception as exc:
            if isinstance(exc, InvalidValue):
                raise
            err.print(f"[red]error:[/red] polling failed: {escape(str(exc))}")
            raise typer.Exit(1) from None
    out.print(f"{n} entries pulled from {escape(name)}")


@sources_cli.command("events")
def sources_events(
    name: str, limit: int = 20, database_url: DbUrl = None, as_json: AsJson = False
) -> None:
    """The source's recent raw requests: when, status, error."""
    app = _app(database_url)
    with _errors(), app.uow(read_only=True) as uow:
        src = uow.sources.by_name(name)
        rows = uow.inbound.recent(src.id, limit)
    if as_json:
        print(json.dumps(rows, default=str))
        return
    table = Table("id", "received", "status", "bytes", "error")
    for r in rows:
        table.add_row(
            str(r["id"]),
            _when(r["received_at"]),
            r["status"],
            str(r["size"]),
            escape(r["error"] or ""),
        )
    out.print(table)


@sources_cli.command("replay")
def sources_replay(inbound_id: int, database_url: DbUrl = None) -> None:
    """Process a stored request again (after fixing a link or a rule)."""
    app = _app(database_url)
    with _errors():
        ingest.replay_inbound(inbound_id, uow=app.uow(), clock=app.clock, actor=ACTOR)
    out.print(f"request {inbound_id} queued again")


@cli.command("contracts")
def contracts_list(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """Clients and their contracts with ids (for `sources link`)."""
    app = _app(database_url)
    with app.uow(read_only=True) as uow:
        clients = {c.id: c for c in uow.clients.list()}
        contracts = uow.contracts.list()
    rows = [
        {
            "contract_id": c.id,
            "contract": c.name,
            "model": c.model.value,
            "client_id": c.client_id,
            "client": clients[c.client_id or 0].party.name,
            "milestones": [m.name for m in c.milestones],
        }
        for c in contracts
    ]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("contract", "name", "model", "client", "client name", "milestones")
    for r in rows:
        table.add_row(
            str(r["contract_id"]),
            escape(str(r["contract"])),
            str(r["model"]),
            str(r["client_id"]),
            escape(str(r["client"])),
            escape(", ".join(r["milestones"])),  # type: ignore[arg-type]
        )
    out.print(table)
