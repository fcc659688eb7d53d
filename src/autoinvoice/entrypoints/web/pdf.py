"""Serving an invoice's PDF.

An issued invoice's PDF is the stored one — the document that was emailed, byte for byte.
Until delivery has stored it (and always for a draft) the PDF is rendered on the fly and
not kept: a draft still changes, and storing issued documents is delivery's job.
"""

from __future__ import annotations

import re

from fastapi.responses import Response

from ...bootstrap import App
from ...domain.invoice import Invoice, InvoiceStatus
from ...services.documents import invoice_document


def filename(invoice: Invoice) -> str:
    stem = invoice.number or f"draft-{invoice.id}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem) + ".pdf"


def invoice_pdf(app: App, invoice: Invoice) -> bytes:
    assert invoice.id is not None
    with app.uow(read_only=True) as uow:
        stored = (
            None if invoice.status is InvoiceStatus.DRAFT else uow.documents.get(invoice.id, "pdf")
        )
        if stored is not None:
            return stored
        entity = uow.entities.get(invoice.entity_id or 0)
        client = uow.clients.get(invoice.client_id or 0)
    return app.renderer.render(invoice_document(invoice, entity, client.language))


def pdf_response(app: App, invoice: Invoice, *, head: bool = False) -> Response:
    content = b"" if head else invoice_pdf(app, invoice)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename(invoice)}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
