"""Drafts written by hand (``POST /api/v1/invoices``): a client, lines, optional contract.

The domain computes the totals. A line's tax is decided as for the drafts the rules make
(``determine_tax`` from the seller's and buyer's places and the line's tax kind) unless the
caller names the category and rate itself. The pre-flight checks run at once: a draft
that would not issue today is stored all the same, with its ``hold_reason`` saying why —
it takes no number until it is issued.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ..domain.errors import InvalidValue
from ..domain.invoice import Invoice, InvoiceLine
from ..domain.lint import NeedsAttention
from ..domain.money import check_currency, to_decimal
from ..domain.recurrence import zone
from ..domain.tax import (
    NOTE_EXEMPT,
    NOTE_EXPORT,
    NOTE_REVERSE_CHARGE,
    LineTax,
    TaxCategory,
    TaxComponent,
    TaxKind,
    determine_tax,
)
from ..domain.terms import PaymentTerms
from .einvoices import preflight
from .installation_settings import entity_tax_kind
from .invoicing import save_draft
from .ports import Clock, UnitOfWork

MAX_LINES = 500
MAX_TOTAL = Decimal(10) ** 15  # what the NUMERIC(24, 6) columns hold, with room
_NOTES = {
    TaxCategory.EXEMPT: NOTE_EXEMPT,
    TaxCategory.REVERSE_CHARGE: NOTE_REVERSE_CHARGE,
    TaxCategory.EXPORT: NOTE_EXPORT,
}


@dataclass(frozen=True, slots=True)
class DraftLine:
    description: str
    quantity: Decimal | str
    unit_price: Decimal | str
    unit: str = "unit"
    tax_kind: str | None = None  # default: the contract's, else the entity's (Settings → Taxes)
    tax_category: str | None = None  # with tax_rate: the tax named, not decided
    tax_rate: Decimal | str | None = None


@dataclass(frozen=True, slots=True)
class NewDraft:
    client_id: int
    lines: Sequence[DraftLine]
    currency: str | None = None  # default: the contract's, else the client's
    terms: str | None = None  # default: the contract's, else the client's
    contract_id: int | None = None
    buyer_reference: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _tax(line: DraftLine, i: int, invoice: Invoice, default_kind: TaxKind) -> LineTax:
    where = f"lines[{i}]"
    if line.tax_category is None and line.tax_rate is None:
        try:
            kind = default_kind if line.tax_kind is None else TaxKind(line.tax_kind)
        except ValueError:
            kinds = ", ".join(k.value for k in TaxKind)
            raise InvalidValue(f"use one of: {kinds}", field=f"{where}.tax_kind") from None
        return determine_tax(invoice.seller.tax_profile, invoice.buyer.tax_profile, kind)
    if line.tax_category is None or line.tax_rate is None:
        raise InvalidValue("give both tax_category and tax_rate, or neither", field=where)
    try:
        category = TaxCategory(line.tax_category)
    except ValueError:
        codes = ", ".join(c.value for c in TaxCategory)
        raise InvalidValue(f"use one of: {codes}", field=f"{where}.tax_category") from None
    rate = to_decimal(line.tax_rate, field=f"{where}.tax_rate")
    if not Decimal(0) <= rate <= Decimal(100):
        raise InvalidValue("a rate is between 0 and 100", field=f"{where}.tax_rate")
    if category is not TaxCategory.STANDARD and rate:
        raise InvalidValue(f"category {category.value} has a rate of 0", field=f"{where}.tax_rate")
    if invoice.seller.country == "IN" and category is TaxCategory.STANDARD:
        raise InvalidValue(
            "GST is split by the place of supply: give tax_kind instead", field=f"{where}"
        )
    vat = (TaxComponent("VAT", rate),)
    return LineTax.of(
        category.value,
        rate,
        vat if rate or category is TaxCategory.ZERO else (),
        _NOTES.get(category),
    )


def _line(line: DraftLine, i: int, invoice: Invoice, default_kind: TaxKind) -> InvoiceLine:
    where = f"lines[{i}]"
    description = " ".join(line.description.split())
    if not description:
        raise InvalidValue("describe what is billed", field=f"{where}.description")
    quantity = to_decimal(line.quantity, field=f"{where}.quantity")
    price = to_decimal(line.unit_price, field=f"{where}.unit_price")
    if quantity <= 0:
        raise InvalidValue("the quantity must be positive", field=f"{where}.quantity")
    if price < 0:
        raise InvalidValue("the unit price may not be negative", field=f"{where}.unit_price")
    unit = line.unit.strip() or "unit"
    return InvoiceLine(description, quantity, price, _tax(line, i, invoice, default_kind), unit)


def create_draft(cmd: NewDraft, *, uow: UnitOfWork, clock: Clock, actor: str) -> int:
    """Store a draft invoice made by hand; returns its id (audited ``invoice.drafted``)."""
    if not cmd.lines:
        raise InvalidValue("an invoice needs at least one line", field="lines")
    if len(cmd.lines) > MAX_LINES:
        raise InvalidValue(f"at most {MAX_LINES} lines", field="lines")
    now = clock.now()
    with uow:
        client = uow.clients.get(cmd.client_id)
        entity = uow.entities.get(client.entity_id)
        contract = uow.contracts.get(cmd.contract_id) if cmd.contract_id else None
        if contract is not None and contract.client_id != client.id:
            raise InvalidValue("this contract is another client's", field="contract_id")
        default_currency = contract.currency if contract else client.currency
        default_terms = contract.terms if contract else client.terms
        default_kind = contract.tax_kind if contract else entity_tax_kind(uow, entity.id)
        invoice = Invoice(
            seller=entity.party,
            buyer=client.party,
            currency=check_currency(cmd.currency or default_currency),
            terms=PaymentTerms.parse(cmd.terms) if cmd.terms else default_terms,
            buyer_reference=(cmd.buyer_reference or "").strip() or None,
            notes=tuple(n.strip() for n in cmd.notes if n.strip()),
        )
        for i, line in enumerate(cmd.lines):
            invoice.add_line(_line(line, i, invoice, default_kind))
        if invoice.totals().gross.amount >= MAX_TOTAL:
            raise InvalidValue(f"the total must stay below {MAX_TOTAL:,}", field="lines")
        invoice.entity_id = entity.id
        today = now.astimezone(zone(entity.timezone)).date()
        findings = preflight(invoice, entity, contract, today=today)
        invoice.hold_reason = str(NeedsAttention(findings)) if findings else None
        invoice_id = save_draft(
            invoice,
            uow=uow,
            client_id=client.id,
            now=now,
            actor=actor,
            contract_id=contract.id if contract else None,
        )
        uow.commit()
    return invoice_id


__all__ = ["DraftLine", "NewDraft", "create_draft"]
