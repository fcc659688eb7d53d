"""Benchmark: the daily reminder scan over 1,000,000 invoices on PostgreSQL (target < 0.5 s).

The ledger comes from ``bench/million.py`` (COPY-seeded: two years of invoices, most paid,
some open and late). Then the state a live installation is in after the scheduler ran every
day up to yesterday: for every open invoice, the highest step of the default ladder
(−3, 0, +7, +14, +30) that was due by yesterday is stored as sent — written with one
INSERT … SELECT, since the scan only looks at the highest step stored.

Timed: ``run_reminders`` at 09:00 UTC today — the set-based candidate query over the whole
ledger, the exact per-client decision for the candidates, and one reminder row and outbox
job for each reminder due today — five runs, today's rows and jobs deleted between runs.
Also timed: the same scan once more with nothing left to queue, the candidate query's plan
(``EXPLAIN ANALYZE``), and a new installation's first scan (no reminder sent before: one
reminder for every open invoice with a step due), which is not a daily cost.

    .venv/bin/python bench/reminder_scan.py            # 1,000,000 invoices
    .venv/bin/python bench/reminder_scan.py --n 100000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench_db import fresh_url
from million import seed_invoices
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.adapters.db.engine import make_engine
from autoinvoice.adapters.db.reminders import SqlReminders
from autoinvoice.adapters.db.unit_of_work import SqlUnitOfWork
from autoinvoice.domain.dunning import ReminderPolicy
from autoinvoice.services.reminders import _cutoffs, run_reminders

console = Console(width=120)
TARGET_S = 0.5


def history_until(conn, yesterday: date) -> int:  # type: ignore[no-untyped-def]
    """Store, per open invoice, the highest default step due by ``yesterday`` as sent."""
    steps = ReminderPolicy.default().steps
    case = " ".join(
        f"WHEN due_date <= DATE '{(yesterday - timedelta(days=s.offset_days)).isoformat()}' "
        f"THEN {i}"
        for i, s in reversed(list(enumerate(steps)))
    )
    tones = " ".join(f"WHEN {i} THEN '{s.tone.value}'" for i, s in enumerate(steps))
    offsets = " ".join(f"WHEN {i} THEN {s.offset_days}" for i, s in enumerate(steps))
    first = (yesterday - timedelta(days=steps[0].offset_days)).isoformat()
    sql = f"""
        INSERT INTO reminders (invoice_id, step, offset_days, tone, due_on, status, created_at,
                               sent_at)
        SELECT id, step, CASE step {offsets} END, CASE step {tones} END, DATE '{yesterday}',
               'sent', now(), now()
        FROM (SELECT id, CASE {case} END AS step FROM invoices
              WHERE status IN ('issued', 'sent', 'viewed', 'partially_paid')
                AND due_date <= DATE '{first}') AS due
    """
    return int(conn.execute(text(sql)).rowcount)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    today = date(2026, 11, 25)
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_url("postgresql", Path(tmp), "autoinvoice_bench_reminders")
    tally = seed_invoices(url, args.n, today=today)
    engine = make_engine(url)
    with engine.begin() as conn:
        stored = history_until(conn, today - timedelta(days=1))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE reminders"))  # what autovacuum does overnight
    open_ = sum(v for k, v in tally.items() if k in ("issued", "sent", "viewed", "partially_paid"))
    console.print(f"{open_:,} open invoices; {stored:,} with reminders sent up to yesterday")

    clock = ManualClock(datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=9))
    timings, queued = [], 0
    for _ in range(args.runs):
        with engine.begin() as conn:  # back to "this morning": nothing queued today
            conn.execute(text("DELETE FROM reminders WHERE status = 'queued'"))
            conn.execute(text("DELETE FROM jobs WHERE kind = 'remind'"))
            conn.execute(text("DELETE FROM audit_log WHERE action = 'reminder.queued'"))
        t0 = time.perf_counter()
        report = run_reminders(uow=SqlUnitOfWork(engine), clock=clock)
        timings.append(time.perf_counter() - t0)
        queued = report.queued
    t0 = time.perf_counter()
    idle = run_reminders(uow=SqlUnitOfWork(engine), clock=clock)
    idle_s = time.perf_counter() - t0
    assert idle.queued == 0

    with engine.connect() as conn:
        latest = (clock.now() + timedelta(hours=14)).date()
        cutoffs = _cutoffs(ReminderPolicy.default(), latest)
        repo = SqlReminders(conn)
        t0 = time.perf_counter()
        found = repo.candidates(cutoffs, latest)
        query_s = time.perf_counter() - t0
        compiled = _explain(conn, repo, cutoffs, latest)

    with engine.begin() as conn:  # a new installation's first scan: nothing sent before
        conn.execute(text("DELETE FROM reminders"))
        conn.execute(text("DELETE FROM jobs WHERE kind = 'remind'"))
    t0 = time.perf_counter()
    first = run_reminders(uow=SqlUnitOfWork(engine), clock=clock)
    first_s = time.perf_counter() - t0

    median = statistics.median(timings)
    table = Table("measure", "value", title=f"reminder scan, {args.n:,} invoices, PostgreSQL")
    table.add_row("reminders queued by the daily scan", f"{queued:,}")
    table.add_row("daily scan, median of runs", f"{median * 1000:.0f} ms")
    table.add_row("daily scan, each run", ", ".join(f"{t * 1000:.0f}" for t in timings) + " ms")
    table.add_row("scan with nothing to queue", f"{idle_s * 1000:.0f} ms")
    table.add_row("first scan ever (catch-up)", f"{first_s:.2f} s, {first.queued:,} queued")
    table.add_row("candidate query alone (nothing due)", f"{query_s * 1000:.0f} ms, {len(found)}")
    verdict = "met" if median < TARGET_S else "MISSED"
    table.add_row("target", f"< {TARGET_S * 1000:.0f} ms: {verdict}")
    console.print(table)
    console.print(compiled)
    engine.dispose()


def _explain(conn, repo: SqlReminders, cutoffs, latest: date) -> str:  # type: ignore[no-untyped-def]
    """The candidate query's plan, as PostgreSQL ran it."""
    from sqlalchemy import event

    captured: list[tuple[str, object]] = []

    def grab(_c, _cur, statement, parameters, _ctx, _many):  # type: ignore[no-untyped-def]
        captured.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", grab)
    repo.candidates(cutoffs, latest)
    event.remove(conn, "before_cursor_execute", grab)
    statement, parameters = captured[-1]
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        return "\n".join(r[0] for r in cur.fetchall())


if __name__ == "__main__":
    main()
