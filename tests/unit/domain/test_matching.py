"""Matching bank credits to open invoices: references through noise, known payers, and
amount-only guesses that are never applied on their own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from autoinvoice.domain.matching import (
    OpenInvoice,
    OpenItems,
    Outcome,
    invoice_tokens,
    match,
    payer_name,
)
from autoinvoice.domain.payment_aids import creditor_reference
from autoinvoice.domain.statements import StatementTransaction, with_keys


def _inv(no: int, client: int, balance: str, name: str = "Acme GmbH", due: int = 20) -> OpenInvoice:
    number = f"INV-2026-{no:06d}"
    return OpenInvoice(
        no,
        number,
        client,
        name,
        "EUR",
        Decimal(balance),
        date(2026, 12, due),
        creditor_reference(number),
    )


def _items(payers: tuple[tuple[str, int], ...] = ()) -> OpenItems:
    return OpenItems.build(
        [
            _inv(123, 1, "1190.00"),
            _inv(124, 1, "238.00", due=21),
            _inv(7, 2, "297.50", "Nordsee Foods GmbH"),
            _inv(8, 2, "297.50", "Nordsee Foods GmbH", due=22),
            _inv(9, 3, "95.20", "Kestrel Analytics Ltd"),
        ],
        payers,
    )


def _tx(amount: str, text: str = "", **kw: Any) -> StatementTransaction:
    return StatementTransaction(
        account="DE89370400440532013000",
        booking_date=date(2026, 12, 18),
        amount=Decimal(amount),
        currency="EUR",
        remittance=text,
        **kw,
    )


@pytest.mark.parametrize(
    "text",
    [
        "INV-2026-000123",
        "inv 2026 123",
        "INV2026000123",
        "Payment for invoice no. inv-2026-000123 thx",
        "Rechnung: INV/2026/123",
        "RF98 INV2 0260 0012 3",  # the reference, printed in groups, in the free text
        "paying RF98INV2026000123 thanks",
    ],
)
def test_a_noisy_reference_in_the_text_finds_the_invoice(text: str) -> None:
    m = match(_tx("1190.00", text), _items())
    assert m.outcome is Outcome.APPLIED
    assert m.allocations == ((123, Decimal("1190.00")),)


def test_the_structured_creditor_reference_is_the_surest_match() -> None:
    m = match(_tx("1190.00", "thanks", structured_ref="RF98INV2026000123"), _items())
    assert (m.outcome, m.confidence, m.reason) == (
        Outcome.APPLIED,
        Decimal("1.00"),
        "creditor reference",
    )


def test_one_transfer_naming_two_invoices_pays_both() -> None:
    text = "Rechnung INV-2026-000123 und -000124"
    assert invoice_tokens(text) == {("INV", 2026, 123), ("INV", 2026, 124)}
    m = match(_tx("1428.00", text), _items())
    assert m.allocations == ((123, Decimal("1190.00")), (124, Decimal("238.00")))


def test_a_short_amount_is_a_part_payment_and_the_rest_follows() -> None:
    items = _items()
    first = match(_tx("590.00", "inv 2026 123 part 1"), items)
    assert first.allocations == ((123, Decimal("590.00")),)
    items.settle(123, Decimal("590.00"))
    second = match(_tx("600.00", "INV2026000123 rest"), items)
    assert second.allocations == ((123, Decimal("600.00")),)


def test_more_than_the_open_balance_waits_for_review() -> None:
    m = match(_tx("2000.00", "INV-2026-000123"), _items())
    assert m.outcome is Outcome.REVIEW
    assert [c.invoice_id for c in m.candidates] == [123]


def test_a_reference_to_another_clients_invoice_from_a_known_payer_waits() -> None:
    m = match(_tx("1190.00", "INV-2026-000123", counterparty_name="Nordsee Foods"), _items())
    assert m.outcome is Outcome.REVIEW


def test_a_known_payer_with_one_invoice_of_that_amount_is_applied() -> None:
    items = _items((("DE12 5001 0517 0648 4898 90", 3),))
    m = match(_tx("95.20", "Zahlung", counterparty_iban="DE12500105170648489890"), items)
    assert (m.outcome, m.allocations) == (Outcome.APPLIED, ((9, Decimal("95.20")),))


def test_a_known_payer_is_found_by_name_without_its_legal_form() -> None:
    assert payer_name("KESTREL ANALYTICS LIMITED") == payer_name("Kestrel Analytics Ltd.")
    m = match(_tx("95.20", "", counterparty_name="KESTREL ANALYTICS LIMITED"), _items())
    assert m.outcome is Outcome.APPLIED


def test_two_invoices_of_the_same_amount_from_the_payer_wait_with_both_candidates() -> None:
    m = match(_tx("297.50", "Zahlung", counterparty_name="Nordsee Foods GmbH"), _items())
    assert m.outcome is Outcome.REVIEW
    assert [c.invoice_id for c in m.candidates] == [7, 8]


def test_an_amount_from_an_unknown_payer_is_never_applied() -> None:
    m = match(_tx("95.20", "payment", counterparty_name="J. Smith"), _items())
    assert m.outcome is Outcome.REVIEW
    assert [c.invoice_id for c in m.candidates] == [9]


def test_a_debit_is_not_matched() -> None:
    assert match(_tx("-1190.00", "INV-2026-000123"), _items()).outcome is Outcome.OUTGOING


def test_nothing_matching_waits_without_candidates() -> None:
    m = match(_tx("12.34", "Erstattung USt"), _items())
    assert (m.outcome, m.candidates) == (Outcome.REVIEW, ())


def test_two_identical_lines_on_one_day_keep_two_keys_and_the_same_keys_again() -> None:
    lines = [_tx("10.00", "coffee"), _tx("10.00", "coffee")]
    keys = [tx.key for tx in with_keys(lines)]
    assert len(set(keys)) == 2
    assert [tx.key for tx in with_keys(lines)] == keys


def test_a_transfer_quoting_a_settled_invoice_waits_even_when_its_amount_fits_another() -> None:
    text = "INV-2026-000099"  # ours by its prefix, but not open (paid already?)
    m = match(_tx("95.20", text, counterparty_name="Kestrel Analytics Ltd"), _items())
    assert (m.outcome, m.reason) == (Outcome.REVIEW, "names an invoice that is not open")
    assert [c.invoice_id for c in m.candidates] == [9]
