"""Money: exact amounts, ISO 4217 currencies, half-up quantizing, CLDR formatting."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from autoinvoice.domain.errors import CurrencyMismatch, InvalidValue, UnknownCurrency
from autoinvoice.domain.money import (
    HALF_UP,
    Money,
    check_currency,
    minor_units,
    quantize,
    sum_money,
)

NBSP = "\u00a0"


# -- construction --------------------------------------------------------------------------


def test_money_rejects_a_float_amount_naming_the_amount_field():
    with pytest.raises(InvalidValue) as exc:
        Money(0.1, "EUR")  # type: ignore[arg-type]
    assert exc.value.field == "amount"


def test_money_of_rejects_a_float_amount():
    with pytest.raises(InvalidValue):
        Money.of(1.5, "EUR")


@pytest.mark.parametrize("flag", [True, False])
def test_money_rejects_a_bool_amount_although_bool_is_an_int(flag):
    with pytest.raises(InvalidValue) as exc:
        Money.of(flag, "EUR")
    assert exc.value.field == "amount"


@pytest.mark.parametrize("text", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf"])
def test_money_rejects_non_finite_amounts(text):
    with pytest.raises(InvalidValue):
        Money.of(text, "EUR")


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_money_rejects_non_finite_decimals(value):
    with pytest.raises(InvalidValue):
        Money(value, "EUR")


@pytest.mark.parametrize("text", ["", "abc", "1,50", "1.2.3"])
def test_money_rejects_text_that_is_not_a_number(text):
    with pytest.raises(InvalidValue) as exc:
        Money.of(text, "EUR")
    assert exc.value.field == "amount"


def test_money_rejects_objects_that_are_not_numbers():
    with pytest.raises(InvalidValue):
        Money.of(object(), "EUR")


def test_money_accepts_int_string_and_decimal_amounts_exactly():
    assert Money.of(12, "EUR").amount == Decimal("12")
    assert Money.of(" 0.10 ", "EUR").amount == Decimal("0.10")
    assert Money.of(Decimal("1.005"), "EUR").amount == Decimal("1.005")


def test_money_does_not_round_on_construction():
    assert Money.of("10.005", "EUR").amount == Decimal("10.005")


def test_unknown_currency_code_raises_unknown_currency_naming_the_currency_field():
    with pytest.raises(UnknownCurrency) as exc:
        Money.of("1", "XYZ")
    assert exc.value.field == "currency"
    assert exc.value.code == "unknown_currency"


def test_unknown_currency_is_an_invalid_value_so_callers_can_catch_either():
    with pytest.raises(InvalidValue):
        Money.of("1", "XYZ")


def test_check_currency_names_the_field_it_is_given():
    with pytest.raises(UnknownCurrency) as exc:
        check_currency("EURO", field="contract.currency")
    assert exc.value.field == "contract.currency"


def test_currency_code_is_upper_cased():
    assert Money.of("1", "eur").currency == "EUR"


def test_non_string_currency_is_refused():
    with pytest.raises(UnknownCurrency):
        check_currency(978)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("currency", "digits"), [("JPY", 0), ("EUR", 2), ("USD", 2), ("INR", 2), ("KWD", 3), ("BHD", 3)]
)
def test_minor_units_come_from_cldr(currency, digits):
    assert minor_units(currency) == digits
    assert Money.of("1", currency).minor_units == digits


def test_minor_units_of_an_unknown_currency_raise_unknown_currency():
    with pytest.raises(UnknownCurrency):
        minor_units("XYZ")


@pytest.mark.parametrize(
    ("currency", "expected"),
    [("JPY", Decimal("0")), ("EUR", Decimal("0.00")), ("KWD", Decimal("0.000"))],
)
def test_zero_carries_the_currency_exponent(currency, expected):
    zero = Money.zero(currency)
    assert zero.amount == expected
    assert zero.amount.as_tuple().exponent == expected.as_tuple().exponent
    assert zero.is_zero()


# -- rounding ------------------------------------------------------------------------------
# EN 16931 rounds half away from zero ("half-up" in its wording); Python's ROUND_HALF_UP is
# exactly that: -2.345 becomes -2.35, not -2.34.


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.345", "EUR", "2.35"),
        ("2.344", "EUR", "2.34"),
        ("2.3449999", "EUR", "2.34"),
        ("0.005", "EUR", "0.01"),
        ("0.5", "JPY", "1"),
        ("1.5", "JPY", "2"),
        ("2.5", "JPY", "3"),
        ("0.4999", "JPY", "0"),
        ("1.0005", "KWD", "1.001"),
        ("1.0004", "KWD", "1.000"),
        ("1.0005", "BHD", "1.001"),
        ("-2.345", "EUR", "-2.35"),
        ("-0.5", "JPY", "-1"),
    ],
)
def test_rounded_quantizes_half_up_to_the_minor_unit(amount, currency, expected):
    rounded = Money.of(amount, currency).rounded()
    assert rounded.amount == Decimal(expected)
    assert rounded.amount.as_tuple().exponent == -minor_units(currency)
    assert rounded.currency == currency


def test_rounded_uses_the_named_mode_when_one_is_given():
    assert Money.of("2.345", "EUR").rounded(ROUND_HALF_EVEN).amount == Decimal("2.34")


def test_quantize_names_its_rounding_mode_and_obeys_it():
    assert quantize(Decimal("2.5"), "JPY", HALF_UP) == Decimal("3")
    assert quantize(Decimal("2.5"), "JPY", ROUND_HALF_EVEN) == Decimal("2")


# -- arithmetic ----------------------------------------------------------------------------


def test_adding_and_subtracting_same_currency_is_exact():
    a, b = Money.of("0.10", "EUR"), Money.of("0.20", "EUR")
    assert (a + b).amount == Decimal("0.30")
    assert (b - a).amount == Decimal("0.10")
    assert (-a).amount == Decimal("-0.10")


def test_mixing_currencies_on_add_raises_currency_mismatch():
    with pytest.raises(CurrencyMismatch) as exc:
        Money.of("1", "EUR") + Money.of("1", "USD")
    assert exc.value.field == "currency"


def test_mixing_currencies_on_subtract_raises_currency_mismatch():
    with pytest.raises(CurrencyMismatch):
        Money.of("1", "EUR") - Money.of("1", "USD")


@pytest.mark.parametrize("op", ["__lt__", "__le__", "__gt__", "__ge__"])
def test_comparing_different_currencies_raises_currency_mismatch(op):
    with pytest.raises(CurrencyMismatch):
        getattr(Money.of("1", "EUR"), op)(Money.of("2", "JPY"))


def test_ordering_compares_amounts_within_one_currency():
    small, big = Money.of("1.00", "EUR"), Money.of("1.01", "EUR")
    assert small < big and small <= big and big > small and big >= small
    assert not big < small
    assert min(big, small) is small


def test_equal_amounts_with_different_exponents_are_equal():
    assert Money.of("1.0", "EUR") == Money.of("1.00", "EUR")


def test_same_amount_in_different_currencies_is_not_equal():
    assert Money.of("1", "EUR") != Money.of("1", "USD")


def test_combining_money_with_a_plain_number_raises_type_error():
    with pytest.raises(TypeError):
        Money.of("1", "EUR") + Decimal("1")  # type: ignore[operator]


def test_multiplying_by_a_decimal_factor_is_exact_and_unrounded():
    assert (Money.of("0.10", "EUR") * Decimal("0.19")).amount == Decimal("0.0190")


def test_multiplying_by_a_float_factor_is_refused_naming_factor():
    with pytest.raises(InvalidValue) as exc:
        Money.of("1", "EUR") * 1.5  # type: ignore[operator]
    assert exc.value.field == "factor"


def test_sign_predicates():
    assert Money.of("0.01", "EUR").is_positive()
    assert not Money.of("0", "EUR").is_positive()
    assert not Money.of("-0.01", "EUR").is_positive()
    assert Money.of("0.00", "EUR").is_zero()


def test_sum_money_adds_in_one_currency_and_starts_at_zero():
    items = [Money.of("0.10", "EUR")] * 3
    assert sum_money(items, "EUR").amount == Decimal("0.30")
    assert sum_money([], "JPY") == Money.zero("JPY")


def test_sum_money_refuses_a_foreign_item():
    with pytest.raises(CurrencyMismatch):
        sum_money([Money.of("1", "EUR"), Money.of("1", "USD")], "EUR")


def test_str_shows_amount_and_code():
    assert str(Money.of("12.50", "EUR")) == "12.50 EUR"


def test_money_is_immutable():
    m = Money.of("1", "EUR")
    with pytest.raises(AttributeError):
        m.amount = Decimal("2")  # type: ignore[misc]


# -- formatting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "text"),
    [
        ("1234.50", "EUR", "de_DE", f"1.234,50{NBSP}€"),
        ("1234.50", "USD", "en_US", "$1,234.50"),
        ("123456.50", "INR", "hi_IN", "₹1,23,456.50"),  # lakh grouping
        ("1234", "JPY", "ja_JP", "￥1,234"),  # yen has no decimals
    ],
)
def test_format_follows_the_locale(amount, currency, locale, text):
    assert Money.of(amount, currency).format(locale) == text


def test_format_of_kwd_shows_three_decimals():
    assert Money.of("1.5", "KWD").format("en") == "KWD1.500"


@pytest.mark.parametrize(
    ("amount", "currency"), [("2.345", "EUR"), ("1234.5", "JPY"), ("1.0005", "KWD")]
)
def test_format_shows_the_same_figure_as_the_half_up_rounded_amount(amount, currency):
    m = Money.of(amount, currency)
    assert m.format("en_US") == m.rounded().format("en_US")
