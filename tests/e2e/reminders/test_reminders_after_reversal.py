"""Reminders for an invoice a reversed payment reopens (a bank return, a chargeback): once
it is open again it is followed again, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from autoinvoice.services import reminders as rem
from autoinvoice.services.payments import RecordPayment, record_payment
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


@pytest.mark.xfail(
    strict=True,
    reason="a step skipped as 'paid' stays stored as taken (uq (invoice, step), history "
    "counts it), so after a reversal the invoice is never reminded of that step again — "
    "and when it was the last step, never reminded at all",
)
def test_a_step_skipped_because_paid_is_sent_after_the_payment_is_reversed(
    world: World,
) -> None:
    inv_id = issue(world)
    on(world, DUE + timedelta(days=30))
    assert scan(world).queued == 1  # the final notice is queued …
    pid = pay(world, inv_id)  # … the client pays before the worker sends it
    world.work()  # recorded as skipped: paid
    on(world, DUE + timedelta(days=35))
    reverse_payment(pid, "chargeback", uow=world.app.uow(), clock=world.app.clock, actor="t")
    # the invoice is open and 35 days late, and the client never had the final notice
    assert scan(world).queued == 1


@pytest.mark.xfail(
    strict=True,
    reason="the late fee lives only on the reminder row and email, never in the ledger: the "
    "'Total due' the reminder asks for is booked as an overpayment, kept as client credit "
    "and spent on the client's next invoice — the fee is handed back",
)
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
    world.work()  # "Late fee: €40.00 … Total due: €1,230.00"
    on(world, DUE + timedelta(days=9))
    record_payment(  # the client pays what the reminder asked for
        RecordPayment(inv_id, "1230.00"), uow=world.app.uow(), clock=world.app.clock, actor="t"
    )
    with world.app.uow(read_only=True) as uow:
        assert uow.ledger.credit_balance(world.client_id, "EUR") == 0
