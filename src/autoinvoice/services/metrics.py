"""Operational figures for monitoring: what ``GET /metrics`` exposes to Prometheus.

The figures are read from the database at scrape time, not counted in process memory: an
installation runs many web and worker processes (on PostgreSQL, on several hosts), and a
count kept by one of them would be a fraction of the truth that resets on every restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from .ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class QueueFigures:
    kind: str
    pending: int  # waiting to run (due now or later)
    running: int
    dead: int  # given up after their last attempt
    oldest_due_seconds: float  # how long the oldest job due now has waited (0 if none)


@dataclass(frozen=True, slots=True)
class Figures:
    invoices: dict[str, int]  # status → how many (kind invoice and credit note)
    issued_total: int  # ever issued (numbered), whatever became of them
    emails: dict[str, int]  # outbound message status (sending | sent | failed) → how many
    webhook_deliveries: dict[str, int]  # outgoing webhook delivery status → how many
    intake: dict[tuple[str, str], int]  # (source kind, status) → inbound webhook requests
    queues: list[QueueFigures] = field(default_factory=list)


class MetricsReader(Protocol):
    def figures(self, now: datetime) -> Figures: ...


def read_figures(*, uow: UnitOfWork, clock: Clock) -> Figures:
    """One read-only transaction, so the figures are consistent with each other."""
    with uow:
        return uow.metrics.figures(clock.now())


__all__ = ["Figures", "MetricsReader", "QueueFigures", "read_figures"]
