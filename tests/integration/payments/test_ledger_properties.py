"""The ledger's promise, as a property: whatever sequence of invoices, payments (one or
several invoices, with overpayments), reversals, refunds, credit applications and credit notes
happens, every invoice's ``amount_paid`` is the sum of its live allocations, its balance and
status follow from it, client credit is what was credited less what was spent, refunded or
withdrawn, nothing is negative, and no money appears or vanishes.

Runs on a real SQLite database per example (and a fixed sequence on PostgreSQL as well)."""

from __future__ import annotations

import contextlib
import shutil
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoinvoice.domain.errors import DomainError
from autoinvoice.domain.invoice import InvoiceKind
from autoinvoice.services.client_credit import apply_credit
from autoinvoice.services.credit_notes import IssueCreditNote, issue_credit_note
from autoinvoice.services.errors import ServiceError
from autoinvoice.services.ledger import AllocationKind
from autoinvoice.services.payments import ReceivePayment, receive_payment
from autoinvoice.services.reversals import RefundCredit, refund_credit, reverse_payment
from builders import make_app, make_client, make_entity
from ledger_world import check_ledger, credit, issued

D = Decimal
cents = st.integers(min_value=1, max_value=60_000).map(lambda c: D(c) / 100)
pick = st.integers(min_value=0, max_value=10)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), cents, st.integers(0, 30)),
        st.tuples(st.just("receive"), cents, st.lists(pick, max_size=3, unique=True)),
        st.tuples(st.just("reverse"), pick),
        st.tuples(st.just("refund"), st.integers(1, 100), st.booleans()),
        st.tuples(st.just("credit_note"), pick, st.one_of(st.none(), cents)),
        st.tuples(st.just("apply_credit"), pick),
    ),
    min_size=1,
    max_size=14,
)


class Run:
    """One client's history, played through the real use cases."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.client = make_client(app, make_entity(app))
        self.invoices: list[int] = []
        self.payments: list[int] = []
        self.kw = dict(uow=app.uow(), clock=app.clock, actor="property")

    def _nth(self, items: list[int], i: int) -> int | None:
        return items[i % len(items)] if items else None

    def step(self, op: tuple[Any, ...]) -> None:
        kind, *args = op
        # a refused step must change nothing: the invariants checked after it still hold
        with contextlib.suppress(DomainError, ServiceError):
            getattr(self, kind)(*args)

    def play(self, history: list[tuple[Any, ...]]) -> None:
        """Each step, then every invariant."""
        for op in history:
            self.step(op)
            assert check_ledger(self.app, self.client) == [], op
            held, came = self.money_is_conserved()
            assert held == came, op

    def issue(self, net: Decimal, days: int) -> None:
        self.invoices.append(issued(self.app, self.client, str(net), days_later=days))

    def receive(self, amount: Decimal, which: list[int]) -> None:
        named = [self._nth(self.invoices, i) for i in which] if self.invoices else []
        ids = tuple(dict.fromkeys(i for i in named if i is not None))
        cmd = ReceivePayment(self.client, amount, "EUR", invoice_ids=ids)
        self.payments.append(receive_payment(cmd, **self.kw).payment_id)  # type: ignore[arg-type]

    def reverse(self, i: int) -> None:
        if (pid := self._nth(self.payments, i)) is not None:
            reverse_payment(pid, "bank return", **self.kw)  # type: ignore[arg-type]

    def refund(self, percent: int, of_payment: bool) -> None:
        """Pay back ``percent`` of the credit (at least a cent, so none left is refused)."""
        share = credit(self.app, self.client) * percent / 100
        amount = max(share.quantize(D("0.01"), ROUND_DOWN), D("0.01"))
        pid = self._nth(self.payments, percent) if of_payment else None
        cmd = RefundCredit(self.client, amount, "EUR", "client asked", payment_id=pid)
        refund_credit(cmd, **self.kw)  # type: ignore[arg-type]

    def credit_note(self, i: int, amount: Decimal | None) -> None:
        if (inv := self._nth(self.invoices, i)) is not None:
            cmd = IssueCreditNote(inv, "correction", amount=amount)
            issue_credit_note(cmd, **self.kw)  # type: ignore[arg-type]

    def apply_credit(self, i: int) -> None:
        if (inv := self._nth(self.invoices, i)) is not None:
            apply_credit(self.client, inv, **self.kw)  # type: ignore[arg-type]

    def money_is_conserved(self) -> tuple[Decimal, Decimal]:
        """(where the money is, where it came from): settled on invoices + credit + refunds
        == live payments + credit notes + refunds out of payments since reversed."""
        with self.app.uow(read_only=True) as uow:
            paid = [p for p in uow.ledger.payments(client_id=self.client, limit=10_000)]
            settled = D(0)
            notes = D(0)
            for s in uow.invoices.summaries(client_id=self.client, limit=10_000):
                inv = uow.invoices.get(s.id)
                if inv.kind is InvoiceKind.CREDIT_NOTE:
                    notes += inv.gross.amount
                elif s.status != "draft":
                    settled += inv.amount_paid
            refunds = uow.ledger.refunds(self.client)
            reversed_ids = {p.id for p in paid if p.reversed_at is not None}
            # a reversed payment's credit that was refunded, or could not be withdrawn
            kept = sum((uow.ledger.credit_of_payment(p) for p in reversed_ids), D(0))
        live = sum((p.amount for p in paid if p.id not in reversed_ids), D(0))
        refunded = sum((r.amount for r in refunds), D(0))
        kept += sum((r.amount for r in refunds if r.payment_id in reversed_ids), D(0))
        return settled + credit(self.app, self.client) + refunded, live + notes + kept


def _fresh_app(template: Path, tmp: Path) -> Any:
    target = tmp / "ledger.db"
    target.unlink(missing_ok=True)
    shutil.copy(template, target)
    return make_app(f"sqlite:///{target}", tmp)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=steps)
def test_balances_and_credit_always_equal_the_sum_of_the_ledger(
    history: list[tuple[Any, ...]], sqlite_template: Path, tmp_path: Path
) -> None:
    app = _fresh_app(sqlite_template, tmp_path)
    try:
        run = Run(app)
        run.play(history)
        with app.uow(read_only=True) as uow:  # a reversed payment keeps no live allocation
            for pid in run.payments:
                if uow.ledger.payment(pid).reversed_at is not None:
                    assert uow.ledger.allocations(payment_id=pid) == []
            assert all(a.amount > 0 for a in uow.ledger.allocations(live_only=False))
            kinds = {a.kind for a in uow.ledger.allocations()}
        assert kinds <= set(AllocationKind)
    finally:
        app.engine.dispose()


FIXED = [
    ("issue", D("100.00"), 0),
    ("issue", D("250.00"), 10),
    ("receive", D("500.00"), []),
    ("credit_note", 0, None),
    ("issue", D("40.00"), 20),
    ("refund", 50, True),
    ("reverse", 0),
    ("receive", D("119.00"), [2, 0]),
    ("apply_credit", 1),
    ("reverse", 0),
]


def test_a_fixed_history_keeps_the_ledger_sound_on_both_databases(
    database_url: str, tmp_path: Path
) -> None:
    app = make_app(database_url, tmp_path)
    try:
        run = Run(app)
        run.play(FIXED)
        assert len(run.payments) == 2
    finally:
        app.engine.dispose()
