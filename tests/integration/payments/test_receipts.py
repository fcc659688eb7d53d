"""Receiving payments across invoices, on real storage (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from autoinvoice.domain.errors import InvalidTransition, InvalidValue
from autoinvoice.domain.invoice import InvoiceStatus
from autoinvoice.services.errors import Conflict, NotFound
from autoinvoice.services.invoicing import void_invoice
from autoinvoice.services.payments import (
    Allocation,
    ReceivePayment,
    RecordPayment,
    apply_receipt,
    receive_payment,
    record_payment,
)
from builders import make_client, make_entity
from ledger_world import check_ledger, credit, invoice, issued, receive

pytest_plugins = ["ledger_fixtures"]  # the app and client_id fixtures
D = Decimal


def test_one_payment_settles_the_oldest_due_invoices_first(app, client_id) -> None:
    newer = issued(app, client_id, "100.00", days_later=5)
    older = issued(app, client_id, "200.00")
    r = receive(app, client_id, "300.00")
    # 238.00 to the one due first, the rest (62.00) to the next
    assert r.allocations == (Allocation(older, D("238.00")), Allocation(newer, D("62.00")))
    assert r.credited == D(0) and not r.duplicate
    assert invoice(app, older).status is InvoiceStatus.PAID
    later = invoice(app, newer)
    assert (later.status, later.balance.amount) == (InvoiceStatus.PARTIALLY_PAID, D("57.00"))
    assert check_ledger(app, client_id) == []


def test_named_invoices_are_settled_in_the_order_given(app, client_id) -> None:
    first = issued(app, client_id, "100.00")
    second = issued(app, client_id, "100.00", days_later=3)
    r = receive(app, client_id, "150.00", invoice_ids=(second, first))
    assert r.allocations == (Allocation(second, D("119.00")), Allocation(first, D("31.00")))
    assert check_ledger(app, client_id) == []


def test_money_above_every_open_balance_is_kept_as_client_credit(app, client_id) -> None:
    inv = issued(app, client_id, "100.00")
    r = receive(app, client_id, "150.00", payer="HANSEATIC LOGISTICS AG DE89370400440532013000")
    assert r.allocations == (Allocation(inv, D("119.00")),) and r.credited == D("31.00")
    assert credit(app, client_id) == D("31.00")
    with app.uow(read_only=True) as uow:
        [audit] = uow.audit.recent(subject_type="payment", subject_id=str(r.payment_id))
    assert audit["detail"]["payer"].startswith("HANSEATIC") and audit["detail"]["credited"] == (
        "31.00"
    )
    assert check_ledger(app, client_id) == []


def test_a_payment_with_no_open_invoice_is_all_credit(app, client_id) -> None:
    r = receive(app, client_id, "80.00")
    assert (r.allocations, r.credited) == ((), D("80.00"))
    assert credit(app, client_id) == D("80.00")


def test_the_same_payment_arriving_twice_is_recorded_once(app, client_id) -> None:
    inv = issued(app, client_id, "100.00")
    first = receive(app, client_id, "150.00", idempotency_key="bank:tx-1")
    again = receive(app, client_id, "150.00", idempotency_key="bank:tx-1")
    assert again.duplicate and again.payment_id == first.payment_id
    assert again.allocations == first.allocations and again.credited == first.credited
    assert invoice(app, inv).amount_paid == D("119.00")
    assert credit(app, client_id) == D("31.00")


def test_a_key_used_for_another_clients_payment_is_refused(app, client_id) -> None:
    other = make_client(app, make_entity(app), name="Elbe Shipping GmbH")
    receive(app, client_id, "10.00", idempotency_key="k-1")
    with pytest.raises(Conflict) as err:
        receive(app, other, "10.00", idempotency_key="k-1")
    assert err.value.field == "idempotency_key"


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        ("0", "EUR", "amount"),
        ("-1", "EUR", "amount"),
        ("1.001", "EUR", "amount"),
        ("x", "EUR", "amount"),
        ("10", "USD", "currency"),
    ],
)
def test_a_bad_receipt_is_refused_naming_the_field_and_stores_nothing(
    app, client_id, amount, currency, field
) -> None:
    inv = issued(app, client_id, "100.00")
    cmd = ReceivePayment(client_id, amount, currency, invoice_ids=(inv,))
    with pytest.raises(InvalidValue) as err:
        receive_payment(cmd, uow=app.uow(), clock=app.clock, actor="test")
    assert err.value.field == field
    with app.uow(read_only=True) as uow:
        assert uow.ledger.payments() == [] and uow.ledger.allocations() == []


def test_an_invoice_of_another_client_or_a_void_one_is_refused(app, client_id) -> None:
    entity = make_entity(app)
    theirs = issued(app, make_client(app, entity, name="Elbe Shipping GmbH"), "100.00")
    mine = issued(app, client_id, "100.00")
    with pytest.raises(InvalidValue) as err:
        receive(app, client_id, "10.00", invoice_ids=(mine, theirs))
    assert err.value.field == "invoice_ids[1]"
    with pytest.raises(NotFound) as missing:
        receive(app, client_id, "10.00", invoice_ids=(99999,))
    assert missing.value.field == "invoice_ids[0]"
    void_invoice(mine, "wrong client", uow=app.uow(), clock=app.clock, actor="test")
    with pytest.raises(InvalidTransition):
        receive(app, client_id, "10.00", invoice_ids=(mine,))
    assert invoice(app, mine).amount_paid == 0 and invoice(app, theirs).amount_paid == 0


def test_receipts_applied_in_an_open_unit_of_work_are_kept_only_when_it_commits(
    app, client_id
) -> None:
    inv = issued(app, client_id, "100.00")
    uow = app.uow()
    with uow:
        r = apply_receipt(
            uow, ReceivePayment(client_id, "50", "EUR"), now=app.clock.now(), actor="t"
        )
        apply_receipt(uow, ReceivePayment(client_id, "69", "EUR"), now=app.clock.now(), actor="t")
        assert r.allocations == (Allocation(inv, D("50.00")),)
        # leaving without commit rolls both back
    assert invoice(app, inv).amount_paid == 0
    with uow:
        apply_receipt(uow, ReceivePayment(client_id, "119", "EUR"), now=app.clock.now(), actor="t")
        uow.commit()
    assert invoice(app, inv).status is InvoiceStatus.PAID


def test_record_payment_is_a_receipt_for_one_invoice(app, client_id) -> None:
    inv = issued(app, client_id, "100.00")
    out = record_payment(RecordPayment(inv, "200.00"), uow=app.uow(), clock=app.clock, actor="t")
    assert (out.invoice_status, out.balance, out.credited) == ("paid", D("0.00"), D("81.00"))
    with app.uow(read_only=True) as uow:
        [a] = uow.ledger.allocations(invoice_id=inv)
        [p] = uow.payments.for_invoice(inv)
    assert (a.payment_id, a.amount, p["applied"]) == (out.payment_id, D("119.00"), D("119.00"))
    assert check_ledger(app, client_id) == []
