"""``GET /metrics``: Prometheus text exposition (prometheus-client) of the figures an operator
alerts on — invoices issued, deliveries failed, webhook intake, job queue depth and age.

The figures come from the database at scrape time (``services/metrics.py`` says why), so any
web process answers for the whole installation and a restart resets nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Header
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import Response

from ...services.metrics import Figures, read_figures
from . import errors
from .deps import AppDep

router = APIRouter(include_in_schema=False)


class _FiguresCollector(Collector):
    def __init__(self, figures: Figures) -> None:
        self.f = figures

    def collect(self) -> Iterator[Metric]:
        f = self.f
        issued = CounterMetricFamily(
            "autoinvoice_invoices_issued", "Invoices and credit notes ever issued (numbered)."
        )
        issued.add_metric([], f.issued_total)
        yield issued
        by_status = GaugeMetricFamily(
            "autoinvoice_invoices", "Invoices by status now.", labels=["status"]
        )
        for status, n in sorted(f.invoices.items()):
            by_status.add_metric([status], n)
        yield by_status
        emails = CounterMetricFamily(
            "autoinvoice_emails", "Outgoing emails by delivery status.", labels=["status"]
        )
        for status, n in sorted(f.emails.items()):
            emails.add_metric([status], n)
        yield emails
        failed = CounterMetricFamily(
            "autoinvoice_deliveries_failed",
            "Deliveries that failed for good: emails refused, webhooks given up on.",
            labels=["channel"],
        )
        failed.add_metric(["email"], f.emails.get("failed", 0))
        failed.add_metric(["webhook"], f.webhook_deliveries.get("failed", 0))
        yield failed
        hooks = CounterMetricFamily(
            "autoinvoice_webhook_deliveries",
            "Outgoing webhook deliveries by status.",
            labels=["status"],
        )
        for status, n in sorted(f.webhook_deliveries.items()):
            hooks.add_metric([status], n)
        yield hooks
        intake = CounterMetricFamily(
            "autoinvoice_webhook_requests",
            "Incoming webhook requests accepted, by source and processing status.",
            labels=["source", "status"],
        )
        for (source, status), n in sorted(f.intake.items()):
            intake.add_metric([source, status], n)
        yield intake
        depth = GaugeMetricFamily(
            "autoinvoice_jobs", "Outbox jobs not done, by kind and state.", labels=["kind", "state"]
        )
        age = GaugeMetricFamily(
            "autoinvoice_job_oldest_due_seconds",
            "How long the oldest job that is due has been waiting, by kind.",
            labels=["kind"],
        )
        for q in f.queues:
            for state, n in (("pending", q.pending), ("running", q.running), ("dead", q.dead)):
                depth.add_metric([q.kind, state], n)
            age.add_metric([q.kind], q.oldest_due_seconds)
        yield depth
        yield age


@router.get("/metrics")
def metrics(app: AppDep, authorization: Annotated[str | None, Header()] = None) -> Response:
    token = app.settings.metrics_token
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest((authorization or "").encode(), expected.encode()):
            return errors.problem(401, "unauthorized", "send the metrics token as a Bearer token")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_FiguresCollector(read_figures(uow=app.uow(read_only=True), clock=app.clock)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
