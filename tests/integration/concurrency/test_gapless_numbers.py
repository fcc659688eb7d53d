"""Gapless numbering under real concurrency: separate processes issuing at once.

PostgreSQL: 4 processes issue 1,000 invoices; the numbers must be exactly 1..1000.
SQLite: the same with 200 (writers queue on the database lock)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from builders import START, draft_for, make_app, make_client, make_entity

pytestmark = pytest.mark.slow


def _issue_many(url: str, data_dir: str, ids: list[int], barrier) -> None:  # type: ignore[no-untyped-def]
    from autoinvoice.adapters.clock import ManualClock
    from autoinvoice.services.invoicing import issue_invoice
    from builders import make_app

    app = make_app(url, Path(data_dir), clock=ManualClock(START))
    barrier.wait()
    for inv_id in ids:
        issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="proc")
    app.engine.dispose()


def _run(url: str, tmp_path: Path, total: int, procs: int = 4) -> list[tuple[int, str]]:
    app = make_app(url, tmp_path)
    client = make_client(app, make_entity(app))
    ids = [draft_for(app, client) for _ in range(total)]
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(procs)
    workers = [
        ctx.Process(target=_issue_many, args=(url, str(tmp_path), ids[i::procs], barrier))
        for i in range(procs)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert [w.exitcode for w in workers] == [0] * procs
    from sqlalchemy import select

    from autoinvoice.adapters.db import tables as t

    with app.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(t.invoices.c.seq, t.invoices.c.number).order_by(t.invoices.c.seq)
        ).all()
    app.engine.dispose()
    return [(r.seq, r.number) for r in rows]


def test_four_processes_issuing_1000_invoices_on_postgresql_get_1_to_1000(
    pg_url: str, tmp_path
) -> None:
    from databases import truncate_all

    truncate_all(pg_url)
    rows = _run(pg_url, tmp_path, 1000)
    assert [seq for seq, _ in rows] == list(range(1, 1001))
    assert len({n for _, n in rows}) == 1000
    assert rows[-1][1] == "INV-2026-001000"


def test_four_processes_issuing_on_sqlite_get_gapless_numbers(sqlite_url: str, tmp_path) -> None:
    rows = _run(sqlite_url, tmp_path, 200)
    assert [seq for seq, _ in rows] == list(range(1, 201))
