"""The payments ledger under real concurrency (threads with their own connections, on
SQLite and PostgreSQL): payments racing for the same open invoices never settle one twice,
and a payment reversed from several places at once is reversed once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from autoinvoice.bootstrap import App
from autoinvoice.domain.errors import InvalidTransition
from autoinvoice.services.client_credit import apply_credit
from autoinvoice.services.credit_notes import IssueCreditNote, issue_credit_note
from autoinvoice.services.errors import Conflict
from autoinvoice.services.payments import ReceivePayment, receive_payment
from autoinvoice.services.reversals import reverse_payment
from ledger_world import check_ledger, credit, invoice, issued, receive

pytestmark = pytest.mark.slow
pytest_plugins = ["ledger_fixtures"]


def _at_once(n: int, work: Any) -> list[Any]:
    """Run ``work(i)`` in ``n`` threads released together; results or raised errors."""
    gate = threading.Barrier(n)

    def one(i: int) -> Any:
        gate.wait()
        try:
            return work(i)
        except (Conflict, InvalidTransition) as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_payments_racing_for_the_same_invoices_settle_each_once(app: App, client_id: int) -> None:
    invoices = [issued(app, client_id, "100.00", days_later=i) for i in range(10)]  # 1190.00

    def pay(i: int) -> Any:
        cmd = ReceivePayment(client_id, "200.00", "EUR", idempotency_key=f"race-{i}")
        return receive_payment(cmd, uow=app.uow(), clock=app.clock, actor=f"t{i}")

    receipts = _at_once(8, pay)  # 1600.00
    applied = sum((a.amount for r in receipts for a in r.allocations), Decimal(0))
    assert applied == Decimal("1190.00")
    assert sum((r.credited for r in receipts), Decimal(0)) == Decimal("410.00")
    assert all(invoice(app, i).status == "paid" for i in invoices)
    assert credit(app, client_id) == Decimal("410.00")
    assert check_ledger(app, client_id) == []


def test_a_payment_reversed_from_several_places_at_once_is_reversed_once(
    app: App, client_id: int
) -> None:
    inv = issued(app, client_id, "100.00")
    r = receive(app, client_id, "150.00")
    outcomes = _at_once(
        4,
        lambda i: reverse_payment(
            r.payment_id, f"chargeback {i}", uow=app.uow(), clock=app.clock, actor=f"t{i}"
        ),
    )
    assert sum(not isinstance(o, Conflict) for o in outcomes) == 1
    assert invoice(app, inv).amount_paid == 0 and credit(app, client_id) == 0
    assert check_ledger(app, client_id) == []


def test_credit_spent_on_several_invoices_at_once_is_spent_once(app: App, client_id: int) -> None:
    invoices = [issued(app, client_id, "100.00") for _ in range(4)]
    receive(app, client_id, "150.00", invoice_ids=(invoices[0],))  # 31.00 credit
    receive(app, client_id, "119.00", invoice_ids=(invoices[0],))  # paid already: 119.00 more
    spent = _at_once(
        4,
        lambda i: apply_credit(
            client_id, invoices[i], uow=app.uow(), clock=app.clock, actor=f"t{i}"
        ),
    )
    applied = [s for s in spent if isinstance(s, Decimal)]
    assert sum(applied, Decimal(0)) == Decimal("150.00")
    assert credit(app, client_id) == 0
    assert check_ledger(app, client_id) == []


def test_receipts_and_credit_notes_at_once_keep_the_ledger_sound(app: App, client_id: int) -> None:
    invoices = [issued(app, client_id, "100.00", days_later=i) for i in range(4)]

    def work(i: int) -> Any:
        if i % 2:
            cmd = IssueCreditNote(invoices[i], "rate corrected", amount="50.00")
            return issue_credit_note(cmd, uow=app.uow(), clock=app.clock, actor=f"t{i}")
        cmd = ReceivePayment(client_id, "150.00", "EUR")
        return receive_payment(cmd, uow=app.uow(), clock=app.clock, actor=f"t{i}")

    for _ in range(2):  # two half credit notes credit each odd invoice in full
        outcomes = _at_once(4, work)
        assert not [o for o in outcomes if isinstance(o, Exception)]
        assert check_ledger(app, client_id) == []
