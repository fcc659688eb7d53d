"""The scheduler loop: every ``scheduler_interval_seconds``, fire due retainer schedules
and schedule rules, poll the sources that are due, alert on stale sources, queue the
``invoice.overdue`` webhooks and the payment reminders due."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from ..bootstrap import App
from ..services.ingest import poll_source
from ..services.invoicing import TickReport, fire_due_schedules
from ..services.outgoing import emit_overdue
from ..services.reminders import ScanReport, run_reminders
from ..services.schedules import fire_due_rules
from ..services.sources import check_source_health
from ..services.triggering import Outcome
from ..services.weekly_audit import send_weekly_audit

log = logging.getLogger(__name__)


@dataclass
class Tick:
    schedules: TickReport
    rules: list[Outcome] = field(default_factory=list)
    polled: dict[str, Any] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)
    overdue_webhooks: int = 0
    weekly_audit: str | None = None  # the ISO week whose audit email was queued
    reminders: ScanReport = field(default_factory=ScanReport)


def tick(app: App) -> Tick:
    """One round of everything the clock drives; a failure in one part does not stop the
    others (each is logged and audited where it happened)."""
    report = Tick(fire_due_schedules(uow=app.uow(), clock=app.clock))
    try:
        report.rules = fire_due_rules(uow=app.uow(), clock=app.clock)
    except Exception:
        log.exception("schedule rules failed; will try again")
    with app.uow(read_only=True) as uow:
        due = uow.sources.due_polls(app.clock.now())
    for source in due:
        try:
            report.polled[source.name] = poll_source(
                source.name,
                uow=app.uow(),
                clock=app.clock,
                box=app.box,
                poller_for=app.poller_for,
                actor="scheduler",
            )
        except Exception as exc:
            log.warning("polling %s failed: %s", source.name, exc)
            report.polled[source.name] = f"{type(exc).__name__}: {exc}"
    report.stale = check_source_health(uow=app.uow(), clock=app.clock)
    try:
        report.overdue_webhooks = emit_overdue(uow=app.uow(), clock=app.clock)
    except Exception:
        log.exception("queueing invoice.overdue webhooks failed; will try again")
    try:
        report.reminders = run_reminders(uow=app.uow(), clock=app.clock)
    except Exception:
        log.exception("the reminder scan failed; will try again")
    try:
        report.weekly_audit = send_weekly_audit(
            uow=app.uow(), clock=app.clock, base_url=app.settings.base_url
        )
    except Exception:
        log.exception("the weekly audit failed; will try again")
    return report


def run_scheduler(app: App, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            r = tick(app)
            if r.schedules.issued or r.schedules.held or r.rules:
                log.info(
                    "scheduler: issued %s, held %s, rules %s",
                    r.schedules.issued,
                    r.schedules.held,
                    [(o.rule, o.outcome) for o in r.rules],
                )
        except Exception:
            log.exception("scheduler tick failed; will try again")
        stop.wait(app.settings.scheduler_interval_seconds)
