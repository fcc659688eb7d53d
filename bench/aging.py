"""Benchmark: the cash-flow reports over 1,000,000 invoices on PostgreSQL.

A fresh ``autoinvoice_bench_aging`` database is filled by ``million.seed_invoices`` (three
entities, four currencies, two years of invoices, ~7 % of them open), then each report runs
through its use case (``services/reports.py``: one aggregate query each) — once to warm the
cache, then ``--runs`` times; so do the dashboard's snapshot (all four in one read
transaction) and the weekly audit. The table shows the median and the slowest run, and the
figures the reports produced. Target: each report under 0.5 s, each of the two
dashboard reads under 1 s.

    .venv/bin/python bench/aging.py                 # 1,000,000 invoices
    .venv/bin/python bench/aging.py --n 100000
    .venv/bin/python bench/aging.py --at 2026-11-25T20:00:00+00:00  # zones on two dates
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_db import fresh_url
from million import seed_invoices
from rich.console import Console
from rich.table import Table

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.bootstrap import build
from autoinvoice.config import Settings
from autoinvoice.domain.cashflow import BUCKET_KEYS
from autoinvoice.services import reports
from autoinvoice.services.weekly_audit import weekly_audit

console = Console(width=170)
# (use case, target in seconds): each report 0.5 s; the dashboard page's two reads 1 s each
REPORTS: dict[str, tuple[Callable[..., Any], float]] = {
    "aging": (reports.aging_report, 0.5),
    "dso": (reports.dso_report, 0.5),
    "forecast": (reports.forecast_report, 0.5),
    "overdue clients": (reports.overdue_clients_report, 0.5),
    "dashboard (all four, one transaction)": (reports.cashflow_snapshot, 1.0),
    "weekly audit": (weekly_audit, 1.0),
}


def _time(fn: Callable[..., Any], app: Any, runs: int) -> tuple[list[float], Any]:
    result = fn(uow=app.uow(read_only=True), clock=app.clock)  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn(uow=app.uow(read_only=True), clock=app.clock)
        times.append(time.perf_counter() - t0)
    return times, result


def _figures(results: dict[str, Any]) -> None:
    aging = Table("currency", *BUCKET_KEYS, "open total", title="aging (open balances)")
    for row in results["aging"].rows:
        aging.add_row(
            row.currency, *(f"{row.buckets[k]:,.2f}" for k in BUCKET_KEYS), f"{row.total:,.2f}"
        )
    console.print(aging)
    dso = Table("currency", "receivables", "sales, last 90 days", "DSO (days)", title="DSO")
    for d in results["dso"].rows:
        dso.add_row(d.currency, f"{d.receivables:,.2f}", f"{d.credit_sales:,.2f}", str(d.dso))
    console.print(dso)
    fc = results["forecast"]
    forecast = Table("currency", *(w.label for w in fc.weeks), "later", title="expected inflows")
    for f in fc.rows:
        forecast.add_row(f.currency, *(f"{v:,.0f}" for v in f.weeks), f"{f.later:,.0f}")
    console.print(forecast)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--at",
        type=datetime.fromisoformat,
        default=None,
        help="the clock (aware ISO datetime); at 20:00 UTC India is a day ahead of Europe",
    )
    args = parser.parse_args()
    now = args.at or datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_url("postgresql", Path(tmp), "autoinvoice_bench_aging")
        seed_invoices(url, args.n, today=now.date())
        app = build(Settings(data_dir=Path(tmp), database_url=url), clock=ManualClock(now))
        table = Table(
            "report", "median ms", "slowest ms", "target ms", "", title=f"{args.n:,} invoices"
        )
        results = {}
        for name, (fn, target) in REPORTS.items():
            times, results[name] = _time(fn, app, args.runs)
            worst = max(times)
            table.add_row(
                name,
                f"{statistics.median(times) * 1000:.0f}",
                f"{worst * 1000:.0f}",
                f"{target * 1000:.0f}",
                "ok" if worst < target else "OVER TARGET",
            )
        app.engine.dispose()
    _figures(results)
    console.print(table)


if __name__ == "__main__":
    main()
