"""The transactional outbox (jobs), the outgoing-message log, numbering counters and
schedule firings: the rows that make work happen once.

Claiming on PostgreSQL uses ``FOR UPDATE SKIP LOCKED`` so any number of workers share the
queue without waiting on each other; on SQLite the ``BEGIN IMMEDIATE`` transaction already
serialises writers, so the same statement runs without the lock clause. A job whose
``locked_until`` has passed while still ``running`` belonged to a worker that died; it is
claimable again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update

from ...domain.numbering import NumberSeries
from ...services.errors import NotFound
from ...services.ports import Job, MessageRecord, MessageStart, SeriesRecord
from . import tables as t
from .upsert import insert_ignore as _insert_ignore
from .upsert import insert_ignore_many

# back-off doubles from 30 s to a cap of 1 h: 30 attempts span about a day, so an SMTP
# outage of hours delays invoices instead of giving up on them
MAX_ATTEMPTS = 30


class SqlOutbox:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.enqueued = False  # the unit of work wakes the workers when this commits

    def enqueue(
        self, kind: str, payload: dict[str, Any], key: str, run_after: datetime, now: datetime
    ) -> bool:
        new = (
            _insert_ignore(
                self.conn,
                t.jobs,
                ["idempotency_key"],
                kind=kind,
                payload=payload,
                idempotency_key=key,
                status="pending",
                attempts=0,
                max_attempts=MAX_ATTEMPTS,
                run_after=run_after,
                created_at=now,
                locked_by=None,
                locked_until=None,
                last_error=None,
                finished_at=None,
            )
            is not None
        )
        self.enqueued = self.enqueued or new
        return new

    def enqueue_many(
        self, jobs: Sequence[tuple[str, dict[str, Any], str]], run_after: datetime, now: datetime
    ) -> None:
        insert_ignore_many(
            self.conn,
            t.jobs,
            ["idempotency_key"],
            [
                dict(
                    kind=kind,
                    payload=payload,
                    idempotency_key=key,
                    status="pending",
                    attempts=0,
                    max_attempts=MAX_ATTEMPTS,
                    run_after=run_after,
                    created_at=now,
                    locked_by=None,
                    locked_until=None,
                    last_error=None,
                    finished_at=None,
                )
                for kind, payload, key in jobs
            ],
        )
        self.enqueued = self.enqueued or bool(jobs)

    def claim(
        self,
        worker: str,
        now: datetime,
        lease_seconds: int,
        limit: int,
        kinds: Sequence[str] | None = None,
    ) -> list[Job]:
        j = t.jobs
        runnable = or_(
            and_(j.c.status == "pending", j.c.run_after <= now),
            and_(j.c.status == "running", j.c.locked_until < now),
        )
        pick = select(j.c.id).where(runnable).order_by(j.c.run_after, j.c.id).limit(limit)
        if kinds:
            pick = pick.where(j.c.kind.in_(list(kinds)))
        if self.conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        ids = [r[0] for r in self.conn.execute(pick)]
        if not ids:
            return []
        rows = self.conn.execute(
            update(j)
            .where(j.c.id.in_(ids))
            .values(
                status="running",
                locked_by=worker,
                locked_until=now + timedelta(seconds=lease_seconds),
                attempts=j.c.attempts + 1,
            )
            .returning(
                j.c.id, j.c.kind, j.c.payload, j.c.attempts, j.c.max_attempts, j.c.idempotency_key
            )
        )
        return sorted((Job(*r) for r in rows), key=lambda job: job.id)

    def complete(self, job_id: int, worker: str, now: datetime) -> bool:
        """Mark done; False if the job is no longer this worker's (its lease was taken over)."""
        res = self.conn.execute(
            update(t.jobs)
            .where(
                t.jobs.c.id == job_id,
                t.jobs.c.locked_by == worker,
                t.jobs.c.status == "running",
            )
            .values(status="done", finished_at=now, locked_until=None)
        )
        return res.rowcount == 1

    def complete_many(self, job_ids: Sequence[int], worker: str, now: datetime) -> set[int]:
        if not job_ids:
            return set()
        j = t.jobs
        rows = self.conn.execute(
            update(j)
            .where(j.c.id.in_(list(job_ids)), j.c.locked_by == worker, j.c.status == "running")
            .values(status="done", finished_at=now, locked_until=None)
            .returning(j.c.id)
        )
        return {r.id for r in rows}

    def fail(
        self, job_id: int, worker: str, error: str, now: datetime, retry_at: datetime | None
    ) -> None:
        values: dict[str, Any] = {"last_error": error[:2000], "locked_until": None}
        if retry_at is None:
            values.update(status="dead", finished_at=now)
        else:
            values.update(status="pending", run_after=retry_at)
        self.conn.execute(
            update(t.jobs)
            .where(
                t.jobs.c.id == job_id, t.jobs.c.locked_by == worker, t.jobs.c.status == "running"
            )
            .values(**values)
        )

    def extend(self, job_id: int, worker: str, until: datetime) -> bool:
        res = self.conn.execute(
            update(t.jobs)
            .where(
                t.jobs.c.id == job_id, t.jobs.c.locked_by == worker, t.jobs.c.status == "running"
            )
            .values(locked_until=until)
        )
        return res.rowcount == 1

    def extend_many(self, job_ids: Sequence[int], worker: str, until: datetime) -> set[int]:
        if not job_ids:
            return set()
        j = t.jobs
        rows = self.conn.execute(
            update(j)
            .where(j.c.id.in_(list(job_ids)), j.c.locked_by == worker, j.c.status == "running")
            .values(locked_until=until)
            .returning(j.c.id)
        )
        return {r.id for r in rows}

    def requeue_dead(self, now: datetime, kind: str | None = None) -> list[int]:
        j = t.jobs
        q = update(j).where(j.c.status == "dead")
        if kind:
            q = q.where(j.c.kind == kind)
        rows = self.conn.execute(
            q.values(
                status="pending",
                run_after=now,
                attempts=0,
                finished_at=None,
                locked_by=None,
                locked_until=None,
            ).returning(j.c.id)
        )
        return sorted(r[0] for r in rows)

    def dead(self, limit: int = 100) -> list[dict[str, Any]]:
        j = t.jobs
        rows = self.conn.execute(
            select(j.c.id, j.c.kind, j.c.payload, j.c.attempts, j.c.last_error, j.c.finished_at)
            .where(j.c.status == "dead")
            .order_by(j.c.id)
            .limit(limit)
        )
        return [dict(r._mapping) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute(select(t.jobs.c.status, func.count()).group_by(t.jobs.c.status))
        return {s: n for s, n in rows}


class SqlMessages:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, message_id: str) -> MessageRecord | None:
        r = self.conn.execute(
            select(t.outbound_messages).where(t.outbound_messages.c.message_id == message_id)
        ).first()
        return MessageRecord(r.message_id, r.status, r.attempts, r.invoice_id) if r else None

    def start(
        self,
        *,
        message_id: str,
        invoice_id: int | None,
        job_id: int | None,
        recipients: list[str],
        subject: str,
        at: datetime,
    ) -> MessageRecord:
        m = t.outbound_messages
        if (
            _insert_ignore(
                self.conn,
                m,
                ["message_id"],
                message_id=message_id,
                invoice_id=invoice_id,
                job_id=job_id,
                recipients=recipients,
                subject=subject,
                status="sending",
                attempts=1,
                created_at=at,
                detail=None,
                sent_at=None,
            )
            is not None
        ):
            return MessageRecord(message_id, "sending", 1, invoice_id)
        self.conn.execute(
            update(m).where(m.c.message_id == message_id).values(attempts=m.c.attempts + 1)
        )
        rec = self.get(message_id)
        assert rec is not None
        return rec

    def start_many(self, starts: Sequence[MessageStart], at: datetime) -> dict[str, MessageRecord]:
        m = t.outbound_messages
        rows = [
            dict(
                message_id=s.message_id,
                invoice_id=s.invoice_id,
                job_id=s.job_id,
                recipients=s.recipients,
                subject=s.subject,
                status="sending",
                attempts=1,
                created_at=at,
                detail=None,
                sent_at=None,
            )
            for s in starts
        ]
        new = {
            r.message_id
            for r in insert_ignore_many(self.conn, m, ["message_id"], rows, ("message_id",))
        }
        out = {
            s.message_id: MessageRecord(s.message_id, "sending", 1, s.invoice_id)
            for s in starts
            if s.message_id in new
        }
        again = [s.message_id for s in starts if s.message_id not in new]  # a retry's
        if again:
            self.conn.execute(
                update(m).where(m.c.message_id.in_(again)).values(attempts=m.c.attempts + 1)
            )
            for r in self.conn.execute(select(m).where(m.c.message_id.in_(again))):
                out[r.message_id] = MessageRecord(r.message_id, r.status, r.attempts, r.invoice_id)
        return out

    def mark(self, message_id: str, status: str, detail: str | None, at: datetime) -> None:
        values: dict[str, Any] = {"status": status, "detail": detail}
        if status == "sent":
            values["sent_at"] = at
        self.conn.execute(
            update(t.outbound_messages)
            .where(t.outbound_messages.c.message_id == message_id)
            .values(**values)
        )

    def for_invoice(self, invoice_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(t.outbound_messages)
            .where(t.outbound_messages.c.invoice_id == invoice_id)
            .order_by(t.outbound_messages.c.id)
        )
        return [dict(r._mapping) for r in rows]


_C = t.series_counters
_ALLOCATE = (
    update(_C)
    .where(_C.c.series_id == bindparam("b_series"), _C.c.period == bindparam("b_period"))
    .values(next_value=_C.c.next_value + 1)
    .returning(_C.c.next_value - 1)
)


class SqlNumbering:
    """Gapless numbers: a counter row per (series, period), incremented under a row lock
    that the issuing transaction holds until it commits or rolls back."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _record(self, r: Any) -> SeriesRecord:
        return SeriesRecord(r.id, r.entity_id, r.name, NumberSeries(r.pattern, r.yearly_reset))

    def default_series(self, entity_id: int) -> SeriesRecord:
        r = self.conn.execute(
            select(t.number_series)
            .where(t.number_series.c.entity_id == entity_id)
            .order_by(t.number_series.c.id)
        ).first()
        if r is None:
            raise NotFound(f"issuing entity {entity_id} has no numbering series", field="series")
        return self._record(r)

    def get_series(self, series_id: int) -> SeriesRecord:
        r = self.conn.execute(
            select(t.number_series).where(t.number_series.c.id == series_id)
        ).first()
        if r is None:
            raise NotFound(f"numbering series {series_id} does not exist", field="series_id")
        return self._record(r)

    def add_series(self, entity_id: int, name: str, series: NumberSeries) -> int:
        return self.conn.execute(
            insert(t.number_series)
            .values(
                entity_id=entity_id,
                name=name,
                pattern=series.pattern,
                yearly_reset=series.yearly_reset,
            )
            .returning(t.number_series.c.id)
        ).scalar_one()

    def allocate(self, series_id: int, period: str) -> int:
        # UPDATE takes the row lock (PostgreSQL) and holds it to the end of the transaction
        key = {"b_series": series_id, "b_period": period}
        taken = self.conn.execute(_ALLOCATE, key).scalar()
        if taken is None:  # first number of this period: create the counter, then take
            _insert_ignore(
                self.conn,
                t.series_counters,
                ["series_id", "period"],
                series_id=series_id,
                period=period,
                next_value=1,
            )
            taken = self.conn.execute(_ALLOCATE, key).scalar_one()
        return int(taken)


class SqlFirings:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def claim(self, contract_id: int, occurrence_at: datetime, fired_at: datetime) -> int | None:
        return _insert_ignore(
            self.conn,
            t.schedule_firings,
            ["contract_id", "occurrence_at"],
            returning="id",
            contract_id=contract_id,
            occurrence_at=occurrence_at,
            fired_at=fired_at,
            outcome="issued",  # what commits with it unless settled otherwise
            invoice_id=None,
            detail=None,
        )

    def failed(self) -> list[tuple[int, int, datetime]]:
        f = t.schedule_firings
        rows = self.conn.execute(
            select(f.c.id, f.c.contract_id, f.c.occurrence_at)
            .where(f.c.outcome == "failed")
            .order_by(f.c.occurrence_at, f.c.id)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def release(self, invoice_id: int) -> tuple[int, datetime] | None:
        f = t.schedule_firings
        row = self.conn.execute(
            delete(f)
            .where(f.c.invoice_id == invoice_id)
            .returning(f.c.contract_id, f.c.occurrence_at)
        ).first()
        return (row[0], row[1]) if row else None

    def settle(
        self, firing_id: int, outcome: str, invoice_id: int | None, detail: str | None
    ) -> None:
        self.conn.execute(
            update(t.schedule_firings)
            .where(t.schedule_firings.c.id == firing_id)
            .values(outcome=outcome, invoice_id=invoice_id, detail=detail)
        )
