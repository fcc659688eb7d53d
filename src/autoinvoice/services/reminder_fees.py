"""Late fees as receivables: a reminder's fee is raised as an invoice of its own.

A fee that lived only on the reminder ("Total due" = balance + fee) was never in the ledger:
when the client paid the total, the part above the invoice's balance was booked as an
overpayment, kept as client credit and spent on the client's next invoice — the fee was
handed back. So when a reminder with a fee is sent, the fee is issued as an ordinary invoice
(numbered from the reminded invoice's series, rendered, checked against EN 16931 and
delivered like any other), and the reminder email names it. The bank matcher, the payments
ledger, the reports and the reminders then treat it as any invoice.

* Its one line is category ``O``, not subject to VAT: the sums are compensation, not the
  price of a supply (DE: § 288 Abs. 5 BGB, damages; FR: Code de commerce L441-10 II, the
  indemnité forfaitaire is not subject to TVA). EN 16931 BR-O-02 forbids the VAT
  identifiers on such an invoice; ``domain/en16931.py`` leaves them out.
* It takes the reminded invoice's payment terms, from the day the reminder is sent.
* Its ``source_key`` is ``reminder-fee:<reminder id>`` (unique): a retried send finds the
  fee invoice raised before instead of raising a second one, and the key is how the scan
  knows a fee invoice — which gets reminders like any invoice, but never a fee of its own
  (no fees on fees).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ..domain.invoice import Invoice, InvoiceLine
from ..domain.money import Money
from ..domain.parties import Party
from ..domain.tax import LineTax, TaxCategory
from .invoicing import _issued, _number
from .ports import ClientRecord, EntityRecord, UnitOfWork

FEE_KEY = "reminder-fee:"
NOTE = "Compensation for late payment, not subject to VAT"


def fee_key(reminder_id: int) -> str:
    """The ``source_key`` of the fee invoice a reminder raised.

    >>> fee_key(7)
    'reminder-fee:7'
    """
    return f"{FEE_KEY}{reminder_id}"


def is_fee_invoice(invoice: Invoice) -> bool:
    return (invoice.source_key or "").startswith(FEE_KEY)


def fee_invoice(
    inv: Invoice, fee: Money, *, seller: Party, buyer: Party, reminder_id: int
) -> Invoice:
    """The draft fee invoice for ``fee`` charged by reminder ``reminder_id`` on ``inv``, between
    the parties as they are now."""
    line = InvoiceLine(
        f"Late payment fee for invoice {inv.number} of {inv.issue_date} (due {inv.due_date})",
        Decimal(1),
        fee.amount,
        LineTax(TaxCategory.OUTSIDE_SCOPE, Decimal(0), (), NOTE),
    )
    return Invoice(
        seller=seller,
        buyer=buyer,
        currency=inv.currency,
        terms=inv.terms,
        lines=[line],
        rounding=inv.rounding,
        buyer_reference=inv.buyer_reference,
        notes=(f"Late fee charged with the payment reminder for invoice {inv.number}.",),
        entity_id=inv.entity_id,
        client_id=inv.client_id,
        series_id=inv.series_id,
        source_key=fee_key(reminder_id),
    )


def raise_fee_invoice(
    uow: UnitOfWork,
    inv: Invoice,
    fee: Money,
    *,
    client: ClientRecord,
    entity: EntityRecord,
    reminder_id: int,
    now: datetime,
    actor: str,
) -> Invoice:
    """Issue the fee invoice of reminder ``reminder_id`` in the caller's transaction, or
    return the one it raised before. A fee invoice that fails its checks raises
    ``NeedsAttention`` and nothing is stored: the reminder is not sent without it."""
    found = uow.reminders.fee_invoice_of(reminder_id)
    if found is not None:
        return uow.invoices.get(found)
    draft = fee_invoice(inv, fee, seller=entity.party, buyer=client.party, reminder_id=reminder_id)
    draft.created_at = now
    seq = _number(draft, entity, uow=uow, now=now)
    uow.invoices.add(draft, seq=seq)
    _issued(draft, uow=uow, now=now, actor=actor)
    return draft


__all__ = ["FEE_KEY", "fee_invoice", "fee_key", "is_fee_invoice", "raise_fee_invoice"]
