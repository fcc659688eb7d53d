"""The operational figures behind ``GET /metrics``: a few GROUP BY counts over indexed
status columns, read in one transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, func, select

from ...services.metrics import Figures, QueueFigures
from . import tables as t


class SqlMetrics:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _by_status(self, status: ColumnElement[str]) -> dict[str, int]:
        rows = self.conn.execute(select(status, func.count()).group_by(status))
        return {value: int(n) for value, n in rows}

    def figures(self, now: datetime) -> Figures:
        inv, msg, hook, jobs = t.invoices, t.outbound_messages, t.webhook_deliveries, t.jobs
        issued = self.conn.execute(
            select(func.count()).select_from(inv).where(inv.c.number.is_not(None))
        ).scalar_one()
        src, req = t.sources, t.inbound_requests
        intake = {
            (kind, status): int(n)
            for kind, status, n in self.conn.execute(
                select(src.c.kind, req.c.status, func.count())
                .select_from(req.join(src, req.c.source_id == src.c.id))
                .group_by(src.c.kind, req.c.status)
            )
        }
        per_kind: dict[str, dict[str, int]] = {}
        for kind, status, n in self.conn.execute(
            select(jobs.c.kind, jobs.c.status, func.count())
            .where(jobs.c.status.in_(("pending", "running", "dead")))  # the index, not done
            .group_by(jobs.c.kind, jobs.c.status)
        ):
            per_kind.setdefault(kind, {})[status] = int(n)
        oldest = dict(
            self.conn.execute(
                select(jobs.c.kind, func.min(jobs.c.run_after))
                .where(jobs.c.status == "pending", jobs.c.run_after <= now)
                .group_by(jobs.c.kind)
            ).all()
        )
        queues = [
            QueueFigures(
                kind=kind,
                pending=counts.get("pending", 0),
                running=counts.get("running", 0),
                dead=counts.get("dead", 0),
                oldest_due_seconds=max((now - oldest[kind]).total_seconds(), 0.0)
                if oldest.get(kind)
                else 0.0,
            )
            for kind, counts in sorted(per_kind.items())
        ]
        return Figures(
            invoices=self._by_status(inv.c.status),
            issued_total=int(issued),
            emails=self._by_status(msg.c.status),
            webhook_deliveries=self._by_status(hook.c.status),
            intake=intake,
            queues=queues,
        )
