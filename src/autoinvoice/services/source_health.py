"""What the sources pages show: each source's health at a glance, its links, the raw
requests it sent and the canonical events they became — read-only queries, one
transaction each. Secrets never leave here: only the names of the secrets a source has and
when they were last set.

Health, in the order it is decided:

* **Failing** — the last request or poll could not be processed (``consecutive_errors``);
* **Never heard from** — nothing has arrived or synced yet;
* **Stale** — the last successful sync is older than the source's allowed age;
* **Healthy** — otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import NotFound
from .ingest import _is_secret_header
from .ports import Clock, SecretBox, SourceRecord, UnitOfWork

HEALTH_LABELS = {
    "failing": "Failing",
    "never": "Never heard from",
    "stale": "Stale",
    "healthy": "Healthy",
}
SECRET_ACTIONS = ("source.added", "source.secrets_changed", "source.handshake")
REDACTED = "•••••• (redacted)"


def health(source: SourceRecord, now: datetime) -> str:
    """``failing``, ``never``, ``stale`` or ``healthy`` (see the module docstring)."""
    if source.consecutive_errors:
        return "failing"
    if source.last_success_at is None and source.last_event_at is None:
        return "never"
    if source.is_stale(now):
        return "stale"
    return "healthy"


def webhook_url(base_url: str, source: SourceRecord) -> str:
    return f"{base_url.rstrip('/')}/webhooks/{source.kind}/{source.url_token}"


@dataclass(frozen=True)
class SourceStatus:
    source: SourceRecord
    health: str
    secret_names: list[str] = field(default_factory=list)
    secrets_set_at: datetime | None = None

    @property
    def health_label(self) -> str:
        return HEALTH_LABELS[self.health]


@dataclass(frozen=True)
class LinkRow:
    ref_type: str
    external_ref: str
    client_id: int
    client: str
    contract_id: int | None
    contract: str | None


@dataclass(frozen=True)
class RequestRow:
    id: int
    received_at: datetime
    status: str
    error: str | None
    size: int
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class SourcePage:
    status: SourceStatus
    links: list[LinkRow]
    requests: list[RequestRow]


@dataclass(frozen=True)
class RequestDetail:
    status: SourceStatus
    id: int
    received_at: datetime
    state: str
    error: str | None
    headers: list[tuple[str, str]]
    body: str
    is_json: bool
    events: list[dict[str, Any]]


def _status(
    uow: UnitOfWork, source: SourceRecord, now: datetime, box: SecretBox | None
) -> SourceStatus:
    names: list[str] = []
    set_at = None
    if box is not None:
        try:
            names = sorted(k for k, v in box.open(source.sealed_secrets).items() if v)
        except ValueError:
            names = []
        entries = uow.audit.recent(50, subject_type="source", subject_id=str(source.id))
        set_at = next((e["at"] for e in entries if e["action"] in SECRET_ACTIONS), None)
    return SourceStatus(source, health(source, now), names, set_at)


def list_sources(*, uow: UnitOfWork, clock: Clock) -> list[SourceStatus]:
    now = clock.now()
    with uow:
        return [_status(uow, s, now, None) for s in uow.sources.list()]


def _requests(uow: UnitOfWork, source_id: int, limit: int) -> list[RequestRow]:
    rows = uow.inbound.recent(source_id, limit)
    events = uow.events.of_requests([r["id"] for r in rows])
    by_request: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        by_request.setdefault(e["inbound_id"], []).append(e)
    return [
        RequestRow(
            r["id"],
            r["received_at"],
            r["status"],
            r["error"],
            r["size"] or 0,
            by_request.get(r["id"], []),
        )
        for r in rows
    ]


def source_page(
    name: str, *, uow: UnitOfWork, clock: Clock, box: SecretBox, limit: int = 25
) -> SourcePage:
    now = clock.now()
    with uow:
        src = uow.sources.by_name(name)
        links = []
        for link in uow.links.list(src.id):
            client = uow.clients.get(link.client_id)
            contract = uow.contracts.get(link.contract_id) if link.contract_id else None
            links.append(
                LinkRow(
                    link.ref_type,
                    link.external_ref,
                    link.client_id,
                    client.party.name,
                    link.contract_id,
                    contract.name if contract else None,
                )
            )
        return SourcePage(_status(uow, src, now, box), links, _requests(uow, src.id, limit))


def recorded_requests(name: str, *, uow: UnitOfWork, limit: int = 25) -> list[RequestRow]:
    with uow:
        src = uow.sources.by_name(name)
        return _requests(uow, src.id, limit)


def _redacted(headers: dict[str, str]) -> list[tuple[str, str]]:
    def hidden(name: str) -> bool:
        return _is_secret_header(name) or "signature" in name.lower()

    return sorted((k, REDACTED if hidden(k) else v) for k, v in headers.items())


def pretty_body(body: bytes) -> tuple[str, bool]:
    """The body as text: JSON indented, anything else as it came (undecodable bytes
    replaced)."""
    text = body.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False), True
    except ValueError:
        return text, False


def request_detail(
    name: str, inbound_id: int, *, uow: UnitOfWork, clock: Clock, box: SecretBox
) -> RequestDetail:
    """One stored request of the source ``name`` (NotFound when it is another source's)."""
    now = clock.now()
    with uow:
        src = uow.sources.by_name(name)
        req = uow.inbound.get(inbound_id)
        if req.source_id != src.id:
            raise NotFound(f"source {name!r} has no request {inbound_id}", field="inbound_id")
        body, is_json = pretty_body(req.body)
        return RequestDetail(
            status=_status(uow, src, now, box),
            id=req.id,
            received_at=req.received_at,
            state=req.status,
            error=req.error,
            headers=_redacted(dict(req.headers)),
            body=body,
            is_json=is_json,
            events=uow.events.of_requests([req.id]),
        )


def load_request(name: str, inbound_id: int, *, uow: UnitOfWork) -> tuple[dict[str, str], bytes]:
    """The headers and body of one of the source's stored requests (for the preview)."""
    with uow:
        src = uow.sources.by_name(name)
        req = uow.inbound.get(inbound_id)
        if req.source_id != src.id:
            raise NotFound(f"source {name!r} has no request {inbound_id}", field="inbound_id")
        return dict(req.headers), req.body


__all__ = [
    "HEALTH_LABELS",
    "LinkRow",
    "RequestDetail",
    "RequestRow",
    "SourcePage",
    "SourceStatus",
    "health",
    "list_sources",
    "load_request",
    "pretty_body",
    "recorded_requests",
    "request_detail",
    "source_page",
    "webhook_url",
]
