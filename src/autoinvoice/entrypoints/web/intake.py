"""The client intake form behind a link: ``GET/POST /intake/{token}``, ``/intake/{token}/done``.

The client is not signed in; the unguessable token in the link is the key, so the pages
carry the portal's ``PRIVATE`` headers (no Referer, no index, no cache). The form works
without JavaScript and is validated on the server: a rejected form comes back with what was
typed and a message next to each field at fault (``aria-describedby``, ``role="alert"``).

CSRF: there is no session, so the form carries its own token, ``<issued>.<mac>`` where the
mac is HMAC-SHA256 with the app secret over the intake token's hash and the issue time. A
POST without a valid, fresh one is shown the form again (nothing stored) with a new token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ...bootstrap import App
from ...domain.intake import (
    FIELDS,
    PAYMENT_METHODS,
    POSTAL_CODES,
    REGION_REQUIRED,
    IntakeForm,
    IntakeInvalid,
    country_choices,
    region_groups,
    tax_id_required,
)
from ...services import intake
from ...services.errors import NotFound
from ...services.intake import IntakeView
from .deps import AppDep
from .pages import day, render
from .portal import PRIVATE

router = APIRouter(include_in_schema=False)

FORM_TOKEN = "form_token"
FORM_MAX_AGE = timedelta(hours=24)
MAX_BODY = 32_768  # bytes: the form is a dozen short fields
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


# -- the per-form CSRF token -----------------------------------------------------------------
def _mac(app: App, token: str, issued: int) -> str:
    message = f"intake-form:{intake.token_hash(token)}:{issued}".encode()
    return hmac.new(app.secret_key.encode(), message, hashlib.sha256).hexdigest()


def form_token(app: App, token: str) -> str:
    issued = int(app.clock.now().timestamp())
    return f"{issued}.{_mac(app, token, issued)}"


def form_token_ok(app: App, token: str, candidate: str) -> bool:
    issued_text, _, mac = candidate.partition(".")
    if not issued_text.isdigit() or not mac:
        return False
    issued = int(issued_text)
    age = app.clock.now().timestamp() - issued
    fresh = -60 <= age <= FORM_MAX_AGE.total_seconds()
    return hmac.compare_digest(mac, _mac(app, token, issued)) and fresh


# -- pages -------------------------------------------------------------------------------------
def _missing(request: Request) -> Response:
    return render(request, "intake.html", {"state": "missing"}, status_code=404, headers=PRIVATE)


def _form_page(
    request: Request,
    app: App,
    token: str,
    view: IntakeView,
    form: IntakeForm,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    country = form.country.strip().upper()
    region = form.subdivision.strip().upper()
    if region and "-" not in region:
        region = f"{country}-{region}"
    return render(
        request,
        "intake.html",
        {
            "state": "form",
            "view": view,
            "form": form,
            "errors": {k: v for k, v in sorted((errors or {}).items(), key=_field_order)},
            "notice": notice,
            "action": f"/intake/{token}",
            "form_token": form_token(app, token),
            "countries": country_choices(),
            "country": country,
            "region": region,
            "region_groups": region_groups(
                [*REGION_REQUIRED, country] if country else REGION_REQUIRED
            ),
            "region_required": REGION_REQUIRED,
            "postal_required": country in POSTAL_CODES,
            "tax_required": bool(country)
            and tax_id_required(
                country, is_business=view.is_business, seller_country=view.seller_country
            ),
            "payment_methods": PAYMENT_METHODS,
            "expires": day(view.expires_at.date()),
        },
        status_code=status_code,
        headers=PRIVATE,
    )


def _field_order(item: tuple[str, str]) -> int:
    return FIELDS.index(item[0]) if item[0] in FIELDS else len(FIELDS)


def _open(app: App, token: str, *, submitted: bool = False) -> IntakeView:
    if not _TOKEN.fullmatch(token):
        raise NotFound("no such intake link", field="token")
    return intake.open_intake(token, uow=app.uow(), clock=app.clock, submitted=submitted)


@router.api_route("/intake/{token}", methods=["GET", "HEAD"])
def intake_form(token: str, request: Request, app: AppDep) -> Response:
    try:
        view = _open(app, token)
    except NotFound:
        return _missing(request)
    return _form_page(request, app, token, view, view.form)


@router.post("/intake/{token}")
async def intake_submit(token: str, request: Request, app: AppDep) -> Response:
    try:
        view = await run_in_threadpool(_open, app, token)
    except NotFound:
        return _missing(request)
    fields = await _read_form(request)
    if fields is None:
        return _form_page(
            request,
            app,
            token,
            view,
            view.form,
            notice="The form could not be read. Please fill it in again.",
            status_code=400,
        )
    form = IntakeForm.from_fields(fields)
    if not form_token_ok(app, token, fields.get(FORM_TOKEN, "")):
        notice = "This form was open for a long time. Please check the details and send it again."
        return _form_page(request, app, token, view, form, notice=notice, status_code=400)
    try:
        await run_in_threadpool(intake.submit_intake, token, form, uow=app.uow(), clock=app.clock)
    except IntakeInvalid as exc:
        return _form_page(request, app, token, view, form, errors=exc.errors, status_code=422)
    except NotFound:
        return _missing(request)
    return RedirectResponse(f"/intake/{token}/done", status_code=303, headers=PRIVATE)


@router.api_route("/intake/{token}/done", methods=["GET", "HEAD"])
def intake_done(token: str, request: Request, app: AppDep) -> Response:
    try:
        view = _open(app, token, submitted=True)
    except NotFound:
        return _missing(request)
    return render(
        request,
        "intake.html",
        {
            "state": "done",
            "view": view,
            "form": view.form,
            "payment_methods": PAYMENT_METHODS,
            "country_name": dict(country_choices()).get(view.form.country, view.form.country),
        },
        headers=PRIVATE,
    )


async def _read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded body as ``{name: value}`` (the last of repeated names), or None when
    it is not a form, too large or not UTF-8."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    try:
        pairs: list[tuple[str, Any]] = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=50, strict_parsing=False
        )
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: str(value) for name, value in pairs}


__all__ = ["form_token", "form_token_ok", "router"]
