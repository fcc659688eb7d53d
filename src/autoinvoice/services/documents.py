"""Lay an invoice out as the document a template renders: every figure formatted for the
client's language with babel, nothing left for the template to compute.

The shape is the contract with ``adapters/documents/pdf.py`` (and later the e-invoice
writers): see :func:`invoice_document`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from ..domain.invoice import Invoice, InvoiceKind
from ..domain.parties import Party, country_name
from .ports import EntityRecord


def _money(amount: Decimal, currency: str, locale: str) -> str:
    return format_currency(amount, currency, locale=locale)


def _date(d: date | None, locale: str) -> str | None:
    return format_date(d, format="medium", locale=locale) if d else None


def _party(p: Party, locale: str, reference: str | None = None) -> dict[str, Any]:
    return {
        "name": p.name,
        "address_lines": p.address.formatted() if p.address else [],
        "country": country_name(p.country, locale),
        "tax_id": p.tax_id,
        "email": p.emails[0] if p.emails else None,
        "phone": p.extra.get("phone"),
        "reference": reference,
    }


def _period(start: date | None, end: date | None, locale: str) -> str | None:
    if not start or not end:
        return None
    return f"{_date(start, locale)} – {_date(end, locale)}"


def payment_instructions(invoice: Invoice, entity: EntityRecord) -> list[str]:
    bank = entity.bank
    out = []
    if bank.get("bank_name"):
        out.append(f"Bank: {bank['bank_name']}")
    if bank.get("account_holder"):
        out.append(f"Account holder: {bank['account_holder']}")
    if bank.get("iban"):
        iban = bank["iban"].replace(" ", "")
        out.append("IBAN: " + " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)))
    if bank.get("bic"):
        out.append(f"BIC: {bank['bic']}")
    if bank.get("account_number"):
        out.append(f"Account: {bank['account_number']}")
    if bank.get("ifsc"):
        out.append(f"IFSC: {bank['ifsc']}")
    if bank.get("upi"):
        out.append(f"UPI: {bank['upi']}")
    if invoice.number:
        out.append(f"Reference: {invoice.number}")
    return out


def invoice_document(invoice: Invoice, entity: EntityRecord, locale: str = "en") -> dict[str, Any]:
    c = invoice.currency
    totals = invoice.totals()
    starts = [ln.period_start for ln in invoice.lines if ln.period_start]
    ends = [ln.period_end for ln in invoice.lines if ln.period_end]
    tax_rows = []
    for b in totals.breakdown:
        if len(b.components) > 1:
            for comp in b.components:
                tax_rows.append(
                    {
                        "label": f"{comp.name} {format_decimal(comp.rate, locale=locale)} %",
                        "taxable": _money(b.taxable, c, locale),
                        "tax": _money(comp.amount, c, locale),
                    }
                )
        else:
            tax_rows.append(
                {
                    "label": b.tax.label,
                    "taxable": _money(b.taxable, c, locale),
                    "tax": _money(b.amount, c, locale),
                }
            )
    return {
        "title": "Credit note" if invoice.kind is InvoiceKind.CREDIT_NOTE else "Invoice",
        "number": invoice.number,
        "status": invoice.status.value,
        "issue_date": _date(invoice.issue_date, locale),
        "due_date": _date(invoice.due_date, locale) or invoice.terms.describe(),
        "service_period": _period(
            min(starts) if starts else None, max(ends) if ends else None, locale
        ),
        "currency": c,
        "lang": locale.split("_")[0],
        "seller": {**_party(invoice.seller, locale), "email": entity.email, "phone": entity.phone},
        "buyer": _party(invoice.buyer, locale, invoice.buyer_reference),
        "lines": [
            {
                "position": i,
                "description": ln.description,
                "quantity": format_decimal(ln.quantity.normalize(), locale=locale),
                "unit": ln.unit,
                "unit_price": _money(ln.unit_price, c, locale),
                "tax": ln.tax.label,
                "net": _money(ln.net(c), c, locale),
                "period": _period(ln.period_start, ln.period_end, locale),
            }
            for i, ln in enumerate(invoice.lines, 1)
        ],
        "tax_summary": tax_rows,
        "notes": invoice.legal_notes(),
        "totals": {
            "net": _money(totals.net.amount, c, locale),
            "tax": _money(totals.tax.amount, c, locale),
            "gross": _money(totals.gross.amount, c, locale),
            "paid": _money(invoice.amount_paid, c, locale),
            "due": _money(invoice.balance.amount, c, locale),
        },
        "payment": {
            "terms": invoice.terms.describe(),
            "instructions": payment_instructions(invoice, entity),
        },
        "footer": entity.footer,
    }
