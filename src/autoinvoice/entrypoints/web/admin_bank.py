"""The bank review page: statement lines that wait for a decision, each with its candidate
invoices. The operator confirms (ticks the invoice or invoices the line pays) or dismisses;
both redirect (303) back, so reloading never posts twice, and a line already decided is
refused by the service (it is never applied twice)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ...domain.errors import DomainError
from ...services import bank
from ...services.errors import ServiceError
from .deps import AppDep, Reader, Writer, actor
from .pages import flash, render

router = APIRouter(include_in_schema=False)


@router.get("/bank")
def review_page(request: Request, user: Reader, app: AppDep) -> Response:
    lines = bank.review_list(uow=app.uow())
    return render(request, "bank_review.html", {"nav": "bank", "lines": lines}, user=user)


@router.post("/bank/{tx_id:int}/confirm")
def confirm_line(
    request: Request,
    tx_id: int,
    user: Writer,
    app: AppDep,
    invoice_id: Annotated[list[int] | None, Form()] = None,
) -> Response:
    try:
        pid = bank.confirm(
            tx_id, invoice_id or [], uow=app.uow(), clock=app.clock, actor=actor(user)
        )
        flash(request, f"Line {tx_id} applied as payment {pid}.")
    except (DomainError, ServiceError) as exc:
        flash(request, f"Line {tx_id} was not applied: {exc.message}")
    return RedirectResponse("/bank", status_code=303)


@router.post("/bank/{tx_id:int}/dismiss")
def dismiss_line(request: Request, tx_id: int, user: Writer, app: AppDep) -> Response:
    try:
        bank.dismiss(tx_id, uow=app.uow(), clock=app.clock, actor=actor(user))
        flash(request, f"Line {tx_id} dismissed: it pays no invoice.")
    except (DomainError, ServiceError) as exc:
        flash(request, f"Line {tx_id} was not dismissed: {exc.message}")
    return RedirectResponse("/bank", status_code=303)
