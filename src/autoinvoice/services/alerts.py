"""Alerts to the owner by email: a source went stale or started failing, a billed time
entry was edited. Written to the outbox by the change that raises them (``notify_owner``
jobs) and sent here, each once: the stable Message-ID is recorded before sending, and a
message already marked sent is not sent again."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from .ports import Clock, Job, Mailer, OutgoingEmail, UnitOfWork

NOTIFY = "notify_owner"
log = logging.getLogger(__name__)


def alert(
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    *,
    action: str,
    subject_type: str,
    subject_id: int | None,
    subject: str,
    body: str,
    detail: dict[str, object] | None = None,
    once_per: str | None = None,
) -> None:
    """Log, audit and mail the owner from the outbox (caller's transaction). ``once_per``
    makes the email idempotent on that text (the same alert is mailed once); by default
    each call mails."""
    log.warning("%s: %s", action, subject)
    uow.audit.record(
        at=now,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail if detail is not None else {"message": subject},
    )
    token = (
        hashlib.sha256(once_per.encode()).hexdigest()[:16]
        if once_per is not None
        else now.isoformat()
    )
    key = f"alert:{action}:{subject_type}:{subject_id}:{token}"
    uow.outbox.enqueue(NOTIFY, {"subject": subject, "body": body}, key, now, now)


@dataclass(frozen=True)
class AlertConfig:
    message_domain: str = "autoinvoice.local"
    sandbox_to: str | None = None


def notify_owner(
    jobs: list[Job],
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
    mailer: Mailer,
    config: AlertConfig,
) -> dict[int, Exception]:
    failures: dict[int, Exception] = {}
    for job in jobs:
        try:
            _send(job, uow=uow, clock=clock, worker=worker, mailer=mailer, config=config)
        except Exception as exc:
            failures[job.id] = exc
    return failures


def _send(
    job: Job, *, uow: UnitOfWork, clock: Clock, worker: str, mailer: Mailer, config: AlertConfig
) -> None:
    message_id = f"<alert-{job.id}@{config.message_domain}>"
    with uow:
        entity = uow.entities.first()
        done = uow.messages.get(message_id)
        if entity is None or (done is not None and done.status == "sent"):
            uow.outbox.complete(job.id, worker, clock.now())
            uow.commit()
            return
        to = config.sandbox_to or entity.email
        uow.messages.start(
            message_id=message_id,
            invoice_id=None,
            job_id=job.id,
            recipients=[to],
            subject=str(job.payload["subject"]),
            at=clock.now(),
        )
        uow.commit()
    mailer.send(
        OutgoingEmail(
            message_id=message_id,
            sender=entity.email,
            to=(to,),
            subject=f"[autoinvoice] {job.payload['subject']}",
            text_body=str(job.payload["body"]),
            html_body="",
            date=clock.now(),
        )
    )
    with uow:
        uow.messages.mark(message_id, "sent", None, clock.now())
        uow.outbox.complete(job.id, worker, clock.now())
        uow.commit()
