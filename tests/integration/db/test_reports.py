"""The cash-flow reports' SQL aggregates, on SQLite and PostgreSQL: each bucket boundary,
the entity's date, per-currency figures, and agreement with the pure calculation in
``domain/cashflow.py`` applied invoice by invoice over a random ledger."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from autoinvoice.domain.cashflow import (
    BUCKET_KEYS,
    aging_bucket,
    average_delay,
    days_past_due,
    days_sales_outstanding,
    expected_payment,
    forecast_weeks,
    week_index,
)
from autoinvoice.services.reports import (
    aging_report,
    cashflow_snapshot,
    dso_report,
    forecast_report,
    overdue_clients_report,
)
from cashflow_world import NOW, TODAY, Ledger, invoice_rows, make_ledger, random_ledger

OPEN = {"issued", "sent", "viewed", "partially_paid"}


def _aging(ledger: Ledger) -> dict[str, dict[str, Decimal]]:
    report = aging_report(uow=ledger.app.uow(read_only=True), clock=ledger.clock)
    return {row.currency: row.buckets for row in report.rows}


def test_each_open_balance_lands_in_the_bucket_of_its_days_past_due(
    database_url: str, tmp_path: Path
) -> None:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    for days, amount in [(-5, "1"), (0, "2"), (1, "4"), (30, "8"), (31, "16"), (60, "32")]:
        ledger.invoice("Acme", amount, due=TODAY - timedelta(days=days))
    for days, amount in [(61, "64"), (90, "128"), (91, "256"), (400, "512")]:
        ledger.invoice("Acme", amount, due=TODAY - timedelta(days=days))
    buckets = _aging(ledger)["EUR"]
    assert buckets == {
        "current": Decimal(3),
        "1-30": Decimal(12),
        "31-60": Decimal(48),
        "61-90": Decimal(192),
        "90+": Decimal(768),
    }


def test_aging_counts_what_is_left_to_pay_and_leaves_out_closed_documents(
    database_url: str, tmp_path: Path
) -> None:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    due = TODAY - timedelta(days=10)
    ledger.invoice("Acme", "1000.10", due=due, status="partially_paid", paid="400.05")
    ledger.invoice("Acme", "500", due=due, status="paid", paid="500", paid_on=TODAY)
    ledger.invoice("Acme", "700", due=due, status="void")
    ledger.invoice("Acme", "900", due=due, status="draft", hold_reason="no tax id")
    ledger.invoice("Acme", "300", due=due, status="issued", kind="credit_note")
    report = aging_report(uow=ledger.app.uow(read_only=True), clock=ledger.clock)
    (row,) = report.rows
    assert row.buckets["1-30"] == Decimal("600.05")
    assert (row.total, row.overdue, row.count, row.overdue_count) == (
        Decimal("600.05"),
        Decimal("600.05"),
        1,
        1,
    )


def test_currencies_are_reported_apart_and_never_added(database_url: str, tmp_path: Path) -> None:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    ledger.client("Pune Traders", "INR")
    ledger.invoice("Acme", "100", due=TODAY)
    ledger.invoice("Pune Traders", "83000", due=TODAY)
    aging = _aging(ledger)
    assert sorted(aging) == ["EUR", "INR"]
    assert aging["EUR"]["current"] == Decimal(100)
    assert aging["INR"]["current"] == Decimal(83000)


def test_overdue_starts_the_day_after_the_due_date_in_the_entitys_time_zone(
    database_url: str, tmp_path: Path
) -> None:
    # 23:30 UTC on the 24th is already the 25th in Hamburg
    ledger = make_ledger(database_url, tmp_path, now=datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    ledger.client("Acme")
    ledger.invoice("Acme", "10", due=date(2026, 11, 24))
    ledger.invoice("Acme", "20", due=date(2026, 11, 25))
    buckets = _aging(ledger)["EUR"]
    assert (buckets["1-30"], buckets["current"]) == (Decimal(10), Decimal(20))


def test_dso_divides_receivables_by_the_last_90_days_of_sales(
    database_url: str, tmp_path: Path
) -> None:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    inside, outside = TODAY - timedelta(days=89), TODAY - timedelta(days=90)
    ledger.invoice("Acme", "6000", issued=inside, due=inside + timedelta(days=30))  # open
    ledger.invoice(
        "Acme", "3000", issued=TODAY, due=TODAY, status="paid", paid="3000", paid_on=TODAY
    )
    ledger.invoice("Acme", "1000", issued=outside, due=outside + timedelta(days=30))  # open
    ledger.invoice("Acme", "5000", issued=TODAY, due=TODAY, status="void")
    report = dso_report(uow=ledger.app.uow(read_only=True), clock=ledger.clock)
    (row,) = report.rows
    assert (row.receivables, row.credit_sales) == (Decimal(7000), Decimal(9000))
    assert row.dso == Decimal("70.0")  # 7000 / 9000 × 90


def test_dso_takes_credit_notes_off_the_sales(database_url: str, tmp_path: Path) -> None:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    day = TODAY - timedelta(days=10)
    ledger.invoice("Acme", "6000", issued=day, due=day + timedelta(days=30))  # open
    ledger.invoice("Acme", "3000", issued=day, due=day, status="paid", paid="3000", paid_on=day)
    ledger.invoice(  # fully credited: no sale, nothing open
        "Acme",
        "1000",
        issued=day,
        due=day,
        status="paid",
        paid="1000",
        paid_on=day,
        settled_by="credit_note",
    )
    ledger.invoice("Acme", "1000", issued=TODAY, due=TODAY, kind="credit_note", status="paid")
    (row,) = dso_report(uow=ledger.app.uow(read_only=True), clock=ledger.clock).rows
    assert (row.receivables, row.credit_sales, row.dso) == (
        Decimal(6000),
        Decimal(9000),
        Decimal("60.0"),
    )


def test_dso_is_absent_without_sales_in_the_period(database_url: str, tmp_path: Path) -> None:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    old = TODAY - timedelta(days=200)
    ledger.invoice("Acme", "100", issued=old, due=old)
    (row,) = dso_report(uow=ledger.app.uow(read_only=True), clock=ledger.clock).rows
    assert (row.receivables, row.credit_sales, row.dso) == (Decimal(100), Decimal(0), None)


def test_forecast_moves_each_balance_by_its_clients_average_delay(
    database_url: str, tmp_path: Path
) -> None:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Slow")
    ledger.client("New")
    for due, late in [(date(2026, 9, 1), 9), (date(2026, 10, 1), 12)]:  # average 10.5 → 11
        ledger.invoice(
            "Slow", "1", due=due, status="paid", paid="1", paid_on=due + timedelta(days=late)
        )
    ledger.invoice("Slow", "100", due=date(2026, 11, 26))  # expected 7 Dec: week 3 (index 2)
    ledger.invoice("Slow", "200", due=date(2026, 11, 1))  # expected 12 Nov, past: week 1
    ledger.invoice("New", "400", due=date(2026, 12, 1))  # no history: its due date, week 2
    ledger.invoice("New", "800", due=date(2027, 3, 1))  # after the eighth week
    report = forecast_report(uow=ledger.app.uow(read_only=True), clock=ledger.clock)
    assert [w.label for w in report.weeks][:3] == ["2026-W48", "2026-W49", "2026-W50"]
    (row,) = report.rows
    assert row.weeks[:3] == [Decimal(200), Decimal(400), Decimal(100)]
    assert sum(row.weeks[3:]) == 0
    assert row.later == Decimal(800)


def test_the_most_overdue_clients_are_ranked_within_each_currency(
    database_url: str, tmp_path: Path
) -> None:
    ledger = make_ledger(database_url, tmp_path)
    for name in ("A", "B", "C"):
        ledger.client(name)
    ledger.client("Pune Traders", "INR")
    late = TODAY - timedelta(days=40)
    ledger.invoice("A", "100", due=late)
    ledger.invoice("A", "50", due=TODAY - timedelta(days=3))
    ledger.invoice("B", "500", due=late)
    ledger.invoice("C", "999", due=TODAY)  # not overdue yet
    ledger.invoice("Pune Traders", "10", due=late)
    rows = overdue_clients_report(uow=ledger.app.uow(read_only=True), clock=ledger.clock)
    assert [(r.name, r.currency, r.balance, r.invoices, r.days_past_due) for r in rows] == [
        ("B", "EUR", Decimal(500), 1, 40),
        ("A", "EUR", Decimal(150), 2, 40),
        ("Pune Traders", "INR", Decimal(10), 1, 40),
    ]


def test_the_sql_reports_agree_with_the_pure_calculation_invoice_by_invoice(
    database_url: str, tmp_path: Path
) -> None:
    ledger = make_ledger(database_url, tmp_path)
    random_ledger(ledger, 150, seed=11)
    rows = invoice_rows(ledger.app)
    snap = cashflow_snapshot(uow=ledger.app.uow(read_only=True), clock=ledger.clock)

    invoices = [r for r in rows if r.kind == "invoice"]
    open_rows = [r for r in invoices if r.status in OPEN]
    aging: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(BUCKET_KEYS, Decimal(0))
    )
    for r in open_rows:
        aging[r.currency][aging_bucket(r.due_date, TODAY)] += r.gross_total - r.amount_paid
    assert {a.currency: a.buckets for a in snap.aging} == aging

    sales: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:  # credit notes take back sales
        if r.status not in ("void", "draft") and 0 <= (TODAY - r.issue_date).days < 90:
            sales[r.currency] += -r.gross_total if r.kind == "credit_note" else r.gross_total
    assert {d.currency: d.dso for d in snap.dso} == {
        c: days_sales_outstanding(sum(a.values(), Decimal(0)), sales[c]) for c, a in aging.items()
    }

    history: dict[int, list[int]] = defaultdict(list)
    for r in invoices:
        if r.status == "paid":
            history[r.client_id].append((r.paid_at.date() - r.due_date).days)
    weeks = forecast_weeks(TODAY)
    expected: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 9)
    for r in open_rows:
        when = expected_payment(r.due_date, average_delay(history[r.client_id]), TODAY)
        k = week_index(when, weeks)
        expected[r.currency][8 if k is None else k] += r.gross_total - r.amount_paid
    assert {f.currency: [*f.weeks, f.later] for f in snap.forecast} == expected

    overdue: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for r in open_rows:
        if days_past_due(r.due_date, TODAY) > 0:
            overdue[(r.client_id, r.currency)] += r.gross_total - r.amount_paid
    for c in snap.overdue_clients:
        assert overdue[(c.client_id, c.currency)] == c.balance
    assert snap.today == TODAY and NOW.date() == TODAY
