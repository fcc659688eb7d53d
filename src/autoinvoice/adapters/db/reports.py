"""SQL aggregates behind the cash-flow reports (``services/reports.py``): one query per
report, grouped by currency and a CASE over ``due_date`` whose boundaries come from
``domain/cashflow.py``.

Two portability details:

* **Exact sums.** PostgreSQL sums ``NUMERIC`` exactly. SQLite keeps money as decimal text
  and its arithmetic is binary floating point, so there each amount is first turned into an
  integer count of millionths (``ExactDecimal`` keeps six places) and the integers are
  summed — exact for amounts below about 9 × 10⁹ per invoice.
* **Day numbers.** Date arithmetic is spelled differently on each database, so dates become
  days since 1970-01-01 (:class:`DayNumber`) and the forecast compares plain integers.
  A payment's day is its UTC date.

Whose "today": past due (aging, overdue clients, the weekly audit's list) is counted on the
client's date, as the reminders and the ``invoice.overdue`` webhook count it
(:func:`per_client_today`, a join to ``clients``); the DSO's sales period counts issue dates,
which are the issuing entity's, so it uses :func:`per_entity_today`.

Indexes (migration 0008), so each report reads an index and not the table (measured by
``bench/aging.py``: 1,000,000 invoices, every report under 0.3 s on PostgreSQL):
``ix_invoices_open_due`` — partial, open invoices only, covering due date, currency,
entity, client and amounts (aging, forecast, overdue clients); ``ix_invoices_issue_date``
(issue date, kind, status, currency, entity, gross) for DSO's sales period;
``ix_invoices_paid_history`` — partial, paid invoices: client, due date, paid at, id, amount
paid — for the clients' payment delays, with ``ix_allocations_live_credits`` (partial: live
allocations of client credit and credit notes) to leave out invoices not settled with money.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Exists,
    Integer,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ...domain.cashflow import (
    OverdueClient,
    Week,
    aging_boundaries,
    days_past_due,
    sales_period,
)
from ...domain.invoice import OPEN_STATUSES
from . import tables as t

EPOCH = date(1970, 1, 1)
MICRO = 1_000_000
_OPEN = sorted(s.value for s in OPEN_STATUSES)
i = t.invoices


class DayNumber(FunctionElement[int]):
    """Days since 1970-01-01 of a DATE column."""

    type = Integer()
    inherit_cache = True


class UtcDayNumber(FunctionElement[int]):
    """Days since 1970-01-01 of the UTC date of a timestamp column."""

    type = Integer()
    inherit_cache = True


@compiles(DayNumber, "postgresql")
def _day_pg(element: DayNumber, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} - DATE '1970-01-01')"


@compiles(DayNumber, "sqlite")
def _day_sqlite(element: DayNumber, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5 AS INTEGER)"


@compiles(UtcDayNumber, "postgresql")
def _utc_day_pg(element: UtcDayNumber, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"(CAST(({arg} AT TIME ZONE 'UTC') AS DATE) - DATE '1970-01-01')"


@compiles(UtcDayNumber, "sqlite")
def _utc_day_sqlite(element: UtcDayNumber, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(julianday(date({arg})) - 2440587.5 AS INTEGER)"


def _day(d: date) -> int:
    return (d - EPOCH).days


def per_entity_today(todays: dict[int, date], shift: int = 0) -> ColumnElement[Any]:
    """Each invoice's issuing entity's today minus ``shift`` days, as an SQL date (a plain
    parameter when all entities share the date)."""
    days = {eid: d - timedelta(days=shift) for eid, d in todays.items()}
    if len(set(days.values())) == 1:
        return literal(next(iter(days.values())))
    return case(days, value=i.c.entity_id)


def per_client_today(todays: dict[str, date], shift: int = 0) -> ColumnElement[Any]:
    """Each invoice's client's today minus ``shift`` days, as an SQL date: a plain parameter
    when every client time zone has the same date, else a CASE over ``clients.timezone`` (the
    query joins ``clients``). The zones are few, so their dates are computed in Python; a
    zone missing from ``todays`` (a client added since) gets the earliest date."""
    days = {tz: d - timedelta(days=shift) for tz, d in todays.items()}
    if len(set(days.values())) == 1:
        return literal(next(iter(days.values())))
    return case(days, value=t.clients.c.timezone, else_=literal(min(days.values())))


def _credited(invoice_id: ColumnElement[Any]) -> Exists:
    """A live (not reversed) allocation to the invoice that is not money received — client
    credit or a credit note; few rows, answered from ``ix_allocations_live_credits``."""
    a = t.payment_allocations
    return exists().where(
        a.c.invoice_id == invoice_id, a.c.kind != "payment", a.c.reversed_at.is_(None)
    )


class SqlReports:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"

    # -- exact money ------------------------------------------------------------------------
    def _amount(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.sqlite:
            return cast(func.round(col * literal_column(str(MICRO))), Integer)
        return col

    def _balance(self) -> ColumnElement[Any]:
        return self._amount(i.c.gross_total) - self._amount(i.c.amount_paid)

    def _money(self, value: Any) -> Decimal:
        if value is None:
            return Decimal(0)
        d = Decimal(int(value)).scaleb(-6) if self.sqlite else Decimal(value)
        return d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize()

    @staticmethod
    def _open() -> ColumnElement[bool]:
        return and_(i.c.status.in_(_OPEN), i.c.kind == "invoice")

    # -- the port ---------------------------------------------------------------------------
    def zones(self) -> dict[int, str]:
        e = t.issuing_entities
        return {eid: tz for eid, tz in self.conn.execute(select(e.c.id, e.c.timezone))}

    def client_zones(self) -> list[str]:
        c = t.clients
        return list(self.conn.scalars(select(c.c.timezone).distinct()))

    def aging_sums(self, todays: dict[str, date]) -> list[tuple[str, str, Decimal, int]]:
        if not todays:
            return []
        anyday = next(iter(todays.values()))
        whens = []
        for key, first_due in aging_boundaries(anyday):
            shift = (anyday - first_due).days
            whens.append((i.c.due_date >= per_client_today(todays, shift), literal(key)))
        bucket = case((i.c.due_date.is_(None), literal("current")), *whens, else_=literal("90+"))
        inner = (
            select(i.c.currency, bucket.label("bucket"), self._balance().label("balance"))
            .select_from(i.join(t.clients, t.clients.c.id == i.c.client_id))
            .where(self._open())
            .subquery()
        )
        q = select(
            inner.c.currency, inner.c.bucket, func.sum(inner.c.balance), func.count()
        ).group_by(inner.c.currency, inner.c.bucket)
        return [(c, b, self._money(s), n) for c, b, s, n in self.conn.execute(q)]

    def dso_sums(self, todays: dict[int, date], days: int) -> list[tuple[str, Decimal, Decimal]]:
        """One statement; the two halves (open balances, the period's sales) are a UNION ALL
        so each reads its own index instead of one scan under an OR."""
        if not todays:
            return []
        first = min(sales_period(d, days)[0] for d in todays.values())
        zero = literal(0)
        receivables = select(
            i.c.currency.label("currency"),
            self._balance().label("receivable"),
            zero.label("sales"),
        ).where(self._open())
        gross = self._amount(i.c.gross_total)
        # a credit note takes back what its invoice sold: credit sales are net of them
        signed = case((i.c.kind == "credit_note", -gross), else_=gross)
        sales = select(i.c.currency, zero, signed).where(
            i.c.kind.in_(("invoice", "credit_note")),
            i.c.issue_date.between(first, max(todays.values())),  # the index range
            i.c.issue_date >= per_entity_today(todays, days - 1),
            i.c.issue_date <= per_entity_today(todays),
            i.c.status.notin_(("draft", "void")),
        )
        u = union_all(receivables, sales).subquery()
        q = select(u.c.currency, func.sum(u.c.receivable), func.sum(u.c.sales)).group_by(
            u.c.currency
        )
        return [(c, self._money(r), self._money(s)) for c, r, s in self.conn.execute(q)]

    def forecast_sums(self, weeks: Sequence[Week]) -> list[tuple[str, int | None, Decimal]]:
        """A client's habit is learnt from the invoices it settled with money received. A
        credit note or client credit settles an invoice the day it is applied, which says
        nothing about when the client pays, and an invoice of zero is paid at issue. So: a
        paid invoice with something paid on it and no live allocation of another kind than
        ``payment`` — what is paid on an invoice is the sum of its live allocations, so all
        of it came as payments. Asked this way (not "has a payment allocation") the check is
        an anti-join with the few credit allocations, and the paid invoices are read from
        their index alone: 1,000,000 invoices, 0.24 s on PostgreSQL (``bench/aging.py``)."""
        delays = (
            select(
                i.c.client_id.label("client_id"),
                cast(
                    func.round(func.avg(UtcDayNumber(i.c.paid_at) - DayNumber(i.c.due_date))),
                    Integer,
                ).label("delay"),
            )
            .where(
                i.c.status == "paid",
                i.c.kind == "invoice",
                i.c.paid_at.is_not(None),
                i.c.due_date.is_not(None),
                self._amount(i.c.amount_paid) > 0,
                ~_credited(i.c.id),
            )
            .group_by(i.c.client_id)
            .cte("delays")
        )
        expected = DayNumber(i.c.due_date) + func.coalesce(delays.c.delay, 0)
        week = case(
            *((expected <= _day(w.end), literal(k)) for k, w in enumerate(weeks)),
            else_=literal(None, Integer),
        )
        inner = (
            select(i.c.currency, week.label("week"), self._balance().label("balance"))
            .select_from(i.outerjoin(delays, delays.c.client_id == i.c.client_id))
            .where(self._open())
            .subquery()
        )
        q = select(inner.c.currency, inner.c.week, func.sum(inner.c.balance)).group_by(
            inner.c.currency, inner.c.week
        )
        return [
            (c, None if k is None else int(k), self._money(s)) for c, k, s in self.conn.execute(q)
        ]

    def overdue_clients(self, todays: dict[str, date]) -> list[OverdueClient]:
        if not todays:
            return []
        c = t.clients
        q = (
            select(
                i.c.client_id,
                c.c.name,
                c.c.timezone,
                i.c.currency,
                func.sum(self._balance()),
                func.count(),
                func.min(i.c.due_date),
            )
            .join(c, c.c.id == i.c.client_id)
            .where(self._open(), i.c.due_date < per_client_today(todays))
            .group_by(i.c.client_id, c.c.name, c.c.timezone, i.c.currency)
        )
        earliest = min(todays.values())
        return [
            OverdueClient(
                cid,
                name,
                cur,
                self._money(s),
                n,
                oldest,
                days_past_due(oldest, todays.get(tz, earliest)),
            )
            for cid, name, tz, cur, s, n, oldest in self.conn.execute(q)
        ]
