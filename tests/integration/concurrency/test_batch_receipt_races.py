"""Batches of receipts (``apply_receipts``, the bank import's way) racing with each other and
with single payments for the same invoices of two clients, in threads with their own
connections on SQLite and PostgreSQL: every invoice is settled once, the rest is credit, and
no transaction deadlocks (a batch locks its clients in id order before any invoice)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from autoinvoice.bootstrap import App
from autoinvoice.services.payments import Receipt, ReceivePayment, receive_payment
from autoinvoice.services.receipt_batches import apply_receipts
from builders import make_client, make_entity
from ledger_world import check_ledger, credit, invoice, issued

pytestmark = pytest.mark.slow
pytest_plugins = ["ledger_fixtures"]


def test_batches_and_single_payments_racing_settle_each_invoice_once(
    app: App, client_id: int
) -> None:
    other = make_client(app, make_entity(app), name="Elbe Shipping GmbH")
    mine = [issued(app, client_id, "100.00", days_later=i) for i in range(4)]
    theirs = [issued(app, other, "100.00", days_later=i) for i in range(4)]
    pairs = [(client_id, i) for i in mine] + [(other, i) for i in theirs]

    def batch(n: int) -> list[Any]:
        order = pairs if n % 2 else pairs[::-1]  # the clients come in opposite orders
        cmds = [
            ReceivePayment(c, "119.00", "EUR", idempotency_key=f"b{n}-{i}", invoice_ids=(i,))
            for c, i in order
        ]
        with app.uow() as uow:
            out = apply_receipts(uow, cmds, now=app.clock.now(), actor=f"batch {n}")
            uow.commit()
        return out

    def single(n: int) -> list[Any]:
        c, i = pairs[n % len(pairs)]
        cmd = ReceivePayment(c, "119.00", "EUR", idempotency_key=f"s{n}", invoice_ids=(i,))
        return [receive_payment(cmd, uow=app.uow(), clock=app.clock, actor=f"single {n}")]

    gate = threading.Barrier(4)

    def run(n: int) -> list[Any]:
        gate.wait()
        return batch(n) if n < 2 else single(n * 3)

    with ThreadPoolExecutor(4) as pool:
        receipts = [r for rs in pool.map(run, range(4)) for r in rs]
    assert all(isinstance(r, Receipt) for r in receipts) and len(receipts) == 18
    paid = sum((a.amount for r in receipts for a in r.allocations), Decimal(0))
    assert paid == Decimal("952.00")  # eight invoices of 119.00, each settled once
    assert all(invoice(app, i).status == "paid" for _, i in pairs)
    assert credit(app, client_id) + credit(app, other) == Decimal(18 * 119) - paid
    assert check_ledger(app, client_id) == [] and check_ledger(app, other) == []
