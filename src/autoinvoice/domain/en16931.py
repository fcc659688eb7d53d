"""The invoice in the terms of EN 16931-1:2017 (the European e-invoice semantic model).

One :class:`EInvoice` is built from a domain :class:`~.invoice.Invoice` by :func:`from_invoice`
and is what every e-invoice syntax writes — UBL 2.1 (Peppol BIS Billing 3.0) and UN/CEFACT
CII (Factur-X / ZUGFeRD EN 16931 profile) — and what the business rules
(``en16931_rules``) check. The figures are taken from ``Invoice.totals()`` and never computed
again here, so the PDF, the XML, the portal and the API show one set of numbers.

Field names carry the business term they stand for (BT-n, BG-n). Amounts are ``Decimal`` in
the invoice currency, rounded to its minor unit; quantities and prices keep their precision.

VAT categories (UNCL 5305): ``S`` standard, ``Z`` zero rated, ``E`` exempt, ``AE`` reverse
charge, ``G`` export outside the EU, ``O`` outside the scope. Exemption reason codes are from
the CEF VATEX code list. India GST is written as category ``S`` at the combined rate
(CGST + SGST or IGST), its tax amount the sum of the components; EN 16931 itself has no
notion of split GST, and India's legal e-invoice is the GST IRP schema, not this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .errors import InvalidValue
from .invoice import Invoice, InvoiceKind
from .parties import Party, check_peppol_id
from .payment_aids import creditor_reference
from .tax import EU_COUNTRIES, TaxCategory

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
CII_GUIDELINE_ID = "urn:cen.eu:en16931:2017"  # Factur-X / ZUGFeRD EN 16931 (COMFORT) profile

TYPE_INVOICE = "380"  # UNCL 1001 commercial invoice
TYPE_CREDIT_NOTE = "381"  # UNCL 1001 credit note

# UN/ECE Recommendation 20 unit codes for the units assembly uses
UNIT_CODES = {
    "h": "HUR",
    "hour": "HUR",
    "hours": "HUR",
    "day": "DAY",
    "days": "DAY",
    "month": "MON",
    "months": "MON",
    "year": "ANN",
    "seat": "C62",
    "phase": "C62",
    "unit": "C62",
    "piece": "H87",
}

# CEF VATEX codes and the text printed with them (BT-120/BT-121)
EXEMPTION = {
    TaxCategory.REVERSE_CHARGE: ("VATEX-EU-AE", "Reverse charge"),
    TaxCategory.EXPORT: ("VATEX-EU-G", "Export outside the EU"),
    TaxCategory.OUTSIDE_SCOPE: ("VATEX-EU-O", "Not subject to VAT"),
    TaxCategory.EXEMPT: ("VATEX-EU-132", "Exempt from VAT"),
}

PAYMENT_MEANS_SEPA = "58"  # UNCL 4461 SEPA credit transfer
PAYMENT_MEANS_CREDIT_TRANSFER = "30"
PAYMENT_MEANS_NOT_DEFINED = "1"


@dataclass(frozen=True, slots=True)
class ElectronicAddress:
    """BT-34 / BT-49 with its scheme (the Peppol EAS code list: 0208, 9930, EM …)."""

    scheme: str
    value: str

    @classmethod
    def parse(cls, text: str, *, field: str = "peppol_id") -> ElectronicAddress:
        scheme, value = check_peppol_id(text, field=field).split(":", 1)
        return cls(scheme, value)


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """BG-5 / BG-8."""

    line1: str | None  # BT-35 / BT-50
    line2: str | None  # BT-36 / BT-51
    city: str | None  # BT-37 / BT-52
    postal_code: str | None  # BT-38 / BT-53
    subdivision: str | None  # BT-39 / BT-54
    country: str  # BT-40 / BT-55


@dataclass(frozen=True, slots=True)
class TradeParty:
    """BG-4 seller / BG-7 buyer."""

    name: str  # BT-27 / BT-44
    address: PostalAddress | None
    vat_id: str | None  # BT-31 / BT-48 (with its country prefix)
    tax_registration: str | None  # BT-32 seller tax registration that is not a VAT id
    electronic_address: ElectronicAddress | None  # BT-34 / BT-49
    email: str | None  # BT-43 / BT-58 contact email


@dataclass(frozen=True, slots=True)
class Line:
    """BG-25."""

    id: str  # BT-126
    name: str  # BT-153
    quantity: Decimal  # BT-129
    unit_code: str  # BT-130
    net_amount: Decimal  # BT-131
    price: Decimal  # BT-146 net price, per one unit
    category: TaxCategory  # BT-151
    rate: Decimal  # BT-152
    period_start: date | None = None  # BT-134
    period_end: date | None = None  # BT-135


@dataclass(frozen=True, slots=True)
class VatBreakdown:
    """BG-23."""

    category: TaxCategory  # BT-118
    rate: Decimal  # BT-119
    taxable: Decimal  # BT-116
    tax: Decimal  # BT-117
    exemption_code: str | None = None  # BT-121
    exemption_reason: str | None = None  # BT-120


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    """BG-16."""

    means_code: str  # BT-81
    remittance: str | None  # BT-83: the ISO 11649 creditor reference
    account: str | None  # BT-84 payment account identifier: an IBAN, or a local account number
    provider: str | None  # BT-86 payment service provider: BIC, or IFSC in India
    account_name: str | None  # BT-85


@dataclass(frozen=True, slots=True)
class EInvoice:
    number: str  # BT-1
    issue_date: date  # BT-2
    type_code: str  # BT-3
    currency: str  # BT-5
    due_date: date | None  # BT-9
    buyer_reference: str | None  # BT-10
    order_reference: str | None  # BT-13
    preceding_number: str | None  # BT-25
    preceding_date: date | None  # BT-26
    notes: tuple[str, ...]  # BT-22
    payment_terms: str | None  # BT-20
    seller: TradeParty
    buyer: TradeParty
    lines: tuple[Line, ...]
    breakdown: tuple[VatBreakdown, ...]
    line_total: Decimal  # BT-106
    total_without_vat: Decimal  # BT-109
    vat_total: Decimal  # BT-110
    total_with_vat: Decimal  # BT-112
    prepaid: Decimal  # BT-113
    payable: Decimal  # BT-115
    payment: PaymentInstructions | None
    period_start: date | None = None  # BT-73
    period_end: date | None = None  # BT-74
    customization_id: str = CUSTOMIZATION_ID  # BT-24
    profile_id: str = PROFILE_ID  # BT-23
    # The seller's VAT accounting currency when it differs (BT-6), with the VAT total in it
    # (BT-111): not used yet; invoices are issued in one currency.

    @property
    def is_credit_note(self) -> bool:
        return self.type_code == TYPE_CREDIT_NOTE


def unit_code(unit: str | None) -> str:
    return UNIT_CODES.get((unit or "unit").strip().lower(), "C62")


def _address(p: Party) -> PostalAddress | None:
    a = p.address
    if a is None:
        return PostalAddress(None, None, None, None, p.subdivision, p.country)
    lines = [ln for ln in a.lines if ln.strip()]
    return PostalAddress(
        lines[0] if lines else None,
        ", ".join(lines[1:]) or None,
        a.city,
        a.postal_code or None,
        _subdivision(a.country, a.subdivision),
        a.country,
    )


def _subdivision(country: str, code: str | None) -> str | None:
    if not code:
        return None
    return code if "-" in code else f"{country}-{code}"


def _vat_id(p: Party) -> str | None:
    """A VAT identifier with its ISO country prefix (BR-CO-9); other tax ids are BT-32."""
    if not p.tax_id:
        return None
    tid = p.tax_id
    if tid[:2].isalpha():
        return tid
    return None if p.country in ("IN", "US", "AU") else f"{p.country}{tid}"


def _electronic(p: Party) -> ElectronicAddress | None:
    if p.peppol_id:
        return ElectronicAddress.parse(p.peppol_id)
    if p.emails:
        return ElectronicAddress("EM", p.emails[0])
    return None


def _party(p: Party, email: str | None = None, outside_vat: bool = False) -> TradeParty:
    vat = None if outside_vat else _vat_id(p)
    return TradeParty(
        name=p.name,
        address=_address(p),
        vat_id=vat,
        tax_registration=p.tax_id if p.tax_id and not vat else None,
        electronic_address=_electronic(p),
        email=email or (p.emails[0] if p.emails else None),
    )


def _payment(invoice: Invoice, bank: dict[str, str], number: str) -> PaymentInstructions:
    """BG-16/BG-17: an IBAN (SEPA when in euro from a SEPA country), else the local account
    number (BT-84 is any payment account identifier) with its bank code — BIC or, in India,
    IFSC — as the payment service provider (BT-86)."""
    iban = (bank.get("iban") or "").replace(" ", "").upper() or None
    account = iban or (bank.get("account_number") or "").replace(" ", "") or None
    provider = (bank.get("bic") or bank.get("ifsc") or "").replace(" ", "").upper() or None
    if iban and invoice.currency == "EUR" and iban[:2] in _SEPA:
        means = PAYMENT_MEANS_SEPA
    elif account:
        means = PAYMENT_MEANS_CREDIT_TRANSFER
    else:
        means = PAYMENT_MEANS_NOT_DEFINED
    holder = bank.get("account_holder") if account else None
    return PaymentInstructions(means, creditor_reference(number), account, provider, holder)


def from_invoice(
    invoice: Invoice,
    *,
    bank: dict[str, str] | None = None,
    seller_email: str | None = None,
    number: str | None = None,
    issue_date: date | None = None,
    preceding: tuple[str, date | None] | None = None,
) -> EInvoice:
    """The EN 16931 view of ``invoice``.

    A draft has no number or dates yet: pass the ``number`` and ``issue_date`` it would get to
    check it before issuing (``preview``); an issued invoice uses its own."""
    num = invoice.number or number
    day = invoice.issue_date or issue_date
    if not num or not day:
        raise InvalidValue(
            "an e-invoice needs the invoice number and issue date; issue the invoice first",
            field="number",
        )
    due = invoice.due_date or invoice.terms.due_date(day)
    c = invoice.currency
    totals = invoice.totals()
    lines = tuple(
        Line(
            id=str(i),
            name=ln.description,
            quantity=ln.quantity,
            unit_code=unit_code(ln.unit),
            net_amount=ln.net(c),
            price=ln.unit_price,
            category=ln.tax.category,
            rate=ln.tax.rate,
            period_start=ln.period_start,
            period_end=ln.period_end,
        )
        for i, ln in enumerate(invoice.lines, 1)
    )
    breakdown = tuple(
        VatBreakdown(
            b.tax.category,
            b.tax.rate,
            b.taxable,
            b.amount,
            *EXEMPTION.get(b.tax.category, (None, None)),
        )
        for b in totals.breakdown
    )
    starts = [ln.period_start for ln in invoice.lines if ln.period_start]
    ends = [ln.period_end for ln in invoice.lines if ln.period_end]
    credit = invoice.kind is InvoiceKind.CREDIT_NOTE
    # a credit note's amount is credited in full (BT-115); what it settled is not prepaid
    prepaid = Decimal(0) if credit else invoice.amount_paid
    preceding = preceding or invoice.corrects
    # not subject to VAT: no VAT identifiers at all (BR-O-02); a seller's goes to BT-32
    outside_vat = all(ln.tax.category is TaxCategory.OUTSIDE_SCOPE for ln in invoice.lines)
    return EInvoice(
        number=num,
        issue_date=day,
        type_code=TYPE_CREDIT_NOTE if credit else TYPE_INVOICE,
        currency=c,
        due_date=due if due != day or not credit else None,
        buyer_reference=invoice.buyer_reference or num,
        order_reference=None,
        preceding_number=preceding[0] if preceding else None,
        preceding_date=preceding[1] if preceding else None,
        notes=tuple(invoice.legal_notes()),
        payment_terms=invoice.terms.describe(),
        seller=_party(invoice.seller, seller_email, outside_vat),
        buyer=_party(invoice.buyer, outside_vat=outside_vat),
        lines=lines,
        breakdown=breakdown,
        line_total=totals.net.amount,
        total_without_vat=totals.net.amount,
        vat_total=totals.tax.amount,
        total_with_vat=totals.gross.amount,
        prepaid=prepaid,
        payable=totals.gross.amount - prepaid,
        # a credit note is paid out by the seller, not to the seller's account
        payment=None if credit else _payment(invoice, bank or {}, num),
        period_start=min(starts) if starts else None,
        period_end=max(ends) if ends else None,
    )


# SEPA scheme countries (EPC409-09 list of countries in the SEPA schemes' scope)
_SEPA = EU_COUNTRIES | {
    "IS",
    "LI",
    "NO",
    "CH",
    "GB",
    "MC",
    "SM",
    "VA",
    "AD",
    "AL",
    "MD",
    "ME",
    "MK",
}


__all__ = [
    "CII_GUIDELINE_ID",
    "CUSTOMIZATION_ID",
    "PROFILE_ID",
    "TYPE_CREDIT_NOTE",
    "TYPE_INVOICE",
    "EInvoice",
    "ElectronicAddress",
    "Line",
    "PaymentInstructions",
    "PostalAddress",
    "TradeParty",
    "VatBreakdown",
    "from_invoice",
    "unit_code",
]
