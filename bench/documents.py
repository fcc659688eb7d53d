"""Benchmark: rendering an invoice's documents on this machine.

Measures, warm (after one render per layout), the median and p95 of:

- a one-page PDF, each layout (Typst);
- a Factur-X PDF: the PDF/A-3b render, the CII XML, and the embedding with factur-x;
- the UBL 2.1 and CII XML (writing only, and writing + XSD validation);
- the EN 16931 rules check.

Targets (issue 4): one-page PDF ≤ 20 ms warm, Factur-X ≤ 30 ms, UBL or CII ≤ 5 ms.

    .venv/bin/python bench/documents.py [--runs 50]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from autoinvoice.adapters.documents.cii import write_cii
from autoinvoice.adapters.documents.einvoice import EInvoiceWriters
from autoinvoice.adapters.documents.pdf import TypstPdfRenderer
from autoinvoice.adapters.documents.ubl import write_ubl
from autoinvoice.domain.documents import Branding
from autoinvoice.domain.en16931_rules import check
from autoinvoice.domain.invoice import Invoice, InvoiceLine
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.tax import TaxKind, determine_tax
from autoinvoice.domain.terms import PaymentTerms
from autoinvoice.services.documents import invoice_document
from autoinvoice.services.einvoices import einvoice_of
from autoinvoice.services.ports import EntityRecord

SELLER = Party(
    "Nordlicht Software GmbH",
    "DE",
    Address(("Schanzenstraße 12",), "Hamburg", "20357", "DE"),
    "DE123456788",
    ("billing@nordlicht-software.de",),
)
BUYER = Party(
    "Atelier Numérique SAS",
    "FR",
    Address(("27 rue de la République",), "Lyon", "69002", "FR"),
    "FR11123456782",
    ("factures@atelier-numerique.fr",),
)


def sample(layout: str) -> tuple[Invoice, EntityRecord]:
    entity = EntityRecord(
        1,
        SELLER,
        "billing@nordlicht-software.de",
        "Europe/Berlin",
        "en",
        {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "account_holder": SELLER.name},
        "Nordlicht Software GmbH · HRB 123456 Hamburg",
        branding=Branding(layout=layout),
    )
    inv = Invoice(SELLER, BUYER, "EUR", PaymentTerms.parse("net:30"))
    tax = determine_tax(SELLER.tax_profile, BUYER.tax_profile, TaxKind.STANDARD)
    for desc, qty, price in [
        ("Backend development: payment service migration", "32", "120"),
        ("Architecture and code review", "6.5", "150"),
        ("Managed hosting, production cluster, November 2026", "1", "490"),
        ("Incident response on 14 Nov 2026 (flat fee)", "1", "350"),
    ]:
        inv.add_line(InvoiceLine(desc, Decimal(qty), Decimal(price), tax, "h"))
    inv.issue("INV-2026-000123", date(2026, 12, 1), datetime(2026, 12, 1, 9, tzinfo=UTC))
    return inv, entity


def measure(name: str, fn: Callable[[int], object], runs: int, target_ms: float | None) -> None:
    """``fn(i)`` gets the run's number, so each run renders a different document (Typst
    memoises identical compiles; a real run never renders the same invoice twice)."""
    fn(-1)  # warm
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p50 = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    verdict = "" if target_ms is None else ("  ok" if p50 <= target_ms else "  OVER TARGET")
    goal = f"(target ≤ {target_ms:g} ms)" if target_ms is not None else ""
    print(f"{name:<44} median {p50:7.2f} ms   p95 {p95:7.2f} ms  {goal}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    renderer = TypstPdfRenderer()
    writers = EInvoiceWriters()
    print(f"documents benchmark, {runs} warm runs each")
    for layout in renderer.layouts():
        inv, entity = sample(layout)

        def pdf(i: int, inv: Invoice = inv, entity: EntityRecord = entity) -> bytes:
            # a new number: a new creditor reference and a new EPC QR code, as in real runs
            inv.number = f"INV-2026-{i + 2:06d}"
            return renderer.render(invoice_document(inv, entity))

        measure(f"PDF, one page with EPC QR, layout {layout}", pdf, runs, 20)
    inv, entity = sample("classic")
    doc = einvoice_of(inv, entity)
    fx_doc = invoice_document(inv, entity, facturx=True)
    pdf_a3 = renderer.render(fx_doc, pdf_standard="a-3b")
    cii = writers.cii(doc)

    def pdf_a3b(i: int) -> bytes:
        return renderer.render({**fx_doc, "number": f"INV-2026-{i + 2:06d}"}, pdf_standard="a-3b")

    def facturx(i: int) -> bytes:
        return writers.facturx(pdf_a3b(i), writers.cii(doc), number=doc.number, seller=SELLER.name)

    measure("PDF/A-3b render alone", pdf_a3b, runs, None)
    measure(
        "Factur-X embedding alone (factur-x + pypdf)",
        lambda i: writers.facturx(pdf_a3, cii, number=doc.number, seller=SELLER.name),
        runs,
        None,
    )
    measure("Factur-X PDF/A-3b (render + CII + embed)", facturx, runs, 30)
    measure("UBL 2.1 XML (write)", lambda i: write_ubl(doc), runs * 4, 5)
    measure("CII XML (write)", lambda i: write_cii(doc), runs * 4, 5)
    measure("UBL 2.1 XML (write + XSD validate)", lambda i: writers.ubl(doc), runs * 4, 5)
    measure("CII XML (write + XSD validate)", lambda i: writers.cii(doc), runs * 4, 5)
    measure("EN 16931 rules check", lambda i: check(doc), runs * 4, None)


if __name__ == "__main__":
    main()
