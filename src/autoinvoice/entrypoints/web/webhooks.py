"""``POST /webhooks/{kind}`` and ``POST /webhooks/{kind}/{token}``: the webhook intake.

Each request is verified by its product's connector over the raw bytes, then stored — raw
request and processing job in one transaction — *before* the 2xx answer, so a burst or a
crash loses nothing; the worker parses it later. Answers:

* 200 ``{"status": "accepted"}`` — stored; ``"duplicate"`` — a redelivery already stored;
* 200 with the product's handshake body (Asana's ``X-Hook-Secret`` echo, Toggl's
  ``validation_code``);
* 401 problem+json — forged, tampered, replayed outside the product's window, or missing
  credentials; recorded in the audit log (reason, size, digest — never the body), never
  processed;
* 404 — no such product; 503 — storage is down (the vendor retries).

Sources are found by the per-source URL token (``/webhooks/{kind}/{token}``), which
products that do not sign (Pipedrive, Clockify) must use; signed products may also post to
``/webhooks/{kind}``, where the signature itself picks the source.

``POST /webhooks/stripe`` is a payment provider's, not a source's: ``payment_webhooks.py``
verifies and applies it before answering (400 for a bad signature, as Stripe documents).

Throughput: requests are written by one writer thread per process that commits them in
groups (group commit) — each request still waits for its own commit before it is answered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ...adapters.connectors import WEBHOOK_KINDS
from ...bootstrap import App
from ...services.connectors import (
    Handshake,
    InboundRequest,
    SignatureRejected,
    SourceSecrets,
    Verified,
)
from ...services.ingest import (
    Accepted,
    accept_handshake_secret,
    accepted,
    record_rejection,
    store_requests,
)
from ...services.ports import SourceRecord
from ...services.sources import open_secrets
from .errors import PROBLEM_JSON, problem_body

log = logging.getLogger(__name__)

TOKEN_ONLY = frozenset({"pipedrive", "clockify"})  # they do not sign: the URL token is required
MAX_BODY = 5 * 1024 * 1024


class IntakeWriter:
    """Group commit: requests queue here; one thread stores up to ``max_batch`` per
    transaction and resolves each request's future once its transaction committed."""

    def __init__(self, store: Callable[[Sequence[Accepted]], list[bool]], max_batch: int = 256):
        self._store = store
        self._max = max_batch
        self._q: queue.SimpleQueue[tuple[Accepted, asyncio.Future[bool], Any]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="intake")
                self._thread.start()

    async def submit(self, item: Accepted) -> bool:
        if self._thread is None:
            self._start()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        self._q.put((item, fut, loop))
        return await fut

    def _run(self) -> None:
        while True:
            batch = [self._q.get()]
            while len(batch) < self._max:
                try:
                    batch.append(self._q.get_nowait())
                except queue.Empty:
                    break
            try:
                results: list[bool] | None = self._store([b[0] for b in batch])
                error: Exception | None = None
            except Exception as exc:  # the database is down: every waiter gets a 503
                log.exception("storing %s webhook requests failed", len(batch))
                results, error = None, exc
            for i, (_, fut, loop) in enumerate(batch):
                if results is not None:
                    loop.call_soon_threadsafe(_resolve, fut, results[i], None)
                else:
                    loop.call_soon_threadsafe(_resolve, fut, False, error)


def _resolve(fut: asyncio.Future[bool], value: bool, error: Exception | None) -> None:
    if fut.done():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(value)


@dataclass
class _Entry:
    source: SourceRecord
    secrets: SourceSecrets


class SourceDirectory:
    """Sources with their opened secrets, cached for a few seconds so the hot path does not
    read and decrypt per request; a miss (a new source) reloads at once."""

    def __init__(self, app: App, ttl: float = 5.0) -> None:
        self.app = app
        self.ttl = ttl
        self._loaded = 0.0
        self._entries: list[_Entry] = []
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self.app.uow(read_only=True) as uow:
            sources = uow.sources.list()
        entries = []
        for s in sources:
            try:
                entries.append(_Entry(s, open_secrets(s, self.app.box)))
            except ValueError as exc:
                log.error("source %s: %s", s.name, exc)
        self._entries, self._loaded = entries, time.monotonic()

    def find(self, kind: str, token: str | None, *, fresh: bool = False) -> list[_Entry]:
        with self._lock:
            if fresh or time.monotonic() - self._loaded > self.ttl:
                self._load()
            found = [
                e
                for e in self._entries
                if e.source.kind == kind
                and e.source.enabled
                and (token is None or e.source.url_token == token)
            ]
        if not found and not fresh and time.monotonic() - self._loaded > 1.0:
            return self.find(kind, token, fresh=True)  # a source added a moment ago
        return found

    def invalidate(self) -> None:
        self._loaded = 0.0


def _problem(status: int, code: str, detail: str) -> Reply:
    return Reply(status, json.dumps(problem_body(status, code, detail)).encode(), PROBLEM_JSON)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    media_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


_ACCEPTED = Reply(200, b'{"status":"accepted"}')
_DUPLICATE = Reply(200, b'{"status":"duplicate"}')


class TokenBucket:
    """At most ``rate`` per second on average, ``burst`` at once (one process)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self._tokens, self._at = float(burst), time.monotonic()
        self.dropped = 0

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class Intake:
    """The intake itself, independent of the ASGI plumbing: a request in, a reply out."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.writer = IntakeWriter(lambda batch: store_requests(batch, uow=app.uow()))
        self.directory = SourceDirectory(app)
        self.base = app.settings.base_url.rstrip("/")
        self.rejections = TokenBucket(rate=20.0, burst=100)
        from .payment_webhooks import PaymentWebhooks  # here: it imports this module

        self.payments = PaymentWebhooks(app)  # /webhooks/stripe: payments, not a connector

    async def handle(
        self,
        kind: str,
        token: str | None,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        remote: str | None,
    ) -> Reply:
        if self.payments.handles(kind, token):
            return await self.payments.handle(kind, headers, body, remote)
        if kind not in WEBHOOK_KINDS:
            return _problem(404, "not_found", f"no webhook intake for {kind!r}")
        if len(body) > MAX_BODY:
            return _problem(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
        app = self.app
        inbound = InboundRequest(
            method="POST",
            url=f"{self.base}{path}" + (f"?{query}" if query else ""),
            headers=headers,
            body=body,
            received_at=app.clock.now(),
        )
        if kind in TOKEN_ONLY and token is None:
            reason = "this product must post to its source's URL with the token"
            return await self._reject(
                kind, None, reason + " (/webhooks/{kind}/{token})", inbound, remote
            )
        candidates = self.directory.find(kind, token)
        if not candidates:
            return await self._reject(
                kind, None, f"no {kind} source matches this URL", inbound, remote
            )
        connector = app.connector_for(kind)
        reason = "no source accepted the request"
        for entry in candidates:
            try:
                verdict = connector.verify(inbound, entry.secrets, now=inbound.received_at)
            except SignatureRejected as exc:
                reason = str(exc)
                continue
            if isinstance(verdict, Handshake):
                return await self._handshake(entry.source, verdict, token, inbound, remote)
            assert isinstance(verdict, Verified)
            item = accepted(
                entry.source.id, verdict.delivery_id, headers, body, inbound.received_at
            )
            try:
                new = await self.writer.submit(item)
            except Exception:
                return _problem(503, "unavailable", "the request could not be stored; retry")
            return _ACCEPTED if new else _DUPLICATE
        source_id = candidates[0].source.id if len(candidates) == 1 else None
        return await self._reject(kind, source_id, reason, inbound, remote)

    async def _reject(
        self,
        kind: str,
        source_id: int | None,
        reason: str,
        inbound: InboundRequest,
        remote: str | None,
    ) -> Reply:
        if self.rejections.allow():
            await asyncio.to_thread(
                record_rejection,
                kind,
                source_id,
                reason,
                inbound.body,
                remote,
                uow=self.app.uow(),
                clock=self.app.clock,
            )
        else:  # a flood of forged requests must not become a flood of writes
            self.rejections.dropped += 1
            if self.rejections.dropped % 1000 == 1:
                log.warning(
                    "webhook rejections beyond %s/s: %s not audited individually",
                    self.rejections.rate,
                    self.rejections.dropped,
                )
        return _problem(401, "signature_rejected", reason)

    async def _handshake(
        self,
        source: SourceRecord,
        verdict: Handshake,
        token: str | None,
        inbound: InboundRequest,
        remote: str | None,
    ) -> Reply:
        if verdict.new_signing_secret is not None:
            if token is None:
                reason = "a handshake must use the source's URL with its token"
                return await self._reject(source.kind, source.id, reason, inbound, remote)
            ok = await asyncio.to_thread(
                accept_handshake_secret,
                source.id,
                verdict.new_signing_secret,
                uow=self.app.uow(),
                clock=self.app.clock,
                box=self.app.box,
            )
            if not ok:
                reason = "handshake refused: this source has a signing secret already"
                return await self._reject(source.kind, source.id, reason, inbound, remote)
            self.directory.invalidate()
        return Reply(
            verdict.status, verdict.body, verdict.media_type, tuple(verdict.headers.items())
        )


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None once it grows past MAX_BODY (the rest is drained)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks) if size <= MAX_BODY else None


class WebhookIntake:
    """ASGI middleware, outermost: ``POST /webhooks/{kind}[/{token}]`` is answered here,
    before sessions, routing and page middleware (none of which a vendor's request needs);
    everything else passes on to the app."""

    def __init__(self, asgi: ASGIApp, intake: Intake) -> None:
        self.asgi = asgi
        self.intake = intake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/webhooks/"):
            await self.asgi(scope, receive, send)
            return
        parts = path[len("/webhooks/") :].split("/")
        if scope["method"] != "POST":
            reply = _problem(405, "method_not_allowed", "webhooks are POSTed")
        elif not 1 <= len(parts) <= 2 or not all(parts):
            reply = _problem(404, "not_found", "webhooks go to /webhooks/{kind}/{token}")
        else:
            body = await _read_body(receive)
            if body is None:
                reply = _problem(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
            else:
                headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
                }
                client = scope.get("client")
                reply = await self.intake.handle(
                    parts[0],
                    parts[1] if len(parts) == 2 else None,
                    path,
                    scope.get("query_string", b"").decode("latin-1"),
                    headers,
                    body,
                    client[0] if client else None,
                )
        raw = [
            (b"content-type", reply.media_type.encode()),
            (b"content-length", str(len(reply.body)).encode()),
            (b"x-content-type-options", b"nosniff"),
        ]
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        await send({"type": "http.response.start", "status": reply.status, "headers": raw})
        await send({"type": "http.response.body", "body": reply.body})


__all__ = ["Intake", "IntakeWriter", "SourceDirectory", "WebhookIntake"]
