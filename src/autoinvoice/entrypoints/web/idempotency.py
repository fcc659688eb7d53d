"""``Idempotency-Key`` on every POST (and PATCH) under ``/api/v1``: a pure ASGI middleware.

A client that did not get an answer (a timeout, a dropped connection) sends the same POST
again with the same ``Idempotency-Key`` and gets the first answer — the invoice is issued,
the payment recorded, the client created once. The rules are in ``services/idempotency.py``
(Stripe's, and the IETF HTTPAPI draft "The Idempotency-Key HTTP Header Field"); here they
meet HTTP:

====================================================  ====================================
the same key, the same method, path, query and body   the stored answer (same status, body,
                                                      content type) + ``Idempotent-Replayed:
                                                      true``
the same key, another body or path                    422 ``idempotency_key_reused``
the same key while the first request still runs       409 ``idempotency_key_in_use``
a key that is not 1–100 visible ASCII characters      422 naming ``Idempotency-Key``
another caller's same key                             another request
====================================================  ====================================

Who the caller is is checked first, as the endpoints check it (an API key with the
``write`` scope, or a session with its CSRF header, of a role that may write): a caller the
endpoint would refuse is passed to it untouched, and its 401/403 is never stored or replayed
to anyone. Answers of 5xx are not stored either, so a retry runs. Answers are kept 24 hours,
removed lazily. An answer marked ``Cache-Control: no-store`` (one that shows a secret once)
is not kept: the key still guards against running twice, and a replay says so with a 409
``idempotency_answer_not_kept``.

Endpoints that take ``Idempotency-Key`` themselves (recording a payment: they answer a
repeat with 200 and ``duplicate: true``) keep doing so: for them a key is scoped to the
path as well (the same key on another invoice is another payment, as they document), a
repeat goes on to the endpoint, and only a changed body is refused here.

The request body is read before the endpoint runs (it is needed for the fingerprint) and
handed on unchanged; the answer is streamed through as the endpoint sends it, its last part
held back until the answer is stored, so a retry that arrives after the answer always finds
it stored.
"""

from __future__ import annotations

import hashlib
import re
from functools import partial
from typing import Any

import anyio
from anyio.to_thread import run_sync
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...bootstrap import App
from ...services import idempotency as keys
from ...services.errors import AuthError, Forbidden
from .deps import api_user, user_stamp
from .errors import problem

API_PREFIX = "/api/v1/"
METHODS = ("POST", "PATCH")  # not idempotent by HTTP's definition (RFC 9110 §9.2.2)
HEADER = "Idempotency-Key"
_HEADER = HEADER.lower().encode()
KEY = re.compile(r"[\x21-\x7e]{1,100}")  # visible ASCII, as the payment endpoints always took
MAX_KEPT_BODY = 1 << 20  # a larger answer is not kept (an API POST answers a few kB)
_NOT_KEPT_HEADERS = frozenset({"set-cookie"})

PARAMETER: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "Send a unique key (e.g. a UUID) to retry safely: the same key with the "
    "same request answers the first answer again, with `Idempotent-Replayed: true`, for "
    "24 hours. The same key with another request is a 422; while the first is still "
    "running, a 409. Keys are per API key (or signed-in user).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[!-~]+$"},
}
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_IN_USE = "the Idempotency-Key is in use by a request that is still running"
_REPLAYED = {
    "description": "`true` when this is the stored answer to an earlier request with the same "
    "Idempotency-Key; nothing was done again",
    "schema": {"type": "string", "enum": ["true"]},
}


def document(schema: dict[str, Any]) -> None:
    """Declare the ``Idempotency-Key`` header, and the 409/422 it may bring, on every POST
    and PATCH under ``/api/v1`` of an OpenAPI document (called once by ``openapi()``)."""
    for path, item in schema.get("paths", {}).items():
        for method in METHODS if path.startswith(API_PREFIX) else ():
            if method.lower() in item:
                _declare(item[method.lower()])


def _declare(operation: dict[str, Any]) -> None:
    params = operation.setdefault("parameters", [])
    declared = [
        p
        for p in params
        if p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key"
    ]
    for param in declared:  # the endpoint's own: one rule for all
        param.update(PARAMETER)
    if not declared:
        params.append(dict(PARAMETER))
    responses = operation.setdefault("responses", {})
    for status, answer in responses.items():
        if str(status).startswith("2"):
            answer.setdefault("headers", {})["Idempotent-Replayed"] = _REPLAYED
    conflict = responses.setdefault("409", {"description": "", "content": _PROBLEM})
    conflict["description"] = "; or ".join(filter(None, (conflict["description"], _IN_USE)))
    responses.setdefault(
        "422", {"description": "A value is invalid; `field` names it", "content": _PROBLEM}
    )


def caller_of(request: Request) -> str | None:
    """Who sends this POST, as the endpoints would let them in to write — or None: then the
    endpoint answers 401/403 itself. Keys are scoped to the API key (by its public prefix)
    or to the signed-in user. The check is the endpoints' own (``deps.api_user``)."""
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    credentials = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=token)
        if scheme.lower() == "bearer" and token
        else None
    )
    if credentials is None and "session" not in request.scope:
        return None
    try:
        user = api_user(request, credentials)
    except (AuthError, Forbidden):  # CsrfRejected is a Forbidden
        return None
    if credentials is not None:
        return f"key:{token.split('_', 2)[1]}"
    return f"user:{user.id}.{user_stamp(user)}"  # a reused id is another caller


class IdempotencyKeys:
    """The middleware. Add it inside ``SessionMiddleware`` (it reads the session)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._own: list[re.Pattern[str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in METHODS
            or not scope["path"].startswith(API_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        values = [v.decode("latin-1") for k, v in scope["headers"] if k == _HEADER]
        if not values:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        caller = await run_sync(caller_of, request)
        if caller is None:  # the endpoint refuses it (401/403): nothing to remember
            await self.app(scope, receive, send)
            return
        key = values[0].strip()
        if len(values) > 1 or not KEY.fullmatch(key):
            await _answer(
                scope,
                receive,
                send,
                422,
                "invalid_value",
                "send one Idempotency-Key of 1–100 visible ASCII characters (e.g. a UUID)",
            )
            return
        body = await _read_body(receive)
        if body is not None:
            await self._guarded(scope, receive, send, caller, key, body)

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, caller: str, key: str, body: bytes
    ) -> None:
        app: App = scope["app"].state.autoinvoice
        path, query = scope["path"], scope.get("query_string", b"").decode("latin-1")
        method = scope["method"]
        own = method == "POST" and self._handles_key_itself(scope["app"], path)
        if own:  # the endpoint's own keys are per path ("another invoice, another payment")
            key = "path:" + hashlib.sha256(f"{path}\n{key}".encode()).hexdigest()
        digest = keys.fingerprint(method, path, query, body)
        outcome = await run_sync(
            partial(
                keys.begin, caller, key, digest, f"{method} {path}", uow=app.uow(), clock=app.clock
            )
        )
        replay_body = _replaying(body, receive)
        if isinstance(outcome, keys.KeyReused):
            await _answer(
                scope,
                replay_body,
                send,
                422,
                "idempotency_key_reused",
                f"this Idempotency-Key was used for another request ({outcome.first_request}, "
                "or another body); use a new key for a new request",
            )
        elif isinstance(outcome, keys.StillRunning):
            await _answer(
                scope,
                replay_body,
                send,
                409,
                "idempotency_key_in_use",
                f"{_IN_USE}; retry in a moment to get its answer",
                headers={"Retry-After": "1"},
            )
        elif isinstance(outcome, keys.Replay):
            if own:
                await self.app(scope, replay_body, send)
            else:
                await _replay(scope, replay_body, send, outcome.stored)
        else:
            await self._run_and_keep(scope, replay_body, send, app, outcome.row_id)

    async def _run_and_keep(
        self, scope: Scope, receive: Receive, send: Send, app: App, row_id: int
    ) -> None:
        status = 0
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []
        size = 0
        settled = False

        async def settle() -> None:
            nonlocal settled
            settled = True
            if not keys.keeps(status):
                await run_sync(partial(keys.abandon, row_id, uow=app.uow()))
                return
            kept = [(n, v) for n, v in headers if n not in _NOT_KEPT_HEADERS]
            no_store = any(n == "cache-control" and "no-store" in v.lower() for n, v in headers)
            body = None if no_store or size > MAX_KEPT_BODY else b"".join(chunks)
            await run_sync(
                partial(
                    keys.finish, row_id, status, tuple(kept), body, uow=app.uow(), clock=app.clock
                )
            )

        async def capture(message: Message) -> None:
            nonlocal status, headers, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    (n.decode("latin-1").lower(), v.decode("latin-1"))
                    for n, v in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body" and not settled:
                chunk = message.get("body", b"")
                size += len(chunk)
                if size <= MAX_KEPT_BODY:
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    await settle()
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            if not settled:
                with anyio.CancelScope(shield=True):
                    await run_sync(partial(keys.abandon, row_id, uow=app.uow()))
            raise
        if not settled:  # no complete answer was sent: let a retry run
            with anyio.CancelScope(shield=True):
                await run_sync(partial(keys.abandon, row_id, uow=app.uow()))

    def _handles_key_itself(self, web: Any, path: str) -> bool:
        """Whether the POST route at ``path`` declares ``Idempotency-Key`` itself."""
        if self._own is None:
            self._own = list(_own_key_routes(web.routes))
        return any(p.fullmatch(path) for p in self._own)


def _own_key_routes(routes: list[Any]) -> list[re.Pattern[str]]:
    found = []
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or "POST" not in (context.methods or ()):
            continue
        if _declares_key(route.dependant):
            pattern, _, _ = compile_path(context.path or route.path)
            found.append(pattern)
    return found


def _declares_key(dependant: Dependant) -> bool:
    return any(
        (p.alias or p.name).lower() == "idempotency-key" for p in dependant.header_params
    ) or any(_declares_key(sub) for sub in dependant.dependencies)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client went away before sending all of it
    (then nothing runs: a retry will come with the whole body)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the body read here to the endpoint, then listens on."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def _answer(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
) -> None:
    response = problem(status, code, detail, field=HEADER, headers=headers)
    await response(scope, receive, send)


async def _replay(scope: Scope, receive: Receive, send: Send, stored: keys.StoredRequest) -> None:
    if stored.body is None:
        await _answer(
            scope,
            receive,
            send,
            409,
            "idempotency_answer_not_kept",
            f"a request with this Idempotency-Key was carried out (status {stored.status}), but "
            "its answer is not kept: it showed a secret once, or was too large; look the "
            "result up instead of retrying",
        )
        return
    raw = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in stored.headers]
    raw.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": stored.status, "headers": raw})
    await send({"type": "http.response.body", "body": stored.body, "more_body": False})


__all__ = ["HEADER", "IdempotencyKeys", "caller_of", "document"]
