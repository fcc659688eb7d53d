"""Aging buckets, DSO and the forecast's arithmetic, without a database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from autoinvoice.domain.cashflow import (
    OverdueClient,
    aging_boundaries,
    aging_bucket,
    aging_from_sums,
    average_delay,
    days_sales_outstanding,
    dso_from_sums,
    expected_payment,
    forecast_from_sums,
    forecast_weeks,
    top_per_currency,
    week_index,
)

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("days_late", "bucket"),
    [
        (-3, "current"),
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
        (1000, "90+"),
    ],
)
def test_a_due_date_falls_in_the_bucket_of_its_days_past_due(days_late: int, bucket: str) -> None:
    assert aging_bucket(TODAY - timedelta(days=days_late), TODAY) == bucket


def test_the_sql_boundaries_give_the_same_buckets_as_the_pure_rule() -> None:
    bounds = aging_boundaries(TODAY)
    for days_late in range(-10, 200):
        due = TODAY - timedelta(days=days_late)
        sql_bucket = next((key for key, first in bounds if due >= first), "90+")
        assert sql_bucket == aging_bucket(due, TODAY)


def test_aging_rows_fill_every_bucket_and_keep_currencies_apart() -> None:
    rows = aging_from_sums(
        [
            ("INR", "90+", Decimal(5), 1),
            ("EUR", "current", Decimal(2), 2),
            ("EUR", "1-30", Decimal(3), 1),
        ]
    )
    assert [r.currency for r in rows] == ["EUR", "INR"]
    eur = rows[0]
    assert eur.buckets["61-90"] == 0 and eur.total == 5 and eur.overdue == 3
    assert (eur.count, eur.overdue_count) == (3, 1)


def test_dso_is_receivables_over_sales_times_the_period_rounded_to_a_tenth() -> None:
    assert days_sales_outstanding(Decimal("1000"), Decimal("3000")) == Decimal("30.0")
    assert days_sales_outstanding(Decimal("1"), Decimal("7"), 90) == Decimal("12.9")
    assert days_sales_outstanding(Decimal("5"), Decimal(0)) is None
    (row,) = dso_from_sums([("EUR", Decimal(10), Decimal(0))])
    assert row.dso is None


def test_the_average_delay_rounds_half_away_from_zero_like_sql_round() -> None:
    assert [average_delay(d) for d in ([1, 2], [-1, -2], [0, 1, 1], [])] == [2, -2, 1, 0]


def test_forecast_weeks_are_iso_weeks_starting_with_the_one_holding_today() -> None:
    weeks = forecast_weeks(date(2026, 12, 31))
    assert weeks[0].start == date(2026, 12, 28) and weeks[0].end == date(2027, 1, 3)
    assert weeks[0].label == "2026-W53"
    assert weeks[1].label == "2027-W01"
    assert len(weeks) == 8


def test_an_overdue_balance_is_expected_in_the_first_week_and_a_late_one_later() -> None:
    weeks = forecast_weeks(TODAY)
    assert week_index(expected_payment(date(2026, 1, 1), 30, TODAY), weeks) == 0
    assert week_index(expected_payment(TODAY, 7, TODAY), weeks) == 1
    assert week_index(expected_payment(TODAY, 200, TODAY), weeks) is None


def test_forecast_rows_sum_weeks_and_later_per_currency() -> None:
    (row,) = forecast_from_sums(
        [("EUR", 0, Decimal(1)), ("EUR", None, Decimal(4)), ("EUR", 7, Decimal(2))]
    )
    assert row.weeks[0] == 1 and row.weeks[7] == 2 and row.later == 4 and row.total == 7


def test_top_overdue_clients_are_chosen_within_each_currency() -> None:
    def c(name: str, currency: str, balance: int) -> OverdueClient:
        return OverdueClient(1, name, currency, Decimal(balance), 1, TODAY, 3)

    rows = [c("a", "EUR", 1), c("b", "EUR", 3), c("c", "EUR", 2), c("d", "INR", 1000)]
    assert [r.name for r in top_per_currency(rows, 2)] == ["b", "c", "d"]
