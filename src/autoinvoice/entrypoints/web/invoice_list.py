"""The invoices list: filters (status, client, issue dates, number) and bulk actions.

The filters combine and live in the URL, so a filtered list can be bookmarked and paging
keeps them. Writers tick invoices (or "select all on this page", a link that redraws the
page with every box ticked: no script needed) and send them again, remind or void them;
``services.invoice_batches`` does the work, one invoice at a time, and the flash says per
invoice what happened. Each drawing of the page carries a fresh token, so a double submit
queues nothing twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ...bootstrap import App
from ...domain.errors import DomainError, InvalidValue
from ...domain.money import Money
from ...services.errors import ServiceError
from ...services.invoice_batches import BatchAction, run_batch
from ...services.ports import UserRecord
from .deps import AppDep, Reader, Writer, actor
from .errors import status_for
from .list_filters import day_filter
from .overview import business_today, is_open, summary_overdue
from .pages import LOCALE, STATUS_LABELS, flash, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
FILTERS = ("draft", "issued", "sent", "viewed", "partially_paid", "paid", "void")


@dataclass(frozen=True, slots=True)
class InvoiceFilters:
    status: str = ""
    client: int | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    q: str = ""

    def params(self, **extra: object) -> dict[str, str]:
        values: dict[str, object] = {
            "status": self.status,
            "client": self.client,
            "issued_from": self.issued_from.isoformat() if self.issued_from else None,
            "issued_to": self.issued_to.isoformat() if self.issued_to else None,
            "q": self.q,
            **extra,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def url(self, **extra: object) -> str:
        """``/invoices`` with these filters (``status=None`` etc. drops one)."""
        query = urlencode(self.params(**extra))
        return "/invoices" + (f"?{query}" if query else "")

    @property
    def narrowed(self) -> bool:
        return bool(self.client or self.issued_from or self.issued_to or self.q)


def parse_filters(
    status: str, client: str, issued_from: str, issued_to: str, q: str
) -> tuple[InvoiceFilters, list[str]]:
    """The filters from the query string; what cannot be understood is dropped with a
    notice saying so (a bookmark never breaks the page)."""
    notices: list[str] = []
    if status and status not in (*FILTERS, "overdue"):
        notices.append(f"There is no status {status!r}; showing every status.")
        status = ""
    client_id = None
    if client.strip():
        if client.strip().isdigit():
            client_id = int(client.strip())
        else:
            notices.append(f"{client!r} is not a client; showing every client.")
    start = day_filter(issued_from, "“issued from”", notices)
    end = day_filter(issued_to, "“issued to”", notices)
    return InvoiceFilters(status, client_id, start, end, q.strip()[:60]), notices


def _totals_by_currency(rows: list[tuple[str, Decimal]]) -> list[str]:
    sums: dict[str, Decimal] = {}
    for currency, amount in rows:
        sums[currency] = sums.get(currency, Decimal(0)) + amount
    return [Money(v, c).format(LOCALE) for c, v in sorted(sums.items())]


def invoices_view(
    request: Request,
    app: App,
    user: UserRecord,
    f: InvoiceFilters,
    *,
    after: int | None = None,
    select_all: bool = False,
    selected: Sequence[int] = (),
    notices: Sequence[str] = (),
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    where: dict[str, Any] = {
        "client_id": f.client,
        "issued_from": f.issued_from,
        "issued_to": f.issued_to,
        "number": f.q or None,
    }
    with app.uow(read_only=True) as uow:
        now = app.clock.now()
        today = business_today(now, uow.entities.first())
        everything = uow.invoices.summaries(limit=10_000)
        if f.status == "overdue":
            rows = [
                s
                for s in uow.invoices.summaries(limit=10_000, **where)
                if summary_overdue(s, now) and (after is None or s.id < after)
            ][: PAGE_SIZE + 1]
        else:
            rows = uow.invoices.summaries(
                status=f.status or None, after_id=after, limit=PAGE_SIZE + 1, **where
            )
        clients = sorted(
            ((c.id, c.party.name) for c in uow.clients.list()), key=lambda c: c[1].lower()
        )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    open_rows = [s for s in everything if is_open(s.status)]
    overdue_rows = [s for s in open_rows if summary_overdue(s, now)]
    stats = {
        "outstanding": _totals_by_currency([(s.currency, s.balance) for s in open_rows]),
        "open_count": len(open_rows),
        "overdue": _totals_by_currency([(s.currency, s.balance) for s in overdue_rows]),
        "overdue_count": len(overdue_rows),
        "attention": sum(1 for s in everything if s.status == "draft" and s.hold_reason),
    }
    ticked = {s.id for s in rows} if select_all else set(selected)
    return render(
        request,
        "invoices.html",
        {
            "nav": "invoices",
            "rows": rows,
            "today": today,
            "f": f,
            "status": f.status,
            "clients": clients,
            "client_name": dict(clients).get(f.client or 0),
            "filters": [
                ("", "All"),
                *((s, STATUS_LABELS[s]) for s in FILTERS),
                ("overdue", "Overdue"),
            ],
            "next_after": rows[-1].id if more and rows else None,
            "after": after,
            "stats": stats,
            "notices": list(notices),
            "overdue": lambda s: summary_overdue(s, now),
            "ticked": ticked,
            "select_all": select_all,
            "batch_key": secrets.token_urlsafe(16),
            "errors": errors or {},
            "form": form or {},
        },
        user=user,
        status_code=status_code,
    )


@router.get("/invoices")
def invoices_page(
    request: Request,
    user: Reader,
    app: AppDep,
    status: str = "",
    client: str = "",
    issued_from: str = "",
    issued_to: str = "",
    q: str = "",
    after: int | None = None,
    select: str = "",
) -> Response:
    f, notices = parse_filters(status, client, issued_from, issued_to, q)
    return invoices_view(
        request, app, user, f, after=after, select_all=select == "all", notices=notices
    )


def _ids(values: Sequence[str]) -> list[int]:
    return [int(v) for v in values if v.strip().isdigit()]


@router.post("/invoices/bulk")
def bulk_action(
    request: Request,
    user: Writer,
    app: AppDep,
    action: Annotated[str, Form(max_length=20)] = "",
    invoice_ids: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006 (FastAPI form default)
    reason: Annotated[str, Form(max_length=500)] = "",
    key: Annotated[str, Form(max_length=64)] = "",
    status: Annotated[str, Form(max_length=20)] = "",
    client: Annotated[str, Form(max_length=20)] = "",
    issued_from: Annotated[str, Form(max_length=20)] = "",
    issued_to: Annotated[str, Form(max_length=20)] = "",
    q: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    f, _ = parse_filters(status, client, issued_from, issued_to, q)
    ids = _ids(invoice_ids)
    try:
        if action not in BatchAction.__members__.values():
            raise InvalidValue("choose Send again, Remind or Void", field="action")
        report = run_batch(
            BatchAction(action),
            ids,
            key=key,
            reason=reason,
            uow=app.uow(),
            clock=app.clock,
            actor=actor(user),
        )
    except (DomainError, ServiceError) as exc:
        field = exc.field if exc.field in ("reason", "invoice_ids") else "action"
        return invoices_view(
            request,
            app,
            user,
            f,
            selected=ids,
            errors={field: exc.message},
            form={"reason": reason, "action": action},
            status_code=status_for(exc),
        )
    verb = {"send": "Send again", "remind": "Remind", "void": "Void"}[action]
    flash(request, f"{verb}: {report.summary()}")
    return RedirectResponse(f.url(), status_code=303)


__all__ = ["FILTERS", "PAGE_SIZE", "InvoiceFilters", "invoices_view", "parse_filters", "router"]
