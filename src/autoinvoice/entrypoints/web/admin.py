"""Admin pages: invoices, one invoice with its actions, clients.

Thin by rule: read through a unit of work or call a service, then render. A form that fails
is drawn again with the error beside it (and the status the API would give); a form that
succeeds redirects (303) to the invoice, so reloading never posts twice. The payment form
also carries an idempotency key, so a double click records one payment.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ...bootstrap import App
from ...domain.errors import DomainError, InvalidValue
from ...domain.invoice import InvoiceStatus
from ...domain.money import Money
from ...domain.recurrence import zone
from ...services import invoicing, payments
from ...services.accounts import can_write
from ...services.documents import invoice_document
from ...services.einvoices import FORMATS, check_format, preflight
from ...services.errors import NotFound, ServiceError
from ...services.ports import UserRecord
from .deps import AppDep, Reader, Writer, actor
from .errors import status_for
from .overview import (
    business_today,
    client_today,
    is_open,
    missing_billing_data,
)
from .pages import LOCALE, STATUS_LABELS, flash, render
from .pdf import document_response, pdf_response

router = APIRouter(include_in_schema=False)

PAYMENT_METHODS = {
    "bank_transfer": "Bank transfer",
    "card": "Card",
    "cash": "Cash",
    "cheque": "Cheque",
    "other": "Other",
}


@router.get("/")
def home(_: Reader) -> Response:
    return RedirectResponse("/dashboard", status_code=303)


# -- invoices list: see invoice_list.py ---------------------------------------------------


# -- one invoice ----------------------------------------------------------------------------
def _invoice_context(app: App, invoice_id: int) -> dict[str, Any]:
    with app.uow(read_only=True) as uow:
        inv = uow.invoices.get(invoice_id)
        entity = uow.entities.get(inv.entity_id or 0)
        client = uow.clients.get(inv.client_id or 0)
        paid = uow.payments.for_invoice(invoice_id)
        messages = uow.messages.for_invoice(invoice_id)
        audit = uow.audit.recent(limit=100, subject_type="invoice", subject_id=str(invoice_id))
    portal_link = None
    if inv.status is not InvoiceStatus.DRAFT:
        with app.uow() as uow:
            portal_link = f"/portal/invoices/{uow.invoices.portal_token(invoice_id)}"
            uow.commit()
    today = business_today(app.clock.now(), entity)
    checks = []
    if inv.status is InvoiceStatus.DRAFT:
        with app.uow(read_only=True) as uow:
            contract = uow.contracts.get(inv.contract_id) if inv.contract_id else None
        checks = preflight(inv, entity, contract, today=today)
    return {
        "nav": "invoices",
        "checks": checks,
        "formats": [] if inv.status is InvoiceStatus.DRAFT else list(FORMATS.values()),
        "inv": inv,
        "doc": invoice_document(inv, entity, LOCALE),
        "client": client,
        "entity": entity,
        "tz": entity.timezone,
        "today": today,
        "overdue": inv.is_overdue(client_today(app.clock.now(), client.timezone)),
        "payments": paid,
        "messages": messages,
        "audit": audit,
        "portal_link": portal_link,
        "is_open": is_open(inv.status.value),
        "balance": str(inv.balance.amount),
        "methods": PAYMENT_METHODS,
        "can_void": inv.status in (InvoiceStatus.ISSUED, InvoiceStatus.SENT, InvoiceStatus.VIEWED)
        and not inv.amount_paid,
    }


def _invoice_page(
    request: Request,
    app: App,
    user: UserRecord,
    invoice_id: int,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ctx = _invoice_context(app, invoice_id)
    ctx.update(
        errors=errors or {},
        form=form or {},
        can_write=can_write(user.role),
        idempotency_key=secrets.token_urlsafe(16),
        received_on=business_today(app.clock.now(), ctx["entity"]).isoformat(),
    )
    return render(request, "invoice.html", ctx, user=user, status_code=status_code)


@router.get("/invoices/{invoice_id:int}")
def invoice_page(request: Request, invoice_id: int, user: Reader, app: AppDep) -> Response:
    return _invoice_page(request, app, user, invoice_id)


@router.get("/invoices/{invoice_id:int}/pdf")
@router.get("/invoices/{invoice_id:int}/preview")
def invoice_pdf(invoice_id: int, _: Reader, app: AppDep) -> Response:
    """The PDF: a draft rendered as it would be issued (marked DRAFT, nothing issued or
    kept), an issued invoice's stored document."""
    with app.uow(read_only=True) as uow:
        inv = uow.invoices.get(invoice_id)
    return pdf_response(app, inv)


@router.get("/invoices/{invoice_id:int}/documents/{fmt}")
def invoice_download(invoice_id: int, fmt: str, _: Reader, app: AppDep) -> Response:
    check_format(fmt)
    with app.uow(read_only=True) as uow:
        inv = uow.invoices.get(invoice_id)
    return document_response(app, inv, fmt, inline=False)


def _failed(
    request: Request,
    app: App,
    user: UserRecord,
    invoice_id: int,
    form_name: str,
    exc: DomainError | ServiceError,
    form: dict[str, str],
) -> Response:
    if isinstance(exc, NotFound) and exc.field == "invoice":
        raise exc  # the page itself is gone: a 404, not a form error
    message = exc.message
    if exc.field == "amount" and isinstance(exc, InvalidValue) and "not a number" in message:
        message += " — enter the amount like 1500.00"
    return _invoice_page(
        request,
        app,
        user,
        invoice_id,
        errors={form_name: message},
        form=form,
        status_code=status_for(exc),
    )


@router.post("/invoices/{invoice_id:int}/issue")
def issue(request: Request, invoice_id: int, user: Writer, app: AppDep) -> Response:
    try:
        number = invoicing.issue_invoice(
            invoice_id, uow=app.uow(), clock=app.clock, actor=actor(user)
        )
    except (DomainError, ServiceError) as exc:
        return _failed(request, app, user, invoice_id, "issue", exc, {})
    flash(request, f"Issued as {number}. It is queued to be emailed to the client.")
    return RedirectResponse(f"/invoices/{invoice_id}", status_code=303)


@router.post("/invoices/{invoice_id:int}/void")
def void(
    request: Request,
    invoice_id: int,
    user: Writer,
    app: AppDep,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        invoicing.void_invoice(
            invoice_id, reason.strip(), uow=app.uow(), clock=app.clock, actor=actor(user)
        )
    except (DomainError, ServiceError) as exc:
        return _failed(request, app, user, invoice_id, "void", exc, {"reason": reason})
    flash(request, "The invoice is void. Its number stays used; nothing more is collected.")
    return RedirectResponse(f"/invoices/{invoice_id}", status_code=303)


def _received_at(app: App, invoice_id: int, received_on: str) -> datetime | None:
    """A payment date from the form as a moment: now for today, else noon that day in the
    issuing entity's time zone. Refuses dates in the future."""
    if not received_on.strip():
        return None
    try:
        day = date.fromisoformat(received_on.strip())
    except ValueError:
        raise InvalidValue(
            f"{received_on!r} is not a date (YYYY-MM-DD)", field="received_on"
        ) from None
    with app.uow(read_only=True) as uow:
        entity = uow.entities.get(uow.invoices.get(invoice_id).entity_id or 0)
    now = app.clock.now()
    today = business_today(now, entity)
    if day > today:
        raise InvalidValue("the payment date is in the future", field="received_on")
    if day == today:
        return now
    return datetime.combine(day, time(12), zone(entity.timezone))


@router.post("/invoices/{invoice_id:int}/payments")
def record_payment(
    request: Request,
    invoice_id: int,
    user: Writer,
    app: AppDep,
    amount: Annotated[str, Form(max_length=40)] = "",
    received_on: Annotated[str, Form(max_length=20)] = "",
    method: Annotated[str, Form(max_length=30)] = "bank_transfer",
    reference: Annotated[str, Form(max_length=200)] = "",
    idempotency_key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    form = {"amount": amount, "received_on": received_on, "method": method, "reference": reference}
    try:
        if method not in PAYMENT_METHODS:
            raise InvalidValue("choose how the payment arrived", field="method")
        if not amount.strip():
            raise InvalidValue("enter the amount received", field="amount")
        cmd = payments.RecordPayment(
            invoice_id=invoice_id,
            amount=amount.strip().replace(" ", ""),
            received_at=_received_at(app, invoice_id, received_on),
            method=method,
            reference=reference.strip() or None,
            idempotency_key=f"form:{idempotency_key}" if idempotency_key else None,
        )
        outcome = payments.record_payment(cmd, uow=app.uow(), clock=app.clock, actor=actor(user))
    except (DomainError, ServiceError) as exc:
        return _failed(request, app, user, invoice_id, "payment", exc, form)
    if not outcome.duplicate:
        with app.uow(read_only=True) as uow:
            currency = uow.invoices.get(invoice_id).currency
        note = (
            f" {Money(outcome.credited, currency).format(LOCALE)} above the balance is "
            "kept as client credit."
            if outcome.credited > 0
            else ""
        )
        flash(
            request,
            f"Payment recorded — the invoice is now "
            f"{STATUS_LABELS[outcome.invoice_status].lower()}.{note}",
        )
    return RedirectResponse(f"/invoices/{invoice_id}", status_code=303)


# -- clients --------------------------------------------------------------------------------
@router.get("/clients")
def clients_page(request: Request, user: Reader, app: AppDep) -> Response:
    with app.uow(read_only=True) as uow:
        clients = uow.clients.list()
        countries = {
            eid: uow.entities.get(eid).party.country for eid in {c.entity_id for c in clients}
        }
    rows = [(c, missing_billing_data(c, countries.get(c.entity_id))) for c in clients]
    return render(request, "clients.html", {"nav": "clients", "rows": rows}, user=user)
