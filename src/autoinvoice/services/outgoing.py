"""Outgoing webhooks: what happens to an invoice, told to the owner's subscribers (Standard
Webhooks 1.0; the payload ``{type, timestamp, data}`` its spec recommends).

:func:`emit` runs in the transaction of the change it reports: one ``webhook_deliveries``
row per enabled subscriber of the event type and one ``deliver_webhook`` outbox job per row
(sent by ``webhook_delivery.py``). The message id — the ``webhook-id`` header, the
receiver's idempotency key — is a hash of the fact, so reporting the same fact again adds
nothing. Subscribing checks the URL with the SSRF guard (``webhook_targets.py``) and hands
out the signing secret once; it is stored sealed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from ..domain.errors import InvalidValue
from ..domain.invoice import Invoice
from ..domain.recurrence import zone
from .ports import Clock, SecretBox, UnitOfWork
from .webhook_targets import Resolver, TargetPolicy, check_target, resolve_host

DELIVER_WEBHOOK = "deliver_webhook"


class EventType(StrEnum):
    ISSUED = "invoice.issued"
    SENT = "invoice.sent"
    VIEWED = "invoice.viewed"
    PAYMENT_RECEIVED = "invoice.payment_received"
    PAID = "invoice.paid"
    OVERDUE = "invoice.overdue"
    NEEDS_ATTENTION = "invoice.needs_attention"


# -- the port -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    id: int
    url: str
    event_types: tuple[str, ...]
    description: str
    enabled: bool
    created_at: datetime
    sealed_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    subscription_id: int
    message_id: str
    event_type: str
    payload: dict[str, Any]
    status: str  # pending | delivered | failed
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class OutgoingWebhooks(Protocol):
    """Subscribers and the delivery log. Look-ups of one record raise ``NotFound``."""

    def add_subscription(
        self,
        *,
        url: str,
        sealed_secret: str,
        event_types: Sequence[str],
        description: str,
        at: datetime,
    ) -> int: ...
    def subscription(self, subscription_id: int) -> SubscriptionRecord: ...
    def subscriptions(self) -> list[SubscriptionRecord]: ...
    def subscribers(self, event_type: str) -> list[SubscriptionRecord]:
        """The enabled subscriptions to ``event_type``."""
        ...

    def set_enabled(self, subscription_id: int, enabled: bool) -> None: ...
    def remove_subscription(self, subscription_id: int) -> None:
        """Delete the subscription and its delivery log."""
        ...

    def add_delivery(
        self,
        *,
        subscription_id: int,
        message_id: str,
        event_type: str,
        payload: dict[str, Any],
        at: datetime,
    ) -> int | None:
        """A pending delivery; None (and nothing added) when the subscription has this
        message already."""
        ...

    def existing(self, message_ids: Sequence[str]) -> set[tuple[int, str]]:
        """(subscription id, message id) of the deliveries among ``message_ids``."""
        ...

    def delivery(self, delivery_id: int) -> DeliveryRecord: ...
    def deliveries(
        self, subscription_id: int | None = None, limit: int = 100
    ) -> list[DeliveryRecord]:
        """Newest first."""
        ...

    def record_attempt(
        self,
        delivery_id: int,
        *,
        status: str,
        status_code: int | None,
        error: str | None,
        at: datetime,
    ) -> None:
        """Count one attempt and its outcome (``delivered_at`` when delivered)."""
        ...

    def past_due(self, before: date, after_id: int, limit: int) -> list[int]:
        """Ids (ascending, above ``after_id``) of open invoices due before ``before``."""
        ...


# -- emitting -------------------------------------------------------------------------------
def message_id(event_type: str, invoice_id: int, data: Mapping[str, object]) -> str:
    """The ``webhook-id`` of one fact: the same event, invoice and data give the same id.

    >>> message_id("invoice.paid", 7, {}) == message_id("invoice.paid", 7, {})
    True
    >>> len(message_id("invoice.paid", 7, {}))
    36
    """
    fact = json.dumps(
        [str(event_type), invoice_id, {k: str(v) for k, v in data.items()}],
        sort_keys=True,
        separators=(",", ":"),
    )
    return "msg_" + hashlib.sha256(fact.encode()).hexdigest()[:32]


def event_payload(
    event_type: str, invoice: Invoice, now: datetime, data: Mapping[str, object]
) -> dict[str, Any]:
    """The thin payload the spec recommends: ``{type, timestamp, data}``; money as
    decimal strings."""
    return {
        "type": str(event_type),
        "timestamp": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": {
            "invoice_id": invoice.id,
            "number": invoice.number,
            "status": invoice.status.value,
            "currency": invoice.currency,
            "total": str(invoice.gross.amount),
            "balance": str(invoice.balance.amount),
            "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
            "client_id": invoice.client_id,
            "client_name": invoice.buyer.name,
            **{k: v if isinstance(v, int | str | None) else str(v) for k, v in data.items()},
        },
    }


def emit(
    uow: UnitOfWork,
    now: datetime,
    event_type: EventType | str,
    invoice: Invoice | int,
    **data: object,
) -> int:
    """Queue ``event_type`` about ``invoice`` (or its id) for every enabled subscriber, in
    the caller's transaction. ``data`` tells facts of one type apart (a payment's id) and
    goes into the payload. Returns how many deliveries were queued (0 for a fact reported
    before)."""
    kind = EventType(event_type)
    subscribers = uow.webhooks.subscribers(kind)
    if not subscribers:
        return 0
    inv = uow.invoices.get(invoice) if isinstance(invoice, int) else invoice
    assert inv.id is not None
    mid = message_id(kind, inv.id, data)
    payload = event_payload(kind, inv, now, data)
    jobs: list[tuple[str, dict[str, Any], str]] = []
    for sub in subscribers:
        delivery_id = uow.webhooks.add_delivery(
            subscription_id=sub.id, message_id=mid, event_type=kind, payload=payload, at=now
        )
        if delivery_id is not None:
            job = (
                DELIVER_WEBHOOK,
                {"delivery_id": delivery_id},
                f"{DELIVER_WEBHOOK}:{delivery_id}",
            )
            jobs.append(job)
    if jobs:
        uow.outbox.enqueue_many(jobs, now, now)
    return len(jobs)


def emit_overdue(*, uow: UnitOfWork, clock: Clock, page: int = 500) -> int:
    """The scheduler's step: ``invoice.overdue`` once per open invoice whose due date has
    passed in the client's time zone. Returns how many deliveries were queued."""
    now, after, queued = clock.now(), 0, 0
    # no time zone is more than a day ahead of UTC: a looser bound, made exact per client
    before = now.date() + timedelta(days=1)
    while True:
        with uow:
            subscribers = uow.webhooks.subscribers(EventType.OVERDUE)
            if not subscribers:
                return queued
            ids = uow.webhooks.past_due(before, after, page)
            queued += _emit_overdue(uow, now, ids, [s.id for s in subscribers])
            uow.commit()
        if len(ids) < page:
            return queued
        after = ids[-1]


def _emit_overdue(uow: UnitOfWork, now: datetime, ids: list[int], subscribers: list[int]) -> int:
    """Emit for the invoices among ``ids`` that some subscriber was not told about yet."""
    mids = {i: message_id(EventType.OVERDUE, i, {}) for i in ids}
    told = uow.webhooks.existing(list(mids.values()))
    fresh = [i for i in ids if any((s, mids[i]) not in told for s in subscribers)]
    if not fresh:
        return 0
    queued = 0
    invoices = uow.invoices.get_many(fresh)
    clients = uow.clients.get_many([inv.client_id or 0 for inv in invoices.values()])
    for inv in invoices.values():
        # the client's business date: overdue once the due date has passed where they are
        today = now.astimezone(zone(clients[inv.client_id or 0].timezone)).date()
        if inv.is_overdue(today):
            queued += emit(uow, now, EventType.OVERDUE, inv)
    return queued


# -- subscriptions --------------------------------------------------------------------------
def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes (the spec asks for 24 to 64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _event_types(names: Sequence[str]) -> tuple[str, ...]:
    known = [e.value for e in EventType]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise InvalidValue(
            f"unknown event types {unknown}; one of: {', '.join(known)}", field="event_types"
        )
    return tuple(n for n in known if n in names) or tuple(known)


def add_subscription(
    url: str,
    event_types: Sequence[str],
    *,
    uow: UnitOfWork,
    clock: Clock,
    box: SecretBox,
    policy: TargetPolicy,
    actor: str,
    description: str = "",
    resolve: Resolver = resolve_host,
) -> tuple[SubscriptionRecord, str]:
    """Subscribe ``url`` to ``event_types`` (none given: all). Returns the subscription and
    its signing secret, which is stored sealed and never shown again."""
    types = _event_types(event_types)
    try:
        check_target(url, policy, resolve=resolve)
    except OSError as exc:
        raise InvalidValue(f"the URL's host cannot be resolved ({exc})", field="url") from None
    secret, now = new_secret(), clock.now()
    with uow:
        sub_id = uow.webhooks.add_subscription(
            url=url.strip(),
            sealed_secret=box.seal({"secret": secret}),
            event_types=types,
            description=description.strip()[:200],
            at=now,
        )
        uow.audit.record(
            at=now,
            actor=actor,
            action="webhook.subscribed",
            subject_type="webhook_subscription",
            subject_id=sub_id,
            detail={"url": url.strip(), "event_types": list(types)},
        )
        record = uow.webhooks.subscription(sub_id)
        uow.commit()
    return record, secret


def remove_subscription(subscription_id: int, *, uow: UnitOfWork, clock: Clock, actor: str) -> None:
    """Unsubscribe (its delivery log goes with it; queued deliveries are dropped)."""
    with uow:
        sub = uow.webhooks.subscription(subscription_id)
        uow.webhooks.remove_subscription(subscription_id)
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="webhook.removed",
            subject_type="webhook_subscription",
            subject_id=subscription_id,
            detail={"url": sub.url},
        )
        uow.commit()


def set_subscription_enabled(
    subscription_id: int, enabled: bool, *, uow: UnitOfWork, clock: Clock, actor: str
) -> None:
    """Pause or resume a subscription (one the receiver answered 410 to is paused)."""
    with uow:
        uow.webhooks.subscription(subscription_id)
        uow.webhooks.set_enabled(subscription_id, enabled)
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="webhook.enabled" if enabled else "webhook.disabled",
            subject_type="webhook_subscription",
            subject_id=subscription_id,
        )
        uow.commit()
