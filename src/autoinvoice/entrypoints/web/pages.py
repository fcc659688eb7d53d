"""Server-rendered pages: the Jinja2 environment, its filters and the one render function.

Templates are our own files in ``templates/`` and render with autoescaping on. Pages work
without JavaScript; where it helps (live previews) they use htmx, vendored in
``static/vendor/``. The Content-Security-Policy allows scripts and styles from this site
only: no inline script, no eval, no inline style.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date, format_datetime
from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2.sandbox import SandboxedEnvironment
from starlette.responses import Response

from ...domain.money import Money
from ...domain.parties import country_name
from ...domain.recurrence import zone
from ...services.accounts import can_write
from ...services.installation_settings import sandbox_addresses
from ...services.ports import UserRecord
from .deps import csrf_token

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
LOCALE = "en"  # the admin pages' language; client-facing figures use the client's

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "frame-src 'self'"  # the template editor's email preview, in <iframe sandbox>
)

STATUS_LABELS = {
    "draft": "Draft",
    "issued": "Issued",
    "sent": "Sent",
    "viewed": "Viewed",
    "partially_paid": "Partly paid",
    "paid": "Paid",
    "void": "Void",
}
ROLE_LABELS = {"owner": "Owner", "accountant": "Accountant", "viewer": "Viewer"}
ACTION_LABELS = {
    "invoice.drafted": "Draft created",
    "invoice.issued": "Issued",
    "invoice.sent": "Emailed to client",
    "invoice.viewed": "Viewed by client",
    "invoice.payment_received": "Payment recorded",
    "invoice.voided": "Voided",
    "invoice.needs_attention": "Needs attention",
    "delivery.failed": "Email failed",
    "delivery.skipped": "Delivery skipped",
    "invoice.draft_deleted": "Draft deleted",
    "rule.saved": "Rule saved (new version)",
    "rules.tested": "Rule tested in the sandbox",
    "rule.failed": "Rule could not build an invoice",
    "rule.waiting": "Rule waits for a milestone",
    "entity.created": "Organisation created",
    "entity.updated": "Organisation changed",
    "entity.documents_changed": "Invoice design changed",
    "client.created": "Client added",
    "client.updated": "Client billing data changed",
    "contract.created": "Contract added",
    "invoice.send_again": "Email queued again",
    "reminder.queued": "Reminder queued by hand",
    "reminder.sent": "Reminder emailed",
    "reminder.skipped": "Reminder skipped",
    "reminders.queued": "Reminders queued",
    "payment.reversed": "Payment reversed",
    "payment.received": "Payment received",
    "invoice.credited": "Credit note issued",
    "invoice.allocation_reversed": "Payment taken back",
    "settings.series_changed": "Numbering format changed",
    "settings.series_added": "Numbering series added",
    "settings.defaults_changed": "Default taxes and terms changed",
    "settings.smtp_changed": "SMTP settings changed",
    "settings.smtp_removed": "SMTP settings removed",
    "settings.smtp_tested": "Test email sent",
    "entity.sandbox_changed": "Sandbox mode changed",
    "reminders.policy_set": "Reminder policy changed",
    "reminders.policy_removed": "Client reminder policy removed",
    "user.created": "User added",
    "user.role_changed": "User role changed",
    "user.removed": "User removed",
    "user.password_changed": "Password changed",
    "api_key.created": "API key created",
    "api_key.revoked": "API key revoked",
    "template.saved": "Email template saved",
    "template.reset": "Email template reset to default",
    "source.added": "Source connected",
    "source.secrets_changed": "Source secret replaced",
    "source.mapping_updated": "Source field map changed",
    "source.options_changed": "Source options changed",
    "source.enabled": "Source turned on",
    "source.disabled": "Source turned off",
    "source.linked": "Source record linked",
    "source.handshake": "Source handshake (secret received)",
    "source.failing": "Source started failing",
    "source.stale": "Source went stale",
    "inbound.replayed": "Source request replayed",
}


def money(amount: Decimal | str | int, currency: str, locale: str = LOCALE) -> str:
    return Money.of(amount, currency).format(locale)


def day(d: date | None, locale: str = LOCALE) -> str:
    return format_date(d, format="medium", locale=locale) if d else "—"


def moment(dt: datetime | None, tz: str = "UTC") -> str:
    if dt is None:
        return "—"
    return format_datetime(dt, format="MMM d, y, HH:mm", tzinfo=zone(tz), locale=LOCALE)


def make_templates() -> Jinja2Templates:
    # sandboxed like the email templates: the portal pages are what a client sees, and a
    # template must not reach Python internals through the objects it is given
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=money,
        day=day,
        moment=moment,
        status_label=lambda s: STATUS_LABELS.get(s, s),
        role_label=lambda r: ROLE_LABELS.get(r, r),
        action_label=lambda a: ACTION_LABELS.get(a, a),
        country=lambda c: country_name(c, LOCALE),
        actor_label=lambda a: a.removeprefix("user:"),
    )
    return Jinja2Templates(env=env)


def sandbox_inbox(request: Request) -> str | None:
    """Where every email goes while sandbox mode is on (settings or environment), or None."""
    app = request.app.state.autoinvoice
    stored = sandbox_addresses(uow=app.uow(read_only=True))
    inbox: str | None = app.settings.mail_sandbox_to or next(iter(stored.values()), None)
    return inbox


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    user: UserRecord | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    ctx: dict[str, Any] = {"user": user, "flash": None, **context}
    if user is not None:
        ctx["csrf_token"] = csrf_token(request)
        ctx["can_write"] = can_write(user.role)
        ctx["flash"] = request.session.pop("flash", None)
        ctx["sandbox_on"] = sandbox_inbox(request)
    return templates.TemplateResponse(
        request,
        name,
        ctx,
        status_code=status_code,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-store",
            **(headers or {}),
        },
    )


def flash(request: Request, message: str) -> None:
    """A one-line notice shown on the next page (after a redirect)."""
    request.session["flash"] = message


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        status_code=status,
    )
