"""Invoice lines and totals: line validation, line nets, breakdown, legal notes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from autoinvoice.domain.errors import InvalidValue, UnknownCurrency
from autoinvoice.domain.invoice import Invoice, InvoiceLine
from autoinvoice.domain.money import Money
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.tax import (
    NOTE_EXPORT,
    NOTE_REVERSE_CHARGE,
    LineTax,
    RoundingPolicy,
    TaxComponent,
)
from autoinvoice.domain.terms import PaymentTerms

D = Decimal
VAT19 = LineTax.of("S", D("19"), [TaxComponent("VAT", D("19"))])
VAT7 = LineTax.of("S", D("7"), [TaxComponent("VAT", D("7"))])
REVERSE = LineTax.of("AE", D(0), (), NOTE_REVERSE_CHARGE)
EXPORT = LineTax.of("G", D(0), (), NOTE_EXPORT)


def make_line(**overrides) -> InvoiceLine:
    values = {
        "description": "Consulting",
        "quantity": D("1"),
        "unit_price": D("100.00"),
        "tax": VAT19,
    }
    return InvoiceLine(**(values | overrides))


def make_invoice(**overrides) -> Invoice:
    address = Address(("Torstraße 1",), "Berlin", "10119", "DE")
    values = {
        "seller": Party("Seller GmbH", "DE", address),
        "buyer": Party("Kunde GmbH", "DE", address, emails=("ap@kunde.example",)),
        "currency": "EUR",
        "terms": PaymentTerms.parse("net:14"),
        "lines": [],
    }
    return Invoice(**(values | overrides))


# -- line validation -----------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [D("0"), D("-1"), D("-0.001"), "0", 0])
def test_a_line_with_zero_or_negative_quantity_raises_invalid_quantity(quantity):
    with pytest.raises(InvalidValue) as exc:
        make_line(quantity=quantity)
    assert exc.value.field == "quantity"


def test_a_float_quantity_raises_invalid_quantity():
    with pytest.raises(InvalidValue) as exc:
        make_line(quantity=1.5)
    assert exc.value.field == "quantity"


def test_a_float_unit_price_raises_invalid_unit_price():
    with pytest.raises(InvalidValue) as exc:
        make_line(unit_price=9.99)
    assert exc.value.field == "unit_price"


@pytest.mark.parametrize("description", ["", "   ", "\n"])
def test_an_empty_description_raises_invalid_description(description):
    with pytest.raises(InvalidValue) as exc:
        make_line(description=description)
    assert exc.value.field == "description"


def test_a_service_period_ending_before_it_starts_raises_invalid_period_end():
    with pytest.raises(InvalidValue) as exc:
        make_line(period_start=date(2026, 3, 31), period_end=date(2026, 3, 1))
    assert exc.value.field == "period_end"


@pytest.mark.parametrize(("start", "end"), [(date(2026, 3, 1), None), (None, date(2026, 3, 31))])
def test_a_service_period_needs_both_ends_or_neither(start, end):
    with pytest.raises(InvalidValue) as exc:
        make_line(period_start=start, period_end=end)
    assert exc.value.field == "period_end"


def test_a_one_day_service_period_is_allowed():
    line = make_line(period_start=date(2026, 3, 1), period_end=date(2026, 3, 1))
    assert line.period_start == line.period_end


def test_string_quantities_and_prices_become_exact_decimals():
    line = make_line(quantity="1.5", unit_price="0.10")
    assert (line.quantity, line.unit_price) == (D("1.5"), D("0.10"))


def test_a_negative_unit_price_is_allowed_for_discount_lines():
    assert make_line(unit_price=D("-5.00")).net("EUR") == D("-5.00")


# -- line nets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "price", "currency", "net"),
    [
        ("1.5", "0.33", "EUR", "0.50"),  # 0.495 → 0.50 half-up
        ("3", "0.3333", "EUR", "1.00"),  # 0.9999 → 1.00
        ("0.001", "4.99", "EUR", "0.00"),  # 0.00499 → 0.00
        ("7.5", "100", "JPY", "750"),
        ("2.5", "1", "JPY", "3"),  # 2.5 → 3 half-up, not 2
        ("1", "1.0005", "KWD", "1.001"),
        ("1", "-2.345", "EUR", "-2.35"),  # half away from zero
    ],
)
def test_line_net_is_quantity_times_price_rounded_half_up(quantity, price, currency, net):
    line = make_line(quantity=D(quantity), unit_price=D(price))
    assert line.net(currency) == D(net)


# -- totals --------------------------------------------------------------------------------


def test_invoice_currency_is_checked_and_upper_cased():
    assert make_invoice(currency="eur").currency == "EUR"
    with pytest.raises(UnknownCurrency):
        make_invoice(currency="XYZ")


def test_totals_of_an_empty_draft_are_zero():
    totals = make_invoice().totals()
    assert totals.net.is_zero() and totals.tax.is_zero() and totals.gross.is_zero()
    assert totals.breakdown == ()


def test_totals_add_line_nets_and_tax_per_category():
    inv = make_invoice(
        lines=[
            make_line(quantity=D("10"), unit_price=D("95.00")),  # 950.00 @19
            make_line(quantity=D("1"), unit_price=D("50.00"), tax=VAT7),  # 50.00 @7
            make_line(quantity=D("2"), unit_price=D("25.00")),  # 50.00 @19
        ]
    )
    totals = inv.totals()
    assert totals.net == Money.of("1050.00", "EUR")
    assert [(b.taxable, b.amount) for b in totals.breakdown] == [
        (D("1000.00"), D("190.00")),
        (D("50.00"), D("3.50")),
    ]
    assert totals.tax == Money.of("193.50", "EUR")
    assert totals.gross == Money.of("1243.50", "EUR")
    assert inv.gross == totals.gross
    assert inv.balance == totals.gross


def test_the_invoice_rounding_policy_reaches_the_breakdown():
    lines = [make_line(unit_price=D("0.13")), make_line(unit_price=D("0.13"))]
    assert make_invoice(lines=list(lines)).totals().tax.amount == D("0.05")
    per_line = make_invoice(lines=list(lines), rounding=RoundingPolicy.PER_LINE)
    assert per_line.totals().tax.amount == D("0.04")


def test_legal_notes_list_the_invoice_notes_then_each_tax_note_once():
    inv = make_invoice(
        notes=("Thank you.",),
        lines=[
            make_line(tax=REVERSE),
            make_line(tax=EXPORT),
            make_line(tax=REVERSE),
            make_line(tax=VAT19),
        ],
    )
    assert inv.legal_notes() == ["Thank you.", NOTE_REVERSE_CHARGE, NOTE_EXPORT]


def test_an_invoice_without_tax_notes_has_only_its_own_notes():
    assert make_invoice(lines=[make_line()]).legal_notes() == []
