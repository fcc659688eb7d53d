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

Throughput: requests are written by one writer thread per process that commits them in
groups (group commit) — each request still waits for its own commit before it is answered.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

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
    open_secrets,
    record_rejection,
    store_requests,
)
from ...services.ports import SourceRecord
from .errors import problem

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


def router(app: App) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    writer = IntakeWriter(lambda batch: store_requests(batch, uow=app.uow()))
    directory = SourceDirectory(app)
    base = app.settings.base_url.rstrip("/")

    async def receive(kind: str, request: Request, token: str | None) -> Response:
        if kind not in WEBHOOK_KINDS:
            return problem(404, "not_found", f"no webhook intake for {kind!r}")
        body = await request.body()
        remote = request.client.host if request.client else None
        if len(body) > MAX_BODY:
            return problem(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
        query = request.url.query
        inbound = InboundRequest(
            method=request.method,
            url=f"{base}{request.url.path}" + (f"?{query}" if query else ""),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            received_at=app.clock.now(),
        )
        if kind in TOKEN_ONLY and token is None:
            return await _reject(
                kind,
                None,
                "this product must post to its source's URL "
                "with the token (/webhooks/{kind}/{token})",
                body,
                remote,
            )
        candidates = directory.find(kind, token)
        if not candidates:
            return await _reject(kind, None, f"no {kind} source matches this URL", body, remote)
        connector = app.connector_for(kind)
        reason = "no source accepted the request"
        for entry in candidates:
            try:
                verdict = connector.verify(inbound, entry.secrets, now=inbound.received_at)
            except SignatureRejected as exc:
                reason = str(exc)
                continue
            if isinstance(verdict, Handshake):
                return await _handshake(entry.source, verdict, token, body, remote)
            assert isinstance(verdict, Verified)
            item = accepted(
                entry.source.id,
                verdict.delivery_id,
                dict(inbound.headers),
                body,
                inbound.received_at,
            )
            try:
                new = await writer.submit(item)
            except Exception:
                return problem(503, "unavailable", "the request could not be stored; retry")
            return JSONResponse({"status": "accepted" if new else "duplicate"})
        source_id = candidates[0].source.id if len(candidates) == 1 else None
        return await _reject(kind, source_id, reason, body, remote)

    async def _reject(
        kind: str, source_id: int | None, reason: str, body: bytes, remote: str | None
    ) -> Response:
        await asyncio.to_thread(
            record_rejection,
            kind,
            source_id,
            reason,
            body,
            remote,
            uow=app.uow(),
            clock=app.clock,
        )
        return problem(401, "signature_rejected", reason)

    async def _handshake(
        source: SourceRecord,
        verdict: Handshake,
        token: str | None,
        body: bytes,
        remote: str | None,
    ) -> Response:
        if verdict.new_signing_secret is not None:
            if token is None:
                return await _reject(
                    source.kind,
                    source.id,
                    "a handshake must use the source's URL with its token",
                    body,
                    remote,
                )
            ok = await asyncio.to_thread(
                accept_handshake_secret,
                source.id,
                verdict.new_signing_secret,
                uow=app.uow(),
                clock=app.clock,
                box=app.box,
            )
            if not ok:
                return await _reject(
                    source.kind,
                    source.id,
                    "handshake refused: this source has a signing secret already",
                    body,
                    remote,
                )
            directory.invalidate()
        return Response(
            verdict.body,
            status_code=verdict.status,
            headers=dict(verdict.headers),
            media_type=verdict.media_type,
        )

    @r.post("/webhooks/{kind}")
    async def webhook(kind: str, request: Request) -> Response:
        return await receive(kind, request, None)

    @r.post("/webhooks/{kind}/{token}")
    async def webhook_token(kind: str, token: str, request: Request) -> Response:
        return await receive(kind, request, token)

    return r


__all__ = ["IntakeWriter", "SourceDirectory", "router"]
