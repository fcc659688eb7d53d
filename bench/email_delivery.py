"""Benchmark: invoice emails with the PDF attached, per second, two workers, local SMTP.

N issued invoices wait in the outbox (the monthly run of ``monthly_run.py`` has issued them).
Two variants, each on a fresh database:

- ``stored``: every PDF is already rendered and stored (as after a render step or a retry),
  so the workers measure delivery itself: read the invoice, compose the MIME message with
  the ~45 KB PDF attached, log the Message-ID, send over SMTP, mark sent.
- ``render``: the workers also render each PDF with Typst on the way (the monthly run).

Two ``autoinvoice worker`` processes send to an aiosmtpd server in its own process, which
counts accepted messages. Prints messages/s from the first to the last acceptance.
Target (issue 5): at least 200 messages/s with two workers.

    .venv/bin/python bench/email_delivery.py --invoices 2000 --db postgresql
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_db import fresh_url, start_delivery
from monthly_run import _seed
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from autoinvoice.adapters.clock import SystemClock
from autoinvoice.adapters.db.engine import make_engine
from autoinvoice.adapters.db.migrate import upgrade
from autoinvoice.bootstrap import build
from autoinvoice.config import Settings
from autoinvoice.services.documents import invoice_document
from autoinvoice.services.invoicing import fire_due_schedules

console = Console(width=120)
TARGET = 200.0


def _prerender(app, n: int) -> float:  # type: ignore[no-untyped-def]
    """Render and store every issued invoice's PDF; returns the seconds it took."""
    t0 = time.monotonic()
    with app.uow(read_only=True) as uow:
        ids = [s.id for s in uow.invoices.summaries(limit=n + 10)]
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("rendering PDFs", total=len(ids))
        for chunk in range(0, len(ids), 100):
            batch = ids[chunk : chunk + 100]
            with app.uow() as uow:
                invoices = uow.invoices.get_many(batch)
                clients = uow.clients.get_many([i.client_id or 0 for i in invoices.values()])
                entity = uow.entities.first()
                for inv_id, inv in invoices.items():
                    client = clients[inv.client_id or 0]
                    pdf = app.renderer.render(invoice_document(inv, entity, client.language))
                    uow.documents.put(inv_id, "pdf", pdf, app.clock.now())
                uow.commit()
            progress.advance(task, len(batch))
    return time.monotonic() - t0


def run(kind: str, n: int, workers: int, stored: bool) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-mail-{kind}-"))
    url = fresh_url(kind, tmp)
    upgrade(make_engine(url))
    _seed(url, n, tmp)
    app = build(Settings(data_dir=tmp, database_url=url), clock=SystemClock())
    report = fire_due_schedules(uow=app.uow(), clock=app.clock, limit=1000)
    assert len(report.issued) == n, report.held[:3]
    render_seconds = _prerender(app, n) if stored else 0.0
    sink, count, procs = start_delivery(url, tmp, workers)
    first = last = 0.0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"{kind}: emails accepted", total=n)
        deadline = time.monotonic() + 900
        while count.value < n and time.monotonic() < deadline:
            if count.value and not first:
                first = time.monotonic()
            progress.update(task, completed=count.value)
            time.sleep(0.02)
        last = time.monotonic()
        progress.update(task, completed=count.value)
    for p in procs:
        p.terminate()
        p.wait(20)
    sink.terminate()
    app.engine.dispose()
    sent = count.value
    return {
        "sent": sent,
        "seconds": last - first,
        "rate": (sent - 1) / (last - first) if last > first else 0.0,
        "render_seconds": render_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", choices=["postgresql", "sqlite", "both"], default="postgresql")
    args = parser.parse_args()
    kinds = ["postgresql", "sqlite"] if args.db == "both" else [args.db]
    table = Table("db", "PDFs", "workers", "emails", "seconds", "emails/s", "")
    for kind in kinds:
        for stored in (True, False):
            r = run(kind, args.invoices, args.workers, stored)
            ok = "ok" if r["rate"] >= TARGET else "below target"
            table.add_row(
                kind,
                f"stored (rendered in {r['render_seconds']:.0f} s)" if stored else "rendered",
                str(args.workers),
                f"{r['sent']:,.0f}",
                f"{r['seconds']:.1f}",
                f"{r['rate']:,.0f}",
                ok,
            )
    console.print(table)
    console.print(f"target: ≥ {TARGET:g} emails/s with the PDF attached, two workers")


if __name__ == "__main__":
    main()
