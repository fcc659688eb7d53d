"""The ``autoinvoice`` command line (typer + rich). Thin: parse, call a service, print.

Every command takes ``--database-url`` (or ``AUTOINVOICE_DATABASE_URL``); without either,
the embedded SQLite file under ``AUTOINVOICE_DATA_DIR`` (default ``./data``) is used.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..bootstrap import App, build
from ..config import Settings
from ..domain.errors import DomainError
from ..services.errors import ServiceError

cli = typer.Typer(
    help="autoinvoice: trigger-to-payment invoicing for IT service businesses.",
    no_args_is_help=True,
    add_completion=False,
)
invoices_cli = typer.Typer(help="List, show, issue and void invoices.", no_args_is_help=True)
payments_cli = typer.Typer(
    help="Record, list, reverse and refund payments; apply client credit.", no_args_is_help=True
)
jobs_cli = typer.Typer(help="See and retry outbox jobs (deliveries).", no_args_is_help=True)
users_cli = typer.Typer(help="Manage users and API keys.", no_args_is_help=True)
clients_cli = typer.Typer(help="Client settings and links.", no_args_is_help=True)
cli.add_typer(clients_cli, name="clients")
cli.add_typer(invoices_cli, name="invoices")
cli.add_typer(payments_cli, name="payments")
cli.add_typer(users_cli, name="users")
cli.add_typer(jobs_cli, name="jobs")

out = Console()
err = Console(stderr=True)

DbUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="AUTOINVOICE_DATABASE_URL",
        show_envvar=True,
        help="SQLAlchemy URL (sqlite:///file.db or postgresql://…); "
        "default: SQLite in the data dir.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _app(database_url: str | None, **kw: Any) -> App:
    settings = Settings(database_url=database_url) if database_url else Settings()
    return build(settings, **kw)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (DomainError, ServiceError) as exc:
        where = escape(f" [{exc.field}]") if exc.field else ""
        err.print(f"[red]error{where}:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from None


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@cli.command()
def migrate(database_url: DbUrl = None) -> None:
    """Create or upgrade the database schema (Alembic)."""
    from ..adapters.db.migrate import current_revision

    app = _app(database_url)
    out.print(f"database at revision {current_revision(app.engine)}")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    database_url: DbUrl = None,
    demo_data: Annotated[
        bool, typer.Option("--demo-data/--no-demo-data", help="Load demo data on first start.")
    ] = False,
    workers: Annotated[int, typer.Option(help="Worker threads in this process.")] = 1,
) -> None:
    """Run the web app, the worker and the scheduler in one process."""
    import uvicorn

    from .demo_data import has_data, load_demo_data
    from .scheduler import run_scheduler
    from .web.app import create_app
    from .worker import run_worker

    _logging()
    app = _app(database_url)
    with _errors():
        if demo_data and not has_data(app):
            # bill the retainers' latest period at once, so the first look is not empty
            ids = load_demo_data(app, bill_from=app.clock.now() - timedelta(days=31))
            out.print(
                f"loaded demo data: {len(ids['clients'])} clients, "
                f"{len(ids['contracts'])} contracts"
            )
        _ensure_owner(app)
    stop = threading.Event()
    threads = [
        threading.Thread(target=run_scheduler, args=(app, stop), daemon=True, name="scheduler")
    ]
    threads += [
        threading.Thread(target=run_worker, args=(app, stop), daemon=True, name=f"worker-{i}")
        for i in range(workers)
    ]
    for t in threads:
        t.start()
    out.print(f"autoinvoice on http://{host}:{port}  (worker ×{workers} and scheduler running)")
    try:
        uvicorn.run(create_app(app), host=host, port=port, log_level="info")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)


def _ensure_owner(app: App) -> None:
    from ..services.accounts import create_user

    with app.uow(read_only=True) as uow:
        if uow.users.count():
            out.print(
                "sign in with your owner account (forgot it? autoinvoice users set-password EMAIL)"
            )
            return
    email, password = "owner@autoinvoice.local", secrets.token_urlsafe(12)
    create_user(
        email, password, "owner", uow=app.uow(), clock=app.clock, hasher=app.hasher, actor="setup"
    )
    out.print("[bold]owner account created[/bold] — sign in with:")
    out.print(f"  email:    {email}\n  password: {password}")
    out.print("  (shown once; change it with: autoinvoice users set-password EMAIL)")


@cli.command()
def worker(
    database_url: DbUrl = None,
    once: Annotated[bool, typer.Option(help="Exit when no job is runnable.")] = False,
    name: Annotated[str | None, typer.Option(help="Worker name in job locks.")] = None,
) -> None:
    """Run outbox jobs (render, deliver) until stopped."""
    import signal

    from .worker import run_worker

    _logging()
    app = _app(database_url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        n = run_worker(app, stop, name=name, once=once)
    except KeyboardInterrupt:
        n = 0
    out.print(f"worker stopped after {n} jobs")


@cli.command()
def tick(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """Fire due schedules and schedule rules, poll due sources, flag stale ones (what the
    scheduler does periodically)."""
    from .scheduler import tick as run_tick

    app = _app(database_url)
    with _errors():
        t = run_tick(app)
    r = t.schedules
    rules = [{"rule": o.rule, "outcome": o.outcome, "invoice_id": o.invoice_id} for o in t.rules]
    if as_json:
        print(
            json.dumps(
                {
                    "issued": r.issued,
                    "held": r.held,
                    "skipped": r.skipped,
                    "rules": rules,
                    "polled": t.polled,
                    "stale": t.stale,
                }
            )
        )
    else:
        out.print(f"issued {len(r.issued)}, held {len(r.held)}, skipped {r.skipped}")
        for o in rules:
            out.print(f"rule {escape(str(o['rule']))}: {o['outcome']}")
        for name in t.stale:
            out.print(f"[yellow]source {escape(name)} is stale[/yellow]")


@cli.command()
def demo(
    as_json: AsJson = False,
    database_url: DbUrl = None,
) -> None:
    """Run one whole cycle on sample data with a moved clock and print each step."""
    from .demo import run_demo

    with _errors():
        result = run_demo(
            database_url=database_url, echo=None if as_json else (lambda line: out.print(line))
        )
    if as_json:
        print(json.dumps(result, indent=2, default=str))


# -- invoices -------------------------------------------------------------------------------
def _summary_json(s: Any) -> dict[str, Any]:
    return {
        "id": s.id,
        "number": s.number,
        "client": s.client_name,
        "status": s.status,
        "currency": s.currency,
        "total": str(s.gross),
        "balance": str(s.balance),
        "issue_date": s.issue_date.isoformat() if s.issue_date else None,
        "due_date": s.due_date.isoformat() if s.due_date else None,
        "hold_reason": s.hold_reason,
    }


@invoices_cli.command("list")
def invoices_list(
    database_url: DbUrl = None,
    as_json: AsJson = False,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 200,
) -> None:
    """List invoices, newest first."""
    app = _app(database_url)
    with app.uow(read_only=True) as uow:
        rows = uow.invoices.summaries(status=status, limit=limit)
    if as_json:
        print(json.dumps([_summary_json(s) for s in rows], indent=2))
        return
    table = Table("number", "client", "total", "balance", "status", "due")
    for s in rows:
        table.add_row(
            s.number or f"(draft {s.id})",
            s.client_name,
            f"{s.gross} {s.currency}",
            f"{s.balance} {s.currency}",
            s.status,
            s.due_date.isoformat() if s.due_date else "",
        )
    out.print(table)


def _find(app: App, ref: str) -> int:
    with app.uow(read_only=True) as uow:
        if ref.isdigit():
            return uow.invoices.get(int(ref)).id or 0
        return uow.invoices.by_number(ref).id or 0


@invoices_cli.command("show")
def invoices_show(
    ref: Annotated[str, typer.Argument(help="Invoice number or id.")],
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Show one invoice with its lines and totals."""
    app = _app(database_url)
    with _errors():
        inv_id = _find(app, ref)
        with app.uow(read_only=True) as uow:
            inv = uow.invoices.get(inv_id)
            payments = uow.payments.for_invoice(inv_id)
    totals = inv.totals()
    data = {
        "id": inv.id,
        "number": inv.number,
        "status": inv.status.value,
        "client": inv.buyer.name,
        "currency": inv.currency,
        "issue_date": str(inv.issue_date),
        "due_date": str(inv.due_date),
        "lines": [
            {
                "description": ln.description,
                "quantity": str(ln.quantity),
                "unit_price": str(ln.unit_price),
                "tax": ln.tax.label,
                "net": str(ln.net(inv.currency)),
            }
            for ln in inv.lines
        ],
        "net": str(totals.net.amount),
        "tax": str(totals.tax.amount),
        "gross": str(totals.gross.amount),
        "paid": str(inv.amount_paid),
        "balance": str(inv.balance.amount),
        "payments": [
            {
                "amount": str(p["amount"]),
                "received_at": p["received_at"].isoformat(),
                "method": p["method"],
            }
            for p in payments
        ],
    }
    if as_json:
        print(json.dumps(data, indent=2))
        return
    out.print_json(json.dumps(data))


@invoices_cli.command("issue")
def invoices_issue(invoice_id: int, database_url: DbUrl = None) -> None:
    """Issue a draft: take its number and queue its delivery."""
    from ..services.invoicing import issue_invoice

    app = _app(database_url)
    with _errors():
        number = issue_invoice(invoice_id, uow=app.uow(), clock=app.clock, actor="cli")
    out.print(f"issued {number}")


@invoices_cli.command("void")
def invoices_void(
    ref: str, reason: Annotated[str, typer.Option(help="Why.")], database_url: DbUrl = None
) -> None:
    """Void an unpaid issued invoice."""
    from ..services.invoicing import void_invoice

    app = _app(database_url)
    with _errors():
        void_invoice(_find(app, ref), reason, uow=app.uow(), clock=app.clock, actor="cli")
    out.print(f"voided {ref}")


@payments_cli.command("record")
def payments_record(
    ref: Annotated[str, typer.Argument(help="Invoice number or id.")],
    amount: Annotated[str, typer.Argument(help="Amount, e.g. 1200.50")],
    database_url: DbUrl = None,
    currency: Annotated[str | None, typer.Option(help="Default: the invoice's.")] = None,
    reference: Annotated[str | None, typer.Option(help="Bank reference.")] = None,
    received: Annotated[
        str | None, typer.Option(help="When it arrived, ISO 8601 with offset (default now).")
    ] = None,
    key: Annotated[str | None, typer.Option(help="Idempotency key.")] = None,
    as_json: AsJson = False,
) -> None:
    """Record a payment; an overpayment is kept as client credit."""
    from ..domain.errors import InvalidDate
    from ..services.payments import RecordPayment, record_payment

    app = _app(database_url)
    with _errors():
        when = None
        if received:
            try:
                when = datetime.fromisoformat(received)
            except ValueError as exc:
                raise InvalidDate(
                    f"{received!r} is not a valid ISO 8601 date-time ({exc})", field="received"
                ) from None
            if when.tzinfo is None:
                raise InvalidDate(f"{received!r} has no UTC offset, e.g. +01:00", field="received")
        res = record_payment(
            RecordPayment(
                _find(app, ref), amount, currency, when, reference=reference, idempotency_key=key
            ),
            uow=app.uow(),
            clock=app.clock,
            actor="cli",
        )
    data = {
        "payment_id": res.payment_id,
        "status": res.invoice_status,
        "balance": str(res.balance),
        "credited": str(res.credited),
        "duplicate": res.duplicate,
    }
    if as_json:
        print(json.dumps(data))
    elif res.duplicate:
        out.print(
            f"already recorded under key {key!r}: nothing recorded again "
            f"(status {res.invoice_status}, balance {res.balance})"
        )
    else:
        out.print(
            f"payment recorded: status {res.invoice_status}, balance {res.balance}"
            + (f", {res.credited} kept as client credit" if res.credited > Decimal(0) else "")
        )


@jobs_cli.command("list")
def jobs_list(database_url: DbUrl = None, as_json: AsJson = False) -> None:
    """Job counts by status, and the jobs that were given up on, with their last error."""
    app = _app(database_url)
    with app.uow(read_only=True) as uow:
        counts, dead = uow.outbox.counts(), uow.outbox.dead()
    if as_json:
        print(json.dumps({"counts": counts, "dead": dead}, indent=2, default=str))
        return
    out.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no jobs")
    if dead:
        table = Table("id", "kind", "payload", "attempts", "last error", title="given up")
        for d in dead:
            table.add_row(
                str(d["id"]),
                d["kind"],
                json.dumps(d["payload"]),
                str(d["attempts"]),
                escape(d["last_error"] or ""),
            )
        out.print(table)


@jobs_cli.command("retry")
def jobs_retry(
    database_url: DbUrl = None,
    kind: Annotated[str | None, typer.Option(help="Only jobs of this kind.")] = None,
) -> None:
    """Retry every job that was given up on (after fixing what made it fail)."""
    from ..services.jobs import requeue_dead_jobs

    app = _app(database_url)
    ids = requeue_dead_jobs(uow=app.uow(), clock=app.clock, actor="cli", kind=kind)
    out.print(f"requeued {len(ids)} job(s)" + (f": {ids}" if ids else ""))


@users_cli.command("create")
def users_create(
    email: str,
    role: Annotated[str, typer.Option(help="owner, accountant or viewer")] = "viewer",
    database_url: DbUrl = None,
) -> None:
    """Create a user; the password is asked for (not echoed)."""
    from ..services.accounts import create_user

    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    app = _app(database_url)
    with _errors():
        create_user(
            email, password, role, uow=app.uow(), clock=app.clock, hasher=app.hasher, actor="cli"
        )
    out.print(f"user {email} created ({role})")


@users_cli.command("set-password")
def users_set_password(email: str, database_url: DbUrl = None) -> None:
    """Set a user's password."""
    from ..services.accounts import set_password

    password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    app = _app(database_url)
    with _errors():
        set_password(
            email, password, uow=app.uow(), clock=app.clock, hasher=app.hasher, actor="cli"
        )
    out.print(f"password of {email} changed")


@users_cli.command("api-key")
def users_api_key(
    email: str,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "cli",
    scope: Annotated[list[str] | None, typer.Option(help="read, write, admin")] = None,
    database_url: DbUrl = None,
) -> None:
    """Create an API key for a user; it is shown once."""
    from ..services.accounts import create_api_key
    from ..services.errors import NotFound

    app = _app(database_url)
    with _errors():
        with app.uow(read_only=True) as uow:
            user = uow.users.by_email(email)
        if user is None:
            raise NotFound(f"no user {email}", field="email")
        key = create_api_key(
            user.id, name, scope or ["read"], uow=app.uow(), clock=app.clock, actor="cli"
        )
    out.print(f"API key (shown once): {key}")


from . import (  # noqa: E402, F401  (register their commands)
    cli_bank,
    cli_delivery,
    cli_documents,
    cli_intake,
    cli_payments,
    cli_reminders,
    cli_reports,
    cli_rules,
    cli_sources,
    cli_webhooks,
)


def main() -> None:
    try:
        cli()
    except BrokenPipeError:
        sys.exit(0)
