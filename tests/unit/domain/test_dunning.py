"""The dunning calculator: every step of the default ladder on its day, every stop
condition, and the country rules (fee gap, caps, statutory sums, the moving deadline)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from autoinvoice.domain.dunning import (
    DunningState,
    FeeKind,
    LateFee,
    ReminderPolicy,
    ReminderStep,
    SentReminder,
    Tone,
    evaluate,
    interest,
    rules_for,
    rules_from_dict,
)
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.money import Money

DUE = date(2026, 3, 16)
LADDER = ReminderPolicy.default()


def state(**kw: object) -> DunningState:
    base: dict[str, object] = dict(status="sent", due_date=DUE, balance=Money.of("1000", "EUR"))
    return DunningState(**{**base, **kw})  # type: ignore[arg-type]


def sent(*steps: int, pay_by: date | None = None) -> tuple[SentReminder, ...]:
    return tuple(SentReminder(s, DUE, pay_by) for s in steps)


@pytest.mark.parametrize(
    ("step", "offset", "tone"),
    [(0, -3, "friendly"), (1, 0, "due"), (2, 7, "firm"), (3, 14, "urgent"), (4, 30, "final")],
)
def test_each_step_is_due_on_its_day_and_not_the_day_before(step, offset, tone) -> None:
    day = DUE + timedelta(days=offset)
    history = sent(*range(step))
    before = evaluate(state(history=history), LADDER, rules_for("DE"), day - timedelta(days=1))
    assert before.step is None and before.reason == f"next step {step} on {day.isoformat()}"
    now = evaluate(state(history=history), LADDER, rules_for("DE"), day)
    assert (now.step, now.tone) == (step, Tone(tone))


def test_a_step_sent_is_never_due_again() -> None:
    decision = evaluate(state(history=sent(0, 1, 2)), LADDER, rules_for("DE"), DUE + timedelta(7))
    assert decision.step is None and decision.reason == "next step 3 on 2026-03-30"


def test_after_the_last_step_nothing_is_due() -> None:
    decision = evaluate(state(history=sent(*range(5))), LADDER, rules_for("DE"), date(2027, 1, 1))
    assert decision == evaluate(state(history=sent(4)), LADDER, rules_for("DE"), date(2027, 1, 1))
    assert decision.step is None and decision.reason == "every step was sent"


def test_missed_steps_are_passed_over_for_the_latest_one_due() -> None:
    # the scheduler was down for three weeks: no "due in 3 days" after the due date
    decision = evaluate(state(), LADDER, rules_for("DE"), DUE + timedelta(days=20))
    assert decision.step == 3 and decision.tone is Tone.URGENT


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"status": "paid"}, "paid"),
        ({"balance": Money.of("0", "EUR")}, "paid"),
        ({"status": "void"}, "void"),
        ({"status": "draft"}, "not open (draft)"),
        ({"disputed": True}, "disputed"),
        ({"paused": True}, "paused"),
        ({"due_date": None}, "no due date"),
    ],
)
def test_reminders_stop(kw, reason) -> None:
    decision = evaluate(state(**kw), LADDER, rules_for("DE"), DUE + timedelta(days=8))
    assert decision.step is None and decision.reason == reason


def test_a_partly_paid_invoice_is_still_reminded() -> None:
    decision = evaluate(
        state(status="partially_paid", balance=Money.of("10", "EUR")),
        LADDER,
        rules_for("DE"),
        DUE + timedelta(days=7),
    )
    assert decision.step == 2


def test_a_disabled_policy_sends_nothing() -> None:
    off = ReminderPolicy(LADDER.steps, enabled=False)
    assert evaluate(state(), off, rules_for("DE"), DUE).reason == "reminders are off"


# -- fees and country rules -------------------------------------------------------------------
def with_fee(fee: LateFee, offset: int = 7) -> ReminderPolicy:
    return ReminderPolicy(
        (ReminderStep(offset, Tone.FIRM, fee), ReminderStep(200, Tone.FINAL, fee))
    )


STATUTORY = LateFee(FeeKind.STATUTORY)


def test_germany_charges_the_40_euro_flat_sum_once_and_only_to_businesses() -> None:
    first = evaluate(state(), with_fee(STATUTORY), rules_for("DE"), DUE + timedelta(days=7))
    assert first.fee == Money.of("40.00", "EUR") and first.fee_kind is FeeKind.STATUTORY
    again = evaluate(
        state(history=(SentReminder(0, DUE, None, first.fee, FeeKind.STATUTORY),)),
        with_fee(STATUTORY),
        rules_for("DE"),
        DUE + timedelta(days=200),
    )
    assert again.step == 1 and again.fee is None and "owed once" in again.fee_note
    consumer = evaluate(
        state(is_business=False), with_fee(STATUTORY), rules_for("DE"), DUE + timedelta(7)
    )
    assert consumer.step == 0 and consumer.fee is None and "businesses only" in consumer.fee_note


@pytest.mark.parametrize(("balance", "fee"), [("999.99", "40"), ("1000", "70"), ("10000", "100")])
def test_britain_scales_the_fixed_sum_with_the_debt(balance, fee) -> None:
    decision = evaluate(
        state(balance=Money.of(balance, "GBP")),
        with_fee(STATUTORY),
        rules_for("GB"),
        DUE + timedelta(days=7),
    )
    assert decision.fee == Money.of(fee, "GBP")


def test_norway_waits_14_days_before_a_fee_and_caps_it() -> None:
    policy = with_fee(LateFee(FeeKind.FIXED, amount=Decimal("150")), offset=7)
    nok = Money.of("5000", "NOK")
    early = evaluate(state(balance=nok), policy, rules_for("NO"), DUE + timedelta(days=7))
    assert early.step == 0 and early.fee is None and "14 days" in early.fee_note
    later = replace_offset(policy, 14)
    on_time = evaluate(state(balance=nok), later, rules_for("NO"), DUE + timedelta(days=14))
    assert on_time.fee == Money.of("70.00", "NOK") and "capped" in on_time.fee_note


def replace_offset(policy: ReminderPolicy, offset: int) -> ReminderPolicy:
    first, *rest = policy.steps
    return ReminderPolicy((ReminderStep(offset, first.tone, first.fee), *rest))


def test_norway_charges_at_most_two_reminder_fees() -> None:
    nok = Money.of("5000", "NOK")
    fee = Money.of("70", "NOK")
    history = tuple(SentReminder(i, DUE, None, fee, FeeKind.STATUTORY) for i in range(2))
    policy = ReminderPolicy(
        tuple(ReminderStep(o, Tone.FIRM, STATUTORY) for o in (14, 30, 60))
    )  # fmt: skip
    decision = evaluate(
        state(balance=nok, history=history), policy, rules_for("NO"), DUE + timedelta(90)
    )
    assert decision.step == 2 and decision.fee is None and "at most 2" in decision.fee_note


def test_norway_moves_the_deadline_with_each_reminder() -> None:
    nok = Money.of("5000", "NOK")
    day = DUE + timedelta(days=7)
    first = evaluate(state(balance=nok), LADDER, rules_for("NO"), day)
    assert first.step == 2 and first.pay_by == day + timedelta(days=14)
    # the +14 step would fall on the 14th day, but the reminder gave the client until then
    history = (SentReminder(2, day, first.pay_by),)
    assert first.pay_by is not None
    held = evaluate(state(balance=nok, history=history), LADDER, rules_for("NO"), first.pay_by)
    assert held.step is None
    assert held.reason == f"next step 3 on {(first.pay_by + timedelta(days=1)).isoformat()}"
    nxt = first.pay_by + timedelta(days=1)
    assert evaluate(state(balance=nok, history=history), LADDER, rules_for("NO"), nxt).step == 3


def test_a_reminder_before_the_due_date_sets_no_deadline_and_no_fee() -> None:
    policy = ReminderPolicy((ReminderStep(-3, Tone.FRIENDLY, LateFee(FeeKind.FIXED, Decimal(5))),))
    decision = evaluate(state(), policy, rules_for("NO"), DUE - timedelta(days=3))
    assert decision.step == 0 and decision.pay_by is None and decision.fee is None


def test_a_percentage_fee_is_of_the_open_balance_rounded_half_up() -> None:
    policy = with_fee(LateFee(FeeKind.PERCENT, rate=Decimal("1.5")))
    balance = Money.of("333.33", "USD")
    decision = evaluate(state(balance=balance), policy, rules_for("US"), DUE + timedelta(7))
    assert decision.fee == Money.of("5.00", "USD")  # 4.99995 → 5.00


def test_interest_is_charged_for_the_days_late_less_what_was_charged_before() -> None:
    policy = with_fee(LateFee(FeeKind.INTEREST, rate=Decimal("10")), offset=73)
    first = evaluate(state(), policy, rules_for("DE"), DUE + timedelta(days=73))
    assert first.fee == Money.of("20.00", "EUR")  # 1000 × 10 % × 73/365
    history = (SentReminder(0, DUE, None, first.fee, FeeKind.INTEREST),)
    second = evaluate(state(history=history), policy, rules_for("DE"), DUE + timedelta(days=219))
    assert second.step == 1 and second.fee == Money.of("40.00", "EUR")  # 60.00 − 20.00


def test_indian_msme_interest_compounds_monthly() -> None:
    simple = interest(Money.of("100000", "INR"), Decimal("18"), DUE, DUE + timedelta(days=360))
    compound = interest(
        Money.of("100000", "INR"), Decimal("18"), DUE, DUE + timedelta(days=360), True
    )
    assert compound == Money.of("19561.82", "INR")  # 100000 × (1.015¹² − 1)
    assert compound > simple
    assert rules_for("IN").compound_monthly


# -- configuration ----------------------------------------------------------------------------
def test_a_policy_round_trips_through_its_dict() -> None:
    policy = ReminderPolicy(
        (ReminderStep(0, Tone.DUE), ReminderStep(14, Tone.FINAL, LateFee(FeeKind.STATUTORY)))
    )
    assert ReminderPolicy.from_dict(policy.as_dict()) == policy


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"steps": [{"offset_days": "7"}]}, "steps[0].offset_days"),
        ({"steps": [{"offset_days": 7}, {"offset_days": 7}]}, "steps.offset_days"),
        ({"steps": [{"offset_days": 7, "tone": "rude"}]}, "steps[0].tone"),
        ({"steps": [{"offset_days": 7, "fee": {"kind": "fixed"}}]}, "steps[0].fee.amount"),
        ({"steps": [{"offset_days": 7, "fee": {"kind": "x"}}]}, "steps[0].fee.kind"),
        ({"steps": [{"offset_days": 7, "fee": {"kind": "fixed", "amount": 1.5}}]},
         "steps[0].fee.amount"),
        ({"steps": "soon"}, "steps"),
    ],
)  # fmt: skip
def test_a_bad_policy_is_refused_naming_the_field(data, field) -> None:
    with pytest.raises(InvalidValue) as caught:
        ReminderPolicy.from_dict(data)
    assert caught.value.field == field


def test_country_rules_can_be_overridden() -> None:
    rules = rules_from_dict("NO", {"fee_cap": "75.00", "min_days_before_fee": 21})
    assert rules.fee_cap == Money.of("75.00", "NOK") and rules.min_days_before_fee == 21
    assert rules.max_fees == 2  # the rest stays the law's default
    with pytest.raises(InvalidValue) as caught:
        rules_from_dict("NO", {"fees": 3})
    assert caught.value.field == "rules.NO.fees"
