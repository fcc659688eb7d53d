"""The documents of an invoice — PDF, Factur-X PDF, UBL and CII XML — and the checks that
stand before issuing it.

* :func:`preflight` runs the organisation's pre-flight checks (``domain/lint.py``) and the
  EN 16931 business rules (``domain/en16931_rules.py``) on a draft as it would be issued;
  the issuing use cases refuse a draft with any finding (it stays a draft that "needs
  attention"). The EN 16931 rules cannot be switched off.
* :func:`generate` renders the requested formats from the one invoice: the PDF from the laid
  out document, the XML from the EN 16931 model, Factur-X as a PDF/A-3b with the CII inside.
  The rules are checked again on the exact model written, so no XML that breaks them leaves.
* :func:`document_for` returns an invoice's document in one format: the stored one when it
  exists (issued documents are kept and served byte for byte), else it is generated — and
  kept, when the invoice is issued. A draft has only its PDF preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..domain.contracts import Contract
from ..domain.en16931 import EInvoice, from_invoice
from ..domain.en16931_rules import check, require_valid
from ..domain.errors import DomainError, InvalidValue
from ..domain.invoice import Invoice, InvoiceStatus
from ..domain.lint import Finding, lint
from .documents import invoice_document
from .errors import Conflict
from .ports import Clock, DocumentRenderer, EInvoiceWriter, EntityRecord, UnitOfWork


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    suffix: str
    title: str


FORMATS = {
    "pdf": Format("pdf", "application/pdf", ".pdf", "PDF"),
    "facturx": Format("facturx", "application/pdf", "-facturx.pdf", "Factur-X PDF"),
    "ubl": Format("ubl", "application/xml", ".ubl.xml", "UBL (Peppol BIS 3.0)"),
    "cii": Format("cii", "application/xml", ".cii.xml", "UN/CEFACT CII"),
}


def check_format(name: str) -> Format:
    if name not in FORMATS:
        raise InvalidValue(
            f"{name!r} is not a document format; choose {', '.join(FORMATS)}", field="format"
        )
    return FORMATS[name]


def filename(invoice: Invoice, fmt: str) -> str:
    stem = invoice.number or f"draft-{invoice.id}"
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in stem)
    return safe + FORMATS[fmt].suffix


def einvoice_of(
    invoice: Invoice,
    entity: EntityRecord,
    *,
    number: str | None = None,
    issue_date: date | None = None,
) -> EInvoice:
    return from_invoice(
        invoice, bank=entity.bank, seller_email=entity.email, number=number, issue_date=issue_date
    )


def preflight(
    invoice: Invoice, entity: EntityRecord, contract: Contract | None, *, today: date
) -> list[Finding]:
    """Every reason ``invoice`` may not be issued today (empty: it may)."""
    findings = lint(invoice, contract=contract, bank=entity.bank, settings=entity.checks)
    try:
        doc = einvoice_of(
            invoice,
            entity,
            number=invoice.number or f"DRAFT-{invoice.id or 0}",
            issue_date=invoice.issue_date or today,
        )
    except DomainError as exc:
        return [*findings, Finding("en16931", exc.message, "correct it", exc.field or "")]
    return findings + [
        Finding(
            "en16931",
            v.message,
            "the e-invoice standard requires it; correct the data named",
            v.field,
        )
        for v in check(doc)
    ]


def generate(
    invoice: Invoice,
    entity: EntityRecord,
    language: str,
    formats: tuple[str, ...],
    *,
    renderer: DocumentRenderer,
    writer: EInvoiceWriter,
) -> dict[str, bytes]:
    """The documents of ``invoice`` in ``formats`` (any of pdf, facturx, ubl, cii)."""
    out: dict[str, bytes] = {}
    xml_needed = any(f != "pdf" for f in formats)
    doc = einvoice_of(invoice, entity) if xml_needed else None
    if doc is not None:
        require_valid(doc)
    for fmt in formats:
        check_format(fmt)
        if fmt == "pdf":
            out[fmt] = renderer.render(invoice_document(invoice, entity, language))
        elif fmt == "ubl":
            assert doc is not None
            out[fmt] = writer.ubl(doc)
        elif fmt == "cii":
            assert doc is not None
            out[fmt] = out.get("cii") or writer.cii(doc)
        else:
            assert doc is not None
            pdf_a3 = renderer.render(
                invoice_document(invoice, entity, language, facturx=True), pdf_standard="a-3b"
            )
            out[fmt] = writer.facturx(
                pdf_a3, writer.cii(doc), number=doc.number, seller=entity.party.name
            )
    return out


def document_for(
    invoice_id: int,
    fmt: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    renderer: DocumentRenderer,
    writer: EInvoiceWriter,
) -> tuple[Invoice, bytes]:
    """``invoice_id``'s document in ``fmt``: stored, or generated (and kept once issued)."""
    check_format(fmt)
    with uow:
        inv = uow.invoices.get(invoice_id)
        draft = inv.status is InvoiceStatus.DRAFT
        if draft and fmt != "pdf":
            raise Conflict(
                f"invoice {invoice_id} is a draft: only its PDF preview exists until it is issued",
                field="format",
            )
        stored = None if draft else uow.documents.get(invoice_id, fmt)
        entity = uow.entities.get(inv.entity_id or 0)
        client = uow.clients.get(inv.client_id or 0)
    if stored is not None:
        return inv, stored
    content = generate(inv, entity, client.language, (fmt,), renderer=renderer, writer=writer)[fmt]
    if not draft:
        with uow:
            uow.documents.put(invoice_id, fmt, content, clock.now())  # the first one kept wins
            content = uow.documents.get(invoice_id, fmt) or content
            uow.commit()
    return inv, content


__all__ = [
    "FORMATS",
    "Format",
    "check_format",
    "document_for",
    "einvoice_of",
    "filename",
    "generate",
    "preflight",
]
