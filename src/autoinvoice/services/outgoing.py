"""Outgoing webhooks: what happened to an invoice, posted to the owner's subscribers and
signed per Standard Webhooks 1.0 (``standard-webhooks/standard-webhooks``:
``spec/standard-webhooks.md``; signing by its reference library, PyPI ``standardwebhooks``).

* :func:`emit` runs in the transaction of the change it reports: one ``webhook_deliveries``
  row per enabled subscriber of the event type and one ``deliver_webhook`` outbox job per
  row. The message id (the ``webhook-id`` header, the receiver's idempotency key) is a hash
  of the fact, so reporting the same fact again adds nothing.
* :func:`deliver_webhooks` is the job handler: ``POST`` the JSON body with the headers
  ``webhook-id``, ``webhook-timestamp`` (Unix seconds of the attempt) and
  ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` under the
  base64-decoded ``whsec_`` secret). 2xx is delivered; a timeout, connection error, 429 or
  5xx is retried with the outbox's back-off (same webhook-id); any other answer, redirects
  included (never followed), fails the delivery and alerts the owner; 410 also disables
  the subscription, as the spec asks. After the outbox's last attempt it fails and alerts.
* :func:`check_target` is the SSRF guard, run when subscribing and again before every
  send: only http(s) URLs whose every address is public, unless the host or network is in
  the allow-list (``AUTOINVOICE_WEBHOOK_ALLOW``). The request then goes to the address that
  was checked (``Host`` and TLS SNI keep the name), so DNS rebinding cannot redirect it.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import secrets
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from math import floor
from typing import Any, Literal, Protocol

import httpx
from standardwebhooks import Webhook

from ..domain.errors import InvalidValue
from ..domain.invoice import Invoice
from ..domain.recurrence import zone
from .alerts import alert
from .errors import NotFound
from .ports import Clock, Job, SecretBox, UnitOfWork

log = logging.getLogger(__name__)

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
        self, delivery_id: int, *, status: str, status_code: int | None, error: str | None, at: datetime
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
            job = (DELIVER_WEBHOOK, {"delivery_id": delivery_id}, f"{DELIVER_WEBHOOK}:{delivery_id}")
            jobs.append(job)
    if jobs:
        uow.outbox.enqueue_many(jobs, now, now)
    return len(jobs)


def emit_overdue(*, uow: UnitOfWork, clock: Clock, page: int = 500) -> int:
    """The scheduler's step: ``invoice.overdue`` once per open invoice whose due date has
    passed in its issuing entity's time zone. Returns how many deliveries were queued."""
    now, after, queued = clock.now(), 0, 0
    # no time zone is more than a day ahead of UTC: a looser bound, made exact per entity
    before = now.date() + timedelta(days=1)
    while True:
        with uow:
            subscribers = uow.webhooks.subscribers(EventType.OVERDUE)
            ids = uow.webhooks.past_due(before, after, page) if subscribers else []
            mids = {i: message_id(EventType.OVERDUE, i, {}) for i in ids}
            have = uow.webhooks.existing(list(mids.values()))
            fresh = [i for i in ids if any((s.id, mids[i]) not in have for s in subscribers)]
            todays: dict[int, date] = {}
            for inv in uow.invoices.get_many(fresh).values():
                entity_id = inv.entity_id or 0
                if entity_id not in todays:
                    tz = zone(uow.entities.get(entity_id).timezone)
                    todays[entity_id] = now.astimezone(tz).date()
                if inv.is_overdue(todays[entity_id]):
                    queued += emit(uow, now, EventType.OVERDUE, inv)
            uow.commit()
        if len(ids) < page:
            return queued
        after = ids[-1]


# -- the SSRF guard -------------------------------------------------------------------------
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]


class UnsafeTarget(InvalidValue):
    """A subscriber URL that may not be called (scheme, credentials, a non-public address)."""

    code = "unsafe_target"


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver (``getaddrinfo``: hosts file, DNS) gives."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class TargetPolicy:
    """The allow-list: host names, and addresses or networks (CIDR), that may be called
    although they are not public — a receiver on the same machine or the office network."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, setting: str) -> TargetPolicy:
        """From the comma-separated setting.

        >>> TargetPolicy.parse("hooks.local, 10.1.0.0/16,::1").networks[1]
        IPv6Network('::1/128')
        """
        hosts, networks = set(), []
        for item in (s.strip() for s in setting.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, address: IPAddress) -> bool:
        return any(address in n for n in self.networks if n.version == address.version)


def is_public(address: IPAddress) -> bool:
    """False for private, loopback, link-local, multicast, reserved, unspecified and other
    non-global addresses (an IPv4-mapped IPv6 address is judged as the IPv4 one)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to."""

    url: httpx.URL
    address: str

    @property
    def pinned(self) -> httpx.URL:
        return self.url.copy_with(host=self.address)


def check_target(url: str, policy: TargetPolicy, *, resolve: Resolver = resolve_host) -> Target:
    """Refuse (``UnsafeTarget``) what may not be called; return where to connect. A name
    that does not resolve raises ``OSError`` (at send time: try again later)."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeTarget(f"{url!r} is not a URL ({exc})", field="url") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UnsafeTarget(
            "the URL must start with http:// or https:// and name a host", field="url"
        )
    if parsed.userinfo:
        raise UnsafeTarget(
            "put no credentials in the URL: the signature proves who we are", field="url"
        )
    host = parsed.host.lower().rstrip(".")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = list(resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80)))
    if not addresses:
        raise OSError(f"{host} has no address")
    if host not in policy.hosts:
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not policy.allows(address) and not is_public(address):
                raise UnsafeTarget(
                    f"{host} is at {address}, which is not a public address; allow it with "
                    "AUTOINVOICE_WEBHOOK_ALLOW if it is meant",
                    field="url",
                )
    return Target(parsed, addresses[0])



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


# -- delivering -----------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookConfig:
    policy: TargetPolicy = field(default_factory=TargetPolicy)
    timeout_seconds: float = 10.0
    connect_timeout_seconds: float = 5.0
    lease_seconds: int = 120
    user_agent: str = "autoinvoice-webhooks/1"


class DeliveryFailed(Exception):
    """This attempt failed in a way worth retrying (the outbox schedules the next one)."""


@dataclass(frozen=True)
class Attempt:
    outcome: Literal["delivered", "retry", "failed"]
    status_code: int | None = None
    error: str | None = None


def signed_headers(secret: str, msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent at ``at``."""
    at = at.astimezone(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(floor(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }


def classify(status_code: int) -> Attempt:
    if 200 <= status_code < 300:
        return Attempt("delivered", status_code)
    if status_code == 429 or status_code >= 500:
        return Attempt("retry", status_code, f"HTTP {status_code}")
    if 300 <= status_code < 400:
        return Attempt("failed", status_code, f"HTTP {status_code}: redirects are not followed")
    return Attempt("failed", status_code, f"HTTP {status_code}")


def post(http: httpx.Client, target: Target, headers: dict[str, str], body: str) -> Attempt:
    """One POST to the checked address; reads at most 1 kB of the answer."""
    sni = {"sni_hostname": target.url.host} if target.url.scheme == "https" else {}
    try:
        with http.stream(
            "POST",
            target.pinned,
            content=body.encode(),
            headers={
                **headers,
                "host": target.url.netloc.decode("ascii"),
                "content-type": "application/json",
            },
            extensions=sni,
        ) as response:
            for _ in response.iter_bytes(1024):
                break
            return classify(response.status_code)
    except httpx.TimeoutException as exc:
        return Attempt("retry", None, f"timeout ({type(exc).__name__})")
    except httpx.TransportError as exc:
        return Attempt("retry", None, f"{type(exc).__name__}: {exc}"[:500])


def deliver_webhooks(
    jobs: list[Job],
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
    box: SecretBox,
    config: WebhookConfig,
    resolve: Resolver = resolve_host,
    transport: httpx.BaseTransport | None = None,
) -> dict[int, Exception]:
    """The ``deliver_webhook`` handler; returns the jobs to retry, with their errors."""
    failures: dict[int, Exception] = {}
    timeout = httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds)
    with httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,  # no proxy from the environment: it would bypass the address check
        headers={"user-agent": config.user_agent},
        transport=transport,
    ) as http:
        for job in jobs:
            try:
                _deliver(job, http, uow=uow, clock=clock, worker=worker, box=box, config=config, resolve=resolve)
            except Exception as exc:
                failures[job.id] = exc
    return failures


def _deliver(
    job: Job,
    http: httpx.Client,
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
    box: SecretBox,
    config: WebhookConfig,
    resolve: Resolver,
) -> None:
    with uow:
        try:
            delivery = uow.webhooks.delivery(int(job.payload["delivery_id"]))
            sub = uow.webhooks.subscription(delivery.subscription_id)
        except NotFound:  # unsubscribed since: nothing to send
            delivery = None
        if delivery is None or delivery.status != "pending":
            uow.outbox.complete(job.id, worker, clock.now())
            uow.commit()
            return
        lease = clock.now() + timedelta(seconds=config.lease_seconds)
        if not uow.outbox.extend(job.id, worker, lease):
            return  # the lease ran out and another worker took the job over
        uow.commit()
    if sub.enabled:
        attempt = _attempt(delivery, sub, http, clock=clock, box=box, config=config, resolve=resolve)
    else:
        attempt = Attempt("failed", None, "the subscription is disabled")
    _record(job, delivery, sub, attempt, uow=uow, clock=clock, worker=worker)


def _attempt(
    delivery: DeliveryRecord,
    sub: SubscriptionRecord,
    http: httpx.Client,
    *,
    clock: Clock,
    box: SecretBox,
    config: WebhookConfig,
    resolve: Resolver,
) -> Attempt:
    try:
        target = check_target(sub.url, config.policy, resolve=resolve)  # again: DNS rebinding
        secret = box.open(sub.sealed_secret)["secret"]
    except UnsafeTarget as exc:
        return Attempt("failed", None, exc.message)
    except OSError as exc:
        return Attempt("retry", None, f"cannot resolve the host: {exc}")
    except (ValueError, KeyError) as exc:  # the installation's secret key changed
        return Attempt("failed", None, f"the signing secret cannot be opened: {exc}")
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    headers = signed_headers(secret, delivery.message_id, clock.now(), body)
    return post(http, target, headers, body)


def _record(
    job: Job,
    delivery: DeliveryRecord,
    sub: SubscriptionRecord,
    attempt: Attempt,
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
) -> None:
    """Store the attempt; a retry raises (the outbox schedules it), the rest finish the job."""
    now = clock.now()
    gave_up = attempt.outcome == "retry" and job.attempts >= job.max_attempts
    status = {"delivered": "delivered", "failed": "failed"}.get(attempt.outcome, "pending")
    status = "failed" if gave_up else status
    with uow:
        uow.webhooks.record_attempt(
            delivery.id,
            status=status,
            status_code=attempt.status_code,
            error=attempt.error,
            at=now,
        )
        if status == "failed" and sub.enabled:
            _alert_failed(uow, now, worker, delivery, sub, attempt, gave_up=gave_up)
        if status != "pending":
            uow.outbox.complete(job.id, worker, now)
        uow.commit()
    if status == "pending":
        raise DeliveryFailed(attempt.error or "retry")


def _alert_failed(
    uow: UnitOfWork,
    now: datetime,
    worker: str,
    delivery: DeliveryRecord,
    sub: SubscriptionRecord,
    attempt: Attempt,
    *,
    gave_up: bool,
) -> None:
    """Tell the owner, at most once a day per subscription and kind of failure; a 410
    (Gone) pauses the subscription."""
    gone = attempt.status_code == 410
    if gone:
        uow.webhooks.set_enabled(sub.id, False)
    why = f"gave up after {delivery.attempts + 1} attempts: " if gave_up else ""
    alert(
        uow,
        now,
        worker,
        action="webhook.failed",
        subject_type="webhook_subscription",
        subject_id=sub.id,
        subject=f"A webhook to {sub.url} could not be delivered",
        body=f"The {delivery.event_type} message {delivery.message_id} failed: "
        f"{why}{attempt.error}.\n\n"
        + (
            "The receiver answered 410 Gone, so the subscription was paused; resume it with "
            f"`autoinvoice webhooks enable {sub.id}`.\n"
            if gone
            else "See `autoinvoice webhooks deliveries` for the log.\n"
        ),
        detail={
            "delivery_id": delivery.id,
            "message_id": delivery.message_id,
            "event_type": delivery.event_type,
            "status_code": attempt.status_code,
            "error": attempt.error,
            "gave_up": gave_up,
            "paused": gone,
        },
        once_per=f"{attempt.status_code or 'no answer'}:{gave_up}:{now.date().isoformat()}",
    )
