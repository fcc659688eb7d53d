"""Serving an invoice's documents: PDF, Factur-X PDF, UBL and CII XML.

An issued invoice's documents are the stored ones — what was emailed, byte for byte; one not
stored yet is generated once and kept (``services.einvoices.document_for``). A draft has only
its PDF preview, rendered on the fly (marked DRAFT) and never kept.
"""

from __future__ import annotations

from fastapi.responses import Response

from ...bootstrap import App
from ...domain.invoice import Invoice
from ...services.einvoices import FORMATS, document_for, filename


def document(app: App, invoice_id: int, fmt: str) -> tuple[Invoice, bytes]:
    return document_for(
        invoice_id, fmt, uow=app.uow(), clock=app.clock, renderer=app.renderer, writer=app.einvoices
    )


def document_response(
    app: App, invoice: Invoice, fmt: str = "pdf", *, head: bool = False, inline: bool = True
) -> Response:
    """The document as a download (PDFs shown inline unless ``inline`` is False)."""
    assert invoice.id is not None
    content = b"" if head else document(app, invoice.id, fmt)[1]
    disposition = (
        "inline" if inline and FORMATS[fmt].media_type == "application/pdf" else ("attachment")
    )
    return Response(
        content,
        media_type=FORMATS[fmt].media_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{filename(invoice, fmt)}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def pdf_response(app: App, invoice: Invoice, *, head: bool = False) -> Response:
    return document_response(app, invoice, "pdf", head=head)
