"""Statement of account downloads for signed-in users:
``GET /clients/{id}/statement.pdf`` and ``.csv`` with ``?from=YYYY-MM-DD&to=YYYY-MM-DD``
(default: the first of January of this year to today, in the issuing entity's date)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from ...adapters.documents.statement import statement_renderer
from ...domain.errors import InvalidValue
from ...services.account_statements import statement_csv, statement_of_account, statement_pdf
from .deps import AppDep, Reader
from .overview import business_today

router = APIRouter(include_in_schema=False)


def period(
    app: AppDep,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
) -> tuple[date, date]:
    """The period from the query, each day checked; defaults as the module says."""
    with app.uow(read_only=True) as uow:
        today = business_today(app.clock.now(), uow.entities.first())

    def parse(value: str | None, name: str, default: date) -> date:
        if not value:
            return default
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise InvalidValue(
                f"{name}: {value!r} is not a date (YYYY-MM-DD)", field=name
            ) from None

    return parse(start, "from", date(today.year, 1, 1)), parse(end, "to", today)


Period = Annotated[tuple[date, date], Depends(period)]


def _download(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/clients/{client_id:int}/statement.csv")
def statement_as_csv(client_id: int, _: Reader, app: AppDep, span: Period) -> Response:
    first, last = span
    statements = statement_of_account(client_id, start=first, end=last, uow=app.uow(read_only=True))
    name = f"statement-{client_id}-{first}-{last}.csv"
    return _download(statement_csv(statements).encode(), "text/csv; charset=utf-8", name)


@router.get("/clients/{client_id:int}/statement.pdf")
def statement_as_pdf(client_id: int, _: Reader, app: AppDep, span: Period) -> Response:
    first, last = span
    pdf = statement_pdf(
        client_id, start=first, end=last, uow=app.uow(read_only=True), renderer=statement_renderer()
    )
    return _download(pdf, "application/pdf", f"statement-{client_id}-{first}-{last}.pdf")
