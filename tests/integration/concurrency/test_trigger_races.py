"""Exactly once under real concurrency: several workers process stored webhook requests at
the same time (threads with their own connections; on PostgreSQL they really overlap).

* the same won deal arriving in several deliveries (different delivery ids) → one invoice;
* time entries arriving in parallel past a threshold → every entry billed exactly once,
  never on two invoices, and the billed hours add up to what was logged."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from autoinvoice.adapters.db import tables as t
from autoinvoice.domain.contracts import BillingModel, Contract, Rate
from autoinvoice.domain.terms import PaymentTerms
from autoinvoice.entrypoints.worker import run_worker
from autoinvoice.services import ingest, sources
from autoinvoice.services.setup import add_contract
from autoinvoice.services.triggering import load_rules
from builders import START, make_app, make_client, make_entity

pytestmark = pytest.mark.slow
WORKERS = 4


def _setup(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    app = make_app(database_url, tmp_path, worker_batch=1)
    client = make_client(app, make_entity(app))
    src = sources.add_source(
        sources.NewSource(kind="generic", name="hooks", secrets={"signing_secret": "whsec_x"}),
        uow=app.uow(),
        clock=app.clock,
        box=app.box,
        actor="t",
        kinds=app.source_kinds,
    )
    return app, client, src


def _store(app, src, bodies: list[dict]) -> None:  # type: ignore[no-untyped-def]
    ingest.store_requests(
        [
            ingest.accepted(
                src.id,
                f"msg_{i}",
                {"content-type": "application/json"},
                json.dumps(b).encode(),
                START,
            )
            for i, b in enumerate(bodies)
        ],
        uow=app.uow(),
    )


def _work(app) -> None:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=run_worker, args=(app, stop), kwargs={"name": f"w{i}", "once": True}
        )
        for i in range(WORKERS)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    # jobs that lost a race are retried with back-off: run them now, one worker
    from autoinvoice.services.jobs import run_jobs_once

    with app.engine.begin() as c:
        c.execute(t.jobs.update().values(run_after=START))
    while run_jobs_once(
        uow=app.uow(), clock=app.clock, worker="last", handlers=app.handlers("last")
    ):
        pass


def test_one_deal_in_many_deliveries_makes_one_invoice(database_url: str, tmp_path: Path) -> None:
    app, client, src = _setup(database_url, tmp_path)
    ingest.link_ref(
        "hooks",
        "client",
        "ACME",
        client_id=client,
        contract_id=None,
        uow=app.uow(),
        clock=app.clock,
        actor="t",
    )
    load_rules(
        {"rules": [{"name": "won", "when": {"event": "deal.won"}, "build": "deal"}]},
        uow=app.uow(),
        clock=app.clock,
        actor="t",
    )
    deal = {
        "type": "deal.won",
        "subject": "deal",
        "external_id": "D-1",
        "occurred_at": START.isoformat(),
        "fields": {"client_ref": "ACME", "amount": "9000.00", "name": "Platform build"},
    }
    # the sender retried with new event ids (the worst case): the (rule, subject) key holds
    _store(app, src, [{**deal, "id": f"evt_{i}"} for i in range(12)])
    _work(app)
    with app.engine.connect() as c:
        invoices = c.execute(select(t.invoices.c.number, t.invoices.c.gross_total)).all()
        firings = c.execute(select(t.rule_firings.c.outcome)).all()
    assert [(n, Decimal(g)) for n, g in invoices] == [("INV-2026-000001", Decimal("10710.00"))]
    assert [f[0] for f in firings] == ["issued"]


def test_time_logged_in_parallel_is_billed_once_per_entry(
    database_url: str, tmp_path: Path
) -> None:
    app, client, src = _setup(database_url, tmp_path)
    contract = add_contract(
        Contract(
            name="Support hours",
            model=BillingModel.TIME_AND_MATERIALS,
            currency="EUR",
            terms=PaymentTerms.parse("net:14"),
            client_id=client,
            rates=(Rate("default", Decimal("100.00")),),
        ),
        uow=app.uow(),
        clock=app.clock,
        actor="t",
    )
    ingest.link_ref(
        "hooks",
        "project",
        "SUP",
        client_id=None,
        contract_id=contract,
        uow=app.uow(),
        clock=app.clock,
        actor="t",
    )
    load_rules(
        {"rules": [{"name": "5h", "threshold": {"hours": 5}, "build": "time"}]},
        uow=app.uow(),
        clock=app.clock,
        actor="t",
    )
    entries = [
        {
            "id": f"te_{i}",
            "type": "time_entry.logged",
            "subject": "time_entry",
            "external_id": f"E{i}",
            "occurred_at": START.isoformat(),
            "fields": {
                "project_ref": "SUP",
                "person": f"P{i % 3}",
                "hours": "2.5",
                "day": "2026-11-19",
                "task": "Support",
            },
        }
        for i in range(16)
    ]
    _store(app, src, entries)
    _work(app)
    with app.engine.connect() as c:
        rows = c.execute(select(t.time_entries.c.invoice_id, t.time_entries.c.hours)).all()
        lines = c.execute(select(t.invoice_lines.c.quantity)).all()
    billed = [r for r in rows if r[0] is not None]
    assert len(rows) == 16
    assert len(billed) >= 14  # at most one entry below the threshold can wait
    assert sum(Decimal(q[0]) for q in lines) == sum(Decimal(r[1]) for r in billed)
