"""Errors at the HTTP edge: the one place that knows status codes.

Domain and service errors become RFC 9457 problem details (``application/problem+json``)
for the API, and a calm HTML page for the admin pages and the portal. Both say only what
the error's ``message`` says: no stack traces, no exception reprs, no request input echoed.

Mapping (first match wins, so subclasses come before their parents)::

    Forbidden                                       403
    AuthError                                       401
    NotFound                                        404
    Conflict, InvalidTransition, InvoiceImmutable   409
    InvalidValue (UnknownCurrency, InvalidDate),
    MissingData, CurrencyMismatch, DomainError      422
    ServiceError                                    400
    request validation (pydantic)                   422, naming the field
    a body that cannot be parsed (JSON, multipart)  422, field "body"
    a number too large to store (OverflowError),
    a value the database refuses (DataError)        422
    anything else                                   500, logged, nothing disclosed

A problem document::

    {"type": "urn:autoinvoice:problem:invalid_value", "title": "Invalid value",
     "status": 422, "detail": "'abc' is not a number", "code": "invalid_value",
     "field": "amount"}
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from ...domain.errors import (
    CurrencyMismatch,
    DomainError,
    InvalidTransition,
    InvalidValue,
    InvoiceImmutable,
    MissingData,
)
from ...services.errors import AuthError, Conflict, Forbidden, NotFound, ServiceError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:autoinvoice:problem:"

STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (Forbidden, 403),
    (AuthError, 401),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidTransition, 409),
    (InvoiceImmutable, 409),
    (InvalidValue, 422),
    (MissingData, 422),
    (CurrencyMismatch, 422),
    (DomainError, 422),
    (ServiceError, 400),
)

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_value",
    503: "unavailable",
}


_UNPARSABLE_BODY = "There was an error parsing the body"  # FastAPI's words for a bad body


class LoginRequired(Exception):
    """A page needs a signed-in user: the browser is sent to the sign-in form."""

    def __init__(self, next_url: str) -> None:
        super().__init__("sign in to continue")
        self.next_url = next_url


class CsrfRejected(Forbidden):
    code = "csrf_failed"

    def __init__(self) -> None:
        super().__init__(
            "this form has expired or did not come from this site; reload the page and try again"
        )


def status_for(exc: Exception) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return status
    return 500


def title_for(code: str) -> str:
    return code.replace("_", " ").capitalize()


def problem_body(
    status: int, code: str, detail: str, *, field: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The RFC 9457 problem document (also sent by the raw-ASGI webhook intake)."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": title_for(code),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if field:
        body["field"] = field
    body.update(extra)
    return body


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_body(status, code, detail, field=field, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_for(exc: DomainError | ServiceError) -> JSONResponse:
    status = status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem(status, exc.code, exc.message, field=exc.field, headers=headers)


def field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "lines", 0, "amount")`` → ``lines[0].amount``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def wants_problem(request: Request) -> bool:
    """API and webhook callers get problem+json; browsers on pages get HTML."""
    path = request.url.path
    return path.startswith(("/api/", "/webhooks/")) or path in ("/healthz", "/readyz", "/metrics")


HtmlRenderer = Callable[[Request, int, str, str], Response]


def install(app: FastAPI, html: HtmlRenderer) -> None:
    """Register the handlers; ``html(request, status, title, message)`` draws error pages."""

    def respond(
        request: Request,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        **extra: Any,
    ) -> Response:
        if wants_problem(request):
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return problem(status, code, message, field=field, headers=headers, **extra)
        return html(request, status, title_for(code), message)

    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError | ServiceError)
        findings = getattr(exc, "findings", None)  # NeedsAttention: every check that failed
        extra = {"findings": [f.as_dict() for f in findings]} if findings else {}
        return respond(request, status_for(exc), exc.code, exc.message, exc.field, **extra)

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        from urllib.parse import urlencode

        return RedirectResponse("/login?" + urlencode({"next": exc.next_url}), status_code=303)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": field_of(e.get("loc", ())), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        return respond(
            request,
            422,
            "invalid_value",
            f"{first['field']}: {first['message']}",
            first["field"],
            errors=errors,
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        if status == 400:  # only the framework raises it: a body it could not parse
            unreadable = (
                "the body is not UTF-8 JSON"
                if exc.detail == _UNPARSABLE_BODY
                else f"the body could not be read: {exc.detail}"  # Starlette's multipart words
            )
            return respond(request, 422, "invalid_value", unreadable, "body")
        code = _CODE_BY_STATUS.get(status, "http_error")
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        detail = (
            exc.detail
            if isinstance(exc.detail, str) and exc.detail != phrase
            else {
                404: "there is nothing at this address",
                405: "this address does not accept that method",
            }.get(status, phrase or "the request failed")
        )
        response = respond(request, status, code, detail)
        for name, value in (exc.headers or {}).items():
            response.headers.setdefault(name, value)
        return response

    async def on_overflow(request: Request, exc: Exception) -> Response:
        # an id or number past what the database stores (SQLite: 64-bit): nothing has it
        return respond(request, 422, "invalid_value", "a number in the request is out of range")

    async def on_unstorable(request: Request, exc: Exception) -> Response:
        # the database refused a value the request carried (PostgreSQL: an id past 64 bits,
        # a NUL character in a text); the transaction was rolled back, nothing is stored
        log.info("refused a value the database cannot store on %s", request.url.path)
        return respond(
            request,
            422,
            "invalid_value",
            "a value in the request cannot be stored: a number out of range, or a text with "
            "a NUL character",
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(
            request,
            500,
            "internal_error",
            "something went wrong on our side; the error has been logged",
        )

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(ServiceError, on_domain)
    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(OverflowError, on_overflow)
    app.add_exception_handler(DataError, on_unstorable)
    app.add_exception_handler(Exception, on_unexpected)


__all__ = ["CsrfRejected", "LoginRequired", "install", "problem", "problem_for", "status_for"]
