"""``apply_receipts`` is ``apply_receipt`` in bulk: the same commands applied one by one and
as one batch, each on a fresh database with the same invoices, give the same receipts and
refusals and leave the same rows — payments, allocations, invoice figures and statuses,
client credit, webhook deliveries and their jobs, audit entries — on SQLite and PostgreSQL.
A Hypothesis variant tries random batches on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, select

from autoinvoice.adapters.db import tables as t
from autoinvoice.bootstrap import App
from autoinvoice.domain.errors import DomainError, InvalidTransition, InvalidValue
from autoinvoice.services.errors import Conflict, NotFound, ServiceError
from autoinvoice.services.payments import (
    Allocation,
    Receipt,
    ReceivePayment,
    apply_receipt,
    receive_payment,
)
from autoinvoice.services.receipt_batches import apply_receipts
from builders import draft_for, make_app, make_client, make_entity
from fresh_databases import fresh_databases
from ledger_world import check_ledger, issued

D = Decimal
NO_CLIENT = 9999


# -- the world both runs start from ------------------------------------------------------------
class World:
    """One entity; clients ``a`` and ``b``; invoices (gross = net + 19 %): a1 119.00,
    a2 238.00, a3 59.50, a draft of a, b1 119.00, b2 59.50; a payment stored under key
    ``k0``; a webhook subscriber to the payment events."""

    def __init__(self, app: App) -> None:
        self.app = app
        entity = make_entity(app)
        self.a = make_client(app, entity)
        self.b = make_client(app, entity, name="Elbe Shipping GmbH")
        self.a1 = issued(app, self.a, "100.00")
        self.a2 = issued(app, self.a, "200.00", days_later=1)
        self.a3 = issued(app, self.a, "50.00", days_later=2)
        self.draft = draft_for(app, self.a)
        self.b1 = issued(app, self.b, "100.00")
        self.b2 = issued(app, self.b, "50.00", days_later=3)
        receive_payment(
            ReceivePayment(self.b, "10.00", "EUR", idempotency_key="k0", invoice_ids=(self.b2,)),
            uow=app.uow(),
            clock=app.clock,
            actor="test",
        )
        with app.uow() as uow:
            uow.webhooks.add_subscription(
                url="https://hooks.example.com/in",
                sealed_secret="sealed",
                event_types=["invoice.payment_received", "invoice.paid"],
                description="",
                at=app.clock.now(),
            )
            uow.commit()
        with app.engine.connect() as c:  # rows after these are the commands' doing
            self.marks = {tb.name: _max_id(c, tb) for tb in _AFTER_MARK}

    @property
    def invoices(self) -> list[int]:
        return [self.a1, self.a2, self.a3, self.draft, self.b1, self.b2]


def _max_id(conn: Any, table: Table) -> int:
    return conn.execute(select(table.c.id).order_by(table.c.id.desc()).limit(1)).scalar() or 0


_WHOLE = [t.payments, t.payment_allocations, t.client_credits]
_AFTER_MARK = [t.audit_log, t.webhook_deliveries, t.jobs]


def snapshot(world: World) -> dict[str, list[dict[str, Any]]]:
    """Every row the commands may touch, in id order."""
    i = t.invoices.c
    with world.app.engine.connect() as c:
        out = {tb.name: _rows(c, select(tb).order_by(tb.c.id)) for tb in _WHOLE}
        out["client_credit_moves"] = _rows(
            c, select(t.client_credit_moves).order_by(t.client_credit_moves.c.credit_id)
        )
        out["invoices"] = _rows(c, select(i.id, i.status, i.amount_paid, i.paid_at).order_by(i.id))
        for tb in _AFTER_MARK:
            q = select(tb).where(tb.c.id > world.marks[tb.name]).order_by(tb.c.id)
            out[tb.name] = _rows(c, q)
    for job in out["jobs"]:
        job.pop("locked_by", None)
    return out


def _rows(conn: Any, q: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(q)]


# -- the two ways -------------------------------------------------------------------------------
Outcome = Receipt | tuple[str, str, str | None]


def _outcome(r: Receipt | Exception) -> Outcome:
    if isinstance(r, Receipt):
        return r
    return (type(r).__name__, str(r), getattr(r, "field", None))


def one_by_one(world: World, cmds: Sequence[ReceivePayment]) -> list[Outcome]:
    out: list[Outcome] = []
    with world.app.uow() as uow:
        for cmd in cmds:
            try:
                out.append(apply_receipt(uow, cmd, now=world.app.clock.now(), actor="test"))
            except (DomainError, ServiceError) as refused:
                out.append(_outcome(refused))
        uow.commit()
    return out


def batched(world: World, cmds: Sequence[ReceivePayment]) -> list[Outcome]:
    with world.app.uow() as uow:
        results = apply_receipts(uow, cmds, now=world.app.clock.now(), actor="test")
        uow.commit()
    return [_outcome(r) for r in results]


Fresh = Callable[[], str]


@pytest.fixture
def fresh(database_url: str, tmp_path: Path, sqlite_template: Path) -> Fresh:
    return fresh_databases(database_url, tmp_path, sqlite_template)


def both_ways(
    fresh: Fresh, tmp: Path, commands: Callable[[World], list[ReceivePayment]]
) -> tuple[World, list[Outcome], list[Outcome]]:
    """Run ``commands(world)`` one by one on one fresh world and batched on another; check
    the rows are the same; the batched world (its app open) and both results."""
    w1 = World(make_app(fresh(), tmp))
    try:
        singly = one_by_one(w1, commands(w1))
        rows = snapshot(w1)
    finally:
        w1.app.engine.dispose()
    w2 = World(make_app(fresh(), tmp))
    batch = batched(w2, commands(w2))
    assert snapshot(w2) == rows
    return w2, singly, batch


# -- the fixed batch ------------------------------------------------------------------------------
def fixed_batch(w: World) -> list[ReceivePayment]:
    def pay(client: int, amount: str, *ids: int, **kw: Any) -> ReceivePayment:
        return ReceivePayment(client, amount, kw.pop("currency", "EUR"), invoice_ids=ids, **kw)

    return [
        pay(w.a, "119.00", w.a1, idempotency_key="k1", method="bank", payer="HANSEATIC"),  # 0
        pay(w.a, "100.00", w.a2, idempotency_key="k2"),  # 1: part of a2
        pay(w.a, "200.00", w.a2, idempotency_key="k3"),  # 2: the rest of a2, 62.00 credit
        pay(w.a, "119.00", w.a1, idempotency_key="k1"),  # 3: a repeat within the batch
        pay(w.a, "10.00", w.b1, idempotency_key="k4"),  # 4: b's invoice: refused
        pay(w.a, "70.00", w.a3, w.a1),  # 5: several invoices: 59.50 to a3, a1 paid, 10.50 credit
        pay(w.a, "-5", w.a3),  # 6: a bad amount
        pay(NO_CLIENT, "5.00", w.a3),  # 7: no such client
        pay(w.b, "5.00", w.b1, idempotency_key="k2"),  # 8: a's key for b: refused
        pay(w.a, "5.00", w.draft),  # 9: not issued
        pay(w.a, "5.00", w.a3, currency="USD"),  # 10: another currency
        pay(w.b, "50.00"),  # 11: b's oldest first (through apply_receipt): 50.00 to b1
        pay(w.b, "80.00", w.b1, w.b2, idempotency_key="k4"),  # 12: sees what 11 left on b1
        pay(w.a, "1.00", w.a1, w.a1),  # 13: an invoice named twice
        pay(w.b, "99.00", w.b1, idempotency_key="k0"),  # 14: a key stored before the batch
        pay(w.a, "5.00", 99_999),  # 15: no such invoice
        pay(w.a, "5.00", w.a3, received_at=datetime(2026, 11, 1)),  # noqa: DTZ001 — 16: naive
        pay(w.a, "300.00", w.a2, idempotency_key="k3"),  # 17: repeat of 2, another amount
    ]


def test_a_batch_leaves_the_same_rows_and_results_as_one_receipt_at_a_time(
    fresh: Fresh, tmp_path: Path
) -> None:
    w, singly, batch = both_ways(fresh, tmp_path, fixed_batch)
    try:
        assert batch == singly
        r = {i: o for i, o in enumerate(batch) if isinstance(o, Receipt)}
        refused = {i: o[0] for i, o in enumerate(batch) if isinstance(o, tuple)}
        assert r[0] == Receipt(r[0].payment_id, (Allocation(w.a1, D("119.00")),), D("0.00"))
        assert r[3] == Receipt(r[0].payment_id, r[0].allocations, D("0.00"), duplicate=True)
        assert (r[2].allocations, r[2].credited) == ((Allocation(w.a2, D("138.00")),), D(62))
        assert (r[5].allocations, r[5].credited) == ((Allocation(w.a3, D("59.50")),), D("10.5"))
        assert r[11].allocations == (Allocation(w.b1, D("50.00")),)
        assert r[12].allocations == (Allocation(w.b1, D("69.00")), Allocation(w.b2, D("11.00")))
        assert r[14].duplicate and r[17].duplicate and r[17].payment_id == r[2].payment_id
        assert refused == {
            4: InvalidValue.__name__,  # k4 stays free: command 12 uses it
            6: InvalidValue.__name__,
            7: NotFound.__name__,
            8: Conflict.__name__,
            9: InvalidTransition.__name__,
            10: InvalidValue.__name__,
            13: InvalidValue.__name__,
            15: NotFound.__name__,
            16: InvalidValue.__name__,
        }
        assert check_ledger(w.app, w.a) == [] and check_ledger(w.app, w.b) == []
        rows = snapshot(w)
        assert len(rows["webhook_deliveries"]) == len(rows["jobs"]) > 0
        told = [d["payload"]["data"] for d in rows["webhook_deliveries"]]
        # each webhook tells the invoice as its own allocation left it: part paid, then paid
        a2 = [(d["status"], d["balance"]) for d in told if d["invoice_id"] == w.a2]
        assert a2[:2] == [("partially_paid", "138.00"), ("paid", "0.00")]
    finally:
        w.app.engine.dispose()


def test_an_empty_batch_does_nothing(fresh: Fresh, tmp_path: Path) -> None:
    world = World(make_app(fresh(), tmp_path))
    before = snapshot(world)
    assert batched(world, []) == []
    assert snapshot(world) == before
    world.app.engine.dispose()


# -- the property ---------------------------------------------------------------------------------
_amounts = st.one_of(
    st.integers(1, 40_000).map(lambda c: str(D(c) / 100)),
    st.sampled_from(["0", "-1", "1.001"]),
)
_commands = st.lists(
    st.tuples(
        st.sampled_from(["a", "a", "b", "none"]),
        _amounts,
        st.lists(st.integers(0, 6), max_size=3),  # 6: an invoice that does not exist
        st.sampled_from([None, None, "k0", "k1", "k2"]),
        st.sampled_from(["EUR", "EUR", "EUR", "USD"]),
    ),
    min_size=1,
    max_size=12,
)


def _from(w: World, drawn: list[tuple[Any, ...]]) -> list[ReceivePayment]:
    ids = [*w.invoices, 99_999]
    clients = {"a": w.a, "b": w.b, "none": NO_CLIENT}
    return [
        ReceivePayment(
            clients[c], amount, cur, idempotency_key=key, invoice_ids=tuple(ids[i] for i in pick)
        )
        for c, amount, pick, key, cur in drawn
    ]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=_commands)
def test_any_batch_leaves_what_its_receipts_one_at_a_time_leave(
    drawn: list[tuple[Any, ...]], sqlite_template: Path, tmp_path: Path
) -> None:
    fresh = fresh_databases("sqlite://", tmp_path, sqlite_template)
    world, singly, batch = both_ways(fresh, tmp_path, lambda w: _from(w, drawn))
    world.app.engine.dispose()
    assert batch == singly
