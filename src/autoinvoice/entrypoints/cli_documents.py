"""Documents on the command line: ``invoices export|preview|check``, ``branding``,
``checks`` and ``clients documents``. Registered on the main app by :mod:`.cli`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..domain.documents import FONTS, LAYOUTS, Branding, DocumentSettings
from ..domain.lint import DEFAULTS, CheckSettings
from ..domain.recurrence import zone
from ..services import setup
from ..services.einvoices import FORMATS, document_for, filename, preflight
from ..services.errors import NotFound
from .cli import AsJson, DbUrl, _app, _errors, _find, cli, clients_cli, err, invoices_cli, out

ACTOR = "cli"

branding_cli = typer.Typer(help="How the invoice documents look.", no_args_is_help=True)
checks_cli = typer.Typer(help="Pre-flight checks run before issuing.", no_args_is_help=True)
cli.add_typer(branding_cli, name="branding")
cli.add_typer(checks_cli, name="checks")

Output = Annotated[
    Path | None,
    typer.Option("-o", "--output", help="Write to this file (default: named after the invoice)."),
]


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    out.print(f"wrote {escape(str(path))} ({len(content):,} bytes)")


@invoices_cli.command("export")
def invoices_export(
    ref: Annotated[str, typer.Argument(help="Invoice number or id.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help=f"One of {', '.join(FORMATS)}.")
    ] = "pdf",
    output: Output = None,
    database_url: DbUrl = None,
) -> None:
    """Write an issued invoice's PDF, Factur-X PDF, UBL or CII XML to a file.

    The stored document is written byte for byte when there is one (what the client got)."""
    _export(ref, fmt, output, database_url)


def _export(ref: str, fmt: str, output: Path | None, database_url: str | None) -> None:
    app = _app(database_url)
    with _errors():
        inv, content = document_for(
            _find(app, ref),
            fmt,
            uow=app.uow(),
            clock=app.clock,
            renderer=app.renderer,
            writer=app.einvoices,
        )
    _write(output or Path(filename(inv, fmt)), content)


@invoices_cli.command("preview")
def invoices_preview(
    ref: Annotated[str, typer.Argument(help="Invoice id (or number).")],
    output: Output = None,
    database_url: DbUrl = None,
) -> None:
    """Render a draft's PDF as it would look, without issuing it (marked DRAFT)."""
    _export(ref, "pdf", output, database_url)


@invoices_cli.command("check")
def invoices_check(
    ref: Annotated[str, typer.Argument(help="Invoice id (or number) of a draft.")],
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Run the pre-flight checks and EN 16931 rules on a draft; exit 1 when any fails."""
    app = _app(database_url)
    with _errors():
        with app.uow(read_only=True) as uow:
            inv = uow.invoices.get(_find(app, ref))
            entity = uow.entities.get(inv.entity_id or 0)
            contract = uow.contracts.get(inv.contract_id) if inv.contract_id else None
        today = app.clock.now().astimezone(zone(entity.timezone)).date()
        findings = preflight(inv, entity, contract, today=today)
    if as_json:
        print(json.dumps([f.as_dict() for f in findings], indent=2))
    elif not findings:
        out.print("[green]all checks pass[/green]")
    else:
        table = Table("check", "where", "problem", "fix", show_lines=True)
        for f in findings:
            table.add_row(f.check, f.field, escape(f.message), escape(f.fix))
        out.print(table)
    if findings:
        raise typer.Exit(1)


def _entity_id(app_url: str | None, entity: int | None) -> int:
    app = _app(app_url)
    with app.uow(read_only=True) as uow:
        if entity is not None:
            return uow.entities.get(entity).id
        first = uow.entities.first()
    if first is None:
        raise NotFound("there is no issuing entity yet", field="entity")
    return first.id


EntityOpt = Annotated[
    int | None, typer.Option("--entity", help="Issuing entity id (default: the first).")
]


@branding_cli.command("show")
def branding_show(entity: EntityOpt = None, database_url: DbUrl = None) -> None:
    """Show the layout, colour, font, logo and footer of the documents."""
    app = _app(database_url)
    with _errors():
        eid = _entity_id(database_url, entity)
        with app.uow(read_only=True) as uow:
            rec = uow.entities.get(eid)
    b = rec.branding
    out.print_json(
        json.dumps(
            {
                **b.as_json(),
                "logo_bytes": len(b.logo) if b.logo else 0,
                "footer": rec.footer,
                "bank": sorted(rec.bank),
                "layouts": list(LAYOUTS),
                "fonts": list(FONTS),
            }
        )
    )


@branding_cli.command("set")
def branding_set(
    layout: Annotated[str | None, typer.Option(help=f"One of {', '.join(LAYOUTS)}.")] = None,
    accent: Annotated[str | None, typer.Option(help="Accent colour, #RRGGBB.")] = None,
    font: Annotated[str | None, typer.Option(help=f"One of: {', '.join(FONTS)}.")] = None,
    logo: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Logo file (.png, .jpg or .svg)."),
    ] = None,
    no_logo: Annotated[bool, typer.Option("--no-logo", help="Remove the logo.")] = False,
    footer: Annotated[str | None, typer.Option(help="Footer text on every page.")] = None,
    iban: Annotated[str | None, typer.Option(help="Bank account IBAN (checked).")] = None,
    bic: Annotated[str | None, typer.Option(help="BIC of the bank (checked).")] = None,
    upi: Annotated[str | None, typer.Option(help="UPI address for INR QR codes.")] = None,
    entity: EntityOpt = None,
    database_url: DbUrl = None,
) -> None:
    """Change the documents' branding (only the options given change)."""
    app = _app(database_url)
    with _errors():
        eid = _entity_id(database_url, entity)
        with app.uow(read_only=True) as uow:
            rec = uow.entities.get(eid)
        old = rec.branding
        data, fmt = old.logo, old.logo_format
        if logo is not None:
            data, fmt = logo.read_bytes(), Branding.logo_format_of(logo.name)
        if no_logo:
            data, fmt = None, None
        branding = Branding(
            layout=layout or old.layout,
            accent=accent or old.accent,
            font=font if font is not None else old.font,
            logo=data,
            logo_format=fmt,
        )
        bank = None
        if iban or bic or upi:
            changes = {"iban": iban, "bic": bic, "upi": upi}
            bank = {**rec.bank, **{k: v for k, v in changes.items() if v}}
        setup.update_entity_documents(
            eid,
            uow=app.uow(),
            clock=app.clock,
            actor=ACTOR,
            branding=branding,
            footer=footer,
            bank=bank,
        )
    out.print("branding saved")


@checks_cli.command("list")
def checks_list(entity: EntityOpt = None, database_url: DbUrl = None) -> None:
    """The checks with their settings for this organisation."""
    app = _app(database_url)
    with _errors():
        eid = _entity_id(database_url, entity)
        with app.uow(read_only=True) as uow:
            merged = uow.entities.get(eid).checks.merged()
    table = Table("check", "enabled", "options")
    for name, options in merged.items():
        extra = {k: v for k, v in options.items() if k != "enabled"}
        table.add_row(name, "yes" if options["enabled"] else "no", json.dumps(extra))
    out.print(table)


@checks_cli.command("set")
def checks_set(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(DEFAULTS)}.")],
    enabled: Annotated[bool | None, typer.Option("--on/--off", help="Switch it.")] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", help="key=value, e.g. min_length=10")
    ] = None,
    entity: EntityOpt = None,
    database_url: DbUrl = None,
) -> None:
    """Switch a check on or off, or tune it (--option key=value, JSON values)."""
    app = _app(database_url)
    with _errors():
        eid = _entity_id(database_url, entity)
        with app.uow(read_only=True) as uow:
            current = {k: dict(v) for k, v in uow.entities.get(eid).checks.values.items()}
        changes = dict(current.get(name, {}))
        if enabled is not None:
            changes["enabled"] = enabled
        for item in option or []:
            key, sep, raw = item.partition("=")
            if not sep:
                err.print(f"[red]error:[/red] --option {escape(item)}: write key=value")
                raise typer.Exit(2)
            try:
                changes[key.strip()] = json.loads(raw)
            except json.JSONDecodeError:
                changes[key.strip()] = raw
        settings = CheckSettings({**current, name: changes})
        setup.update_checks(eid, settings, uow=app.uow(), clock=app.clock, actor=ACTOR)
    out.print(f"check {name} saved")


@clients_cli.command("documents")
def clients_documents(
    client: Annotated[int, typer.Argument(help="Client id.")],
    attach: Annotated[
        str, typer.Option(help=f"Comma-separated, of: {', '.join(FORMATS)}; e.g. pdf,ubl")
    ],
    database_url: DbUrl = None,
) -> None:
    """Choose the documents attached to this client's invoice emails."""
    app = _app(database_url)
    with _errors():
        settings = DocumentSettings.parse(attach)
        setup.set_client_documents(client, settings, uow=app.uow(), clock=app.clock, actor=ACTOR)
    out.print(f"client {client} gets: {', '.join(settings.attach) or 'no attachments'}")
