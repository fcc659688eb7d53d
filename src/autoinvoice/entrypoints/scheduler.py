"""The scheduler loop: fire due schedules every ``scheduler_interval_seconds``."""

from __future__ import annotations

import logging
import threading

from ..bootstrap import App
from ..services.invoicing import fire_due_schedules

log = logging.getLogger(__name__)


def run_scheduler(app: App, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            report = fire_due_schedules(uow=app.uow(), clock=app.clock)
            if report.issued or report.held:
                log.info("scheduler: issued %s, held %s", report.issued, report.held)
        except Exception:
            log.exception("scheduler tick failed; will try again")
        stop.wait(app.settings.scheduler_interval_seconds)
