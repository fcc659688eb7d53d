"""Dunning: the reminder ladder (config), the rules the law sets per country, and a pure
calculator that says which reminder is due now — shaped like Kill Bill's ``overdue/``
module (config, a calculator ``evaluate(state, today)``, and an applicator, which is
``services/reminders.py``).

* A :class:`ReminderPolicy` is a ladder of :class:`ReminderStep` s, each ``offset_days``
  from the due date (negative: before it), with a ``tone`` (the wording escalates:
  friendly → due → firm → urgent → final) and optionally a :class:`LateFee`. One policy per
  organisation, overridable per client.
* Steps are keyed by their position in the ladder: a step is sent at most once per invoice
  (the applicator stores ``(invoice, step)`` under a unique key). When several steps are due
  at once (the scheduler was down, the client's pause ended) only the latest is sent and the
  earlier ones are passed over — a client never gets "due in 3 days" after the due date.
* :class:`CountryRules` hold what the law of the client's country sets (the debtor's country:
  collection law such as the Norwegian inkassoloven protects debtors where they are):
  a minimum number of days after the due date before a fee, how many fees and how much,
  whether each reminder sets a new payment deadline, and the statutory flat compensation.
  Each default names its source; all of them can be replaced by configuration.
* The fee is not added to the reminded invoice (it is immutable): when the reminder is
  sent, the applicator raises it as an invoice of its own (``services/reminder_fees.py``),
  so it is a receivable in the ledger, and the reminder asks for the open balance plus the
  fee. These sums are compensation, outside the scope of VAT (DE: damages under § 288 BGB;
  FR: the indemnité is not subject to TVA): the fee invoice's line is category "O", and
  such an EN 16931 invoice carries no VAT identifiers (BR-O-02). A fee invoice is never
  charged a fee of its own.

>>> policy = ReminderPolicy.default()
>>> state = DunningState(status="sent", due_date=date(2026, 3, 1),
...                      balance=Money.of("100", "EUR"))
>>> evaluate(state, policy, rules_for("DE"), date(2026, 3, 8)).step
2
>>> evaluate(state, policy, rules_for("DE"), date(2026, 2, 20)).reason
'next step 0 on 2026-02-26'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from .errors import InvalidValue
from .money import HALF_UP, Money, check_currency, quantize, to_decimal

OPEN = frozenset({"issued", "sent", "viewed", "partially_paid"})


class Tone(StrEnum):
    FRIENDLY = "friendly"  # before the due date: a heads-up
    DUE = "due"  # on the due date
    FIRM = "firm"  # first reminder after it
    URGENT = "urgent"  # second reminder
    FINAL = "final"  # last notice before collection (NO: the inkassovarsel)


class FeeKind(StrEnum):
    FIXED = "fixed"  # ``amount`` in the invoice's currency
    PERCENT = "percent"  # ``rate`` % of the open balance, once
    STATUTORY = "statutory"  # the country's flat compensation (DE/FR €40, GB £40/70/100, NO)
    INTEREST = "interest"  # ``rate`` % a year on the open balance since the due date


@dataclass(frozen=True, slots=True)
class LateFee:
    kind: FeeKind
    amount: Decimal = Decimal(0)
    rate: Decimal = Decimal(0)  # percent (PERCENT: of the balance; INTEREST: per year)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _enum(FeeKind, self.kind, "fee.kind"))
        object.__setattr__(self, "amount", to_decimal(self.amount, field="fee.amount"))
        object.__setattr__(self, "rate", to_decimal(self.rate, field="fee.rate"))
        if self.amount < 0 or self.rate < 0:
            raise InvalidValue("a fee cannot be negative", field="fee")
        if self.kind is FeeKind.FIXED and not self.amount:
            raise InvalidValue("a fixed fee needs an amount", field="fee.amount")
        if self.kind in (FeeKind.PERCENT, FeeKind.INTEREST) and not self.rate:
            raise InvalidValue(f"a {self.kind} fee needs a rate", field="fee.rate")

    def as_dict(self) -> dict[str, str]:
        out = {"kind": self.kind.value}
        if self.amount:
            out["amount"] = str(self.amount)
        if self.rate:
            out["rate"] = str(self.rate)
        return out


@dataclass(frozen=True, slots=True)
class ReminderStep:
    offset_days: int  # from the due date; negative = before it
    tone: Tone
    fee: LateFee | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"offset_days": self.offset_days, "tone": self.tone.value}
        if self.fee is not None:
            out["fee"] = self.fee.as_dict()
        return out


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    steps: tuple[ReminderStep, ...]
    enabled: bool = True

    def __post_init__(self) -> None:
        if len(self.steps) > 20:
            raise InvalidValue("at most 20 reminder steps", field="steps")
        offsets = [s.offset_days for s in self.steps]
        if offsets != sorted(set(offsets)):
            raise InvalidValue(
                f"step offsets must rise strictly, got {offsets}", field="steps.offset_days"
            )

    @classmethod
    def default(cls) -> ReminderPolicy:
        """3 days before due, on the due date, +7, +14, +30 — no fees until configured."""
        return cls(
            (
                ReminderStep(-3, Tone.FRIENDLY),
                ReminderStep(0, Tone.DUE),
                ReminderStep(7, Tone.FIRM),
                ReminderStep(14, Tone.URGENT),
                ReminderStep(30, Tone.FINAL),
            )
        )

    def as_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "steps": [s.as_dict() for s in self.steps]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReminderPolicy:
        """Parse a stored or user-given policy; errors name the step at fault
        (``steps[2].offset_days``)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("steps"), list):
            raise InvalidValue("a policy is {'steps': [...]}", field="steps")
        steps = tuple(_step(raw, f"steps[{i}]") for i, raw in enumerate(data["steps"]))
        return cls(steps, bool(data.get("enabled", True)))


def _step(raw: object, where: str) -> ReminderStep:
    if not isinstance(raw, Mapping):
        raise InvalidValue("a step is an object", field=where)
    offset = raw.get("offset_days")
    if isinstance(offset, bool) or not isinstance(offset, int) or not -60 <= offset <= 365:
        raise InvalidValue(
            f"offset_days must be a whole number within -60…365, got {offset!r}",
            field=f"{where}.offset_days",
        )
    tone = _enum(Tone, raw.get("tone", Tone.FIRM), f"{where}.tone")
    fee = raw.get("fee")
    try:
        parsed = LateFee(**fee) if isinstance(fee, Mapping) else None
    except InvalidValue as exc:
        raise InvalidValue(exc.message, field=f"{where}.{exc.field}") from None
    except TypeError:
        raise InvalidValue("a fee has kind, amount and rate", field=f"{where}.fee") from None
    return ReminderStep(offset, tone, parsed)


E = TypeVar("E", bound=StrEnum)


def _enum(cls: type[E], value: object, where: str) -> E:
    try:
        return cls(str(value))
    except ValueError:
        raise InvalidValue(
            f"{value!r} is not one of {', '.join(m.value for m in cls)}", field=where
        ) from None


# -- the law, per country ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CountryRules:
    country: str
    min_days_before_fee: int = 0  # days after the due date before any fee may be charged
    max_fees: int | None = None  # fees per invoice, at most
    fee_cap: Money | None = None  # per fee, at most (applies when the currencies match)
    new_deadline_days: int | None = None  # each reminder sets pay-by = sent + this many days
    statutory: tuple[tuple[Decimal, Decimal], ...] = ()  # (balance from, flat sum) tiers
    statutory_currency: str | None = None
    statutory_once: bool = True  # the flat compensation is owed once per invoice
    b2b_only: bool = False  # fees only against businesses, never consumers
    compound_monthly: bool = False  # interest fees compound with monthly rests
    source: str = ""

    def statutory_fee(self, balance: Money) -> Money | None:
        """The flat compensation for ``balance`` (None when the law sets none, or it is in
        another currency than the invoice)."""
        if not self.statutory or balance.currency != self.statutory_currency:
            return None
        amount = None
        for threshold, flat in self.statutory:
            if balance.amount >= threshold:
                amount = flat
        return Money(amount, balance.currency) if amount is not None else None


NO_PURREGEBYR = Decimal("70.00")
"""1/10 of the inkassosats (inkassoforskriften § 1-2; inkassosats NOK 700 per Sticos'
published rates, unchanged 1.1.2023 per Kred). Justis- og beredskapsdepartementet sets the
inkassosats yearly: configure the current figure (``rules.NO.fee_cap``)."""

DEFAULT_RULES: dict[str, CountryRules] = {
    # § 288 Abs. 5 BGB: €40 flat compensation when a business debtor is late, once per
    # claim; § 288 Abs. 2 BGB: interest 9 percentage points over the base rate (§ 247 BGB,
    # set by the Bundesbank each 1 Jan / 1 Jul) — configure it as an interest fee's rate.
    "DE": CountryRules(
        "DE",
        statutory=((Decimal(0), Decimal(40)),),
        statutory_currency="EUR",
        b2b_only=True,
        source="§ 288 BGB (Abs. 2 interest 9 pp over base rate; Abs. 5 €40 flat sum, B2B)",
    ),
    # Code de commerce L441-10 II and D441-5: €40 indemnité forfaitaire pour frais de
    # recouvrement, owed by a professional debtor from the first day late, once per invoice;
    # pénalités de retard at the rate the invoice states (at least 3 × the legal rate).
    "FR": CountryRules(
        "FR",
        statutory=((Decimal(0), Decimal(40)),),
        statutory_currency="EUR",
        b2b_only=True,
        source="Code de commerce L441-10 II, D441-5 (€40 indemnité forfaitaire, B2B)",
    ),
    # Late Payment of Commercial Debts (Interest) Act 1998 s 5A: £40 below £1,000, £70
    # below £10,000, £100 from £10,000; interest 8 % over the Bank of England base rate.
    "GB": CountryRules(
        "GB",
        statutory=(
            (Decimal(0), Decimal(40)),
            (Decimal(1000), Decimal(70)),
            (Decimal(10000), Decimal(100)),
        ),
        statutory_currency="GBP",
        b2b_only=True,
        source="Late Payment of Commercial Debts (Interest) Act 1998 s 5A (£40/£70/£100)",
    ),
    # MSMED Act 2006 ss 15-16: a buyer who pays a micro or small supplier later than agreed
    # (at most 45 days after acceptance) owes compound interest with monthly rests at three
    # times the RBI bank rate — configure it as an interest fee (rate = 3 × bank rate).
    "IN": CountryRules(
        "IN",
        compound_monthly=True,
        source="MSMED Act 2006 ss 15-16 (compound interest, monthly rests, 3 × RBI bank rate)",
    ),
    # Inkassoloven § 9 and inkassoforskriften § 1-2: a reminder fee (purregebyr) of at most
    # 1/10 of the inkassosats, for at most two reminders (a reminder and the inkassovarsel),
    # and only once 14 days have passed since the due date; the inkassovarsel gives the
    # debtor at least 14 days to pay, so each reminder sets a new deadline.
    "NO": CountryRules(
        "NO",
        min_days_before_fee=14,
        max_fees=2,
        fee_cap=Money(NO_PURREGEBYR, "NOK"),
        new_deadline_days=14,
        statutory=((Decimal(0), NO_PURREGEBYR),),
        statutory_currency="NOK",
        statutory_once=False,
        source="inkassoloven § 9, inkassoforskriften § 1-2 (purregebyr ≤ 1/10 inkassosats, "
        "≤ 2, ≥ 14 days after due; 14-day deadline)",
    ),
    # No federal late-fee statute; state usury law caps contractual fees. Nothing by default.
    "US": CountryRules("US", source="no federal rule; state law and the contract decide"),
}


def rules_for(country: str, overrides: Mapping[str, CountryRules] | None = None) -> CountryRules:
    """The rules for ``country`` (configured overrides first, then the defaults above)."""
    code = country.upper()
    if overrides and code in overrides:
        return overrides[code]
    return DEFAULT_RULES.get(code) or CountryRules(code)


def rules_from_dict(country: str, data: Mapping[str, Any]) -> CountryRules:
    """Override some fields of a country's default rules (``{"fee_cap": "75.00", …}``)."""
    base = rules_for(country)
    values: dict[str, Any] = {}
    for key, raw in data.items():
        where = f"rules.{country}.{key}"
        if key in ("min_days_before_fee", "max_fees", "new_deadline_days"):
            if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int) or raw < 0):
                raise InvalidValue("a whole number of 0 or more, or null", field=where)
            values[key] = raw
        elif key == "fee_cap":
            cur = check_currency(str(data.get("fee_cap_currency", base.statutory_currency or "")),
                                 field=f"rules.{country}.fee_cap_currency")  # fmt: skip
            values[key] = None if raw is None else Money(to_decimal(raw, field=where), cur)
        elif key in ("b2b_only", "compound_monthly", "statutory_once"):
            values[key] = bool(raw)
        elif key != "fee_cap_currency":
            raise InvalidValue(f"unknown rule {key!r}", field=where)
    return replace(base, **values)


# -- the calculator ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SentReminder:
    step: int
    sent_on: date
    pay_by: date | None = None
    fee: Money | None = None
    fee_kind: FeeKind | None = None


@dataclass(frozen=True, slots=True)
class DunningState:
    status: str
    due_date: date | None
    balance: Money
    is_business: bool = True
    disputed: bool = False
    paused: bool = False
    history: tuple[SentReminder, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Decision:
    step: int | None  # the ladder position to send now; None: nothing now
    reason: str  # why (or why not): "paid", "disputed", "next step 2 on 2026-03-08" …
    tone: Tone | None = None
    fee: Money | None = None
    fee_kind: FeeKind | None = None
    pay_by: date | None = None  # the new payment deadline this reminder sets
    fee_note: str = ""  # why a configured fee was not charged


def evaluate(
    state: DunningState, policy: ReminderPolicy, rules: CountryRules, today: date
) -> Decision:
    """Which reminder to send ``today`` (the client's business date), or why none."""
    stop = _stopped(state, policy)
    if stop:
        return Decision(None, stop)
    assert state.due_date is not None
    done = max((h.step for h in state.history), default=-1)
    # with a moving deadline (NO) no reminder goes out before the last one's deadline passed
    deadline = max((h.pay_by for h in state.history if h.pay_by), default=None)
    due: int | None = None
    upcoming: tuple[int, date] | None = None
    for i, step in enumerate(policy.steps):
        if i <= done:
            continue
        on = state.due_date + timedelta(days=step.offset_days)
        if deadline is not None and on <= deadline:
            on = deadline + timedelta(days=1)
        if on <= today:
            due = i
        elif upcoming is None:
            upcoming = (i, on)
    if due is None:
        if upcoming is None:
            return Decision(None, "every step was sent")
        return Decision(None, f"next step {upcoming[0]} on {upcoming[1].isoformat()}")
    step = policy.steps[due]
    fee, note = _fee(step.fee, state, rules, today)
    pay_by = (
        today + timedelta(days=rules.new_deadline_days)
        if rules.new_deadline_days and today >= state.due_date
        else None
    )
    return Decision(
        due,
        f"step {due} ({step.tone}) due",
        step.tone,
        fee,
        step.fee.kind if fee is not None and step.fee else None,
        pay_by,
        note,
    )


def _stopped(state: DunningState, policy: ReminderPolicy) -> str:
    if not policy.enabled or not policy.steps:
        return "reminders are off"
    if state.status == "paid" or (state.status in OPEN and not state.balance.is_positive()):
        return "paid"
    if state.status == "void":
        return "void"
    if state.status not in OPEN:
        return f"not open ({state.status})"
    if state.disputed:
        return "disputed"
    if state.paused:
        return "paused"
    if state.due_date is None:
        return "no due date"
    return ""


def _fee(
    fee: LateFee | None, state: DunningState, rules: CountryRules, today: date
) -> tuple[Money | None, str]:
    """The fee for this reminder after the country's limits, and why it is lower or none."""
    if fee is None:
        return None, ""
    assert state.due_date is not None
    late = (today - state.due_date).days
    charged = [h for h in state.history if h.fee is not None and h.fee.is_positive()]
    if late <= 0:
        return None, "no fee before the due date has passed"
    if rules.b2b_only and not state.is_business:
        return None, f"{rules.country}: the statutory fee applies to businesses only"
    if late < rules.min_days_before_fee:
        return None, f"{rules.country}: no fee before {rules.min_days_before_fee} days late"
    if rules.max_fees is not None and len(charged) >= rules.max_fees:
        return None, f"{rules.country}: at most {rules.max_fees} fees per invoice"
    balance = state.balance
    amount: Money | None
    if fee.kind is FeeKind.FIXED:
        amount = Money(fee.amount, balance.currency)
    elif fee.kind is FeeKind.PERCENT:
        amount = Money(balance.amount * fee.rate / 100, balance.currency)
    elif fee.kind is FeeKind.STATUTORY:
        if rules.statutory_once and any(h.fee_kind is FeeKind.STATUTORY for h in charged):
            return None, f"{rules.country}: the flat compensation is owed once"
        amount = rules.statutory_fee(balance)
        if amount is None:
            return None, f"{rules.country}: no statutory fee in {balance.currency}"
    else:
        accrued = interest(balance, fee.rate, state.due_date, today, rules.compound_monthly)
        before = sum(
            (h.fee.amount for h in charged if h.fee_kind is FeeKind.INTEREST and h.fee),
            Decimal(0),
        )
        amount = Money(accrued.amount - before, balance.currency)
    amount = amount.rounded(HALF_UP)
    note = ""
    cap = rules.fee_cap
    if cap is not None and cap.currency == amount.currency and amount > cap:
        amount, note = cap, f"{rules.country}: capped at {cap}"
    if not amount.is_positive():
        return None, note or "the fee comes to nothing"
    return amount, note


def interest(
    balance: Money, rate: Decimal, since: date, until: date, compound_monthly: bool = False
) -> Money:
    """Interest at ``rate`` % a year on ``balance`` for the days from ``since`` to ``until``
    (actual/365), simple or — ``compound_monthly`` (MSMED Act s 16) — with monthly rests.

    >>> interest(Money.of("1000", "EUR"), Decimal("10"), date(2026, 1, 1), date(2026, 4, 11))
    Money(amount=Decimal('27.40'), currency='EUR')
    """
    days = max((until - since).days, 0)
    r = rate / 100
    if not compound_monthly:
        total = balance.amount * r * days / 365
    else:
        months, rest = divmod(days, 30)  # a month's rest every 30 days
        grown = balance.amount * (1 + r / 12) ** months * (1 + r * rest / 365)
        total = grown - balance.amount
    return Money(quantize(total, balance.currency, HALF_UP), balance.currency)


__all__ = [
    "DEFAULT_RULES",
    "CountryRules",
    "Decision",
    "DunningState",
    "FeeKind",
    "LateFee",
    "ReminderPolicy",
    "ReminderStep",
    "SentReminder",
    "Tone",
    "evaluate",
    "interest",
    "rules_for",
    "rules_from_dict",
]
