"""Benchmark: the monthly retainer run, end to end.

N retainer contracts (default 10,000) are due at once. The scheduler (this process) issues
and numbers every invoice and writes its delivery job; two `autoinvoice worker` processes
render each PDF with Typst and email it to a local SMTP server (aiosmtpd, its own process).
Run on SQLite and on PostgreSQL. Prints invoices/s end to end, p50/p99 time from "due" (the
moment the run starts) to "email accepted", and each worker's peak RSS.

    make bench                      # 10,000 contracts, both databases
    .venv/bin/python bench/monthly_run.py --contracts 2000 --db postgresql
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import signal
import statistics
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psutil
from bench_db import fresh_url, start_delivery
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import insert, select

from autoinvoice.adapters.clock import SystemClock
from autoinvoice.adapters.db import tables as t
from autoinvoice.adapters.db.engine import make_engine
from autoinvoice.adapters.db.migrate import upgrade
from autoinvoice.bootstrap import build
from autoinvoice.config import Settings
from autoinvoice.domain.numbering import NumberSeries
from autoinvoice.domain.parties import Address, Party
from autoinvoice.services.invoicing import fire_due_schedules
from autoinvoice.services.ports import EntityRecord
from autoinvoice.services.setup import create_entity

console = Console(width=150)


def _sink(port_q: mp.Queue, count: mp.Value) -> None:  # type: ignore[type-arg]
    from autoinvoice.adapters.email.sink import SmtpSink

    sink = SmtpSink().start()
    handler = sink._controller.handler

    async def handle_data(server, session, envelope):  # type: ignore[no-untyped-def]
        with count.get_lock():
            count.value += 1
        return "250 2.0.0 OK"

    handler.handle_DATA = handle_data
    port_q.put(sink.port)
    signal.sigwait({signal.SIGTERM})


def _seed(url: str, n: int, data_dir: Path) -> None:
    app = build(Settings(data_dir=data_dir, database_url=url), clock=SystemClock())
    seller = Party(
        name="Nordlicht IT Services GmbH",
        country="DE",
        tax_id="DE136695976",
        address=Address(("Speicherstadt 12",), "Hamburg", "20457", "DE"),
    )
    eid = create_entity(
        EntityRecord(
            0,
            seller,
            "billing@nordlicht.example",
            "Europe/Berlin",
            "en",
            {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
        ),
        NumberSeries("INV-{yyyy}-{seq:06d}", True),
        uow=app.uow(),
        clock=app.clock,
        actor="bench",
    )
    now = datetime.now(UTC)
    due = now.replace(microsecond=0)
    with app.engine.begin() as c:
        rows = [
            dict(
                entity_id=eid,
                name=f"Client {i:05d} GmbH",
                country="DE",
                address={
                    "lines": [f"Hafenstraße {i % 200 + 1}"],
                    "city": "Hamburg",
                    "postal_code": "20457",
                    "country": "DE",
                    "subdivision": None,
                },
                tax_id="DE811907980",
                emails=[f"ap{i}@client{i}.example"],
                is_business=True,
                currency="EUR",
                terms="net:30",
                language="en",
                timezone="Europe/Berlin",
                created_at=now,
            )
            for i in range(n)
        ]
        c.execute(insert(t.clients), rows)
        ids = [r[0] for r in c.execute(select(t.clients.c.id).order_by(t.clients.c.id))]
        c.execute(
            insert(t.contracts),
            [
                dict(
                    client_id=cid,
                    name="Managed IT retainer",
                    model="retainer",
                    currency="EUR",
                    terms="net:30",
                    tax_kind="standard",
                    description="Managed IT services retainer",
                    amount=Decimal("4500.00") + Decimal(i % 97),
                    rrule="FREQ=MONTHLY;BYMONTHDAY=1",
                    timezone="Europe/Berlin",
                    dtstart="2026-01-01T06:00:00",
                    milestones=[],
                    rates=[],
                    active=True,
                    next_run_at=due,
                )
                for i, cid in enumerate(ids)
            ],
        )
    app.engine.dispose()


def run(kind: str, n: int, workers: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    url = fresh_url(kind, tmp)
    upgrade(make_engine(url))
    console.print(f"[bold]{kind}[/bold]: seeding {n:,} retainer contracts…")
    _seed(url, n, tmp)

    sink, count, procs = start_delivery(url, tmp, workers)
    peak = dict.fromkeys(range(workers), 0)
    app = build(Settings(data_dir=tmp, database_url=url), clock=SystemClock())
    t0 = time.monotonic()
    started = datetime.now(UTC)
    issued_at = None

    import threading

    def tick() -> None:
        nonlocal issued_at
        fire_due_schedules(uow=app.uow(), clock=app.clock, limit=1000)
        issued_at = time.monotonic() - t0

    ticker = threading.Thread(target=tick)
    ticker.start()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("emails accepted", total=n)
        while count.value < n:
            for i, p in enumerate(procs):
                with contextlib.suppress(psutil.Error):
                    peak[i] = max(peak[i], psutil.Process(p.pid).memory_info().rss)
            progress.update(task, completed=count.value)
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker died")
            time.sleep(0.2)
        progress.update(task, completed=count.value)
    elapsed = time.monotonic() - t0
    ticker.join()
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(30)
    sink.terminate()
    with app.engine.connect() as c:
        sent = [r[0] for r in c.execute(select(t.outbound_messages.c.sent_at))]
    app.engine.dispose()
    lat = sorted((s - started).total_seconds() for s in sent)
    return {
        "db": kind,
        "invoices": n,
        "seconds": round(elapsed, 1),
        "invoices_per_s": round(n / elapsed, 1),
        "issue_phase_s": round(issued_at or 0, 1),
        "p50_s": round(statistics.median(lat), 1),
        "p99_s": round(lat[int(len(lat) * 0.99) - 1], 1),
        "peak_rss_mb": [round(v / 2**20) for v in peak.values()],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--contracts", type=int, default=10_000)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [run(k, args.contracts, args.workers) for k in kinds]
    table = Table(
        "database",
        "invoices",
        "seconds",
        "invoices/s",
        "issuing done at s",
        "p50 due→accepted s",
        "p99 s",
        "worker peak RSS MB",
        title="monthly retainer run",
    )
    for r in results:
        table.add_row(
            str(r["db"]),
            f"{r['invoices']:,}",
            str(r["seconds"]),
            str(r["invoices_per_s"]),
            str(r["issue_phase_s"]),
            str(r["p50_s"]),
            str(r["p99_s"]),
            ", ".join(map(str, r["peak_rss_mb"])),
        )
    console.print(table)


if __name__ == "__main__":
    main()
