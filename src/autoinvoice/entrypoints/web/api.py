"""The REST API, version 1, under ``/api/v1``.

Authentication: ``Authorization: Bearer ai_…`` (scope ``read`` for GET, ``write`` for POST)
or a signed-in session (POSTs then repeat the CSRF token in ``X-CSRF-Token``). Errors are
RFC 9457 problem documents. Money is an exact decimal string, never a JSON number.

Lists page by cursor: ``next_cursor`` is the id to pass as ``after`` for the next page
(newest first); it is null on the last page.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from ...bootstrap import App
from ...domain.errors import InvalidValue
from ...services import drafts, invoice_batches, invoicing, payments
from ...services.ports import UserRecord
from .deps import ApiUser, AppDep, actor
from .overview import client_today
from .schemas import (
    InvoiceOut,
    InvoicePage,
    InvoiceSummaryOut,
    PaymentIn,
    PaymentResultOut,
    StatusName,
    VoidIn,
)
from .schemas_resources import DraftIn, SendOut

Responses = dict[int | str, dict[str, Any]]
PROBLEM: dict[str, Any] = {
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, **PROBLEM}


COMMON_RESPONSES: Responses = {
    401: _problem("No valid API key or session"),
    403: _problem("The key lacks the scope, or the role may not write"),
    422: _problem("A value is invalid; `field` names it"),
}
router = APIRouter(prefix="/api/v1", responses=COMMON_RESPONSES)

_NOT_FOUND: Responses = {404: _problem("No such invoice")}
_CONFLICT: Responses = {
    404: _problem("No such invoice"),
    409: _problem("The invoice's status does not allow this"),
}
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,100}")


def _invoice_out(app: App, invoice_id: int) -> InvoiceOut:
    with app.uow(read_only=True) as uow:
        inv = uow.invoices.get(invoice_id)
        client = uow.clients.get(inv.client_id or 0)
        paid = uow.payments.for_invoice(invoice_id)
    # overdue where the client is, as the webhook and the reminders judge it
    today = client_today(app.clock.now(), client.timezone)
    return InvoiceOut.from_invoice(inv, client.party.name, paid, today)


@router.get(
    "/invoices",
    response_model=InvoicePage,
    tags=["invoices"],
    summary="List invoices, newest first",
)
def list_invoices(
    _: ApiUser,
    app: AppDep,
    status: StatusName | None = None,
    client_id: Annotated[int | None, Query(ge=1)] = None,
    after: Annotated[int | None, Query(ge=1, description="a `next_cursor`")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InvoicePage:
    with app.uow(read_only=True) as uow:
        rows = uow.invoices.summaries(
            status=status, client_id=client_id, after_id=after, limit=limit + 1
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return InvoicePage(
        items=[InvoiceSummaryOut.of(s, app.clock.now()) for s in rows],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )


@router.post(
    "/invoices",
    response_model=InvoiceOut,
    status_code=201,
    tags=["invoices"],
    summary="Create a draft by hand; `hold_reason` says what would stop it being issued",
    responses={404: _problem("No such client or contract")},
)
def create_draft(body: DraftIn, user: ApiUser, app: AppDep, response: Response) -> InvoiceOut:
    cmd = drafts.NewDraft(
        client_id=body.client_id,
        lines=[drafts.DraftLine(**line.model_dump()) for line in body.lines],
        currency=body.currency,
        terms=body.terms,
        contract_id=body.contract_id,
        buyer_reference=body.buyer_reference,
        notes=tuple(body.notes),
    )
    invoice_id = drafts.create_draft(cmd, uow=app.uow(), clock=app.clock, actor=actor(user))
    response.headers["Location"] = f"/api/v1/invoices/{invoice_id}"
    return _invoice_out(app, invoice_id)


@router.post(
    "/invoices/{invoice_id}/send",
    response_model=SendOut,
    status_code=202,
    tags=["invoices"],
    summary="Queue the email of an issued invoice once more (409 for a draft or void)",
    responses=_CONFLICT,
)
def send_invoice(
    invoice_id: int,
    user: ApiUser,
    app: AppDep,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="the same key queues the email once"),
    ] = None,
) -> SendOut:
    key = _scoped_key(user, invoice_id, idempotency_key) or secrets.token_hex(16)
    queued = invoice_batches.send_again(
        invoice_id, key=key, uow=app.uow(), clock=app.clock, actor=actor(user)
    )
    return SendOut(invoice_id=invoice_id, queued=queued)


@router.get(
    "/invoices/{invoice_id}",
    response_model=InvoiceOut,
    tags=["invoices"],
    summary="One invoice with lines, taxes, totals and payments",
    responses=_NOT_FOUND,
)
def get_invoice(invoice_id: int, _: ApiUser, app: AppDep) -> InvoiceOut:
    return _invoice_out(app, invoice_id)


@router.post(
    "/invoices/{invoice_id}/issue",
    response_model=InvoiceOut,
    tags=["invoices"],
    summary="Issue a draft: number it, freeze it, queue its delivery",
    responses=_CONFLICT,
)
def issue_invoice(invoice_id: int, user: ApiUser, app: AppDep) -> InvoiceOut:
    invoicing.issue_invoice(invoice_id, uow=app.uow(), clock=app.clock, actor=actor(user))
    return _invoice_out(app, invoice_id)


@router.post(
    "/invoices/{invoice_id}/void",
    response_model=InvoiceOut,
    tags=["invoices"],
    summary="Void an issued invoice that has no payments",
    responses=_CONFLICT,
)
def void_invoice(invoice_id: int, body: VoidIn, user: ApiUser, app: AppDep) -> InvoiceOut:
    invoicing.void_invoice(
        invoice_id, body.reason.strip(), uow=app.uow(), clock=app.clock, actor=actor(user)
    )
    return _invoice_out(app, invoice_id)


def _scoped_key(user: UserRecord, invoice_id: int, key: str | None) -> str | None:
    """Idempotency keys are the caller's: the same key from another user, or for another
    invoice, is a different payment."""
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidValue("use 1–100 visible ASCII characters", field="Idempotency-Key")
    return f"api:{user.id}:{invoice_id}:{key}"


@router.post(
    "/invoices/{invoice_id}/payments",
    response_model=PaymentResultOut,
    status_code=201,
    tags=["payments"],
    responses={
        200: {
            "description": "Replay: this Idempotency-Key was used before; nothing new was recorded",
            "model": PaymentResultOut,
        },
        **_CONFLICT,
    },
    summary="Record a payment received for an invoice",
)
def record_payment(
    invoice_id: int,
    body: PaymentIn,
    user: ApiUser,
    app: AppDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="send the same key to retry safely: the payment is recorded once",
        ),
    ] = None,
) -> PaymentResultOut:
    cmd = payments.RecordPayment(
        invoice_id=invoice_id,
        amount=body.amount,
        currency=body.currency,
        received_at=body.received_at,
        method=body.method,
        reference=body.reference,
        idempotency_key=_scoped_key(user, invoice_id, idempotency_key),
    )
    outcome = payments.record_payment(cmd, uow=app.uow(), clock=app.clock, actor=actor(user))
    with app.uow(read_only=True) as uow:
        currency = uow.invoices.get(invoice_id).currency
    if outcome.duplicate:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return PaymentResultOut.of(invoice_id, currency, outcome)
