"""Wake workers the moment work arrives, instead of on a slow poll.

A unit of work that enqueued a job sends ``NOTIFY autoinvoice_jobs`` inside its transaction
on PostgreSQL (delivered at commit, to every listening process), and after commit bumps the
in-process :data:`WAKEUP` (for workers in the same process, and on SQLite, where the web
intake and the worker share ``autoinvoice serve``). A listener thread per process turns
PostgreSQL notifications into ``WAKEUP.notify()``. The poll interval stays as a fallback.
"""

from __future__ import annotations

import logging
import threading

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "autoinvoice_jobs"


class Wakeup:
    """A generation counter: a waiter passes the generation it saw before looking for work,
    so a notification between "found nothing" and "wait" is never lost."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.generation = 0

    def notify(self) -> None:
        with self._cond:
            self.generation += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.generation != seen, timeout)


WAKEUP = Wakeup()


def _libpq_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def listen(sqlalchemy_url: str, stop: threading.Event, wakeup: Wakeup = WAKEUP) -> None:
    """Forward PostgreSQL notifications to ``wakeup`` until ``stop`` (run in a thread)."""
    while not stop.is_set():
        try:
            with psycopg.connect(_libpq_url(sqlalchemy_url), autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                while not stop.is_set():
                    for _ in conn.notifies(timeout=1.0, stop_after=1):
                        wakeup.notify()
        except psycopg.Error as exc:
            log.warning("LISTEN %s failed (%s); retrying in 2 s", CHANNEL, type(exc).__name__)
            stop.wait(2.0)


def start_listener(sqlalchemy_url: str, stop: threading.Event) -> threading.Thread | None:
    if not sqlalchemy_url.startswith("postgresql"):
        return None
    thread = threading.Thread(
        target=listen, args=(sqlalchemy_url, stop), daemon=True, name="pg-listen"
    )
    thread.start()
    return thread
