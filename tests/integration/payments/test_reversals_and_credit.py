"""Reversals, refunds and client credit on real storage (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.invoice import InvoiceStatus
from autoinvoice.services.client_credit import apply_credit
from autoinvoice.services.errors import Conflict
from autoinvoice.services.payments import Allocation
from autoinvoice.services.reversals import RefundCredit, refund_credit, reverse_payment
from builders import make_client, make_entity
from ledger_world import check_ledger, credit, invoice, issued, receive

pytest_plugins = ["ledger_fixtures"]  # the app and client_id fixtures
D = Decimal


def reverse(app, payment_id: int, reason: str = "bank return R01"):  # type: ignore[no-untyped-def]
    return reverse_payment(payment_id, reason, uow=app.uow(), clock=app.clock, actor="test")


def refund(app, client_id: int, amount: str, **kw):  # type: ignore[no-untyped-def]
    cmd = RefundCredit(client_id, amount, "EUR", kw.pop("reason", "client asked"), **kw)
    return refund_credit(cmd, uow=app.uow(), clock=app.clock, actor="test")


def test_a_reversed_payment_reopens_its_invoices_to_their_earlier_status(app, client_id) -> None:
    a = issued(app, client_id, "100.00")
    b = issued(app, client_id, "100.00", days_later=1)
    half = receive(app, client_id, "50.00", invoice_ids=(b,))
    r = receive(app, client_id, "188.00")  # a paid, b paid (50 + 69)
    assert invoice(app, a).status is InvoiceStatus.PAID
    out = reverse(app, r.payment_id)
    assert out.reopened == (Allocation(a, D("119.00")), Allocation(b, D("69.00")))
    first, second = invoice(app, a), invoice(app, b)
    assert (first.status, first.amount_paid, first.paid_at) == (InvoiceStatus.ISSUED, 0, None)
    assert (second.status, second.amount_paid) == (InvoiceStatus.PARTIALLY_PAID, D("50.00"))
    assert half.payment_id != r.payment_id
    assert check_ledger(app, client_id) == []


def test_reversing_twice_is_refused_clearly_and_changes_nothing(app, client_id) -> None:
    inv = issued(app, client_id, "100.00")
    r = receive(app, client_id, "119.00")
    reverse(app, r.payment_id, "chargeback")
    with pytest.raises(Conflict) as err:
        reverse(app, r.payment_id)
    assert err.value.field == "payment_id" and "already reversed" in err.value.message
    assert "chargeback" in err.value.message
    assert invoice(app, inv).status is InvoiceStatus.ISSUED
    with pytest.raises(InvalidValue) as blank:
        reverse(app, r.payment_id, " ")
    assert blank.value.field == "reason"


def test_reversing_an_overpayment_withdraws_its_credit(app, client_id) -> None:
    issued(app, client_id, "100.00")
    r = receive(app, client_id, "150.00")
    assert credit(app, client_id) == D("31.00")
    out = reverse(app, r.payment_id)
    assert (out.credit_withdrawn, credit(app, client_id)) == (D("31.00"), D(0))
    assert check_ledger(app, client_id) == []


def test_credit_already_spent_is_taken_back_from_the_latest_invoice_it_paid(app, client_id) -> None:
    issued(app, client_id, "100.00")
    r = receive(app, client_id, "200.00")  # 81.00 credit
    later = issued(app, client_id, "50.00")  # 59.50, paid from credit at issue
    assert invoice(app, later).status is InvoiceStatus.PAID
    assert credit(app, client_id) == D("21.50")
    out = reverse(app, r.payment_id)
    assert out.credit_taken_back_from == (later,)
    # the 59.50 came back to credit, 81.00 was withdrawn, 0 is left to re-apply
    reopened = invoice(app, later)
    assert (reopened.status, reopened.balance.amount) == (InvoiceStatus.ISSUED, D("59.50"))
    assert credit(app, client_id) == D(0)
    assert check_ledger(app, client_id) == []


def test_issuing_spends_the_clients_credit_in_the_same_transaction(app, client_id) -> None:
    receive(app, client_id, "40.00")
    inv = issued(app, client_id, "100.00")
    got = invoice(app, inv)
    assert (got.status, got.amount_paid) == (InvoiceStatus.PARTIALLY_PAID, D("40.00"))
    with app.uow(read_only=True) as uow:
        [a] = uow.ledger.allocations(invoice_id=inv)
    assert (a.kind, a.amount) == ("credit", D("40.00"))
    assert credit(app, client_id) == D(0)
    assert check_ledger(app, client_id) == []


def test_credit_can_be_applied_by_hand_and_not_twice(app, client_id) -> None:
    inv = issued(app, client_id, "100.00")
    receive(app, client_id, "200.00", invoice_ids=(inv,))  # 81.00 credit
    other = make_client(app, make_entity(app), name="Elbe Shipping GmbH")
    second = issued(app, client_id, "100.00")  # 81 applied at issue
    assert invoice(app, second).amount_paid == D("81.00")
    with pytest.raises(Conflict) as none_left:
        apply_credit(client_id, second, uow=app.uow(), clock=app.clock, actor="t")
    assert none_left.value.field == "client_id"
    with pytest.raises(InvalidValue) as wrong:
        apply_credit(other, second, uow=app.uow(), clock=app.clock, actor="t")
    assert wrong.value.field == "invoice_id"
    receive(app, client_id, "10.00", invoice_ids=(inv,))  # inv is paid: all credit
    assert apply_credit(client_id, second, uow=app.uow(), clock=app.clock, actor="t") == D("10")
    assert invoice(app, second).amount_paid == D("91.00")
    assert check_ledger(app, client_id) == []


def test_a_refund_pays_back_credit_and_is_limited_to_it(app, client_id) -> None:
    r = receive(app, client_id, "100.00")
    with pytest.raises(InvalidValue) as err:
        refund(app, client_id, "100.01")
    assert err.value.field == "amount"
    out = refund(app, client_id, "60.00", payment_id=r.payment_id, idempotency_key="rf-1")
    again = refund(app, client_id, "60.00", payment_id=r.payment_id, idempotency_key="rf-1")
    assert again.duplicate and again.refund_id == out.refund_id
    assert (out.credit_left, credit(app, client_id)) == (D("40.00"), D("40.00"))
    with app.uow(read_only=True) as uow:
        audits = uow.audit.recent(subject_type="client", subject_id=str(client_id))
    [audit] = [a for a in audits if a["action"] == "client.refunded"]
    assert audit["detail"]["amount"] == "60.00" and audit["detail"]["credit_left"] == "40.00"
    # reversing the payment now withdraws only the 40.00 it still has as credit
    assert reverse(app, r.payment_id).credit_withdrawn == D("40.00")
    assert credit(app, client_id) == D(0)
    assert check_ledger(app, client_id) == []


def test_a_reversed_payment_whose_credit_was_refunded_reports_what_is_unrecovered(
    app, client_id
) -> None:
    r = receive(app, client_id, "30.00")
    refund(app, client_id, "30.00")  # not naming the payment
    out = reverse(app, r.payment_id)
    assert (out.credit_withdrawn, out.unrecovered) == (D(0), D("30.00"))
    assert credit(app, client_id) == D(0)  # never below zero
    with app.uow(read_only=True) as uow:
        [audit] = uow.audit.recent(subject_type="payment", subject_id=str(r.payment_id))[:1]
    assert audit["action"] == "payment.reversed" and audit["detail"]["unrecovered"] == "30.00"
    assert check_ledger(app, client_id) == []
