"""The invoice state machine: the TRANSITIONS table, issue, send, view, pay, void, overdue."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from autoinvoice.domain.errors import (
    InvalidTransition,
    InvalidValue,
    InvoiceImmutable,
    MissingData,
)
from autoinvoice.domain.invoice import (
    OPEN_STATUSES,
    TRANSITIONS,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
)
from autoinvoice.domain.money import Money
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.tax import LineTax, TaxComponent
from autoinvoice.domain.terms import PaymentTerms

S = InvoiceStatus
D = Decimal
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ISSUE_DATE = date(2026, 3, 2)
VAT19 = LineTax.of("S", D("19"), [TaxComponent("VAT", D("19"))])


def make_address(**overrides) -> Address:
    values = {"lines": ("Torstraße 1",), "city": "Berlin", "postal_code": "10119", "country": "DE"}
    return Address(**(values | overrides))


def make_party(**overrides) -> Party:
    values = {
        "name": "Kunde GmbH",
        "country": "DE",
        "address": make_address(),
        "emails": ("ap@kunde.example",),
    }
    return Party(**(values | overrides))


def make_line(**overrides) -> InvoiceLine:
    values = {
        "description": "Consulting",
        "quantity": D("1"),
        "unit_price": D("100.00"),
        "tax": VAT19,
    }
    return InvoiceLine(**(values | overrides))


def make_invoice(**overrides) -> Invoice:
    values = {
        "seller": make_party(name="Seller GmbH"),
        "buyer": make_party(),
        "currency": "EUR",
        "terms": PaymentTerms.parse("net:14"),
        "lines": [make_line()],
    }
    return Invoice(**(values | overrides))  # gross 119.00 EUR with the default line


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def issued(**overrides) -> Invoice:
    inv = make_invoice(**overrides)
    inv.issue("INV-2026-000001", ISSUE_DATE, AT)
    return inv


def in_status(status: InvoiceStatus) -> Invoice:
    """An invoice brought to ``status`` through the public operations."""
    if status is S.DRAFT:
        return make_invoice()
    inv = issued()
    if status is S.SENT:
        inv.mark_sent(AT)
    elif status is S.VIEWED:
        inv.mark_viewed(AT)
    elif status is S.PARTIALLY_PAID:
        inv.apply_payment(eur("19.00"), AT)
    elif status is S.PAID:
        inv.apply_payment(eur("119.00"), AT)
    elif status is S.VOID:
        inv.void(AT, "sent to the wrong client")
    assert inv.status is status
    return inv


# -- the table -----------------------------------------------------------------------------

ALL_PAIRS = list(itertools.product(InvoiceStatus, InvoiceStatus))
ALLOWED = [(s, t) for s, t in ALL_PAIRS if t in TRANSITIONS[s]]
REFUSED = [(s, t) for s, t in ALL_PAIRS if t not in TRANSITIONS[s]]


def test_the_table_has_a_row_for_every_status():
    assert set(TRANSITIONS) == set(InvoiceStatus)


def test_nothing_moves_back_to_draft():
    assert all(S.DRAFT not in targets for targets in TRANSITIONS.values())


def test_void_is_terminal():
    assert TRANSITIONS[S.VOID] == frozenset()


def test_paid_moves_only_back_to_an_unpaid_status_when_a_payment_is_undone():
    assert TRANSITIONS[S.PAID] == {S.PARTIALLY_PAID, S.ISSUED, S.SENT, S.VIEWED}


def test_a_partially_paid_invoice_cannot_be_voided():
    assert S.VOID not in TRANSITIONS[S.PARTIALLY_PAID]


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=lambda s: s.value)
def test_every_move_in_the_table_succeeds(current, target):
    inv = make_invoice(status=current)
    inv._move(target)
    assert inv.status is target


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=lambda s: s.value)
def test_every_move_outside_the_table_raises_invalid_transition_naming_both_states(current, target):
    inv = make_invoice(status=current)
    with pytest.raises(InvalidTransition) as exc:
        inv._move(target)
    assert (exc.value.current, exc.value.target) == (current.value, target.value)
    assert exc.value.field == "status"
    assert current.value in str(exc.value) and target.value in str(exc.value)
    assert inv.status is current


# -- the public operations follow the table ------------------------------------------------

NOT_FROM_DRAFT_OR_VOID = [S.DRAFT, S.VOID]


@pytest.mark.parametrize("status", [s for s in S if s is not S.DRAFT])
def test_issue_is_refused_unless_the_invoice_is_a_draft(status):
    inv = in_status(status)
    number = inv.number
    with pytest.raises(InvalidTransition) as exc:
        inv.issue("INV-2026-000999", date(2026, 4, 1), AT)
    assert (exc.value.current, exc.value.target) == (status.value, "issued")
    assert inv.number == number


@pytest.mark.parametrize(
    ("status", "after"),
    [
        (S.ISSUED, S.SENT),
        (S.SENT, S.SENT),
        (S.VIEWED, S.VIEWED),
        (S.PARTIALLY_PAID, S.PARTIALLY_PAID),
        (S.PAID, S.PAID),
    ],
)
def test_mark_sent_moves_only_an_issued_invoice_and_records_sending_otherwise(status, after):
    inv = in_status(status)
    inv.mark_sent(AT)
    assert inv.status is after
    assert inv.sent_at == AT


@pytest.mark.parametrize("status", NOT_FROM_DRAFT_OR_VOID)
def test_mark_sent_is_refused_for_drafts_and_void_invoices(status):
    inv = in_status(status)
    with pytest.raises(InvalidTransition) as exc:
        inv.mark_sent(AT)
    assert (exc.value.current, exc.value.target) == (status.value, "sent")
    assert inv.sent_at is None


def test_sending_again_keeps_the_first_sent_time():
    inv = in_status(S.SENT)
    inv.mark_sent(AT + timedelta(days=3))
    assert inv.sent_at == AT


@pytest.mark.parametrize("status", NOT_FROM_DRAFT_OR_VOID)
def test_mark_viewed_is_refused_for_drafts_and_void_invoices(status):
    inv = in_status(status)
    with pytest.raises(InvalidTransition) as exc:
        inv.mark_viewed(AT)
    assert (exc.value.current, exc.value.target) == (status.value, "viewed")


@pytest.mark.parametrize("status", [S.ISSUED, S.SENT])
def test_first_view_moves_an_issued_or_sent_invoice_to_viewed(status):
    inv = in_status(status)
    assert inv.mark_viewed(AT) is True
    assert inv.status is S.VIEWED
    assert inv.viewed_at == AT


def test_second_view_returns_false_and_keeps_the_first_view_time():
    inv = in_status(S.SENT)
    assert inv.mark_viewed(AT) is True
    assert inv.mark_viewed(AT + timedelta(hours=1)) is False
    assert inv.viewed_at == AT


@pytest.mark.parametrize("status", [S.PAID, S.PARTIALLY_PAID])
def test_viewing_a_paid_or_partly_paid_invoice_keeps_its_status(status):
    inv = in_status(status)
    assert inv.mark_viewed(AT) is True
    assert inv.status is status
    assert inv.viewed_at == AT


@pytest.mark.parametrize("status", [S.ISSUED, S.SENT, S.VIEWED])
def test_void_is_allowed_before_any_payment(status):
    inv = in_status(status)
    inv.void(AT, "duplicate")
    assert inv.status is S.VOID
    assert (inv.voided_at, inv.void_reason) == (AT, "duplicate")


@pytest.mark.parametrize("status", [S.DRAFT, S.PAID, S.VOID])
def test_void_is_refused_for_drafts_paid_and_already_void_invoices(status):
    inv = in_status(status)
    with pytest.raises(InvalidTransition) as exc:
        inv.void(AT, "duplicate")
    assert (exc.value.current, exc.value.target) == (status.value, "void")


def test_void_is_refused_once_a_payment_exists():
    inv = in_status(S.PARTIALLY_PAID)
    with pytest.raises(InvalidTransition) as exc:
        inv.void(AT, "client disputes it")
    assert (exc.value.current, exc.value.target) == ("partially_paid", "void")
    assert inv.status is S.PARTIALLY_PAID
    assert inv.voided_at is None


@pytest.mark.parametrize("reason", ["", "   "])
def test_void_needs_a_reason(reason):
    inv = in_status(S.ISSUED)
    with pytest.raises(InvalidValue) as exc:
        inv.void(AT, reason)
    assert exc.value.field == "reason"
    assert inv.status is S.ISSUED


def test_a_void_invoice_has_no_balance():
    assert in_status(S.VOID).balance == Money.zero("EUR")


# -- issue ---------------------------------------------------------------------------------


def test_issue_sets_number_dates_and_due_date_from_the_terms():
    inv = issued(terms=PaymentTerms.parse("net:30"))
    assert inv.status is S.ISSUED
    assert inv.number == "INV-2026-000001"
    assert inv.issue_date == ISSUE_DATE
    assert inv.due_date == date(2026, 4, 1)
    assert inv.issued_at == AT


def test_issue_with_end_of_month_terms_counts_from_the_month_end():
    inv = issued(terms=PaymentTerms.parse("eom:15"))
    assert inv.due_date == date(2026, 4, 15)


def test_a_draft_has_no_number_and_no_due_date():
    inv = make_invoice()
    assert (inv.number, inv.issue_date, inv.due_date) == (None, None, None)


def test_issue_without_lines_raises_missing_lines_and_leaves_a_draft():
    inv = make_invoice(lines=[])
    with pytest.raises(MissingData) as exc:
        inv.issue("INV-1", ISSUE_DATE, AT)
    assert exc.value.field == "lines"
    assert inv.status is S.DRAFT
    assert inv.number is None


def test_issue_for_a_buyer_without_address_raises_missing_client_address():
    inv = make_invoice(buyer=make_party(address=None))
    with pytest.raises(MissingData) as exc:
        inv.issue("INV-1", ISSUE_DATE, AT)
    assert exc.value.field == "client.address"
    assert inv.status is S.DRAFT


def test_issue_for_a_seller_without_address_raises_missing_seller_address():
    inv = make_invoice(seller=make_party(name="Seller", address=None))
    with pytest.raises(MissingData) as exc:
        inv.issue("INV-1", ISSUE_DATE, AT)
    assert exc.value.field == "seller.address"


def test_issue_of_a_negative_total_is_refused_in_favour_of_a_credit_note():
    inv = make_invoice(lines=[make_line(unit_price=D("-10.00"))])
    with pytest.raises(InvalidValue) as exc:
        inv.issue("INV-1", ISSUE_DATE, AT)
    assert exc.value.field == "lines"
    assert inv.status is S.DRAFT


def test_issue_with_a_naive_datetime_is_refused_naming_issued_at():
    inv = make_invoice()
    with pytest.raises(InvalidValue) as exc:
        inv.issue("INV-1", ISSUE_DATE, datetime(2026, 3, 2, 9, 0))  # noqa: DTZ001
    assert exc.value.field == "issued_at"
    assert inv.status is S.DRAFT


def test_issuing_a_zero_total_invoice_marks_it_paid_at_once():
    inv = issued(lines=[make_line(unit_price=D("0"))])
    assert inv.status is S.PAID
    assert inv.paid_at == AT
    assert inv.balance.is_zero()


# -- immutability --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [s for s in S if s is not S.DRAFT])
def test_an_issued_invoice_refuses_add_line(status):
    inv = in_status(status)
    with pytest.raises(InvoiceImmutable) as exc:
        inv.add_line(make_line(description="Extra"))
    assert exc.value.field == "status"
    assert [ln.description for ln in inv.lines] == ["Consulting"]


@pytest.mark.parametrize("status", [s for s in S if s is not S.DRAFT])
def test_an_issued_invoice_refuses_replace_lines(status):
    inv = in_status(status)
    with pytest.raises(InvoiceImmutable):
        inv.replace_lines([make_line(unit_price=D("1.00"))])
    assert inv.lines[0].unit_price == D("100.00")


def test_a_draft_accepts_new_and_replaced_lines():
    inv = make_invoice()
    inv.add_line(make_line(description="Extra"))
    assert len(inv.lines) == 2
    inv.replace_lines([make_line(description="Only")])
    assert [ln.description for ln in inv.lines] == ["Only"]


# -- payments ------------------------------------------------------------------------------


def test_a_partial_payment_moves_to_partially_paid_and_reduces_the_balance():
    inv = in_status(S.SENT)
    over = inv.apply_payment(eur("19.00"), AT)
    assert over == eur("0")
    assert inv.status is S.PARTIALLY_PAID
    assert inv.balance == eur("100.00")
    assert inv.paid_at is None


def test_paying_the_rest_moves_to_paid_and_records_when():
    inv = in_status(S.PARTIALLY_PAID)
    later = AT + timedelta(days=5)
    assert inv.apply_payment(eur("100.00"), later).is_zero()
    assert inv.status is S.PAID
    assert inv.paid_at == later
    assert inv.balance.is_zero()


def test_an_overpayment_is_returned_never_dropped():
    inv = in_status(S.ISSUED)
    over = inv.apply_payment(eur("150.00"), AT)
    assert over == eur("31.00")
    assert inv.amount_paid == D("119.00")
    assert inv.status is S.PAID


def test_a_payment_in_another_currency_raises_invalid_currency():
    inv = in_status(S.SENT)
    with pytest.raises(InvalidValue) as exc:
        inv.apply_payment(Money.of("119.00", "USD"), AT)
    assert exc.value.field == "currency"
    assert inv.amount_paid == 0


@pytest.mark.parametrize("amount", ["0", "-1.00"])
def test_a_payment_must_be_positive(amount):
    inv = in_status(S.SENT)
    with pytest.raises(InvalidValue) as exc:
        inv.apply_payment(eur(amount), AT)
    assert exc.value.field == "amount"


@pytest.mark.parametrize("status", [S.DRAFT, S.PAID, S.VOID])
def test_payments_are_refused_on_invoices_that_are_not_open(status):
    inv = in_status(status)
    paid_before = inv.amount_paid
    with pytest.raises(InvalidTransition) as exc:
        inv.apply_payment(eur("1.00"), AT)
    assert exc.value.current == status.value
    assert inv.amount_paid == paid_before


# -- naive datetimes -----------------------------------------------------------------------

NAIVE = datetime(2026, 3, 2, 9, 0)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("status", "call", "field"),
    [
        (S.ISSUED, lambda inv: inv.mark_sent(NAIVE), "sent_at"),
        (S.ISSUED, lambda inv: inv.mark_viewed(NAIVE), "viewed_at"),
        (S.ISSUED, lambda inv: inv.apply_payment(eur("1.00"), NAIVE), "received_at"),
        (S.ISSUED, lambda inv: inv.void(NAIVE, "duplicate"), "voided_at"),
    ],
    ids=["mark_sent", "mark_viewed", "apply_payment", "void"],
)
def test_naive_datetimes_are_refused_naming_the_field(status, call, field):
    inv = in_status(status)
    with pytest.raises(InvalidValue) as exc:
        call(inv)
    assert exc.value.field == field
    assert inv.status is status


# -- overdue is derived --------------------------------------------------------------------


def test_overdue_is_not_a_stored_status():
    assert "overdue" not in {s.value for s in InvoiceStatus}


def test_an_invoice_is_not_overdue_on_its_due_date():
    inv = in_status(S.SENT)
    assert inv.due_date == date(2026, 3, 16)
    assert not inv.is_overdue(date(2026, 3, 16))


def test_an_invoice_is_overdue_the_day_after_its_due_date():
    inv = in_status(S.SENT)
    assert inv.is_overdue(date(2026, 3, 17))


@pytest.mark.parametrize("status", sorted(OPEN_STATUSES))
def test_every_open_status_can_be_overdue(status):
    assert in_status(status).is_overdue(date(2026, 3, 17))


@pytest.mark.parametrize("status", [S.DRAFT, S.PAID, S.VOID])
def test_drafts_paid_and_void_invoices_are_never_overdue(status):
    assert not in_status(status).is_overdue(date(2030, 1, 1))
