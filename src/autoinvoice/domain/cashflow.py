"""Cash-flow figures: aging buckets, days sales outstanding (DSO), expected inflows per week.

Pure: dates, Decimals and ints in, value objects out. The database adapter
(``adapters/db/reports.py``) aggregates with the same boundaries in SQL — one query per
report — and hands the sums to the ``*_from_sums`` functions here; the tests check the SQL
against these functions applied invoice by invoice.

Rules (every figure is **per currency**: EUR is never added to INR):

* **Open balance** of an invoice = ``gross_total - amount_paid`` while its status is open
  (issued, sent, viewed, partially paid). Credit notes are not receivables.
* **Today** is the business date in the *issuing entity's* time zone — the date its invoices
  carry and the one the admin lists already use (``business_today``).
* **Aging**: days past due = ``today - due_date``; ``current`` (not yet due, or due today),
  ``1-30``, ``31-60``, ``61-90``, ``90+``.
* **DSO**, the simple (average) method: ``receivables / credit sales of the last 90 days ×
  90``, where receivables are today's open balances and credit sales the gross totals of
  invoices issued in the 90 days up to and including today (void ones excluded), less the
  credit notes issued in those days. No sales in the period → no DSO.
* **Forecast**: each client's *payment delay* is the average of (payment date − due date)
  in days over its invoices settled with money (credit notes and client credit say nothing
  about when a client pays), rounded half away from zero (0 without history). An open
  balance is expected on ``due_date + delay``; if that day has passed it is expected in the
  first week. Weeks are ISO weeks (Monday–Sunday): week 1 is the one holding today, then
  seven more; anything later is reported as ``later``.

>>> today = date(2026, 11, 25)
>>> aging_bucket(today, today), aging_bucket(date(2026, 10, 1), today)
('current', '31-60')
>>> days_sales_outstanding(Decimal("30000"), Decimal("90000"))
Decimal('30.0')
>>> average_delay([3, 4]), average_delay([-3, -4]), average_delay([])
(4, -4, 0)
>>> [w.label for w in forecast_weeks(date(2026, 11, 25), 2)]
['2026-W48', '2026-W49']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
DSO_DAYS = 90
FORECAST_WEEKS = 8
# (bucket key, greatest number of days past due it holds; None = no limit)
AGING_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("current", 0),
    ("1-30", 30),
    ("31-60", 60),
    ("61-90", 90),
    ("90+", None),
)
BUCKET_KEYS = tuple(key for key, _ in AGING_BUCKETS)
BUCKET_LABELS = {
    "current": "Not yet due",
    "1-30": "1–30 days",
    "31-60": "31–60 days",
    "61-90": "61–90 days",
    "90+": "Over 90 days",
}
DSO_FORMULA = "DSO = open receivables ÷ credit sales of the last 90 days × 90"
FORECAST_METHOD = (
    "each open balance is expected on its due date plus its client's average payment delay "
    "(0 without history); balances already past that day are expected in the first week"
)


# -- aging ----------------------------------------------------------------------------------
def days_past_due(due: date, today: date) -> int:
    """Whole days since the due date; 0 while not yet overdue.

    >>> days_past_due(date(2026, 11, 1), date(2026, 11, 25))
    24
    """
    return max(0, (today - due).days)


def aging_bucket(due: date, today: date) -> str:
    days = days_past_due(due, today)
    for key, upto in AGING_BUCKETS:
        if upto is None or days <= upto:
            return key
    raise AssertionError("the last bucket has no limit")  # pragma: no cover


def aging_boundaries(today: date) -> list[tuple[str, date]]:
    """For SQL: a due date on or after the date belongs to the bucket (first match wins);
    what matches none is in the last bucket.

    >>> aging_boundaries(date(2026, 11, 25))[:2]
    [('current', datetime.date(2026, 11, 25)), ('1-30', datetime.date(2026, 10, 26))]
    """
    return [(key, today - timedelta(days=upto)) for key, upto in AGING_BUCKETS if upto is not None]


@dataclass(frozen=True, slots=True)
class AgingRow:
    currency: str
    buckets: dict[str, Decimal]  # every key of BUCKET_KEYS, in order
    counts: dict[str, int]

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)

    @property
    def overdue(self) -> Decimal:
        return self.total - self.buckets["current"]

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    @property
    def overdue_count(self) -> int:
        return self.count - self.counts["current"]


def aging_from_sums(sums: Iterable[tuple[str, str, Decimal, int]]) -> list[AgingRow]:
    """Rows of (currency, bucket, open balance, invoice count) → one row per currency, every
    bucket present (zero when empty), currencies in alphabetical order."""
    by_currency: dict[str, AgingRow] = {}
    for currency, bucket, amount, count in sums:
        row = by_currency.setdefault(
            currency,
            AgingRow(currency, dict.fromkeys(BUCKET_KEYS, ZERO), dict.fromkeys(BUCKET_KEYS, 0)),
        )
        row.buckets[bucket] += amount
        row.counts[bucket] += count
    return [by_currency[c] for c in sorted(by_currency)]


# -- DSO ------------------------------------------------------------------------------------
def days_sales_outstanding(
    receivables: Decimal, credit_sales: Decimal, days: int = DSO_DAYS
) -> Decimal | None:
    """``receivables / credit_sales × days``, to one decimal (half up); None without sales."""
    if credit_sales <= 0:
        return None
    return (receivables / credit_sales * days).quantize(Decimal("0.1"), ROUND_HALF_UP)


def sales_period(today: date, days: int = DSO_DAYS) -> tuple[date, date]:
    """The first and last day of the ``days`` days up to and including ``today``.

    >>> sales_period(date(2026, 11, 25), 90)
    (datetime.date(2026, 8, 28), datetime.date(2026, 11, 25))
    """
    return today - timedelta(days=days - 1), today


@dataclass(frozen=True, slots=True)
class DsoRow:
    currency: str
    receivables: Decimal
    credit_sales: Decimal
    days: int
    dso: Decimal | None


def dso_from_sums(
    sums: Iterable[tuple[str, Decimal, Decimal]], days: int = DSO_DAYS
) -> list[DsoRow]:
    """Rows of (currency, receivables, credit sales) → DSO per currency."""
    return [
        DsoRow(c, r, s, days, days_sales_outstanding(r, s, days))
        for c, r, s in sorted(sums, key=lambda row: row[0])
    ]


# -- forecast -------------------------------------------------------------------------------
def average_delay(days: Sequence[int]) -> int:
    """The mean of ``days``, rounded half away from zero (as SQL ``ROUND``); 0 when empty."""
    if not days:
        return 0
    return int((Decimal(sum(days)) / len(days)).quantize(Decimal(1), ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Week:
    start: date  # Monday
    end: date  # Sunday

    @property
    def label(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"


def forecast_weeks(today: date, n: int = FORECAST_WEEKS) -> list[Week]:
    monday = today - timedelta(days=today.weekday())
    return [
        Week(monday + timedelta(weeks=k), monday + timedelta(weeks=k, days=6)) for k in range(n)
    ]


def expected_payment(due: date, delay: int, today: date) -> date:
    """The day an open balance is expected: due + the client's delay, not before today.

    >>> expected_payment(date(2026, 11, 1), 10, date(2026, 11, 25))
    datetime.date(2026, 11, 25)
    """
    return max(due + timedelta(days=delay), today)


def week_index(expected: date, weeks: Sequence[Week]) -> int | None:
    """Which of ``weeks`` holds ``expected`` (earlier days count in the first); None = later."""
    for k, week in enumerate(weeks):
        if expected <= week.end:
            return k
    return None


@dataclass(frozen=True, slots=True)
class ForecastRow:
    currency: str
    weeks: list[Decimal]  # expected inflow per week, same order as the report's weeks
    later: Decimal  # expected after the last week

    @property
    def total(self) -> Decimal:
        return sum(self.weeks, ZERO) + self.later


def forecast_from_sums(
    sums: Iterable[tuple[str, int | None, Decimal]], n: int = FORECAST_WEEKS
) -> list[ForecastRow]:
    """Rows of (currency, week index or None for later, amount) → one row per currency."""
    rows: dict[str, ForecastRow] = {}
    for currency, k, amount in sums:
        row = rows.setdefault(currency, ForecastRow(currency, [ZERO] * n, ZERO))
        if k is None:
            rows[currency] = ForecastRow(currency, row.weeks, row.later + amount)
        else:
            row.weeks[k] += amount
    return [rows[c] for c in sorted(rows)]


# -- overdue clients ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OverdueClient:
    client_id: int
    name: str
    currency: str
    balance: Decimal
    invoices: int
    oldest_due: date
    days_past_due: int


@dataclass(frozen=True, slots=True)
class CashflowSnapshot:
    """Everything the dashboard shows, computed for one moment."""

    today: date
    aging: list[AgingRow]
    dso: list[DsoRow]
    weeks: list[Week]
    forecast: list[ForecastRow]
    overdue_clients: list[OverdueClient] = field(default_factory=list)


def top_per_currency(rows: Iterable[OverdueClient], limit: int) -> list[OverdueClient]:
    """The ``limit`` largest overdue balances in each currency (amounts of two currencies are
    never compared), currencies alphabetically."""
    by_currency: dict[str, list[OverdueClient]] = {}
    for row in rows:
        by_currency.setdefault(row.currency, []).append(row)
    out: list[OverdueClient] = []
    for currency in sorted(by_currency):
        ranked = sorted(by_currency[currency], key=lambda r: (-r.balance, r.name))
        out.extend(ranked[:limit])
    return out
