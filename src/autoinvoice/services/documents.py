"""Lay an invoice out as the document a template renders: every figure formatted for the
client's language with babel, every label translated, nothing left for the template to
compute.

The shape is the contract with ``adapters/documents/pdf.py`` (its ``sample_document`` is an
example); the figures all come from ``Invoice.totals()`` — the same ones the e-invoice XML
(``domain/en16931.py``), the portal, the email and the API show.

Payment aids: the ISO 11649 creditor reference made from the invoice number, and a QR code
where the currency and the bank details allow it — EPC (SEPA credit transfer) for euro
invoices paid to an IBAN, UPI for rupee invoices paid to a UPI address. Drafts carry
neither (they have no number and must not be paid).
"""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from ..domain.invoice import Invoice, InvoiceKind, InvoiceLine
from ..domain.parties import Party, country_name
from ..domain.payment_aids import (
    creditor_reference,
    epc_qr_payload,
    format_creditor_reference,
    upi_payload,
)
from ..domain.terms import PaymentTerms, TermsKind
from .labels import labels_for, title_for, translate_note
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


def payment_instructions(invoice: Invoice, entity: EntityRecord, locale: str = "en") -> list[str]:
    """How to pay, in the client's language (bank names and numbers as they are)."""
    bank, t = entity.bank, labels_for(locale)
    out = []
    if bank.get("bank_name"):
        out.append(f"{t['bank']}: {bank['bank_name']}")
    if bank.get("account_holder"):
        out.append(f"{t['account_holder']}: {bank['account_holder']}")
    if bank.get("iban"):
        iban = bank["iban"].replace(" ", "")
        out.append("IBAN: " + " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)))
    if bank.get("bic"):
        out.append(f"BIC: {bank['bic']}")
    if bank.get("account_number"):
        out.append(f"{t['account']}: {bank['account_number']}")
    if bank.get("ifsc"):
        out.append(f"IFSC: {bank['ifsc']}")
    if bank.get("upi"):
        out.append(f"UPI: {bank['upi']}")
    return out


def describe_terms(terms: PaymentTerms, locale: str = "en") -> str:
    """The payment terms in the client's language ("Net 30 days", "Paiement à 30 jours")."""
    t = labels_for(locale)
    if terms.kind is TermsKind.DUE_ON_RECEIPT:
        return t["terms_receipt"]
    key = "terms_net" if terms.kind is TermsKind.NET else "terms_eom"
    return t[key].format(days=terms.days)


def payment_qr(invoice: Invoice, entity: EntityRecord, locale: str) -> dict[str, str] | None:
    """The QR code a client scans to pay the open balance, or None where none fits."""
    bank, due = entity.bank, invoice.balance.amount
    if not invoice.number or due <= 0:
        return None
    labels = labels_for(locale)
    if invoice.currency == "EUR" and bank.get("iban"):
        payload = epc_qr_payload(
            name=bank.get("account_holder") or entity.party.name,
            iban=bank["iban"],
            bic=bank.get("bic"),
            amount=due,
            reference=creditor_reference(invoice.number),
        )
        return {"kind": "EPC", "payload": payload, "caption": labels["scan_to_pay"]}
    if invoice.currency == "INR" and bank.get("upi"):
        payload = upi_payload(
            vpa=bank["upi"],
            name=bank.get("account_holder") or entity.party.name,
            amount=due,
            reference=invoice.number,
            note=f"{labels['invoice_no']} {invoice.number}",
        )
        return {"kind": "UPI", "payload": payload, "caption": labels["scan_to_pay"]}
    return None


def _line(i: int, ln: InvoiceLine, c: str, locale: str) -> dict[str, Any]:
    description = ln.description
    if ln.group and f" — {ln.group}" in description:  # the heading already names the person
        description = description.replace(f" — {ln.group}", "", 1)
    detail = None
    if ln.unit == "seat":
        qty = format_decimal(ln.quantity.normalize(), locale=locale)
        detail = f"{qty} × {_money(ln.unit_price, c, locale)}"
    return {
        "position": i,
        "description": description,
        "group": ln.group,
        "detail": detail,
        "quantity": format_decimal(ln.quantity.normalize(), locale=locale),
        "unit": ln.unit,
        "unit_price": _money(ln.unit_price, c, locale),
        "tax": ln.tax.label,
        "net": _money(ln.net(c), c, locale),
        "period": _period(ln.period_start, ln.period_end, locale),
    }


def _tax_rows(invoice: Invoice, locale: str) -> list[dict[str, str]]:
    c = invoice.currency
    rows = []
    for b in invoice.totals().breakdown:
        if len(b.components) > 1:
            for comp in b.components:
                rows.append(
                    {
                        "label": f"{comp.name} {format_decimal(comp.rate, locale=locale)} %",
                        "taxable": _money(b.taxable, c, locale),
                        "tax": _money(comp.amount, c, locale),
                    }
                )
        else:
            rows.append(
                {
                    "label": b.tax.label,
                    "taxable": _money(b.taxable, c, locale),
                    "tax": _money(b.amount, c, locale),
                }
            )
    return rows


def _branding(entity: EntityRecord) -> dict[str, Any]:
    b = entity.branding
    logo = None
    if b.logo is not None and b.logo_format:
        logo = {"format": b.logo_format, "data": base64.b64encode(b.logo).decode()}
    return {"layout": b.layout, "accent": b.accent, "font": b.font, "logo": logo}


def invoice_document(
    invoice: Invoice, entity: EntityRecord, locale: str = "en", *, facturx: bool = False
) -> dict[str, Any]:
    c = invoice.currency
    totals = invoice.totals()
    starts = [ln.period_start for ln in invoice.lines if ln.period_start]
    ends = [ln.period_end for ln in invoice.lines if ln.period_end]
    lang = locale.split("_")[0]
    labels = labels_for(lang)
    credit = invoice.kind is InvoiceKind.CREDIT_NOTE
    gst = invoice.seller.country == "IN" and any(
        comp.name in ("CGST", "SGST", "IGST") for ln in invoice.lines for comp in ln.tax.components
    )
    reference = creditor_reference(invoice.number) if invoice.number else None
    return {
        "title": title_for("credit_note" if credit else "invoice", lang, tax_invoice=gst),
        "kind": invoice.kind.value,
        "number": invoice.number,
        "status": invoice.status.value,
        "issue_date": _date(invoice.issue_date, locale),
        "due_date": _date(invoice.due_date, locale) or describe_terms(invoice.terms, lang),
        "service_period": _period(
            min(starts) if starts else None, max(ends) if ends else None, locale
        ),
        "currency": c,
        "lang": lang,
        "labels": labels,
        "branding": _branding(entity),
        "facturx": facturx,
        "seller": {**_party(invoice.seller, locale), "email": entity.email, "phone": entity.phone},
        "buyer": _party(invoice.buyer, locale, invoice.buyer_reference),
        "lines": [_line(i, ln, c, locale) for i, ln in enumerate(invoice.lines, 1)],
        "tax_summary": _tax_rows(invoice, locale),
        "notes": [translate_note(n, lang) for n in invoice.legal_notes()],
        "totals": {
            "net": _money(totals.net.amount, c, locale),
            "tax": _money(totals.tax.amount, c, locale),
            "gross": _money(totals.gross.amount, c, locale),
            # a credit note is settled on issue: the whole amount is what it credits
            "paid": None if credit else _money(invoice.amount_paid, c, locale),
            "due": _money(totals.gross.amount if credit else invoice.balance.amount, c, locale),
        },
        "payment": {
            "terms": describe_terms(invoice.terms, lang),
            "instructions": payment_instructions(invoice, entity, lang),
            "reference": format_creditor_reference(reference) if reference else None,
            "qr": payment_qr(invoice, entity, lang),
        },
        "footer": entity.footer,
    }
