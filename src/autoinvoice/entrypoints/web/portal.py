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
from starlette.responses import RedirectResponse, Response

from ...domain.errors import InvalidValue
from ...domain.invoice import Invoice, InvoiceKind, InvoiceStatus
from ...services import payment_links, portal
from ...services.documents import invoice_document
from ...services.einvoices import FORMATS, check_format
from ...services.errors import Conflict, NotFound
from .deps import AppDep, session_user
from .overview import business_today, client_today
from .pages import CONTENT_SECURITY_POLICY, error_page, render
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
def invoice_view(token: str, request: Request, app: AppDep, paid: str | None = None) -> Response:
    try:
        if not _TOKEN.fullmatch(token):
            raise NotFound("no such invoice link", field="token")
        page = portal.view_invoice_page(
            token,
            user_agent=request.headers.get("user-agent"),
            method=request.method,
            staff=session_user(request) is not None,
            read=app.uow(read_only=True),
            write=app.uow(),
            clock=app.clock,
        )
    except NotFound:
        return _missing(request)
    inv, entity, client, client_token = page.invoice, page.entity, page.client, page.client_token
    pay_url, pay_headers = _pay_now(app, inv, token)
    return render(
        request,
        "portal.html",
        {
            "inv": inv,
            "doc": invoice_document(inv, entity, client.language),
            "overdue": inv.is_overdue(client_today(app.clock.now(), client.timezone)),
            "settled": inv.status is InvoiceStatus.PAID,
            "void": inv.status is InvoiceStatus.VOID,
            # money the client gets: what it credits, never "paid" or "due"
            "credit_note": inv.kind is InvoiceKind.CREDIT_NOTE,
            "corrects": inv.corrects[0] if inv.corrects else None,
            "pdf_url": f"/portal/invoices/{token}/pdf",
            "pay_url": None if paid == "1" else pay_url,
            "confirming": paid == "1",  # back from the checkout: the webhook confirms
            "account_url": f"/portal/clients/{client_token}",
            "downloads": [
                (f.title, f"/portal/invoices/{token}/download/{f.name}")
                for f in FORMATS.values()
                if f.name != "pdf"
            ],
        },
        headers={**PRIVATE, **pay_headers},
    )


def _pay_now(app: AppDep, inv: Invoice, token: str) -> tuple[str | None, dict[str, str]]:
    """The "Pay now" form's address (None: no card payment) and the CSP that lets the form
    lead to the provider's checkout (``form-action`` also governs the redirect)."""
    provider = app.payment_provider
    if provider is None or not payment_links.payable(inv):
        return None, {}
    origins = " ".join(provider.checkout_origins)
    csp = CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {origins}")
    return f"/portal/invoices/{token}/pay", {"Content-Security-Policy": csp}


@router.post("/portal/invoices/{token}/pay")
def invoice_pay(token: str, request: Request, app: AppDep) -> Response:
    """The "Pay now" button: 303 to the provider's hosted checkout for the open balance."""
    provider = app.payment_provider
    if provider is None or not _TOKEN.fullmatch(token):
        return _missing(request)
    try:
        link = payment_links.start_payment(
            token, uow=app.uow(), clock=app.clock, provider=provider, base_url=app.settings.base_url
        )
    except NotFound:
        return _missing(request)
    except Conflict:  # paid or voided meanwhile: the page says so
        return RedirectResponse(f"/portal/invoices/{token}", status_code=303, headers=PRIVATE)
    except payment_links.PaymentProviderError as exc:
        response = error_page(request, 502, "Card payment unavailable", exc.message)
        response.headers.update(PRIVATE)
        return response
    return RedirectResponse(link.url, status_code=303, headers=PRIVATE)


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


@router.api_route("/portal/clients/{token}", methods=["GET", "HEAD"])
def client_page(token: str, request: Request, app: AppDep) -> Response:
    """All of a client's invoices, open and paid, and its statement of account."""
    try:
        if not _TOKEN.fullmatch(token):
            raise NotFound("no such client link", field="token")
        statements = portal.client_statements(token, uow=app.uow())
        with app.uow(read_only=True) as uow:
            client = uow.clients.by_portal_token(token)
            entity = uow.entities.get(client.entity_id)
    except NotFound:
        response = error_page(
            request,
            404,
            "Page not found",
            "This link is not valid any more. Please ask the sender for a new link.",
        )
        response.headers.update(PRIVATE)
        return response
    return render(
        request,
        "portal_client.html",
        {
            "client": client,
            "seller": entity.party.name,
            "seller_email": entity.email,
            "statements": statements,
            "today": business_today(app.clock.now(), entity),
            "lang": client.language.split("_")[0],
        },
        headers=PRIVATE,
    )
