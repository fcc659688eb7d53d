"""Remittance text often quotes the amount next to the invoice number; an amount is not a
second invoice number, so the payment goes to the invoice the payer named."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from autoinvoice.domain.matching import OpenInvoice, OpenItems, Outcome, invoice_tokens, match
from autoinvoice.domain.payment_aids import creditor_reference
from autoinvoice.domain.statements import StatementTransaction


def _inv(no: int, balance: str, due: date) -> OpenInvoice:
    number = f"INV-2026-{no:06d}"
    return OpenInvoice(
        no, number, 7, "Acme GmbH", "EUR", Decimal(balance), due, creditor_reference(number)
    )


def test_an_amount_after_the_invoice_number_is_not_read_as_another_number() -> None:
    assert invoice_tokens("INV-2026-000123, 1190.00 EUR") == {("INV", 2026, 123)}
    assert invoice_tokens("Rechnung INV-2026-000123 / 1.190,00 EUR") == {("INV", 2026, 123)}
    # what the continuation is for still works
    assert invoice_tokens("INV-2026-000123, -000124") == {("INV", 2026, 123), ("INV", 2026, 124)}


def test_a_transfer_quoting_its_amount_pays_the_invoice_it_names() -> None:
    named = _inv(123, "1190.00", date(2026, 12, 20))
    older = _inv(1190, "1190.00", date(2026, 12, 1))  # same client, same amount, due earlier
    items = OpenItems.build([named, older])
    tx = StatementTransaction(
        account="DE89370400440532013000",
        booking_date=date(2026, 12, 18),
        amount=Decimal("1190.00"),
        currency="EUR",
        counterparty_name="Acme GmbH",
        remittance="INV-2026-000123, 1190.00 EUR",
    )
    m = match(tx, items)
    assert (m.outcome, m.allocations) == (Outcome.APPLIED, ((123, Decimal("1190.00")),))
