"""The dashboard (``GET /dashboard``, the home page): outstanding, overdue, DSO, aging and
the 8-week inflow forecast as charts, the most overdue clients, and the weekly audit.

Thin: two read-only use cases (``cashflow_snapshot``, ``weekly_audit``), then chart
geometry (``charts.py``) and the template. Every figure is per currency.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ...domain.cashflow import (
    BUCKET_KEYS,
    BUCKET_LABELS,
    DSO_FORMULA,
    FORECAST_METHOD,
    CashflowSnapshot,
)
from ...services.onboarding import setup_guide
from ...services.reports import cashflow_snapshot
from ...services.weekly_audit import weekly_audit
from .charts import BarChart, bar_chart
from .deps import AppDep, Reader
from .pages import render

router = APIRouter(include_in_schema=False)

AGING_COLORS = {
    "current": "#4f83b8",
    "1-30": "#e3a21a",
    "31-60": "#e07b26",
    "61-90": "#cf4f24",
    "90+": "#a8201a",
}
WEEK_COLOR, FIRST_WEEK_COLOR = "#4f83b8", "#275d8c"


def _aging_charts(snap: CashflowSnapshot) -> list[BarChart]:
    charts = []
    for row in snap.aging:
        rows = [(BUCKET_LABELS[k], "", row.buckets[k], AGING_COLORS[k]) for k in BUCKET_KEYS]
        notes = [f"{row.counts[k]} invoice{'s' if row.counts[k] != 1 else ''}" for k in BUCKET_KEYS]
        charts.append(
            bar_chart(
                f"aging-{row.currency}",
                f"Open balances by days past due, {row.currency}",
                row.currency,
                rows,
                notes=notes,
            )
        )
    return charts


def _forecast_charts(snap: CashflowSnapshot) -> list[tuple[BarChart, Decimal]]:
    charts = []
    for row in snap.forecast:
        rows = [
            (
                f"W{w.start.isocalendar()[1]:02d}",
                f"{w.start:%d %b}",
                row.weeks[k],
                FIRST_WEEK_COLOR if k == 0 else WEEK_COLOR,
            )
            for k, w in enumerate(snap.weeks)
        ]
        chart = bar_chart(
            f"forecast-{row.currency}",
            f"Expected inflows per week, {row.currency}",
            row.currency,
            rows,
        )
        charts.append((chart, row.later))
    return charts


def dashboard_context(snap: CashflowSnapshot) -> dict[str, Any]:
    dso = {d.currency: d for d in snap.dso}
    return {
        "nav": "dashboard",
        "bucket_keys": BUCKET_KEYS,
        "snap": snap,
        "dso": dso,
        "dso_formula": DSO_FORMULA,
        "forecast_method": FORECAST_METHOD,
        "aging_charts": _aging_charts(snap),
        "forecast_charts": _forecast_charts(snap),
        "open_count": sum(r.count for r in snap.aging),
        "overdue_count": sum(r.overdue_count for r in snap.aging),
    }


@router.get("/dashboard")
def dashboard(request: Request, user: Reader, app: AppDep) -> Response:
    snap = cashflow_snapshot(uow=app.uow(read_only=True), clock=app.clock)
    audit = weekly_audit(uow=app.uow(read_only=True), clock=app.clock)
    with app.uow(read_only=True) as uow:
        entity = uow.entities.first()
    context = dashboard_context(snap)
    context.update(audit=audit, tz=entity.timezone if entity else "UTC")
    context["setup"] = setup_guide(uow=app.uow(read_only=True))  # the "finish setting up" banner
    return render(request, "dashboard.html", context, user=user)
