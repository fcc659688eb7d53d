"""Delivery on the command line: a client's cc/bcc, sandbox mode, portal links.
Registered on the main app by :mod:`.cli`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from ..services import portal, setup
from .cli import DbUrl, _app, _errors, _find, cli, clients_cli, invoices_cli, out
from .cli_documents import EntityOpt, _entity_id

ACTOR = "cli"

sandbox_cli = typer.Typer(
    help="Sandbox mode: every email goes to a test inbox instead of clients.",
    no_args_is_help=True,
)
cli.add_typer(sandbox_cli, name="sandbox")


@clients_cli.command("recipients")
def clients_recipients(
    client: Annotated[int, typer.Argument(help="Client id.")],
    cc: Annotated[list[str] | None, typer.Option("--cc", help="Copy (repeat for more).")] = None,
    bcc: Annotated[
        list[str] | None, typer.Option("--bcc", help="Blind copy, e.g. the AP archive.")
    ] = None,
    database_url: DbUrl = None,
) -> None:
    """Set who is copied on this client's invoice emails (replaces the previous lists)."""
    app = _app(database_url)
    with _errors():
        setup.set_client_recipients(
            client, cc=cc or [], bcc=bcc or [], uow=app.uow(), clock=app.clock, actor=ACTOR
        )
    out.print(
        f"client {client}: cc {', '.join(cc or []) or '—'}; bcc {', '.join(bcc or []) or '—'}"
    )


@clients_cli.command("portal-link")
def clients_portal_link(
    client: Annotated[int, typer.Argument(help="Client id.")],
    revoke: Annotated[bool, typer.Option(help="Make a new link; the old one stops.")] = False,
    database_url: DbUrl = None,
) -> None:
    """The link to the client's own page (its invoices and statement of account)."""
    app = _app(database_url)
    with _errors():
        token = portal.client_link(client, uow=app.uow(), revoke=revoke)
    out.print(f"{app.settings.base_url.rstrip('/')}/portal/clients/{token}")


@invoices_cli.command("revoke-link")
def invoices_revoke_link(
    ref: Annotated[str, typer.Argument(help="Invoice number or id.")],
    database_url: DbUrl = None,
) -> None:
    """Give the invoice a new portal link; the emailed one stops working."""
    app = _app(database_url)
    with _errors():
        token = portal.revoke_invoice_link(
            _find(app, ref), uow=app.uow(), clock=app.clock, actor=ACTOR
        )
    out.print(f"{app.settings.base_url.rstrip('/')}/portal/invoices/{token}")


@sandbox_cli.command("on")
def sandbox_on(
    address: Annotated[str, typer.Argument(help="The test inbox.")],
    entity: EntityOpt = None,
    database_url: DbUrl = None,
) -> None:
    """Send every email of this organisation to ADDRESS (the intended recipients are named)."""
    app = _app(database_url)
    with _errors():
        setup.set_sandbox(
            _entity_id(database_url, entity), address, uow=app.uow(), clock=app.clock, actor=ACTOR
        )
    out.print(f"sandbox on: every email goes to {escape(address)}")


@sandbox_cli.command("off")
def sandbox_off(entity: EntityOpt = None, database_url: DbUrl = None) -> None:
    """Send emails to clients again."""
    app = _app(database_url)
    with _errors():
        setup.set_sandbox(
            _entity_id(database_url, entity), None, uow=app.uow(), clock=app.clock, actor=ACTOR
        )
    out.print("sandbox off: emails go to clients")
