"""REST API for the cash-flow reports, under ``/api/v1/reports`` (scope ``read``).

Every figure is per currency — amounts in two currencies are never added — and money is an
exact decimal string at the currency's minor units. "Today" is the issuing entity's business
date (its time zone).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ...domain.cashflow import (
    BUCKET_KEYS,
    DSO_DAYS,
    DSO_FORMULA,
    FORECAST_METHOD,
    AgingRow,
    DsoRow,
    ForecastRow,
    OverdueClient,
)
from ...services import reports
from .api import COMMON_RESPONSES
from .deps import ApiUser, AppDep
from .schemas import money_text

router = APIRouter(prefix="/api/v1/reports", responses=COMMON_RESPONSES, tags=["reports"])

Money = Annotated[str, Field(description="exact decimal", examples=["5355.00"])]


class AgingRowOut(BaseModel):
    currency: str = Field(examples=["EUR"])
    buckets: dict[str, Money] = Field(
        description="open balance by days past due: " + ", ".join(BUCKET_KEYS)
    )
    counts: dict[str, int] = Field(description="open invoices per bucket")
    total: Money
    overdue: Money

    @classmethod
    def of(cls, row: AgingRow) -> AgingRowOut:
        c = row.currency
        return cls(
            currency=c,
            buckets={k: money_text(v, c) for k, v in row.buckets.items()},
            counts=row.counts,
            total=money_text(row.total, c),
            overdue=money_text(row.overdue, c),
        )


class AgingOut(BaseModel):
    today: date = Field(
        description="the (earliest) issuing entity's business date; days past due are "
        "counted on each client's date (the client's time zone)"
    )
    currencies: list[AgingRowOut]


class DsoRowOut(BaseModel):
    currency: str
    receivables: Money
    credit_sales: Money = Field(description="gross invoiced in the period (void excluded)")
    days: int
    dso: str | None = Field(description="days, one decimal; null without sales in the period")

    @classmethod
    def of(cls, row: DsoRow) -> DsoRowOut:
        c = row.currency
        return cls(
            currency=c,
            receivables=money_text(row.receivables, c),
            credit_sales=money_text(row.credit_sales, c),
            days=row.days,
            dso=None if row.dso is None else str(row.dso),
        )


class DsoOut(BaseModel):
    today: date
    formula: str = Field(examples=[DSO_FORMULA])
    currencies: list[DsoRowOut]


class WeekOut(BaseModel):
    week: str = Field(description="ISO week", examples=["2026-W48"])
    start: date
    end: date


class ForecastRowOut(BaseModel):
    currency: str
    weeks: list[Money] = Field(description="expected inflow per week, in the order of `weeks`")
    later: Money = Field(description="expected after the last week")
    total: Money

    @classmethod
    def of(cls, row: ForecastRow) -> ForecastRowOut:
        c = row.currency
        return cls(
            currency=c,
            weeks=[money_text(v, c) for v in row.weeks],
            later=money_text(row.later, c),
            total=money_text(row.total, c),
        )


class ForecastOut(BaseModel):
    today: date
    method: str
    weeks: list[WeekOut]
    currencies: list[ForecastRowOut]


class OverdueClientOut(BaseModel):
    client_id: int
    name: str
    currency: str
    balance: Money
    invoices: int
    oldest_due: date
    days_past_due: int

    @classmethod
    def of(cls, row: OverdueClient) -> OverdueClientOut:
        return cls(
            client_id=row.client_id,
            name=row.name,
            currency=row.currency,
            balance=money_text(row.balance, row.currency),
            invoices=row.invoices,
            oldest_due=row.oldest_due,
            days_past_due=row.days_past_due,
        )


class OverdueClientsOut(BaseModel):
    items: list[OverdueClientOut]


def aging_out(r: reports.AgingReport) -> AgingOut:
    return AgingOut(today=r.today, currencies=[AgingRowOut.of(row) for row in r.rows])


def dso_out(r: reports.DsoReport, days: int = DSO_DAYS) -> DsoOut:
    formula = DSO_FORMULA.replace("90", str(days))
    return DsoOut(today=r.today, formula=formula, currencies=[DsoRowOut.of(x) for x in r.rows])


def forecast_out(r: reports.ForecastReport) -> ForecastOut:
    return ForecastOut(
        today=r.today,
        method=FORECAST_METHOD,
        weeks=[WeekOut(week=w.label, start=w.start, end=w.end) for w in r.weeks],
        currencies=[ForecastRowOut.of(x) for x in r.rows],
    )


def overdue_out(rows: list[OverdueClient]) -> OverdueClientsOut:
    return OverdueClientsOut(items=[OverdueClientOut.of(r) for r in rows])


@router.get("/aging", response_model=AgingOut, summary="Open balances by days past due")
def aging(_: ApiUser, app: AppDep) -> AgingOut:
    return aging_out(reports.aging_report(uow=app.uow(read_only=True), clock=app.clock))


@router.get("/dso", response_model=DsoOut, summary="Days sales outstanding per currency")
def dso(_: ApiUser, app: AppDep, days: Annotated[int, Query(ge=7, le=365)] = DSO_DAYS) -> DsoOut:
    return dso_out(
        reports.dso_report(uow=app.uow(read_only=True), clock=app.clock, days=days), days
    )


@router.get("/forecast", response_model=ForecastOut, summary="Expected inflows per ISO week")
def forecast(_: ApiUser, app: AppDep, weeks: Annotated[int, Query(ge=1, le=26)] = 8) -> ForecastOut:
    r = reports.forecast_report(uow=app.uow(read_only=True), clock=app.clock, weeks=weeks)
    return forecast_out(r)


@router.get(
    "/overdue-clients",
    response_model=OverdueClientsOut,
    summary="The clients with the largest overdue balances, per currency",
)
def overdue_clients(
    _: ApiUser, app: AppDep, limit: Annotated[int, Query(ge=1, le=100)] = 5
) -> OverdueClientsOut:
    rows = reports.overdue_clients_report(uow=app.uow(read_only=True), clock=app.clock, limit=limit)
    return overdue_out(rows)
