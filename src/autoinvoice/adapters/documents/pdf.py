"""Invoice PDFs rendered with Typst.

A template is a ``.typ`` file in the templates folder (by default
``templates/invoice`` beside this module). It receives the document as JSON in
``sys.inputs.invoice`` and only lays it out: every amount and date arrives
already formatted, so rounding and localisation stay in the domain. Optional
keys: ``labels`` (merged over English defaults, so a translation may be
partial) and ``lang`` (ISO 639 code for the PDF's language tag).

Rules the renderer keeps:

- The document travels through ``sys.inputs``, never through a data file, so
  several renders may run at once against the same folder.
- Typst's root is the templates folder: a template cannot read any file outside
  it (``read("/etc/passwd")`` fails). There is no custom file resolver.
- Values are data, not markup: a description ``#read("/etc/passwd")`` is
  printed as those characters.
- Only the fonts embedded in Typst are used (system fonts are ignored), so the
  same document renders the same on every machine.
- One warm ``typst.Compiler`` per renderer; Typst caches the parsed template
  and layout between compiles, which makes the second render several times
  faster than the first. Compiles on one renderer are serialised by a lock.

>>> renderer = TypstPdfRenderer()
>>> renderer.render(sample_document())[:5]
b'%PDF-'
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import typst

__all__ = [
    "TEMPLATES_DIR",
    "PdfRenderError",
    "TemplateNotFound",
    "TypstPdfRenderer",
    "sample_document",
]

TEMPLATES_DIR = Path(__file__).parent / "templates" / "invoice"

_TEMPLATE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


class PdfRenderError(Exception):
    """Typst could not render the document (a template bug or a malformed document)."""

    code = "pdf_render_failed"

    def __init__(self, template: str, message: str) -> None:
        super().__init__(f"{template}: {message}")
        self.template = template
        self.message = message


class TemplateNotFound(PdfRenderError):
    """No template of that name exists in the templates folder."""

    code = "pdf_template_not_found"


class TypstPdfRenderer:
    """Renders invoice documents with Typst.

    Thread-safe enough for one worker: keeps a warm ``typst.Compiler`` per
    template and serialises compiles on it.
    """

    def __init__(self, template: str = "classic", templates_dir: Path | None = None) -> None:
        root = (templates_dir or TEMPLATES_DIR).resolve()
        # The name becomes a path: refuse anything that could step out of the folder.
        if not _TEMPLATE_NAME.fullmatch(template):
            raise TemplateNotFound(template, "template names are lowercase [a-z0-9_-]")
        source = root / f"{template}.typ"
        if not source.is_file():
            raise TemplateNotFound(template, f"no template at {source}")
        self.template = template
        self._compiler = typst.Compiler(input=source, root=root, ignore_system_fonts=True)
        self._lock = threading.Lock()

    def render(self, document: dict[str, Any]) -> bytes:
        """Return the PDF bytes for ``document`` (the shape of `sample_document`)."""
        payload = json.dumps(document, ensure_ascii=False)
        try:
            with self._lock:
                pdf = self._compiler.compile(format="pdf", sys_inputs={"invoice": payload})
        except typst.TypstError as exc:
            raise PdfRenderError(self.template, exc.message) from exc
        if not isinstance(pdf, bytes):  # only multi-page PNG/SVG export returns a list
            raise PdfRenderError(self.template, "Typst returned no PDF")
        return pdf


def sample_document() -> dict[str, Any]:
    """A realistic issued invoice: a Hamburg GmbH billing a Lyon client, 4 lines.

    Cross-border B2B services, so no German VAT is charged and the reverse-charge
    note of Art. 196 Directive 2006/112/EC is printed. The VAT numbers and the
    IBAN have valid check digits but belong to no one.
    """
    number = "INV-2026-000123"
    return {
        "title": "Invoice",
        "number": number,
        "status": "issued",
        "issue_date": "1 Dec 2026",
        "due_date": "31 Dec 2026",
        "service_period": "1 Nov 2026 – 30 Nov 2026",
        "currency": "EUR",
        "seller": {
            "name": "Nordlicht Software GmbH",
            "address_lines": ["Schanzenstraße 12", "20357 Hamburg"],
            "country": "Germany",
            "tax_id": "DE123456788",
            "email": "billing@nordlicht-software.de",
            "phone": "+49 40 1234 5678",
        },
        "buyer": {
            "name": "Atelier Numérique SAS",
            "address_lines": ["Service comptabilité", "27 rue de la République", "69002 Lyon"],
            "country": "France",
            "tax_id": "FR11123456782",
            "email": "factures@atelier-numerique.fr",
            "reference": "PO-2026-0417",
        },
        "lines": [
            {
                "position": 1,
                "description": "Backend development: payment service migration to event sourcing",
                "quantity": "32",
                "unit": "h",
                "unit_price": "€120.00",
                "tax": "0 %",
                "net": "€3,840.00",
                "period": "1–30 Nov 2026",
            },
            {
                "position": 2,
                "description": "Architecture review and code review",
                "quantity": "6",
                "unit": "h",
                "unit_price": "€150.00",
                "tax": "0 %",
                "net": "€900.00",
                "period": None,
            },
            {
                "position": 3,
                "description": "Managed hosting, production cluster (3 nodes, monitoring, backups)",
                "quantity": "1",
                "unit": "month",
                "unit_price": "€490.00",
                "tax": "0 %",
                "net": "€490.00",
                "period": "1–30 Nov 2026",
            },
            {
                "position": 4,
                "description": "Incident response on 14 Nov 2026 (flat fee)",
                "quantity": "1",
                "unit": None,
                "unit_price": "€350.00",
                "tax": "0 %",
                "net": "€350.00",
                "period": None,
            },
        ],
        "tax_summary": [
            {"label": "Reverse charge 0 %", "taxable": "€5,580.00", "tax": "€0.00"},
        ],
        "notes": [
            "Reverse charge: VAT to be accounted for by the recipient "
            "(Art. 196 Directive 2006/112/EC).",
        ],
        "totals": {
            "net": "€5,580.00",
            "tax": "€0.00",
            "gross": "€5,580.00",
            "paid": "€0.00",
            "due": "€5,580.00",
        },
        "payment": {
            "terms": "Net 30 days",
            "instructions": [
                "Bank: Commerzbank Hamburg",
                "IBAN: DE89 3704 0044 0532 0130 00",
                "BIC: COBADEFFXXX",
                f"Reference: {number}",
            ],
        },
        "footer": (
            "Nordlicht Software GmbH · Schanzenstraße 12 · 20357 Hamburg · "
            "Register court Hamburg HRB 123456 · Managing director: Jana Becker · "
            "VAT ID DE123456788"
        ),
        "labels": {
            "invoice_no": "Invoice no.",
            "issue_date": "Issue date",
            "due_date": "Due date",
            "bill_to": "Bill to",
            "from": "From",
            "description": "Description",
            "qty": "Qty",
            "unit_price": "Unit price",
            "tax": "Tax",
            "amount": "Amount",
            "subtotal": "Subtotal",
            "total": "Total",
            "amount_due": "Amount due",
            "paid": "Paid",
            "payment": "Payment",
            "tax_id": "Tax ID",
            "service_period": "Service period",
            "terms": "Terms",
        },
    }
