"""Delivering outgoing webhooks: the ``deliver_webhook`` job handler, per Standard Webhooks
1.0 (``standard-webhooks/standard-webhooks``: ``spec/standard-webhooks.md``; signing by its
reference library, PyPI ``standardwebhooks``).

Each job POSTs one ``webhook_deliveries`` row's JSON with the headers ``webhook-id`` (the
same on every retry), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` under the
base64-decoded ``whsec_`` secret), to the address the SSRF guard checked just before.

* 2xx: delivered.
* timeout, connection error, 429, 5xx: the attempt is logged and the job raises, so the
  outbox retries it with its back-off; after the outbox's last attempt the delivery fails
  and the owner is alerted.
* any other answer, redirects included (never followed): failed, owner alerted; 410 Gone
  also pauses the subscription, as the spec asks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from math import floor
from typing import Literal

import httpx
from standardwebhooks import Webhook

from .alerts import alert
from .errors import NotFound
from .outgoing import DeliveryRecord, SubscriptionRecord
from .ports import Clock, Job, SecretBox, UnitOfWork
from .webhook_targets import (
    Resolver,
    Target,
    TargetPolicy,
    UnsafeTarget,
    check_target,
    resolve_host,
)


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
                _deliver(
                    job,
                    http,
                    uow=uow,
                    clock=clock,
                    worker=worker,
                    box=box,
                    config=config,
                    resolve=resolve,
                )
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
        attempt = _attempt(
            delivery, sub, http, clock=clock, box=box, config=config, resolve=resolve
        )
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
