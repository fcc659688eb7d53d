"""The worker's loop body: claim jobs from the outbox, run their handlers, retry failures
with exponential back-off, and give up (``dead`` + an audit alert) after ``max_attempts``
or on a permanent error.

A handler completes its own job inside its last transaction, so "effect stored" and "job
done" commit together. A worker that dies mid-job leaves it ``running`` with a lease; once
the lease expires any worker claims it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta

from ..domain.errors import DomainError
from .ports import Clock, Job, PermanentMailError, UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[list[Job]], dict[int, Exception]]
"""Runs a batch of jobs of one kind; returns the failed ones (job id → error). A handler
completes each successful job itself, in the transaction that stores its effect."""
# retrying cannot help: a refused address, or data the invoice lacks (fixed by a person,
# who then requeues the job)
PERMANENT_ERRORS: tuple[type[Exception], ...] = (PermanentMailError, DomainError)
NOTIFY = "notify_owner"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def run_jobs_once(
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
    handlers: Mapping[str, Handler],
    batch: int = 10,
    lease_seconds: int = 60,
) -> int:
    """Claim and run up to ``batch`` jobs; return how many were claimed."""
    with uow:
        jobs = uow.outbox.claim(worker, clock.now(), lease_seconds, batch, list(handlers))
        uow.commit()
    for kind in dict.fromkeys(j.kind for j in jobs):
        group = [j for j in jobs if j.kind == kind]
        try:
            failures = handlers[kind](group)
        except Exception as exc:  # every failure is recorded and retried
            failures = {j.id: exc for j in group}
        for job in group:
            if job.id in failures:
                _failed(job, failures[job.id], uow=uow, clock=clock, worker=worker)
    return len(jobs)


def one_at_a_time(run: Callable[[Job], None]) -> Handler:
    """Adapt a handler of one job to the batch interface."""

    def handler(jobs: list[Job]) -> dict[int, Exception]:
        failures: dict[int, Exception] = {}
        for job in jobs:
            try:
                run(job)
            except Exception as exc:
                failures[job.id] = exc
        return failures

    return handler


def _failed(job: Job, exc: Exception, *, uow: UnitOfWork, clock: Clock, worker: str) -> None:
    now = clock.now()
    permanent = isinstance(exc, PERMANENT_ERRORS) or job.attempts >= job.max_attempts
    retry_at = None if permanent else now + backoff(job.attempts)
    reason = f"{type(exc).__name__}: {exc}"
    log.warning("job %s (%s) failed on attempt %s: %s", job.id, job.kind, job.attempts, reason)
    with uow:
        uow.outbox.fail(job.id, worker, reason, now, retry_at)
        uow.audit.record(
            at=now,
            actor=worker,
            action="job.dead" if permanent else "job.retry_scheduled",
            subject_type="job",
            subject_id=job.id,
            detail={
                "kind": job.kind,
                "attempts": job.attempts,
                "error": reason,
                "payload": job.payload,
            },
        )
        if permanent and job.kind != NOTIFY:  # given up: a person must act, so tell the owner
            what = _WHAT.get(job.kind, job.kind.replace("_", " "))
            uow.outbox.enqueue(
                NOTIFY,
                {
                    "subject": f"{what} failed and will not be retried",
                    "body": f"{what} (job {job.id}, {job.payload}) failed after "
                    f"{job.attempts} attempt(s):\n\n{reason}\n\nFix the cause (for a refused "
                    "address: the client's email), then run `autoinvoice jobs retry`.",
                },
                f"alert:job.dead:{job.id}:{job.attempts}",
                now,
                now,
            )
        uow.commit()


_WHAT = {
    "deliver_invoice": "Sending an invoice email",
    "deliver_webhook": "A webhook delivery",
    "remind": "Sending a payment reminder",
}


def requeue_dead_jobs(
    *, uow: UnitOfWork, clock: Clock, actor: str, kind: str | None = None
) -> list[int]:
    """Retry the jobs that were given up on (after fixing what made them fail)."""
    with uow:
        ids = uow.outbox.requeue_dead(clock.now(), kind)
        for job_id in ids:
            uow.audit.record(
                at=clock.now(),
                actor=actor,
                action="job.requeued",
                subject_type="job",
                subject_id=job_id,
            )
        uow.commit()
    return ids
