"""The intake form on the command line: ``autoinvoice clients intake-link CLIENT_ID`` prints
a new link to the billing-details form (earlier open links of that client stop working).
Registered on the main app by :mod:`.cli`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..services import intake
from .cli import AsJson, DbUrl, _app, _errors, clients_cli, out

ACTOR = "cli"


@clients_cli.command("intake-link")
def clients_intake_link(
    client: Annotated[int, typer.Argument(help="Client id.")],
    as_json: AsJson = False,
    database_url: DbUrl = None,
) -> None:
    """A link for the client to fill in their billing details (works once, for 14 days)."""
    app = _app(database_url)
    with _errors():
        link = intake.create_intake_link(
            client, uow=app.uow(), clock=app.clock, actor=ACTOR, base_url=app.settings.base_url
        )
    if as_json:
        out.print_json(json.dumps({"url": link.url, "expires_at": link.expires_at.isoformat()}))
    else:
        # plain print: rich would wrap a long URL on a narrow terminal
        typer.echo(link.url)
