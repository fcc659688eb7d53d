"""Outgoing webhooks on the command line: ``webhooks add|list|remove|enable|disable|
deliveries``. Registered on the main app by :mod:`.cli`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..services import outgoing
from ..services.outgoing import DeliveryRecord, EventType, SubscriptionRecord
from ..services.webhook_targets import TargetPolicy
from .cli import AsJson, DbUrl, _app, _errors, cli, out

ACTOR = "cli"

webhooks_cli = typer.Typer(
    help="Outgoing webhooks (Standard Webhooks): subscribers and the delivery log.",
    no_args_is_help=True,
)
cli.add_typer(webhooks_cli, name="webhooks")

SubscriptionId = Annotated[int, typer.Argument(help="Subscription id (see `webhooks list`).")]


def subscription_json(s: SubscriptionRecord) -> dict[str, Any]:
    return {
        "id": s.id,
        "url": s.url,
        "event_types": list(s.event_types),
        "description": s.description,
        "enabled": s.enabled,
        "created_at": s.created_at.isoformat(),
    }


def delivery_json(d: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": d.id,
        "subscription_id": d.subscription_id,
        "message_id": d.message_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": d.created_at.isoformat(),
        "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
    }


@webhooks_cli.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="The receiver, https://…")],
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event", "-e", help=f"Repeat for each; default all: {', '.join(EventType)}."
        ),
    ] = None,
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Subscribe a URL; prints its signing secret (whsec_…) once."""
    app = _app(database_url)
    with _errors():
        sub, secret = outgoing.add_subscription(
            url,
            event or [],
            uow=app.uow(),
            clock=app.clock,
            box=app.box,
            policy=TargetPolicy.parse(app.settings.webhook_allow),
            actor=ACTOR,
            description=description,
        )
    if as_json:
        print(json.dumps({**subscription_json(sub), "secret": secret}))
        return
    out.print(f"subscription {sub.id}: {escape(sub.url)} ← {', '.join(sub.event_types)}")
    out.print(f"signing secret (shown once): {secret}")


@webhooks_cli.command("list")
def webhooks_list(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """The subscriptions (their secrets are never shown again)."""
    app = _app(database_url)
    with app.uow(read_only=True) as uow:
        subs = uow.webhooks.subscriptions()
    if as_json:
        print(json.dumps([subscription_json(s) for s in subs], indent=2))
        return
    table = Table("id", "url", "events", "enabled", "description")
    for s in subs:
        table.add_row(
            str(s.id),
            escape(s.url),
            "\n".join(s.event_types),
            "yes" if s.enabled else "[yellow]paused[/yellow]",
            escape(s.description),
        )
    out.print(table if subs else "no webhook subscriptions")


@webhooks_cli.command("remove")
def webhooks_remove(subscription_id: SubscriptionId, database_url: DbUrl = None) -> None:
    """Unsubscribe (its delivery log goes too)."""
    app = _app(database_url)
    with _errors():
        outgoing.remove_subscription(subscription_id, uow=app.uow(), clock=app.clock, actor=ACTOR)
    out.print(f"removed subscription {subscription_id}")


def _enable(subscription_id: int, enabled: bool, database_url: str | None) -> None:
    app = _app(database_url)
    with _errors():
        outgoing.set_subscription_enabled(
            subscription_id, enabled, uow=app.uow(), clock=app.clock, actor=ACTOR
        )
    out.print(f"subscription {subscription_id} {'resumed' if enabled else 'paused'}")


@webhooks_cli.command("enable")
def webhooks_enable(subscription_id: SubscriptionId, database_url: DbUrl = None) -> None:
    """Resume a paused subscription (one the receiver answered 410 Gone to)."""
    _enable(subscription_id, True, database_url)


@webhooks_cli.command("disable")
def webhooks_disable(subscription_id: SubscriptionId, database_url: DbUrl = None) -> None:
    """Pause a subscription: nothing is queued for it, queued deliveries fail."""
    _enable(subscription_id, False, database_url)


@webhooks_cli.command("deliveries")
def webhooks_deliveries(
    subscription: Annotated[int | None, typer.Option(help="Only this subscription's.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """The delivery log: each message, its status, attempts and last answer."""
    app = _app(database_url)
    with _errors(), app.uow(read_only=True) as uow:
        if subscription is not None:
            uow.webhooks.subscription(subscription)
        rows = uow.webhooks.deliveries(subscription, limit)
    if as_json:
        print(json.dumps([delivery_json(d) for d in rows], indent=2))
        return
    table = Table("id", "sub", "event", "webhook-id", "status", "tries", "last answer", "at")
    for d in rows:
        answer = d.last_error or (str(d.last_status_code) if d.last_status_code else "")
        table.add_row(
            str(d.id),
            str(d.subscription_id),
            d.event_type,
            d.message_id,
            d.status,
            str(d.attempts),
            escape(answer),
            d.created_at.isoformat(timespec="seconds"),
        )
    out.print(table if rows else "no deliveries")
