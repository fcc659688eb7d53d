"""Property tests: invoice totals and payments hold their invariants for random invoices."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoinvoice.domain.errors import InvalidTransition
from autoinvoice.domain.invoice import Invoice, InvoiceLine, InvoiceStatus
from autoinvoice.domain.money import Money, minor_units
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.tax import RoundingPolicy, TaxKind, TaxProfile, determine_tax
from autoinvoice.domain.terms import PaymentTerms

D = Decimal
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
CURRENCIES = ["EUR", "JPY", "KWD", "INR"]

_DE, _FR = TaxProfile("DE"), TaxProfile("FR")
_KA = TaxProfile("IN", subdivision="KA")
# Every tax treatment the DE/FR/IN tables can produce, taken from determine_tax itself.
TAXES = [
    determine_tax(_DE, _DE, TaxKind.STANDARD),  # S 19
    determine_tax(_DE, _DE, TaxKind.REDUCED),  # S 7
    determine_tax(_FR, _FR, TaxKind.STANDARD),  # S 20
    determine_tax(_FR, _FR, TaxKind.REDUCED),  # S 5.5
    determine_tax(_DE, _DE, TaxKind.ZERO),  # Z
    determine_tax(_DE, _DE, TaxKind.EXEMPT),  # E
    determine_tax(_DE, TaxProfile("FR", tax_id="FR40303265045"), TaxKind.STANDARD),  # AE
    determine_tax(_DE, TaxProfile("US"), TaxKind.STANDARD),  # G
    determine_tax(_KA, TaxProfile("IN", subdivision="KA"), TaxKind.STANDARD),  # CGST+SGST 18
    determine_tax(_KA, TaxProfile("IN", subdivision="KA"), TaxKind.REDUCED),  # CGST+SGST 5
    determine_tax(_KA, TaxProfile("IN", subdivision="MH"), TaxKind.STANDARD),  # IGST 18
    determine_tax(_KA, TaxProfile("IN", subdivision="MH"), TaxKind.REDUCED),  # IGST 5
    determine_tax(_KA, TaxProfile("US"), TaxKind.STANDARD),  # Z export under LUT
]

ADDRESS = Address(("Torstraße 1",), "Berlin", "10119", "DE")
SELLER = Party("Seller GmbH", "DE", ADDRESS)
BUYER = Party("Kunde GmbH", "DE", ADDRESS, emails=("ap@kunde.example",))

quantities = st.integers(1, 10_000_000).map(lambda n: D(n).scaleb(-3))  # 0.001 … 10000
prices = st.integers(-10_000_000, 1_000_000_000).map(lambda n: D(n).scaleb(-4))  # -1000 … 1e5
positive_prices = st.integers(1, 1_000_000_000).map(lambda n: D(n).scaleb(-4))


def lines_of(price_strategy):
    return st.lists(
        st.builds(
            InvoiceLine,
            description=st.just("Service"),
            quantity=quantities,
            unit_price=price_strategy,
            tax=st.sampled_from(TAXES),
        ),
        min_size=1,
        max_size=30,
    )


@st.composite
def invoices(draw, price_strategy=prices):
    return Invoice(
        seller=SELLER,
        buyer=BUYER,
        currency=draw(st.sampled_from(CURRENCIES)),
        terms=PaymentTerms.parse("net:14"),
        lines=draw(lines_of(price_strategy)),
        rounding=draw(st.sampled_from(list(RoundingPolicy))),
    )


def unit(currency: str) -> Decimal:
    return D(1).scaleb(-minor_units(currency))


def is_multiple_of_minor_unit(amount: Decimal, currency: str) -> bool:
    return amount % unit(currency) == 0


@settings(max_examples=200, deadline=None)
@given(inv=invoices())
def test_totals_are_exact_and_rounded_to_the_minor_unit(inv):
    c = inv.currency
    totals = inv.totals()
    line_nets = [ln.net(c) for ln in inv.lines]
    # (a) net total is the exact sum of line nets (BR-CO-10)
    assert totals.net.amount == sum(line_nets, D(0))
    # (b) every figure is a whole number of minor units
    for amount in [*line_nets, totals.net.amount, totals.tax.amount, totals.gross.amount]:
        assert is_multiple_of_minor_unit(amount, c), amount
    # (c) gross is net plus tax, exactly (BR-CO-15)
    assert totals.gross == totals.net + totals.tax
    # (d) the breakdown bases add up to the net total, and its taxes to the tax total
    assert sum((b.taxable for b in totals.breakdown), D(0)) == totals.net.amount
    assert sum((b.amount for b in totals.breakdown), D(0)) == totals.tax.amount
    # one breakdown row per distinct tax treatment
    assert len(totals.breakdown) == len({ln.tax.key for ln in inv.lines})


@settings(max_examples=200, deadline=None)
@given(inv=invoices())
def test_each_tax_component_is_within_rounding_of_the_exact_tax(inv):
    # (e) Per category, each component is rounded once, so it is within half a minor unit of
    # base × rate. GST categories have two components (CGST + SGST) rounded separately, so
    # their sum may be off by up to one whole minor unit — that is the law, not a bug.
    # Per line, each line's component is rounded, so the error grows with the line count.
    c = inv.currency
    half = unit(c) / 2
    nets_by_key: dict[tuple, list[Decimal]] = {}
    for ln in inv.lines:
        nets_by_key.setdefault(ln.tax.key, []).append(ln.net(c))
    for row in inv.totals().breakdown:
        n = len(nets_by_key[row.tax.key])
        bound = half if inv.rounding is RoundingPolicy.PER_CATEGORY else half * n
        for comp in row.components:
            exact = row.taxable * comp.rate / 100
            assert abs(comp.amount - exact) <= bound, (comp, exact)
        exact_total = row.taxable * row.tax.rate / 100
        assert abs(row.amount - exact_total) <= bound * max(1, len(row.components))


payment_choices = st.one_of(
    st.just("rest"),  # pay exactly what is open
    st.just("over"),  # pay more than is open
    st.integers(1, 10**7),  # some number of minor units
)


@settings(max_examples=200, deadline=None)
@given(inv=invoices(positive_prices), steps=st.lists(payment_choices, min_size=1, max_size=8))
def test_payments_never_exceed_gross_and_every_unit_paid_is_accounted_for(inv, steps):
    inv.issue("INV-1", date(2026, 3, 2), AT)
    c = inv.currency
    gross = inv.totals().gross
    if gross.is_zero():
        assert inv.status is InvoiceStatus.PAID
        return
    paid_in = Money.zero(c)
    returned = Money.zero(c)
    for step in steps:
        open_amount = inv.balance
        if step == "rest":
            amount = open_amount
        elif step == "over":
            amount = open_amount + Money(unit(c) * 7, c)
        else:
            amount = Money(D(step) * unit(c), c)
        if inv.status is InvoiceStatus.PAID:
            with pytest.raises(InvalidTransition):  # a paid invoice takes no more money
                inv.apply_payment(Money(unit(c), c), AT)
            continue
        returned = returned + inv.apply_payment(amount, AT)
        paid_in = paid_in + amount
        # (f) never more than the gross is taken, the balance is what remains, and
        # every unit paid in is either applied or handed back as an overpayment
        assert D(0) < inv.amount_paid <= gross.amount
        assert inv.balance == gross - Money(inv.amount_paid, c)
        assert returned + Money(inv.amount_paid, c) == paid_in
        assert (inv.status is InvoiceStatus.PAID) == inv.balance.is_zero()
        if inv.status is not InvoiceStatus.PAID:
            assert inv.status is InvoiceStatus.PARTIALLY_PAID
            assert returned.is_zero()
    assert not inv.balance.amount < 0
