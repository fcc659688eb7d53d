"""From outside signal to canonical event to rule: sources, the durable intake, and the
worker step that parses, de-duplicates, orders, maps and fires.

The path of a webhook::

    POST /webhooks/{kind}[/{token}] ─► Connector.verify ─► store_requests (raw bytes + a
    process job, one transaction, before the 2xx) ─► worker: process_inbound ─► Connector.parse
    (+ fetch for id-only events) ─► apply_event: dedupe by the vendor's event id, drop what
    is older than the subject's known state, map refs to client/contract, store time entries
    and milestone states, fire rules (services/triggering.py)

A request that fails to parse is kept with its error (nothing is lost; ``sources replay``
runs it again after a fix); a vendor API that is down makes the job retry with back-off.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..domain.contracts import BillingModel, TimeEntry
from ..domain.errors import DomainError, InvalidValue
from ..domain.events import (
    TIME_DELETED,
    TIME_LOGGED,
    WORK_COMPLETED,
    WORK_REOPENED,
    Event,
    Subject,
)
from ..domain.money import to_decimal
from .connectors import (
    Connector,
    Poller,
    VendorRefused,
    VendorUnavailable,
)
from .ports import Clock, Job, SecretBox, SourceRecord, UnitOfWork
from .sources import _source_failed, alert_owner, open_secrets
from .triggering import Mapped, Outcome, check_thresholds, milestone_names, rules_for_event

log = logging.getLogger(__name__)

PROCESS = "process_inbound"
HOURS_SCALE = Decimal("0.000001")
POLL = "poll_source"
# never stored with a raw request: they are credentials, not evidence
SECRET_HEADERS = frozenset({"clockify-signature", "x-hook-secret"})
SECRET_HEADER_WORDS = ("auth", "cookie", "secret", "token", "api-key", "apikey", "password")


def _is_secret_header(name: str) -> bool:
    n = name.lower()
    return n in SECRET_HEADERS or any(w in n for w in SECRET_HEADER_WORDS)


# -- sources --------------------------------------------------------------------------------


def link_ref(
    source_name: str,
    ref_type: str,
    external_ref: str,
    *,
    client_id: int | None,
    contract_id: int | None,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
) -> int:
    """Map a source's record (company → client, project → contract) to ours."""
    if ref_type not in ("client", "project"):
        raise InvalidValue("a link maps a 'client' or a 'project' reference", field="ref_type")
    with uow:
        src = uow.sources.by_name(source_name)
        if contract_id is not None:
            contract = uow.contracts.get(contract_id)
            if client_id is not None and client_id != contract.client_id:
                raise InvalidValue(
                    f"contract {contract_id} belongs to client {contract.client_id}, "
                    f"not {client_id}",
                    field="contract",
                )
            client_id = contract.client_id
        if client_id is None:
            raise InvalidValue("name a client or a contract to link to", field="client")
        uow.clients.get(client_id)
        link_id = uow.links.add(src.id, ref_type, external_ref, client_id, contract_id)
        # what arrived before the link (polled or imported events too) is applied now
        for event in uow.events.unfinished(src.id):
            apply_event(event, src, None, uow=uow, now=clock.now(), actor=actor)
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="source.linked",
            subject_type="source",
            subject_id=src.id,
            detail={
                "ref_type": ref_type,
                "ref": external_ref,
                "client": client_id,
                "contract": contract_id,
            },
        )
        uow.commit()
    return link_id


# -- intake ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Accepted:
    """A verified request to store: its source, the key that recognises a redelivery, and
    the request itself (credentials stripped from the headers)."""

    source_id: int
    dedupe_key: str
    headers: dict[str, str]
    body: bytes
    received_at: datetime


def accepted(
    source_id: int,
    delivery_id: str | None,
    headers: dict[str, str],
    body: bytes,
    received_at: datetime,
) -> Accepted:
    key = f"d:{delivery_id}" if delivery_id else f"b:{hashlib.sha256(body).hexdigest()}"
    kept = {k: v for k, v in headers.items() if not _is_secret_header(k)}
    return Accepted(source_id, key[:200], kept, body, received_at)


def store_requests(batch: Sequence[Accepted], *, uow: UnitOfWork) -> list[bool]:
    """Store verified requests and their processing jobs in one transaction (group commit
    for the web intake), two round trips for the whole batch. Returns, per request, whether
    it was new (False: a redelivery)."""
    if not batch:
        return []
    now = max(a.received_at for a in batch)
    with uow:
        ids = uow.inbound.add_many(
            [(a.source_id, a.received_at, a.dedupe_key, a.headers, a.body) for a in batch]
        )
        uow.outbox.enqueue_many(
            [(PROCESS, {"inbound_id": i}, f"{PROCESS}:{i}") for i in ids if i is not None],
            now,
            now,
        )
        uow.commit()
    return [i is not None for i in ids]


def record_rejection(
    kind: str,
    source_id: int | None,
    reason: str,
    body: bytes,
    remote: str | None,
    *,
    uow: UnitOfWork,
    clock: Clock,
) -> None:
    """A forged, tampered or replayed request: recorded (never its body), never processed."""
    now = clock.now()
    log.warning("webhook rejected: %s source=%s from %s: %s", kind, source_id, remote, reason)
    with uow:
        uow.audit.record(
            at=now,
            actor=f"webhook:{kind}",
            action="webhook.rejected",
            subject_type="source",
            subject_id=source_id,
            detail={
                "reason": reason,
                "remote": remote,
                "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            },
        )
        uow.commit()


def accept_handshake_secret(
    source_id: int, secret: str, *, uow: UnitOfWork, clock: Clock, box: SecretBox
) -> bool:
    """Asana's handshake hands over the signing secret. Accept it only while the source has
    none, so a stranger cannot replace the secret of a working source."""
    with uow:
        src = uow.sources.get(source_id)
        current = box.open(src.sealed_secrets)
        if current.get("signing_secret"):
            return False
        uow.sources.update(src.id, sealed_secrets=box.seal({**current, "signing_secret": secret}))
        uow.audit.record(
            at=clock.now(),
            actor=f"webhook:{src.kind}",
            action="source.handshake",
            subject_type="source",
            subject_id=src.id,
        )
        uow.commit()
    return True


# -- processing -----------------------------------------------------------------------------
ConnectorFor = Callable[[str], Connector]


def process_inbound(
    jobs: list[Job],
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
    box: SecretBox,
    connector_for: ConnectorFor,
    lease_seconds: int = 120,
) -> dict[int, Exception]:
    """The worker's handler for stored requests (see the module docstring). Each job's
    lease is renewed before it starts, so slow vendor fetches for the jobs before it do not
    let another worker take it over meanwhile."""
    failures: dict[int, Exception] = {}
    for job in jobs:
        with uow:
            mine = uow.outbox.extend(job.id, worker, clock.now() + timedelta(seconds=lease_seconds))
            uow.commit()
        if not mine:
            continue  # another worker took it over; it is that worker's now
        try:
            _process_one(
                job, uow=uow, clock=clock, worker=worker, box=box, connector_for=connector_for
            )
        except Exception as exc:
            failures[job.id] = exc
    return failures


def _process_one(
    job: Job,
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
    box: SecretBox,
    connector_for: ConnectorFor,
) -> None:
    inbound_id = int(job.payload["inbound_id"])
    with uow:
        req = uow.inbound.get(inbound_id)
        source = uow.sources.get(req.source_id)
    connector = connector_for(source.kind)
    refused: list[tuple[Event, str]] = []  # one record the vendor refuses spoils no other
    try:
        events = connector.parse(req.headers, req.body, source.config)
        if any(e.needs_fetch for e in events):
            creds = open_secrets(source, box)
            fetched = []
            for e in events:
                try:
                    fetched.append(connector.fetch(e, creds, source.config))
                except VendorRefused as exc:
                    refused.append((e, f"{type(exc).__name__}: {exc}"))
            events = fetched
    except VendorUnavailable as exc:
        _source_failed(source, f"{source.kind} API unavailable: {exc}", uow=uow, clock=clock)
        raise
    except (DomainError, VendorRefused, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        now = clock.now()
        with uow:
            uow.inbound.finish(inbound_id, "failed", error, now)
            uow.outbox.complete(job.id, worker, now)
            uow.commit()
        _source_failed(source, error, uow=uow, clock=clock)
        return
    now = clock.now()
    with uow:
        for event in events:
            apply_event(event, source, inbound_id, uow=uow, now=now, actor=f"source:{source.name}")
        for event, error in refused:  # kept as errors: `sources replay` fetches them again
            event_id = uow.events.add(source.id, inbound_id, event, now)
            if event_id is not None:
                uow.events.settle(event_id, "error", f"fetching the record failed: {error}")
        uow.inbound.finish(inbound_id, "done" if not refused else "partial", None, now)
        uow.sources.succeeded(source.id, now, event=True)
        uow.outbox.complete(job.id, worker, now)
        uow.commit()


def _resolve(uow: UnitOfWork, source_id: int, event: Event) -> tuple[Mapped, str | None]:
    f = event.fields
    project_ref, client_ref = f.get("project_ref"), f.get("client_ref")
    if project_ref is not None:
        link = uow.links.find(source_id, "project", str(project_ref))
        if link:
            return Mapped(link.client_id, link.contract_id), None
    if client_ref is not None:
        link = uow.links.find(source_id, "client", str(client_ref))
        if link:
            return Mapped(link.client_id, link.contract_id), None
    refs = [
        f"{kind} {ref!r}" + (f" ({name})" if name else "")
        for kind, ref, name in (
            ("project", project_ref, f.get("project_name")),
            ("company", client_ref, f.get("client_name")),
        )
        if ref is not None
    ]
    if not refs:
        return Mapped(), "the event carries no project or company reference"
    return Mapped(), (
        f"{' and '.join(refs)} map to nothing: link it with "
        f"`autoinvoice sources link SOURCE --project REF --contract ID` "
        f"(or --company REF --client ID)"
    )


def _time_entry(event: Event, source: SourceRecord) -> TimeEntry:
    f = event.fields
    person = str(f.get("person") or f.get("person_ref") or "unknown")
    roles = source.config.options.get("roles") or {}
    day = f.get("day")
    try:
        parsed_day = date.fromisoformat(str(day))
    except ValueError:
        raise InvalidValue(f"{day!r} is not an ISO date", field="fields.day") from None
    role = f.get("role") or roles.get(person) or roles.get(str(f.get("person_ref"))) or ""
    hours = to_decimal(str(f.get("hours")), field="fields.hours")
    # the columns' limits, the same on SQLite and PostgreSQL: a long description from a time
    # tracker is cut, not a reason to refuse the entry; hours keep 6 decimals (NUMERIC(24,6))
    return TimeEntry(
        person=person[:200],
        role=str(role)[:100],
        task=str(f.get("task") or f.get("description") or "Work")[:500],
        hours=hours.quantize(HOURS_SCALE, rounding=ROUND_HALF_UP),
        day=parsed_day,
    )


def apply_event(
    event: Event,
    source: SourceRecord,
    inbound_id: int | None,
    *,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
) -> list[Outcome]:
    """Record one canonical event and act on it (caller's transaction)."""
    event_id = uow.events.add(source.id, inbound_id, event, now)
    if event_id is None:  # seen before: processed once, unless it could not finish then
        event_id = uow.events.reopen(source.id, event.dedupe_key)
    if event_id is None:
        return []
    if event.moves_state and not uow.events.advance_subject(source.id, event):
        uow.events.settle(event_id, "superseded", "a newer state of this subject is known")
        return []
    mapped, unmapped = _resolve(uow, source.id, event)
    outcomes: list[Outcome] = []
    try:
        outcomes = _act(event, event_id, source, mapped, uow=uow, now=now, actor=actor)
    except DomainError as exc:
        uow.events.settle(event_id, "error", str(exc))
        uow.audit.record(
            at=now,
            actor=actor,
            action="event.error",
            subject_type="event",
            subject_id=event_id,
            detail={"reason": str(exc)},
        )
        return []
    status = "applied" if mapped.client_id is not None else "unmapped"
    if any(o.outcome == "failed" for o in outcomes):
        status = "failed"  # replaying it after the fix tries again
    detail = unmapped if mapped.client_id is None else None
    if outcomes:
        detail = "; ".join(
            f"{o.rule}: {o.outcome}" + (f" ({o.detail})" if o.detail else "") for o in outcomes
        )
    uow.events.settle(event_id, status, detail)
    return outcomes


def _act(
    event: Event,
    event_id: int,
    source: SourceRecord,
    mapped: Mapped,
    *,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
) -> list[Outcome]:
    rules = uow.rules.list(enabled_only=True)
    contract = uow.contracts.get(mapped.contract_id) if mapped.contract_id else None
    outcomes: list[Outcome] = []
    if event.subject is Subject.TIME_ENTRY and event.type in (TIME_LOGGED, TIME_DELETED):
        entry = _time_entry(event, source) if event.type == TIME_LOGGED else None
        change = uow.time_entries.upsert(source.id, mapped.contract_id, event, entry, now)
        if change == "edited_after_billing":
            uow.audit.record(
                at=now,
                actor=actor,
                action="time_entry.edited_after_billing",
                subject_type="event",
                subject_id=event_id,
                detail={
                    "entry": event.external_id,
                    "source": source.name,
                    "fields": dict(event.fields),
                },
            )
            alert_owner(
                uow,
                now,
                actor,
                "time_entry.edited_after_billing",
                source.id,
                f"A billed time entry was changed in {source.name}",
                f"Time entry {event.external_id} was edited after it was billed. The issued "
                "invoice is unchanged; correct it with a credit note if needed.",
            )
        if (
            contract is not None
            and change in ("new", "updated")
            and (contract.model is BillingModel.TIME_AND_MATERIALS)
        ):
            outcomes.extend(check_thresholds(rules, contract, uow=uow, now=now, actor=actor))
    if contract is not None and contract.model is BillingModel.MILESTONE and contract.id:
        if event.type == WORK_COMPLETED:
            for name in milestone_names(contract, event):
                uow.milestones.complete(contract.id, name, event.occurred_at, event_id)
        elif event.type == WORK_REOPENED:
            for name in milestone_names(contract, event):
                uow.milestones.reopen(contract.id, name)
    outcomes.extend(
        rules_for_event(rules, event, event_id, source, mapped, uow=uow, now=now, actor=actor)
    )
    return outcomes


def ingest_events(
    source_name: str, events: Iterable[Event], *, uow: UnitOfWork, clock: Clock, actor: str
) -> list[Outcome]:
    """Apply events that did not come over a webhook (CSV import, polling), one transaction."""
    now = clock.now()
    out: list[Outcome] = []
    with uow:
        source = uow.sources.by_name(source_name)
        for event in events:
            out.extend(apply_event(event, source, None, uow=uow, now=now, actor=actor))
        uow.sources.succeeded(source.id, now, event=True)
        uow.commit()
    return out


def poll_source(
    source_name: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    box: SecretBox,
    poller_for: Callable[[str], Poller],
    actor: str,
) -> int:
    """Pull what changed since the cursor, apply it, move the cursor — one transaction, so
    a crash repeats the pull (idempotent) instead of skipping entries."""
    with uow:
        source = uow.sources.by_name(source_name)
    try:
        poller = poller_for(source.kind)
    except KeyError:
        raise InvalidValue(f"a {source.kind} source is not polled", field="source") from None
    now = clock.now()
    try:
        result = poller.poll(open_secrets(source, box), source.config, source.poll_cursor, now=now)
        with uow:
            for event in result.events:
                apply_event(event, source, None, uow=uow, now=now, actor=actor)
            # the first poll with nothing new still fixes where the next one starts
            cursor = result.cursor or source.poll_cursor or f"{now:%Y-%m-%dT%H:%M:%SZ}"
            values: dict[str, Any] = {"poll_cursor": cursor}
            if source.poll_interval:
                values["next_poll_at"] = now + source.poll_interval
            uow.sources.update(source.id, **values)
            uow.sources.succeeded(source.id, now, event=bool(result.events))
            uow.commit()
    except Exception as exc:  # any failure: counted, alerted once, next try after the interval
        _source_failed(source, f"{type(exc).__name__}: {exc}", uow=uow, clock=clock)
        if source.poll_interval:
            with uow:
                uow.sources.update(source.id, next_poll_at=now + source.poll_interval)
                uow.commit()
        raise
    return len(result.events)


def replay_inbound(inbound_id: int, *, uow: UnitOfWork, clock: Clock, actor: str) -> None:
    """Process a stored request again (after fixing a mapping, say). Events already applied
    stay applied: their dedupe keys make the replay harmless."""
    now = clock.now()
    with uow:
        uow.inbound.get(inbound_id)
        uow.inbound.finish(inbound_id, "pending", None, now)
        key = f"{PROCESS}:{inbound_id}:replay:{now.isoformat()}"
        uow.outbox.enqueue(PROCESS, {"inbound_id": inbound_id}, key, now, now)
        uow.audit.record(
            at=now,
            actor=actor,
            action="inbound.replayed",
            subject_type="inbound",
            subject_id=inbound_id,
        )
        uow.commit()


__all__ = [
    "PROCESS",
    "Accepted",
    "accept_handshake_secret",
    "accepted",
    "apply_event",
    "ingest_events",
    "link_ref",
    "poll_source",
    "process_inbound",
    "record_rejection",
    "replay_inbound",
    "store_requests",
]
