"""The REST API for bank statements: upload a statement (camt.053/054, MT940, OFX, or CSV
with a saved mapping), the review list, and confirming or dismissing a waiting line.
A broken file is a 422 naming the line or element at fault; nothing of it is stored."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ...adapters.bank import detect_format, parse_statement
from ...domain.errors import InvalidValue
from ...services import bank
from .api import COMMON_RESPONSES, PROBLEM
from .deps import ApiUser, AppDep, actor

router = APIRouter(prefix="/api/v1/bank", responses=COMMON_RESPONSES, tags=["bank"])

MAX_BYTES = 50 * 1024 * 1024


class ImportOut(BaseModel):
    statement_id: int
    lines: int
    imported: int = Field(description="New lines stored")
    duplicates: int = Field(description="Lines stored before (same statement or overlap)")
    matched: int = Field(description="Applied to invoices with confidence")
    review: int = Field(description="Waiting in the review list")
    outgoing: int = Field(description="Debits, stored but not matched")


class CandidateOut(BaseModel):
    invoice_id: int
    number: str
    balance: str
    score: str
    reason: str


class WaitingOut(BaseModel):
    id: int
    booking_date: str
    amount: str
    currency: str
    payer: str | None
    iban: str | None
    text: str
    reason: str | None
    candidates: list[CandidateOut]


class ConfirmIn(BaseModel):
    invoice_ids: list[int] = Field(min_length=1, description="The invoice(s) it pays, in order")


class ConfirmOut(BaseModel):
    transaction_id: int
    payment_id: int


@router.post(
    "/statements",
    response_model=ImportOut,
    status_code=201,
    summary="Import a bank statement; confident matches are applied, the rest wait for review",
    responses={
        404: {"description": "No saved CSV mapping of that name", **PROBLEM},
        422: {"description": "The file cannot be read", **PROBLEM},
    },
)
async def post_statement(
    file: Annotated[UploadFile, File(description="camt.053/054 XML, MT940, OFX or CSV")],
    user: ApiUser,
    app: AppDep,
    format: Annotated[Literal["camt", "mt940", "ofx", "csv"] | None, Form()] = None,
    mapping: Annotated[str | None, Form(description="Saved column mapping (CSV)")] = None,
) -> ImportOut:
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise InvalidValue(f"the file is larger than {MAX_BYTES} bytes", field="file")

    def work() -> bank.ImportResult:
        fmt = format or detect_format(data, file.filename or "")
        columns = bank.load_mapping(mapping, uow=app.uow()) if mapping else None
        txs = parse_statement(data, fmt, mapping=columns)
        return bank.import_statement(
            txs,
            fmt=fmt,
            content=data,
            filename=file.filename,
            uow=app.uow(),
            clock=app.clock,
            actor=actor(user),
        )

    r = await run_in_threadpool(work)
    return ImportOut(
        statement_id=r.statement_id,
        lines=r.lines,
        imported=r.imported,
        duplicates=r.duplicates,
        matched=r.applied,
        review=r.review,
        outgoing=r.outgoing,
    )


@router.get("/review", response_model=list[WaitingOut], summary="Lines waiting for a decision")
def get_review(user: ApiUser, app: AppDep) -> list[WaitingOut]:
    return [
        WaitingOut(
            id=line.id,
            booking_date=line.tx.booking_date.isoformat(),
            amount=str(line.tx.amount),
            currency=line.tx.currency,
            payer=line.tx.counterparty_name,
            iban=line.tx.counterparty_iban,
            text=line.tx.remittance,
            reason=line.reason,
            candidates=[CandidateOut(**c) for c in line.candidates],
        )
        for line in bank.review_list(uow=app.uow())
    ]


@router.post(
    "/transactions/{tx_id}/confirm",
    response_model=ConfirmOut,
    summary="Apply a waiting line to the chosen invoice(s)",
    responses={404: {"description": "No such line", **PROBLEM}},
)
def post_confirm(
    tx_id: Annotated[int, Path(ge=1)], body: ConfirmIn, user: ApiUser, app: AppDep
) -> ConfirmOut:
    pid = bank.confirm(tx_id, body.invoice_ids, uow=app.uow(), clock=app.clock, actor=actor(user))
    return ConfirmOut(transaction_id=tx_id, payment_id=pid)


@router.post(
    "/transactions/{tx_id}/dismiss",
    status_code=204,
    summary="Take a waiting line off the review list (it pays no invoice)",
    responses={404: {"description": "No such line", **PROBLEM}},
)
def post_dismiss(tx_id: Annotated[int, Path(ge=1)], user: ApiUser, app: AppDep) -> None:
    bank.dismiss(tx_id, uow=app.uow(), clock=app.clock, actor=actor(user))
