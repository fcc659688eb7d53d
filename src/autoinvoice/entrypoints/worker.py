"""The worker loop: run outbox jobs until told to stop."""

from __future__ import annotations

import logging
import os
import socket
import threading

from ..adapters.db.wakeup import WAKEUP, start_listener
from ..bootstrap import App
from ..services.jobs import run_jobs_once

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


_listener_lock = threading.Lock()
_listening = False


def _listen_once(app: App, stop: threading.Event) -> None:
    """One PostgreSQL LISTEN connection per process turns NOTIFY into a wake-up."""
    global _listening
    with _listener_lock:
        if not _listening:
            _listening = start_listener(app.settings.resolved_database_url(), stop) is not None


def run_worker(
    app: App, stop: threading.Event, *, name: str | None = None, once: bool = False
) -> int:
    """Process jobs; with ``once``, stop when the queue has nothing runnable. Returns the
    number of jobs claimed."""
    name = name or worker_name()
    if not once:  # a worker that stops when idle never waits, so needs no wake-ups
        _listen_once(app, stop)
    s = app.settings
    handlers = app.handlers(name)
    total = 0
    while not stop.is_set():
        seen = WAKEUP.generation
        try:
            n = run_jobs_once(
                uow=app.uow(),
                clock=app.clock,
                worker=name,
                handlers=handlers,
                batch=s.worker_batch,
                lease_seconds=s.worker_lease_seconds,
            )
        except Exception:
            log.exception("worker %s: claiming jobs failed; retrying", name)
            n = 0
            stop.wait(s.worker_poll_seconds)
        total += n
        if n == 0:
            if once:
                break
            WAKEUP.wait(seen, s.worker_poll_seconds)  # new work wakes us at once
    return total
