"""A reminder's late fee, raised as an invoice of its own (``services/reminder_fees.py``),
keeps every official EN 16931 rule in UBL and CII: one category "O" line, no VAT
identifiers (BR-O-02), the seller's VAT number as its tax registration (BT-32)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from lxml import etree

from autoinvoice.adapters.documents.cii import write_cii
from autoinvoice.adapters.documents.schemas import schematron_xslt, validate_cii, validate_ubl
from autoinvoice.adapters.documents.ubl import write_ubl
from autoinvoice.domain.en16931 import from_invoice
from autoinvoice.domain.money import Money
from autoinvoice.services.reminder_fees import fee_invoice, is_fee_invoice
from einvoice_samples import DE_BANK, ISSUED_AT, invoice
from saxon_worker import SaxonWorker

SVRL = "{http://purl.oclc.org/dsdl/svrl}"
WRITERS = {"ubl": (write_ubl, validate_ubl), "cii": (write_cii, validate_cii)}
ALLOWED = {"ubl": set[str](), "cii": {"PEPPOL-EN16931-R008"}}  # as for every invoice


@pytest.fixture(scope="module")
def saxon() -> Iterator[SaxonWorker]:
    worker = SaxonWorker({kind: schematron_xslt(kind) for kind in WRITERS})
    try:
        yield worker
    finally:
        worker.close()


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_late_fee_invoice_keeps_every_en16931_rule(saxon: SaxonWorker, kind: str) -> None:
    reminded = invoice("domestic_vat")
    fee = fee_invoice(
        reminded,
        Money.of("40.00", "EUR"),
        seller=reminded.seller,
        buyer=reminded.buyer,
        reminder_id=7,
    )
    assert is_fee_invoice(fee) and fee.gross == Money.of("40.00", "EUR")  # no VAT on it
    fee.issue("INV-2026-000124", date(2027, 1, 8), ISSUED_AT + timedelta(days=38))
    doc = from_invoice(fee, bank=DE_BANK, seller_email=reminded.seller.emails[0])
    assert doc.seller.vat_id is None and doc.buyer.vat_id is None  # BR-O-02
    write, validate = WRITERS[kind]
    xml = write(doc)
    validate(xml)  # the XSD
    report = etree.fromstring(saxon.transform(kind, xml).encode())
    fired = report.findall(f"{SVRL}failed-assert") + report.findall(f"{SVRL}successful-report")
    broken = {
        (e.get("id"), " ".join((e.findtext(f"{SVRL}text") or "").split()))
        for e in fired
        if e.get("flag") != "warning"
    }
    assert broken == set()
    assert {e.get("id") for e in fired} <= ALLOWED[kind]
