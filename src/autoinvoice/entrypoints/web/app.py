"""The web application factory: ``create_app(app)`` wires admin pages, the REST API, the
client portal and health checks onto one FastAPI app. Nothing happens at import time.

Routes::

    GET  /healthz, /readyz                      liveness; database reachable (no auth)
    GET  /metrics                               Prometheus figures (token if configured)
    GET  /login   POST /login   POST /logout    session sign-in and sign-out
    GET  /  /invoices  /invoices/{id}  /invoices/{id}/pdf  /clients       admin pages
    POST /invoices/{id}/issue  /void  /payments                           admin forms
    GET  /dashboard  /clients/{id}/statement.pdf|.csv   cash flow, weekly audit, statements
    GET  /portal/invoices/{token}  /portal/invoices/{token}/pdf           client portal
    GET  /intake/{token}  POST /intake/{token}  GET /intake/{token}/done  client intake form
    POST /webhooks/{kind}[/{token}]             webhook intake (signature-checked, no session)
    /api/v1/…                                   REST API; /api/v1/openapi.json, /api/v1/docs
    /static/…                                   the stylesheet
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...bootstrap import App
from . import (
    account_statements,
    admin,
    admin_audit,
    admin_bank,
    admin_clients,
    admin_contracts,
    admin_money,
    admin_rules,
    admin_settings,
    admin_sources,
    admin_templates,
    api,
    api_admin,
    api_bank,
    api_clients,
    api_documents,
    api_events,
    api_intake,
    api_payments,
    api_reminders,
    api_reports,
    api_triggers,
    api_webhooks,
    dashboard,
    errors,
    idempotency,
    intake,
    login,
    metrics,
    portal,
    setup_guide,
    webhooks,
)
from .deps import AppDep
from .pages import STATIC_DIR, error_page, make_templates
from .schemas import Problem

log = logging.getLogger(__name__)

SESSION_COOKIE = "autoinvoice_session"

API_DESCRIPTION = """\
Invoices, payments and clients of this autoinvoice installation.

**Authentication.** Send an API key as `Authorization: Bearer ai_…`. A key with the `read`
scope may call GET; POST needs `write` (and a user whose role is owner or accountant). A
browser session also works; its POSTs must repeat the CSRF token in `X-CSRF-Token`.

**Money** is always an exact decimal string (`"5355.00"`) next to its ISO 4217 currency.

**Errors** are RFC 9457 problem documents (`application/problem+json`) with a stable
`code` and, where one input is at fault, its `field`.

**Retries.** Every POST (and PATCH) honours an `Idempotency-Key` header (1–100 visible ASCII
characters, e.g. a UUID; per API key or signed-in user; kept 24 hours): sending the same key
with the same request again answers the first answer again — the same status (200 or 201 as
the first time), body and content type — with `Idempotent-Replayed: true`, and nothing is
done twice. The same key with another body or path is a 422 (`idempotency_key_reused`);
while the first request is still running, a 409 (`idempotency_key_in_use`). Refusals of the
caller (401, 403) and server errors (5xx) are not kept, so a retry runs. Recording a payment
answers a repeat with 200 and `"duplicate": true`.
"""


class SecurityHeaders:
    """Headers every response carries: no MIME sniffing, no framing, same-origin referrers."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in self.HEADERS if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


health = APIRouter(include_in_schema=False)


@health.api_route("/healthz", methods=["GET", "HEAD"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health.api_route("/readyz", methods=["GET", "HEAD"], response_model=None)
def readyz(app: AppDep) -> dict[str, str] | Response:
    try:
        with app.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # any failure means "not ready"
        log.warning("readiness check failed: %s", type(exc).__name__)
        return errors.problem(503, "unavailable", "the database is not reachable")
    return {"status": "ready"}


def _openapi(web: FastAPI) -> dict[str, Any]:
    if web.openapi_schema is None:
        schema = get_openapi(
            title=web.title, version=web.version, description=web.description, routes=web.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
        idempotency.document(schema)
        web.openapi_schema = schema
    return web.openapi_schema


def create_app(app: App) -> FastAPI:
    """The ASGI app for ``app`` (an ``autoinvoice.bootstrap.App``)."""
    web = FastAPI(
        title="autoinvoice API",
        version="1",
        description=API_DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    web.state.autoinvoice = app
    web.state.templates = make_templates()
    web.openapi = lambda: _openapi(web)  # type: ignore[method-assign]

    web.add_middleware(idempotency.IdempotencyKeys)  # inside the session: it reads it
    web.add_middleware(
        SessionMiddleware,
        secret_key=app.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=app.settings.session_max_age_seconds,
        same_site="lax",
        https_only=app.settings.base_url.startswith("https://"),
    )
    web.add_middleware(SecurityHeaders)
    # outermost: webhook requests skip sessions, routing and page middleware
    web.add_middleware(webhooks.WebhookIntake, intake=webhooks.Intake(app))
    web.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    routers = (
        health,
        metrics.router,
        login.router,
        # the operator's pages; before admin.router, so /clients/new is not /clients/{id}
        setup_guide.router,
        admin_clients.router,
        admin_contracts.router,
        admin_money.router,
        admin_sources.router,
        admin_rules.router,
        admin_templates.router,
        admin_settings.router,
        admin_audit.router,
        admin.router,
        admin_bank.router,
        dashboard.router,
        account_statements.router,
        portal.router,
        api.router,
        api_documents.router,
        api_payments.router,
        api_bank.router,
        api_triggers.router,
        intake.router,
        api_intake.router,
        api_webhooks.router,
        api_reports.router,
        api_reminders.router,
        api_clients.router,
        api_events.router,
        api_admin.router,
    )
    for router in routers:
        web.include_router(router)
    errors.install(web, error_page)
    return web


__all__ = ["create_app"]
