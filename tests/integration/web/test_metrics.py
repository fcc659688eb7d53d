"""GET /metrics: the figures an operator alerts on, read from the database, in Prometheus'
text format — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from web_support import demo_app

from autoinvoice.entrypoints.web.app import create_app


def scrape(
    client: TestClient, **headers: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_the_figures_count_invoices_emails_and_the_queue(tmp_path: Path, database_url: str) -> None:
    app = demo_app(tmp_path, database_url=database_url)  # two invoices issued and emailed
    now = app.clock.now()
    with app.uow() as uow:
        uow.outbox.enqueue("deliver_invoice", {"invoice_id": 99}, "late", now, now)
        uow.outbox.enqueue(
            "deliver_invoice", {"invoice_id": 98}, "later", now + timedelta(hours=1), now
        )
        uow.outbox.enqueue("notify_owner", {"x": 1}, "given-up", now, now)
        uow.commit()
    with app.uow() as uow:
        [job] = uow.outbox.claim("w", now, 60, 10, ["notify_owner"])
        uow.outbox.fail(job.id, "w", "SMTP said no", now, None)
        uow.commit()
    app.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]

    with TestClient(create_app(app)) as client:
        m = scrape(client)
    assert m[("autoinvoice_invoices_issued_total", ())] == 2
    assert m[("autoinvoice_invoices", (("status", "sent"),))] == 2
    assert m[("autoinvoice_emails_total", (("status", "sent"),))] == 2
    assert m[("autoinvoice_deliveries_failed_total", (("channel", "email"),))] == 0
    deliver = (("kind", "deliver_invoice"),)
    assert m[("autoinvoice_jobs", (*deliver, ("state", "pending")))] == 2
    assert m[("autoinvoice_jobs", (("kind", "notify_owner"), ("state", "dead")))] == 1
    # only the job due 5 minutes ago counts for the age, not the one due in 55 minutes
    assert m[("autoinvoice_job_oldest_due_seconds", deliver)] == 300
    assert m[("autoinvoice_job_oldest_due_seconds", (("kind", "notify_owner"),))] == 0


def test_with_a_token_set_only_its_bearer_may_scrape(tmp_path: Path) -> None:
    token = "m-7f3c2e9a41b0"
    app = demo_app(tmp_path, metrics_token=token)
    with TestClient(create_app(app)) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
            r = client.get("/metrics", headers=headers)
            assert r.status_code == 401
            assert r.headers["content-type"] == "application/problem+json"
            assert token not in r.text
        assert (
            scrape(client, Authorization=f"Bearer {token}")[
                ("autoinvoice_invoices_issued_total", ())
            ]
            == 2
        )
