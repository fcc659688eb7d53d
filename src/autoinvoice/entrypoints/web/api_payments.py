"""REST API of the payments ledger, under ``/api/v1``.

* ``POST /payments`` — a payment received from a client, applied to the invoices named (in
  that order) or to its open invoices oldest due first; the rest is kept as client credit.
  Send an ``Idempotency-Key`` to retry safely: the same key (per API user) records it once and
  answers the first receipt again with 200 and ``Idempotent-Replayed: true``.
* ``GET /payments`` — newest first, by cursor, with each payment's allocations.
* ``POST /payments/{id}/reverse`` — a bank return or chargeback: the invoices open again.
* ``POST /clients/{id}/refunds`` — pay back client credit.
* ``POST /invoices/{id}/credit-notes`` — correct an issued invoice.

Amounts are exact decimal strings; errors are problem+json (``field`` names the input).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ...domain.errors import InvalidValue
from ...services import credit_notes, payments, reversals
from ...services.ledger import PaymentRecord
from ...services.ports import UserRecord
from .api import _IDEMPOTENCY_KEY, COMMON_RESPONSES, _problem
from .deps import ApiUser, AppDep, actor
from .paging import cut
from .schemas import money_text
from .schemas_resources import CreditNoteListOut, CreditNotePage

router = APIRouter(prefix="/api/v1", responses=COMMON_RESPONSES, tags=["payments"])
_KEY_HEADER = Header(
    alias="Idempotency-Key",
    description="send the same key to retry safely: it is recorded once",
)
_AMOUNT = Field(max_length=40, description="exact decimal as a string", examples=["1500.00"])


def _key(user: UserRecord, scope: str, key: str | None) -> str | None:
    """Keys are the caller's: the same key from another user is another request."""
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidValue("use 1–100 visible ASCII characters", field="Idempotency-Key")
    return f"api:{user.id}:{scope}:{key}"


def _replayed(response: Response, duplicate: bool) -> None:
    if duplicate:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"


# -- schemas --------------------------------------------------------------------------------
class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReceiptIn(_In):
    client_id: int = Field(ge=1)
    amount: str = _AMOUNT
    currency: str = Field(min_length=3, max_length=3, examples=["EUR"])
    invoice_ids: list[int] = Field(
        default_factory=list,
        max_length=200,
        description="apply in this order; empty: the client's open invoices, oldest due first",
    )
    received_at: datetime | None = Field(None, description="timezone-aware; defaults to now")
    method: str = Field("manual", min_length=1, max_length=30, examples=["bank_transfer"])
    reference: str | None = Field(None, max_length=200)
    payer: str | None = Field(None, max_length=200, description="name / IBAN, kept for audit")


class AllocationOut(BaseModel):
    invoice_id: int
    amount: str


class ReceiptOut(BaseModel):
    payment_id: int
    client_id: int
    currency: str
    allocations: list[AllocationOut]
    credited: str = Field(description="the rest, kept as client credit")
    duplicate: bool


class PaymentListOut(BaseModel):
    id: int
    client_id: int
    amount: str
    currency: str
    method: str
    reference: str | None
    received_at: datetime
    recorded_at: datetime
    reversed_at: datetime | None
    reversal_reason: str | None
    allocations: list[AllocationOut] = Field(description="live allocations of kind payment")


class PaymentPage(BaseModel):
    items: list[PaymentListOut]
    next_cursor: str | None


class ReverseIn(_In):
    reason: str = Field(min_length=1, max_length=500, examples=["bank return R01"])


class ReversalOut(BaseModel):
    payment_id: int
    reopened: list[AllocationOut]
    credit_withdrawn: str
    credit_taken_back_from: list[int]
    unrecovered: str = Field(description="credit already refunded: the client owes it back")


class RefundIn(_In):
    amount: str = _AMOUNT
    currency: str = Field(min_length=3, max_length=3)
    reason: str = Field(min_length=1, max_length=500)
    method: str = Field("bank_transfer", min_length=1, max_length=30)
    reference: str | None = Field(None, max_length=200)
    payment_id: int | None = Field(None, ge=1, description="the payment whose credit it repays")


class RefundOut(BaseModel):
    refund_id: int
    amount: str
    currency: str
    credit_left: str
    duplicate: bool


class CreditLineIn(_In):
    position: int = Field(ge=1, description="the invoice's line, from 1")
    quantity: str | None = Field(None, max_length=40, description="default: the whole line")


class CreditNoteIn(_In):
    reason: str = Field(min_length=1, max_length=500, examples=["hours billed twice"])
    lines: list[CreditLineIn] = Field(default_factory=list, max_length=500)
    amount: str | None = Field(
        None, max_length=40, description="a net price reduction; neither this nor lines: all"
    )


class CreditNoteOut(BaseModel):
    credit_note_id: int
    number: str
    invoice_id: int
    currency: str
    gross: str
    applied: str = Field(description="taken off the invoice's balance")
    credited: str = Field(description="the rest, kept as client credit")


def _allocations(items: tuple[payments.Allocation, ...], currency: str) -> list[AllocationOut]:
    return [
        AllocationOut(invoice_id=a.invoice_id, amount=money_text(a.amount, currency)) for a in items
    ]


# -- routes ---------------------------------------------------------------------------------
@router.post(
    "/payments",
    response_model=ReceiptOut,
    status_code=201,
    summary="Record a payment received from a client, across one or several invoices",
    responses={
        200: {"description": "Replay of an Idempotency-Key; nothing new", "model": ReceiptOut},
        404: _problem("No such client or invoice"),
        409: _problem("An invoice's status does not take payments"),
    },
)
def receive_payment(
    body: ReceiptIn,
    user: ApiUser,
    app: AppDep,
    response: Response,
    idempotency_key: Annotated[str | None, _KEY_HEADER] = None,
) -> ReceiptOut:
    cmd = payments.ReceivePayment(
        client_id=body.client_id,
        amount=body.amount,
        currency=body.currency.upper(),
        received_at=body.received_at,
        method=body.method,
        reference=body.reference,
        idempotency_key=_key(user, "payment", idempotency_key),
        invoice_ids=tuple(body.invoice_ids),
        payer=body.payer,
    )
    r = payments.receive_payment(cmd, uow=app.uow(), clock=app.clock, actor=actor(user))
    _replayed(response, r.duplicate)
    return ReceiptOut(
        payment_id=r.payment_id,
        client_id=body.client_id,
        currency=cmd.currency,
        allocations=_allocations(r.allocations, cmd.currency),
        credited=money_text(r.credited, cmd.currency),
        duplicate=r.duplicate,
    )


def _listed(p: PaymentRecord, allocs: list[payments.Allocation]) -> PaymentListOut:
    return PaymentListOut(
        id=p.id,
        client_id=p.client_id,
        amount=money_text(p.amount, p.currency),
        currency=p.currency,
        method=p.method,
        reference=p.reference,
        received_at=p.received_at,
        recorded_at=p.recorded_at,
        reversed_at=p.reversed_at,
        reversal_reason=p.reversal_reason,
        allocations=_allocations(tuple(allocs), p.currency),
    )


@router.get("/payments", response_model=PaymentPage, summary="List payments, newest first")
def list_payments(
    _: ApiUser,
    app: AppDep,
    client_id: Annotated[int | None, Query(ge=1)] = None,
    invoice_id: Annotated[int | None, Query(ge=1, description="applied to this invoice")] = None,
    received_from: Annotated[
        datetime | None, Query(alias="from", description="received at or after (timezone-aware)")
    ] = None,
    received_to: Annotated[
        datetime | None, Query(alias="to", description="received before (timezone-aware)")
    ] = None,
    after: Annotated[int | None, Query(ge=1, description="a `next_cursor`")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PaymentPage:
    for name, moment in (("from", received_from), ("to", received_to)):
        if moment is not None and moment.utcoffset() is None:
            raise InvalidValue("give a time zone, e.g. 2026-12-01T00:00:00Z", field=name)
    with app.uow(read_only=True) as uow:
        rows = uow.resources.payments(
            client_id=client_id,
            invoice_id=invoice_id,
            received_from=received_from,
            received_before=received_to,
            after_id=after,
            limit=limit + 1,
        )
        more, rows = len(rows) > limit, rows[:limit]
        items = [
            _listed(
                p,
                [
                    payments.Allocation(a.invoice_id, a.amount)
                    for a in uow.ledger.allocations(payment_id=p.id)
                ],
            )
            for p in rows
        ]
    return PaymentPage(items=items, next_cursor=str(rows[-1].id) if more and rows else None)


@router.get(
    "/payments/{payment_id}",
    response_model=PaymentListOut,
    summary="One payment with its allocations",
    responses={404: _problem("No such payment")},
)
def get_payment(payment_id: int, _: ApiUser, app: AppDep) -> PaymentListOut:
    with app.uow(read_only=True) as uow:
        p = uow.ledger.payment(payment_id)
        allocs = uow.ledger.allocations(payment_id=p.id)
    return _listed(p, [payments.Allocation(a.invoice_id, a.amount) for a in allocs])


@router.get(
    "/credit-notes",
    response_model=CreditNotePage,
    tags=["invoices"],
    summary="Credit notes, newest first, with the invoice each corrects",
)
def list_credit_notes(
    _: ApiUser,
    app: AppDep,
    client_id: Annotated[int | None, Query(ge=1)] = None,
    after: Annotated[int | None, Query(ge=1, description="a `next_cursor`")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CreditNotePage:
    with app.uow(read_only=True) as uow:
        rows = uow.invoices.summaries(
            kind="credit_note", client_id=client_id, after_id=after, limit=limit + 1
        )
        page, cursor = cut(rows, limit, key=lambda s: s.id)
        corrects = uow.ledger.corrected_by([s.id for s in page])
    items = [
        CreditNoteListOut(
            id=s.id,
            number=s.number,
            invoice_id=corrects.get(s.id),
            client_id=s.client_id,
            client_name=s.client_name,
            status=s.status,  # type: ignore[arg-type]
            kind=s.kind,  # type: ignore[arg-type]
            currency=s.currency,
            total=money_text(s.gross, s.currency),
            issue_date=s.issue_date,
        )
        for s in page
    ]
    return CreditNotePage(items=items, next_cursor=cursor)


@router.post(
    "/payments/{payment_id}/reverse",
    response_model=ReversalOut,
    summary="Reverse a payment (bank return, chargeback, recorded by mistake)",
    responses={404: _problem("No such payment"), 409: _problem("Already reversed")},
)
def reverse_payment(payment_id: int, body: ReverseIn, user: ApiUser, app: AppDep) -> ReversalOut:
    r = reversals.reverse_payment(
        payment_id, body.reason, uow=app.uow(), clock=app.clock, actor=actor(user)
    )
    with app.uow(read_only=True) as uow:
        currency = uow.ledger.payment(payment_id).currency
    return ReversalOut(
        payment_id=payment_id,
        reopened=_allocations(r.reopened, currency),
        credit_withdrawn=money_text(r.credit_withdrawn, currency),
        credit_taken_back_from=list(r.credit_taken_back_from),
        unrecovered=money_text(r.unrecovered, currency),
    )


@router.post(
    "/clients/{client_id}/refunds",
    response_model=RefundOut,
    status_code=201,
    summary="Pay client credit back to the client",
    responses={
        200: {"description": "Replay of an Idempotency-Key; nothing new", "model": RefundOut},
        404: _problem("No such client or payment"),
    },
)
def refund_credit(
    client_id: int,
    body: RefundIn,
    user: ApiUser,
    app: AppDep,
    response: Response,
    idempotency_key: Annotated[str | None, _KEY_HEADER] = None,
) -> RefundOut:
    currency = body.currency.upper()
    cmd = reversals.RefundCredit(
        client_id=client_id,
        amount=body.amount,
        currency=currency,
        reason=body.reason,
        method=body.method,
        reference=body.reference,
        payment_id=body.payment_id,
        idempotency_key=_key(user, f"refund:{client_id}", idempotency_key),
    )
    r = reversals.refund_credit(cmd, uow=app.uow(), clock=app.clock, actor=actor(user))
    _replayed(response, r.duplicate)
    return RefundOut(
        refund_id=r.refund_id,
        amount=money_text(r.amount, currency),
        currency=currency,
        credit_left=money_text(r.credit_left, currency),
        duplicate=r.duplicate,
    )


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    response_model=CreditNoteOut,
    status_code=201,
    tags=["invoices"],
    summary="Issue a credit note correcting an issued invoice",
    responses={404: _problem("No such invoice"), 409: _problem("The invoice is not issued")},
)
def issue_credit_note(
    invoice_id: int, body: CreditNoteIn, user: ApiUser, app: AppDep
) -> CreditNoteOut:
    cmd = credit_notes.IssueCreditNote(
        invoice_id=invoice_id,
        reason=body.reason,
        lines=tuple(credit_notes.CreditLine(ln.position, ln.quantity) for ln in body.lines),
        amount=body.amount,
    )
    out = credit_notes.issue_credit_note(cmd, uow=app.uow(), clock=app.clock, actor=actor(user))
    with app.uow(read_only=True) as uow:
        currency = uow.invoices.get(invoice_id).currency
    return CreditNoteOut(
        credit_note_id=out.credit_note_id,
        number=out.number,
        invoice_id=invoice_id,
        currency=currency,
        gross=money_text(out.gross, currency),
        applied=money_text(out.applied, currency),
        credited=money_text(out.credited, currency),
    )


__all__ = ["router"]
