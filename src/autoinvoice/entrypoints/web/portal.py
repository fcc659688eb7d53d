"""The client portal: the invoice behind an emailed link, with no sign-in.

The unguessable token in the link is the only key (``secrets.token_urlsafe(32)``), so the
pages keep it out of Referer headers, caches and search engines. A person's first GET marks
the invoice viewed; HEAD requests, link-preview bots and signed-in staff do not (see
``services.portal``). Figures are formatted in the client's language. Works on a phone and
without JavaScript.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from starlette.responses import Response

from ...domain.errors import InvalidValue
from ...domain.invoice import Invoice, InvoiceStatus
from ...services import portal
from ...services.documents import invoice_document
from ...services.einvoices import FORMATS, check_format
from ...services.errors import NotFound
from .deps import AppDep, session_user
from .overview import business_today
from .pages import error_page, render
from .pdf import document_response

router = APIRouter(include_in_schema=False)

PRIVATE = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "private, no-store",
}
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


def _missing(request: Request) -> Response:
    response = error_page(
        request,
        404,
        "Invoice not found",
        "This invoice link is not valid any more. Please ask the sender for a new link.",
    )
    response.headers.update(PRIVATE)
    return response


def _lookup(token: str, request: Request, app: AppDep, *, record_view: bool) -> Invoice:
    if not _TOKEN.fullmatch(token):
        raise NotFound("no such invoice link", field="token")
    staff = not record_view or session_user(request) is not None
    ua = request.headers.get("user-agent")
    # the service hides drafts (NotFound) and never marks a void invoice viewed
    return portal.view_invoice(
        token, user_agent=ua, method=request.method, staff=staff, uow=app.uow(), clock=app.clock
    )


@router.api_route("/portal/invoices/{token}", methods=["GET", "HEAD"])
def invoice_view(token: str, request: Request, app: AppDep) -> Response:
    try:
        inv = _lookup(token, request, app, record_view=True)
    except NotFound:
        return _missing(request)
    with app.uow(read_only=True) as uow:
        entity = uow.entities.get(inv.entity_id or 0)
        client = uow.clients.get(inv.client_id or 0)
    today = business_today(app.clock.now(), entity)
    return render(
        request,
        "portal.html",
        {
            "inv": inv,
            "doc": invoice_document(inv, entity, client.language),
            "overdue": inv.is_overdue(today),
            "settled": inv.status is InvoiceStatus.PAID,
            "void": inv.status is InvoiceStatus.VOID,
            "pdf_url": f"/portal/invoices/{token}/pdf",
            "downloads": [
                (f.title, f"/portal/invoices/{token}/download/{f.name}")
                for f in FORMATS.values()
                if f.name != "pdf"
            ],
        },
        headers=PRIVATE,
    )


@router.api_route("/portal/invoices/{token}/pdf", methods=["GET", "HEAD"])
def invoice_pdf(token: str, request: Request, app: AppDep) -> Response:
    return invoice_download(token, "pdf", request, app)


@router.api_route("/portal/invoices/{token}/download/{fmt}", methods=["GET", "HEAD"])
def invoice_download(token: str, fmt: str, request: Request, app: AppDep) -> Response:
    """The invoice as PDF, Factur-X PDF, UBL or CII XML (for the client's accounting)."""
    try:
        check_format(fmt)
        inv = _lookup(token, request, app, record_view=False)
    except (NotFound, InvalidValue):
        return _missing(request)
    response = document_response(app, inv, fmt, head=request.method == "HEAD", inline=False)
    response.headers.update(PRIVATE)
    return response
