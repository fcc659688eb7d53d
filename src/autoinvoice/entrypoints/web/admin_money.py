"""Payments and credit-note pages (and, through ``invoice_list``, the invoices list with its
bulk actions).

* ``/payments`` — every payment received, newest first: date, client, amount, method,
  reference, the invoices it settled, the part kept as client credit, and whether it was
  reversed. Filters (client, method, received from/to) live in the URL; the cursor pages
  on. Writers reverse a payment here (a reason is required; ``services.reversals``).
* ``/credit-notes`` — every credit note: number, date, client, the invoice it corrects,
  amount, status; filtered by client. A sub-tab of Payments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ...bootstrap import App
from ...domain.errors import DomainError
from ...domain.invoice import InvoiceKind
from ...domain.recurrence import zone
from ...services import reversals
from ...services.errors import NotFound, ServiceError
from ...services.ledger import AllocationKind, PaymentRecord
from ...services.ports import UserRecord
from . import invoice_list
from .deps import AppDep, Reader, Writer, actor
from .errors import status_for
from .list_filters import day_filter, id_filter
from .overview import business_today
from .pages import flash, render

router = APIRouter(include_in_schema=False)
router.include_router(invoice_list.router)

PAGE_SIZE = 50
METHOD_LABELS = {  # as ``services.payments`` and the invoice page's form record them
    "bank_transfer": "Bank transfer",
    "bank": "Bank statement",
    "card": "Card",
    "stripe": "Stripe",
    "cash": "Cash",
    "cheque": "Cheque",
    "manual": "Recorded by hand",
    "api": "API",
    "other": "Other",
}


def _query(**values: object) -> str:
    q = urlencode({k: str(v) for k, v in values.items() if v not in (None, "")})
    return f"?{q}" if q else ""


def _clients(app: App) -> list[tuple[int, str]]:
    with app.uow(read_only=True) as uow:
        return sorted(
            ((c.id, c.party.name) for c in uow.clients.list()), key=lambda c: c[1].lower()
        )


# -- payments -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PaymentFilters:
    client: int | None = None
    method: str = ""
    received_from: date | None = None
    received_to: date | None = None

    def params(self, **extra: object) -> dict[str, object]:
        return {
            "client": self.client,
            "method": self.method,
            "received_from": self.received_from.isoformat() if self.received_from else None,
            "received_to": self.received_to.isoformat() if self.received_to else None,
            **extra,
        }

    def url(self, **extra: object) -> str:
        return "/payments" + _query(**self.params(**extra))

    @property
    def narrowed(self) -> bool:
        return bool(self.client or self.method or self.received_from or self.received_to)


@dataclass(frozen=True, slots=True)
class PaymentRow:
    payment: PaymentRecord
    client_name: str
    applied: list[tuple[int, str, Decimal]]  # (invoice id, number, amount)
    credited: Decimal  # the part kept as client credit (net)

    @property
    def method_label(self) -> str:
        m = self.payment.method
        return METHOD_LABELS.get(m, m.replace("_", " ").capitalize())


def _parse_payment_filters(
    client: str, method: str, received_from: str, received_to: str
) -> tuple[PaymentFilters, list[str]]:
    notices: list[str] = []
    method = method.strip()
    if method and (len(method) > 30 or not method.replace("_", "").isalnum()):
        notices.append(f"{method!r} is not a payment method; that filter is off.")
        method = ""
    return (
        PaymentFilters(
            id_filter(client, "client", notices),
            method,
            day_filter(received_from, "“received from”", notices),
            day_filter(received_to, "“received to”", notices),
        ),
        notices,
    )


def _payment_rows(
    app: App, f: PaymentFilters, after: int | None
) -> tuple[list[PaymentRow], bool, str]:
    with app.uow(read_only=True) as uow:
        entity = uow.entities.first()
        tz = zone(entity.timezone) if entity else zone("UTC")
        since = datetime.combine(f.received_from, time(0), tz) if f.received_from else None
        before = (
            datetime.combine(f.received_to + timedelta(days=1), time(0), tz)
            if f.received_to
            else None
        )
        found = uow.ledger.payments(
            client_id=f.client,
            method=f.method or None,
            received_from=since,
            received_before=before,
            after_id=after,
            limit=PAGE_SIZE + 1,
        )
        more, found = len(found) > PAGE_SIZE, found[:PAGE_SIZE]
        allocs = {
            p.id: [
                a
                for a in uow.ledger.allocations(payment_id=p.id, live_only=p.reversed_at is None)
                if a.kind is AllocationKind.PAYMENT
            ]
            for p in found
        }
        invoice_ids = sorted({a.invoice_id for rows in allocs.values() for a in rows})
        numbers = {i: inv.number for i, inv in uow.invoices.get_many(invoice_ids).items()}
        names = {
            c.id: c.party.name for c in uow.clients.get_many([p.client_id for p in found]).values()
        }
        credited = {p.id: uow.ledger.credit_of_payment(p.id) for p in found}
    rows = [
        PaymentRow(
            p,
            names.get(p.client_id, f"client {p.client_id}"),
            [(a.invoice_id, numbers.get(a.invoice_id) or "", a.amount) for a in allocs[p.id]],
            credited[p.id],
        )
        for p in found
    ]
    return rows, more, entity.timezone if entity else "UTC"


def _payments_page(
    request: Request,
    app: App,
    user: UserRecord,
    f: PaymentFilters,
    *,
    after: int | None = None,
    notices: Sequence[str] = (),
    errors: dict[int, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    rows, more, tz = _payment_rows(app, f, after)
    methods = dict(METHOD_LABELS)
    if f.method and f.method not in methods:
        methods[f.method] = f.method
    context: dict[str, Any] = {
        "nav": "payments",
        "tab": "payments",
        "rows": rows,
        "f": f,
        "tz": tz,
        "clients": _clients(app),
        "methods": methods,
        "notices": list(notices),
        "after": after,
        "next_after": rows[-1].payment.id if more and rows else None,
        "errors": errors or {},
        "form": form or {},
    }
    return render(request, "payments.html", context, user=user, status_code=status_code)


@router.get("/payments")
def payments_page(
    request: Request,
    user: Reader,
    app: AppDep,
    client: str = "",
    method: str = "",
    received_from: str = "",
    received_to: str = "",
    after: int | None = None,
) -> Response:
    f, notices = _parse_payment_filters(client, method, received_from, received_to)
    return _payments_page(request, app, user, f, after=after, notices=notices)


@router.post("/payments/{payment_id:int}/reverse")
def reverse_payment(
    request: Request,
    payment_id: int,
    user: Writer,
    app: AppDep,
    reason: Annotated[str, Form(max_length=500)] = "",
    client: Annotated[str, Form(max_length=20)] = "",
    method: Annotated[str, Form(max_length=30)] = "",
    received_from: Annotated[str, Form(max_length=20)] = "",
    received_to: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    f, _ = _parse_payment_filters(client, method, received_from, received_to)
    try:
        out = reversals.reverse_payment(
            payment_id, reason, uow=app.uow(), clock=app.clock, actor=actor(user)
        )
    except (DomainError, ServiceError) as exc:
        if isinstance(exc, NotFound):
            raise
        return _payments_page(
            request,
            app,
            user,
            f,
            errors={payment_id: exc.message},
            form={"reason": reason},
            status_code=status_for(exc),
        )
    reopened = len(out.reopened)
    flash(
        request,
        f"Payment {payment_id} reversed. "
        + (
            f"{reopened} invoice{'' if reopened == 1 else 's'} open again."
            if reopened
            else "No invoice was settled by it."
        ),
    )
    return RedirectResponse(f.url(), status_code=303)


# -- credit notes ---------------------------------------------------------------------------
@router.get("/credit-notes")
def credit_notes_page(
    request: Request,
    user: Reader,
    app: AppDep,
    client: str = "",
    after: int | None = None,
) -> Response:
    notices: list[str] = []
    client_id = id_filter(client, "client", notices)
    with app.uow(read_only=True) as uow:
        today = business_today(app.clock.now(), uow.entities.first())
        found = uow.invoices.summaries(
            kind=InvoiceKind.CREDIT_NOTE.value,
            client_id=client_id,
            after_id=after,
            limit=PAGE_SIZE + 1,
        )
        more, found = len(found) > PAGE_SIZE, found[:PAGE_SIZE]
        corrects = uow.ledger.corrected_by([s.id for s in found]) if found else {}
        originals = uow.invoices.get_many(sorted(set(corrects.values())))
        reasons = {
            link.credit_note_id: link.reason
            for invoice_id in sorted(set(corrects.values()))
            for link in uow.ledger.credit_notes_of(invoice_id)
        }
    rows = [
        {
            "s": s,
            "invoice_id": corrects.get(s.id),
            "invoice_number": (
                originals[corrects[s.id]].number if corrects.get(s.id) in originals else None
            ),
            "reason": reasons.get(s.id, ""),
        }
        for s in found
    ]
    return render(
        request,
        "credit_notes.html",
        {
            "nav": "payments",
            "tab": "credit_notes",
            "rows": rows,
            "client": client_id,
            "clients": _clients(app),
            "notices": notices,
            "today": today,
            "after": after,
            "next_after": found[-1].id if more and found else None,
            "url": lambda **kw: "/credit-notes" + _query(**{"client": client_id, **kw}),
        },
        user=user,
    )


__all__ = ["router"]
