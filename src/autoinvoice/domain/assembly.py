"""Assembly: contract + parties + what happened → a draft invoice with lines and tax.

Each billing model lays out its lines the way a client reads them: a retainer as one line
with its service period (or seats × price), milestones as separate phase lines, time as
hours grouped by person and task at the role's rate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from .contracts import BillingModel, Contract, TimeEntry
from .errors import InvalidValue, MissingData
from .invoice import Invoice, InvoiceLine
from .money import quantize
from .parties import Party
from .tax import TaxKind, determine_tax
from .terms import PaymentTerms


def _draft(contract: Contract, seller: Party, buyer: Party) -> Invoice:
    return Invoice(seller=seller, buyer=buyer, currency=contract.currency, terms=contract.terms)


def _fmt_period(start: date, end: date) -> str:
    return f"{start:%d %b %Y} – {end:%d %b %Y}"


def assemble_retainer(
    contract: Contract, seller: Party, buyer: Party, occurrence: datetime
) -> Invoice:
    if contract.model is not BillingModel.RETAINER or contract.recurrence is None:
        raise InvalidValue(f"contract {contract.name!r} is not a retainer", field="contract")
    start, end = contract.recurrence.period(occurrence)
    tax = determine_tax(seller.tax_profile, buyer.tax_profile, contract.tax_kind)
    base = contract.description or contract.name
    inv = _draft(contract, seller, buyer)
    if contract.seats is not None and contract.seat_price is not None:
        line = InvoiceLine(
            f"{base}: {contract.seats} seats, {_fmt_period(start, end)}",
            Decimal(contract.seats),
            contract.seat_price,
            tax,
            "seat",
            start,
            end,
        )
    else:
        assert contract.amount is not None
        line = InvoiceLine(
            f"{base}, {_fmt_period(start, end)}",
            Decimal(1),
            contract.amount,
            tax,
            "month",
            start,
            end,
        )
    inv.add_line(line)
    return inv


def assemble_milestones(
    contract: Contract, seller: Party, buyer: Party, names: Iterable[str]
) -> Invoice:
    if contract.model is not BillingModel.MILESTONE:
        raise InvalidValue(f"contract {contract.name!r} has no milestones", field="contract")
    tax = determine_tax(seller.tax_profile, buyer.tax_profile, contract.tax_kind)
    inv = _draft(contract, seller, buyer)
    for name in names:
        m = contract.milestone(name)
        inv.add_line(
            InvoiceLine(
                f"{contract.name} — milestone: {m.name}", Decimal(1), m.amount, tax, "phase"
            )
        )
    if not inv.lines:
        raise MissingData("no milestone was named to bill", field="milestones")
    return inv


def assemble_time(
    contract: Contract, seller: Party, buyer: Party, entries: Iterable[TimeEntry]
) -> Invoice:
    """Hours grouped by (person, role, task), each group one line at the role's rate."""
    if contract.model is not BillingModel.TIME_AND_MATERIALS:
        raise InvalidValue(
            f"contract {contract.name!r} is not time and materials", field="contract"
        )
    tax = determine_tax(seller.tax_profile, buyer.tax_profile, contract.tax_kind)
    groups: dict[tuple[str, str, str], list[TimeEntry]] = defaultdict(list)
    for e in entries:
        groups[(e.person, e.role, e.task)].append(e)
    inv = _draft(contract, seller, buyer)
    for (person, role, task), items in sorted(groups.items()):
        hours = sum((e.hours for e in items), Decimal(0))
        start, end = min(e.day for e in items), max(e.day for e in items)
        inv.add_line(
            InvoiceLine(
                f"{task} — {person} ({role})",
                hours,
                contract.rate_for(role).hourly,
                tax,
                "h",
                start,
                end,
                group=person,
            )
        )
    if not inv.lines:
        raise MissingData("there are no time entries to bill", field="entries")
    return inv


@dataclass(frozen=True, slots=True)
class DealLine:
    name: str
    quantity: Decimal
    unit_price: Decimal


def assemble_deal(
    seller: Party,
    buyer: Party,
    *,
    currency: str,
    terms: PaymentTerms,
    title: str,
    amount: Decimal | None,
    products: Iterable[DealLine] = (),
    tax_kind: TaxKind = TaxKind.STANDARD,
) -> Invoice:
    """A won deal: its products as lines, or one line with the deal amount. When both are
    given they must agree, so a deal edited in the CRM cannot bill a different total."""
    tax = determine_tax(seller.tax_profile, buyer.tax_profile, tax_kind)
    inv = Invoice(seller=seller, buyer=buyer, currency=currency, terms=terms)
    for p in products:
        inv.add_line(InvoiceLine(p.name, p.quantity, p.unit_price, tax, "unit"))
    if not inv.lines:
        if amount is None or amount <= 0:
            raise MissingData(f"deal {title!r} has no amount and no products", field="amount")
        inv.add_line(InvoiceLine(title, Decimal(1), amount, tax, "unit"))
    elif amount is not None and inv.totals().net.amount != quantize(
        amount, currency, ROUND_HALF_UP
    ):
        raise InvalidValue(
            f"deal {title!r}: the products add up to {inv.totals().net.amount} but the deal amount "
            f"is {amount}",
            field="amount",
        )
    return inv


__all__ = ["DealLine", "assemble_deal", "assemble_milestones", "assemble_retainer", "assemble_time"]
