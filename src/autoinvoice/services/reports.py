"""Cash-flow reports: aging, DSO, the 8-week inflow forecast, the most overdue clients.

Each use case reads in one read-only transaction; the SQL behind the ``Reports`` port runs
one aggregate query per report over ``invoices`` (balances are ``gross_total -
amount_paid`` there), and ``domain/cashflow.py`` turns the sums into figures. Every figure
is per currency. Past due (aging, overdue clients) is counted on each client's date, in
the client's time zone — the day the reminders and the ``invoice.overdue`` webhook go by.
The DSO's sales period counts issue dates, so it goes by each issuing entity's business
date (the date its invoices carry); the reports' ``today`` and the forecast's first week are
the earliest of the entities' dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from ..domain.cashflow import (
    DSO_DAYS,
    FORECAST_WEEKS,
    AgingRow,
    CashflowSnapshot,
    DsoRow,
    ForecastRow,
    OverdueClient,
    Week,
    aging_from_sums,
    dso_from_sums,
    forecast_from_sums,
    forecast_weeks,
    top_per_currency,
)
from ..domain.recurrence import zone
from .ports import Clock, UnitOfWork

TOP_OVERDUE = 5


class Reports(Protocol):
    """Aggregates over ``invoices`` for the cash-flow reports; read-only, one query each.
    ``todays`` maps each issuing entity id (``dso_sums``) or each client time zone
    (``aging_sums``, ``overdue_clients``) to its date."""

    def zones(self) -> dict[int, str]:
        """Each issuing entity's IANA time zone."""
        ...

    def client_zones(self) -> list[str]:
        """The distinct IANA time zones of the clients."""
        ...

    def aging_sums(self, todays: dict[str, date]) -> list[tuple[str, str, Decimal, int]]:
        """(currency, bucket key, open balance, invoice count) of open invoices, days past
        due counted on the client's date."""
        ...

    def dso_sums(self, todays: dict[int, date], days: int) -> list[tuple[str, Decimal, Decimal]]:
        """(currency, open receivables, gross issued in the ``days`` up to today)."""
        ...

    def forecast_sums(self, weeks: Sequence[Week]) -> list[tuple[str, int | None, Decimal]]:
        """(currency, week index or None for later, open balance expected then)."""
        ...

    def overdue_clients(self, todays: dict[str, date]) -> list[OverdueClient]:
        """Every client with an overdue balance (on the client's date), per currency."""
        ...


@dataclass(frozen=True, slots=True)
class AgingReport:
    today: date
    rows: list[AgingRow]


@dataclass(frozen=True, slots=True)
class DsoReport:
    today: date
    rows: list[DsoRow]


@dataclass(frozen=True, slots=True)
class ForecastReport:
    today: date
    weeks: list[Week]
    rows: list[ForecastRow]


def entity_todays(zones: dict[int, str], now: datetime) -> dict[int, date]:
    """Each entity's business date at ``now``."""
    return {eid: now.astimezone(ZoneInfo(tz)).date() for eid, tz in zones.items()}


def client_todays(zones: Iterable[str], now: datetime) -> dict[str, date]:
    """The date in each client time zone at ``now`` (``reminders.client_today`` per zone)."""
    return {tz: now.astimezone(zone(tz)).date() for tz in zones}


def _today(todays: dict[int, date], clock: Clock) -> date:
    return min(todays.values(), default=clock.now().astimezone(UTC).date())


def aging_report(*, uow: UnitOfWork, clock: Clock) -> AgingReport:
    with uow:
        todays = entity_todays(uow.reports.zones(), clock.now())
        rows = aging_from_sums(
            uow.reports.aging_sums(client_todays(uow.reports.client_zones(), clock.now()))
        )
    return AgingReport(_today(todays, clock), rows)


def dso_report(*, uow: UnitOfWork, clock: Clock, days: int = DSO_DAYS) -> DsoReport:
    with uow:
        todays = entity_todays(uow.reports.zones(), clock.now())
        rows = dso_from_sums(uow.reports.dso_sums(todays, days), days)
    return DsoReport(_today(todays, clock), rows)


def forecast_report(
    *, uow: UnitOfWork, clock: Clock, weeks: int = FORECAST_WEEKS
) -> ForecastReport:
    with uow:
        today = _today(entity_todays(uow.reports.zones(), clock.now()), clock)
        span = forecast_weeks(today, weeks)
        rows = forecast_from_sums(uow.reports.forecast_sums(span), weeks)
    return ForecastReport(today, span, rows)


def overdue_clients_report(
    *, uow: UnitOfWork, clock: Clock, limit: int = TOP_OVERDUE
) -> list[OverdueClient]:
    with uow:
        todays = client_todays(uow.reports.client_zones(), clock.now())
        rows = uow.reports.overdue_clients(todays)
    return top_per_currency(rows, limit)


def cashflow_snapshot(*, uow: UnitOfWork, clock: Clock) -> CashflowSnapshot:
    """All the dashboard's figures in one read transaction (so they agree with each other)."""
    with uow:
        todays = entity_todays(uow.reports.zones(), clock.now())
        clients = client_todays(uow.reports.client_zones(), clock.now())
        today = _today(todays, clock)
        span = forecast_weeks(today)
        return CashflowSnapshot(
            today=today,
            aging=aging_from_sums(uow.reports.aging_sums(clients)),
            dso=dso_from_sums(uow.reports.dso_sums(todays, DSO_DAYS)),
            weeks=span,
            forecast=forecast_from_sums(uow.reports.forecast_sums(span)),
            overdue_clients=top_per_currency(uow.reports.overdue_clients(clients), TOP_OVERDUE),
        )
