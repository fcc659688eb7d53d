"""The invoice, its lines, totals and state machine.

State machine (the only moves there are; anything else raises ``InvalidTransition``)::

    draft ──issue──► issued ──send──► sent ──view──► viewed
                       │                │               │
                       └──── pay ───────┴──── pay ──────┴──► partially_paid ──pay──► paid
    issued/sent/viewed ──void──► void         (a partly paid invoice is not voided; credit it)
    paid ──unapply──► partially_paid ──unapply──► issued/sent/viewed  (a reversed payment)

* ``overdue`` is derived from the due date and ``today``, never stored.
* A draft is the only editable state; after ``issue`` lines, parties, dates and currency are
  frozen (``InvoiceImmutable``). Corrections are credit notes.
* A payment reduces the balance; anything above the open balance is returned as an
  overpayment for the caller to keep as client credit — it is never dropped.
* ``amount_paid`` is the sum of the invoice's live allocations (payments, client credit,
  credit notes). Undoing one (a bank return, a chargeback) moves only the payment status
  back — to partially paid, or to the open status the invoice had before it was paid
  (viewed, sent or issued, from its timestamps); the document itself never changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from .errors import InvalidTransition, InvalidValue, InvoiceImmutable, MissingData
from .money import HALF_UP, Money, check_currency, quantize, to_decimal
from .parties import Party
from .recurrence import require_aware
from .tax import LineTax, RoundingPolicy, TaxBreakdown, tax_breakdown
from .terms import PaymentTerms


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    SENT = "sent"
    VIEWED = "viewed"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


S = InvoiceStatus
TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    S.DRAFT: frozenset({S.ISSUED}),
    S.ISSUED: frozenset({S.SENT, S.VIEWED, S.PARTIALLY_PAID, S.PAID, S.VOID}),
    S.SENT: frozenset({S.VIEWED, S.PARTIALLY_PAID, S.PAID, S.VOID}),
    S.VIEWED: frozenset({S.PARTIALLY_PAID, S.PAID, S.VOID}),
    S.PARTIALLY_PAID: frozenset({S.PARTIALLY_PAID, S.PAID, S.ISSUED, S.SENT, S.VIEWED}),
    S.PAID: frozenset({S.PARTIALLY_PAID, S.ISSUED, S.SENT, S.VIEWED}),
    S.VOID: frozenset(),
}
OPEN_STATUSES = frozenset({S.ISSUED, S.SENT, S.VIEWED, S.PARTIALLY_PAID})


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


def check_payment_amount(amount: Money) -> None:
    """Raise unless ``amount`` is above zero and has no more decimals than its currency's
    minor units (a payment, a refund, a credit)."""
    if not amount.is_positive():
        raise InvalidValue("a payment must be greater than zero", field="amount")
    if amount.rounded().amount != amount.amount:
        raise InvalidValue(
            f"{amount.amount} has more decimals than {amount.currency} has "
            f"minor units ({amount.minor_units})",
            field="amount",
        )


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax: LineTax
    unit: str = "unit"
    period_start: date | None = None
    period_end: date | None = None
    group: str | None = None  # a heading consecutive lines share on the document (a person)

    def __post_init__(self) -> None:
        if not self.description or not self.description.strip():
            raise InvalidValue("the line description is empty", field="description")
        qty = to_decimal(self.quantity, field="quantity")
        if qty <= 0:
            raise InvalidValue(f"quantity must be greater than 0, got {qty}", field="quantity")
        object.__setattr__(self, "quantity", qty)
        object.__setattr__(self, "unit_price", to_decimal(self.unit_price, field="unit_price"))
        if (self.period_start is None) != (self.period_end is None):
            raise InvalidValue(
                "give both ends of the service period or neither", field="period_end"
            )
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise InvalidValue(
                f"the service period ends ({self.period_end}) before it starts "
                f"({self.period_start})",
                field="period_end",
            )

    def net(self, currency: str) -> Decimal:
        """Line net amount (BT-131): quantity × price, rounded half-up to the minor unit."""
        return quantize(self.quantity * self.unit_price, currency, HALF_UP)


@dataclass(frozen=True, slots=True)
class Totals:
    net: Money
    tax: Money
    gross: Money
    breakdown: tuple[TaxBreakdown, ...]


@dataclass
class Invoice:
    """An invoice or credit note. Create drafts with :meth:`draft`."""

    seller: Party
    buyer: Party
    currency: str
    terms: PaymentTerms
    lines: list[InvoiceLine] = field(default_factory=list)
    status: InvoiceStatus = S.DRAFT
    kind: InvoiceKind = InvoiceKind.INVOICE
    id: int | None = None
    number: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    rounding: RoundingPolicy = RoundingPolicy.PER_CATEGORY
    amount_paid: Decimal = Decimal(0)
    issued_at: datetime | None = None
    sent_at: datetime | None = None
    viewed_at: datetime | None = None
    paid_at: datetime | None = None
    voided_at: datetime | None = None
    void_reason: str | None = None
    buyer_reference: str | None = None
    notes: tuple[str, ...] = ()
    # references to the records around it (identities, not behaviour)
    entity_id: int | None = None
    client_id: int | None = None
    contract_id: int | None = None
    series_id: int | None = None
    source_key: str | None = None  # what caused it ("contract:7:2026-12-01"), unique
    hold_reason: str | None = None  # a draft that needs attention before it can issue
    created_at: datetime | None = None
    # a credit note: the number and issue date of the invoice it corrects (BT-25, BT-26)
    corrects: tuple[str, date | None] | None = None

    def __post_init__(self) -> None:
        self.currency = check_currency(self.currency)

    # -- editing (draft only) ---------------------------------------------------------
    def _require_draft(self, what: str) -> None:
        if self.status is not S.DRAFT:
            raise InvoiceImmutable(
                f"invoice {self.number or self.id} is {self.status}; {what} is only possible "
                "on a draft — issue a credit note to correct it",
                field="status",
            )

    def add_line(self, line: InvoiceLine) -> None:
        self._require_draft("adding a line")
        self.lines.append(line)

    def replace_lines(self, lines: list[InvoiceLine]) -> None:
        self._require_draft("changing lines")
        self.lines = list(lines)

    # -- figures ----------------------------------------------------------------------
    def totals(self) -> Totals:
        c = self.currency
        nets = [(ln.net(c), ln.tax) for ln in self.lines]
        breakdown = tuple(tax_breakdown(nets, c, self.rounding))
        net = sum((n for n, _ in nets), Decimal(0))
        tax = sum((b.amount for b in breakdown), Decimal(0))
        return Totals(Money(net, c), Money(tax, c), Money(net + tax, c), breakdown)

    @property
    def gross(self) -> Money:
        return self.totals().gross

    @property
    def balance(self) -> Money:
        if self.status is S.VOID:
            return Money.zero(self.currency)
        return Money(self.totals().gross.amount - self.amount_paid, self.currency)

    def legal_notes(self) -> list[str]:
        seen = dict.fromkeys(ln.tax.note for ln in self.lines if ln.tax.note)
        return [*self.notes, *seen]

    def is_overdue(self, today: date) -> bool:
        return (
            self.status in OPEN_STATUSES
            and self.due_date is not None
            and today > self.due_date
            and self.balance.is_positive()
        )

    # -- transitions ------------------------------------------------------------------
    def _move(self, target: InvoiceStatus, reason: str = "") -> None:
        if target not in TRANSITIONS[self.status]:
            raise InvalidTransition(self.status.value, target.value, reason)
        self.status = target

    def check_issuable(self) -> None:
        """Raise the first reason this draft cannot be issued, naming the field."""
        if not self.lines:
            raise MissingData("an invoice needs at least one line", field="lines")
        self.buyer.require_billing_address()
        self.buyer.require_email()
        if self.seller.address is None:
            raise MissingData("the issuing entity has no address", field="seller.address")
        if self.totals().gross.amount < 0:
            raise InvalidValue(
                "an invoice total cannot be negative; issue a credit note", field="lines"
            )

    def issue(self, number: str, issue_date: date, at: datetime) -> None:
        require_aware(at, "issued_at")
        if self.status is not S.DRAFT:  # the table also lets an undone payment reopen
            raise InvalidTransition(self.status.value, S.ISSUED.value, "it is already issued")
        self.check_issuable()
        self._move(S.ISSUED)
        self.number = number
        self.issue_date = issue_date
        self.due_date = self.terms.due_date(issue_date)
        self.issued_at = at
        if self.totals().gross.is_zero():
            self.status, self.paid_at = S.PAID, at

    def mark_sent(self, at: datetime) -> None:
        require_aware(at, "sent_at")
        if self.status is S.ISSUED:
            self._move(S.SENT)
        elif self.status in (S.DRAFT, S.VOID):
            raise InvalidTransition(
                self.status.value, S.SENT.value, "only issued invoices are sent"
            )
        self.sent_at = self.sent_at or at

    def mark_viewed(self, at: datetime) -> bool:
        """Record the client's first view; returns True when this view was the first."""
        require_aware(at, "viewed_at")
        if self.status in (S.DRAFT, S.VOID):
            raise InvalidTransition(self.status.value, S.VIEWED.value, "not visible to clients")
        if self.viewed_at is not None:
            return False
        if self.status in (S.ISSUED, S.SENT):
            self._move(S.VIEWED)
        self.viewed_at = at
        return True

    def check_payment(self, amount: Money) -> None:
        """Raise if ``amount`` cannot be a payment on this invoice (whatever its status)."""
        if amount.currency != self.currency:
            raise InvalidValue(
                f"payment is in {amount.currency}, the invoice in {self.currency}",
                field="currency",
            )
        check_payment_amount(amount)

    def apply_payment(self, amount: Money, at: datetime) -> Money:
        """Apply ``amount``; return the part above the open balance (zero if none)."""
        require_aware(at, "received_at")
        self.check_payment(amount)
        if self.status not in OPEN_STATUSES:
            raise InvalidTransition(
                self.status.value, S.PAID.value, "payments are recorded on open invoices only"
            )
        open_amount = self.balance
        applied = min(amount, open_amount)
        self.amount_paid += applied.amount
        if self.balance.is_zero():
            self._move(S.PAID)
            self.paid_at = at
        else:
            self._move(S.PARTIALLY_PAID)
        return amount - applied

    def unapply(self, amount: Money) -> None:
        """Take back ``amount`` of what was applied (a reversed allocation): the balance grows
        and the status goes back to partially paid or to the open status it had before."""
        self.check_payment(amount)
        if amount.amount > self.amount_paid:
            raise InvalidValue(
                f"only {self.amount_paid} is applied to invoice {self.number or self.id}; "
                f"{amount.amount} cannot be taken back",
                field="amount",
            )
        self.amount_paid -= amount.amount
        self.paid_at = None
        if self.amount_paid:
            self._move(S.PARTIALLY_PAID)
        else:
            self._move(S.VIEWED if self.viewed_at else S.SENT if self.sent_at else S.ISSUED)

    def settle_credit_note(self, at: datetime) -> None:
        """A credit note is used up when issued — on the invoice it corrects and, for any rest,
        as client credit — so it is settled at once: nothing is open or due on it."""
        require_aware(at, "paid_at")
        if self.kind is not InvoiceKind.CREDIT_NOTE:
            raise InvalidValue("only a credit note is settled on issue", field="kind")
        self._move(S.PAID)
        self.amount_paid, self.paid_at = self.totals().gross.amount, at

    def void(self, at: datetime, reason: str) -> None:
        require_aware(at, "voided_at")
        if not reason or not reason.strip():
            raise InvalidValue("say why the invoice is voided", field="reason")
        if self.amount_paid:
            raise InvalidTransition(
                self.status.value,
                S.VOID.value,
                "it has payments; refund them or issue a credit note",
            )
        self._move(S.VOID)
        self.voided_at, self.void_reason = at, reason


__all__ = [
    "OPEN_STATUSES",
    "TRANSITIONS",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceStatus",
    "Totals",
    "check_payment_amount",
]
