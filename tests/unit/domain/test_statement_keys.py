"""Transaction keys of statement lines without a bank reference (a content hash): two lines
that differ in their amount are two lines, whatever the currency's minor units."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from autoinvoice.domain.statements import StatementTransaction, with_keys


def _line(amount: str, currency: str = "KWD") -> StatementTransaction:
    return StatementTransaction(
        account="KW81CBKU0000000000001234560101",
        booking_date=date(2026, 11, 24),
        amount=Decimal(amount),
        currency=currency,
        counterparty_name="Gulf Trading WLL",
        remittance="November services",
    )


def test_amounts_that_differ_in_the_third_decimal_have_different_keys() -> None:
    # the Kuwaiti dinar has three decimals: 1250.125 and 1250.120 are different payments
    a, b = with_keys([_line("1250.125")]), with_keys([_line("1250.120")])
    assert a[0].key != b[0].key


def test_an_overlapping_statement_does_not_take_a_new_payment_for_a_stored_one() -> None:
    # the first statement had only the first payment; the next one (overlapping the same
    # day) lists a second payment first: its key must not be the stored one's
    first = with_keys([_line("1250.121")])
    second = with_keys([_line("1250.124"), _line("1250.121")])
    stored = {tx.key for tx in first}
    new = [tx for tx in second if tx.key not in stored]
    assert [tx.amount for tx in new] == [Decimal("1250.124")]


def test_two_decimal_keys_are_as_before() -> None:
    (tx,) = with_keys([_line("119.00", "EUR")])
    (same,) = with_keys([_line("119", "EUR")])
    assert tx.key == same.key
