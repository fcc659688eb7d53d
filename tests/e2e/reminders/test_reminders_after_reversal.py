"""Reminders for an invoice a reversed payment reopens (a bank return, a chargeback): once
it is open again it is followed again, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from autoinvoice.domain.invoice import InvoiceStatus
from autoinvoice.domain.money import Money
from autoinvoice.domain.tax import TaxCategory
from autoinvoice.services import reminders as rem
from autoinvoice.services.payments import (
    ReceivePayment,
    RecordPayment,
    receive_payment,
    record_payment,
)
from autoinvoice.services.reversals import reverse_payment
from reminder_support import issue
from trigger_world import World

DUE = date(2026, 12, 20)  # issued 2026-11-20 (the world's clock), net 30


def on(world: World, day: date) -> None:
    world.clock.set(datetime(day.year, day.month, day.day, 9, tzinfo=UTC))


def scan(world: World) -> rem.ScanReport:
    return rem.run_reminders(uow=world.app.uow(), clock=world.app.clock)


def pay(world: World, inv_id: int) -> int:
    out = record_payment(
        RecordPayment(inv_id, "1190.00"), uow=world.app.uow(), clock=world.app.clock, actor="t"
    )
    return out.payment_id


def test_a_reopened_invoice_gets_the_reminders_that_are_due_again(world: World) -> None:
    inv_id = issue(world)
    on(world, DUE + timedelta(days=8))
    pid = pay(world, inv_id)  # paid a week late: nothing was queued
    on(world, DUE + timedelta(days=9))
    reverse_payment(pid, "bank return AC04", uow=world.app.uow(), clock=world.app.clock, actor="t")
    assert scan(world).queued == 1  # open again, a week late: the +7 step


def test_a_step_skipped_because_paid_is_sent_after_the_payment_is_reversed(
    world: World,
) -> None:
    inv_id = issue(world)
    on(world, DUE + timedelta(days=30))
    assert scan(world).queued == 1  # the final notice is queued …
    pid = pay(world, inv_id)  # … the client pays before the worker sends it
    world.work()  # skipped: paid, and the step freed
    on(world, DUE + timedelta(days=35))
    reverse_payment(pid, "chargeback", uow=world.app.uow(), clock=world.app.clock, actor="t")
    # the invoice is open and 35 days late, and the client never had the final notice
    assert scan(world).queued == 1


def fee_invoice(world: World, inv_id: int) -> Any:
    """The late fee the reminder of ``inv_id`` raised, as an invoice of its own."""
    with world.app.uow(read_only=True) as uow:
        [row] = uow.reminders.list(inv_id)
        fee_id = uow.reminders.fee_invoice_of(row.id)
        assert fee_id is not None
        return uow.invoices.get(fee_id)


def test_a_late_fee_the_client_pays_is_not_turned_into_client_credit(world: World) -> None:
    rem.set_policy(
        {"steps": [{"offset_days": 7, "tone": "firm", "fee": {"kind": "statutory"}}]},
        client_id=None,
        uow=world.app.uow(),
        clock=world.app.clock,
        actor="test",
    )
    inv_id = issue(world)  # 1190.00
    on(world, DUE + timedelta(days=7))
    assert scan(world).queued == 1
    world.work()  # "Late fee: €40.00 … Total due: €1,230.00", the fee invoiced on its own
    fee = fee_invoice(world, inv_id)
    assert fee.number and fee.gross == Money.of("40.00", "EUR")
    assert [ln.tax.category for ln in fee.lines] == [TaxCategory.OUTSIDE_SCOPE]  # not VAT
    on(world, DUE + timedelta(days=9))
    receive_payment(  # the client transfers what the reminder asked for
        ReceivePayment(world.client_id, "1230.00", "EUR"),
        uow=world.app.uow(),
        clock=world.app.clock,
        actor="t",
    )
    with world.app.uow(read_only=True) as uow:
        assert uow.ledger.credit_balance(world.client_id, "EUR") == 0  # the fee is not credit
        assert uow.invoices.get(inv_id).status is InvoiceStatus.PAID
        assert uow.invoices.get(fee.id).status is InvoiceStatus.PAID  # the fee is collected


def test_a_late_fee_invoice_is_reminded_but_never_charged_a_fee_of_its_own(
    world: World,
) -> None:
    rem.set_policy(
        {"steps": [{"offset_days": 7, "tone": "firm", "fee": {"kind": "fixed", "amount": "15"}}]},
        client_id=None,
        uow=world.app.uow(),
        clock=world.app.clock,
        actor="test",
    )
    inv_id = issue(world)
    on(world, DUE + timedelta(days=7))
    assert scan(world).queued == 1
    world.work()
    world.work()  # the reminder, then the fee invoice's own email
    fee = fee_invoice(world, inv_id)
    assert any(fee.number in m.message["Subject"] for m in world.smtp.messages)  # delivered
    body = next(
        m.message.get_body(("plain",)).get_content()
        for m in world.smtp.messages
        if m.message["Message-ID"].startswith("<reminder-")
    )
    assert f"A late fee of €15.00 has been invoiced as {fee.number}." in body
    assert fee.due_date is not None
    on(world, fee.due_date + timedelta(days=7))
    assert scan(world).queued == 1  # the fee invoice is reminded like any invoice …
    world.work()
    with world.app.uow(read_only=True) as uow:
        [row] = uow.reminders.list(fee.id)
        assert row.fee is None  # … but no fee is charged on a fee
        assert uow.reminders.fee_invoice_of(row.id) is None
