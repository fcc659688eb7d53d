"""Sample invoices for each tax situation, shared by the document and e-invoice tests.

Each is an issued domain ``Invoice`` built through the real tax rules (``determine_tax``); the
tax ids and IBANs have valid check digits but belong to no one.

- ``domestic_vat``: Hamburg GmbH → Berlin GmbH, 19 % VAT (category S), three lines
- ``reverse_charge``: Hamburg GmbH → Lyon SAS, EU B2B services, 0 % (AE)
- ``export``: Hamburg GmbH → New York Inc., outside the EU, 0 % (G)
- ``india_intra``: Bengaluru Pvt Ltd → Bengaluru client, CGST 9 % + SGST 9 % (S 18)
- ``india_inter``: Bengaluru Pvt Ltd → Mumbai client, IGST 18 % (S 18)
- ``india_export``: Bengaluru Pvt Ltd → London client, zero-rated under LUT (Z)
- ``credit_note``: a credit note correcting ``domestic_vat``
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from autoinvoice.domain.en16931 import EInvoice, from_invoice
from autoinvoice.domain.invoice import Invoice, InvoiceKind, InvoiceLine
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.tax import TaxKind, determine_tax
from autoinvoice.domain.terms import PaymentTerms

ISSUED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

DE_SELLER = Party(
    "Nordlicht Software GmbH",
    "DE",
    Address(("Schanzenstraße 12",), "Hamburg", "20357", "DE"),
    "DE123456788",
    ("billing@nordlicht-software.de",),
    peppol_id="9930:DE123456788",
)
DE_BANK = {
    "bank_name": "Commerzbank Hamburg",
    "account_holder": "Nordlicht Software GmbH",
    "iban": "DE89370400440532013000",
    "bic": "COBADEFFXXX",
}
IN_SELLER = Party(
    "Kaveri Cloud Services Private Limited",
    "IN",
    Address(("4th Floor, 80 Feet Road", "Koramangala"), "Bengaluru", "560034", "IN", "KA"),
    "29AAGCB7383J1Z4",
    ("accounts@kavericloud.in",),
)
IN_BANK = {
    "bank_name": "HDFC Bank, Koramangala",
    "account_holder": "Kaveri Cloud Services Pvt Ltd",
    "account_number": "50200012345678",
    "ifsc": "HDFC0000053",
    "upi": "kavericloud@hdfcbank",
}

BUYERS = {
    "domestic_vat": Party(
        "Spreeblick Medien GmbH",
        "DE",
        Address(("Torstraße 140",), "Berlin", "10119", "DE"),
        "DE136695976",
        ("rechnungen@spreeblick-medien.de",),
    ),
    "reverse_charge": Party(
        "Atelier Numérique SAS",
        "FR",
        Address(("27 rue de la République",), "Lyon", "69002", "FR"),
        "FR11123456782",
        ("factures@atelier-numerique.fr",),
        peppol_id="0009:12345678200010",
    ),
    "export": Party(
        "Hudson Analytics Inc.",
        "US",
        Address(("350 Fifth Avenue, Suite 4200",), "New York, NY", "10118", "US"),
        None,
        ("ap@hudson-analytics.com",),
    ),
    "india_intra": Party(
        "Malleshwaram Retail LLP",
        "IN",
        Address(("12, Sampige Road",), "Bengaluru", "560003", "IN", "KA"),
        "29AAACR5055K1Z3",
        ("finance@malleshwaram-retail.in",),
    ),
    "india_inter": Party(
        "Dadar Logistics Private Limited",
        "IN",
        Address(("Plot 7, Senapati Bapat Marg",), "Mumbai", "400028", "IN", "MH"),
        "27AAACR5055K1Z7",
        ("ap@dadarlogistics.in",),
    ),
    "india_export": Party(
        "Thames Fintech Ltd",
        "GB",
        Address(("1 Canada Square",), "London", "E14 5AB", "GB"),
        "GB980780684",
        ("payables@thamesfintech.co.uk",),
    ),
}

_LINES = [
    ("Backend development: payment service migration", "32", "120.00", "h"),
    ("Architecture and code review", "6.5", "150.00", "h"),
    ("Managed hosting, production cluster, November 2026", "1", "490.00", "month"),
]
_IN_LINES = [
    ("Cloud operations retainer, November 2026", "1", "85000.00", "month"),
    ("Kubernetes upgrade — senior engineer", "14.5", "4200.00", "h"),
]


def _issued(seller: Party, buyer: Party, currency: str, lines: list, number: str) -> Invoice:
    inv = Invoice(seller, buyer, currency, PaymentTerms.parse("net:30"))
    tax = determine_tax(seller.tax_profile, buyer.tax_profile, TaxKind.STANDARD)
    for desc, qty, price, unit in lines:
        start, end = (date(2026, 11, 1), date(2026, 11, 30)) if unit == "month" else (None, None)
        inv.add_line(InvoiceLine(desc, Decimal(qty), Decimal(price), tax, unit, start, end))
    inv.issue(number, date(2026, 12, 1), ISSUED_AT)
    inv.id = 1
    return inv


def invoice(situation: str) -> Invoice:
    """The issued domain invoice for ``situation`` (see the module docstring)."""
    if situation == "credit_note":
        original = invoice("domestic_vat")
        credit = Invoice(
            original.seller,
            original.buyer,
            "EUR",
            PaymentTerms.parse("receipt"),
            kind=InvoiceKind.CREDIT_NOTE,
        )
        credit.add_line(
            InvoiceLine(
                "Credit for Architecture and code review (billed twice)",
                Decimal("6.5"),
                Decimal("150.00"),
                original.lines[1].tax,
                "h",
            )
        )
        credit.issue("CN-2026-000004", date(2026, 12, 3), ISSUED_AT)
        return credit
    buyer = BUYERS[situation]
    if situation.startswith("india"):
        return _issued(IN_SELLER, buyer, "INR", _IN_LINES, "KCS/26-27/0042")
    return _issued(DE_SELLER, buyer, "EUR", _LINES, "INV-2026-000123")


def bank(situation: str) -> dict[str, str]:
    return IN_BANK if situation.startswith("india") else DE_BANK


def einvoice(situation: str) -> EInvoice:
    """The EN 16931 model of ``invoice(situation)``."""
    inv = invoice(situation)
    preceding = ("INV-2026-000123", date(2026, 12, 1)) if situation == "credit_note" else None
    return from_invoice(
        inv, bank=bank(situation), seller_email=inv.seller.emails[0], preceding=preceding
    )


SITUATIONS = (
    "domestic_vat",
    "reverse_charge",
    "export",
    "india_intra",
    "india_inter",
    "india_export",
    "credit_note",
)

Mutation = Callable[[EInvoice], EInvoice]


def changed(doc: EInvoice, **fields: object) -> EInvoice:
    """A copy of ``doc`` with ``fields`` replaced (for rule tests that break one thing)."""
    return replace(doc, **fields)  # type: ignore[arg-type]
