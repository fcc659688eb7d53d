"""The cash-flow reports over HTTP on both databases: the REST API under /api/v1/reports,
the dashboard page, and the statement of account downloads (CSV and PDF)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdf
import pytest
from fastapi.testclient import TestClient
from web_support import sign_in

from autoinvoice.entrypoints.web.app import create_app
from autoinvoice.services import accounts, payments
from cashflow_world import TODAY, Ledger, make_ledger

OWNER = ("owner@nordlicht.example", "correct horse battery")


@pytest.fixture
def ledger(database_url: str, tmp_path: Path) -> Iterator[Ledger]:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    ledger.client("Pune Traders", "INR")
    accounts.create_user(
        *OWNER,
        "owner",
        uow=ledger.app.uow(),
        clock=ledger.app.clock,
        hasher=ledger.app.hasher,
        actor="test",
    )
    yield ledger
    ledger.app.engine.dispose()


@pytest.fixture
def web(ledger: Ledger) -> Iterator[TestClient]:
    with TestClient(create_app(ledger.app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def api(ledger: Ledger, web: TestClient) -> TestClient:
    with ledger.app.uow(read_only=True) as uow:
        user = uow.users.by_email(OWNER[0])
    assert user is not None
    key = accounts.create_api_key(
        user.id, "reports", ["read"], uow=ledger.app.uow(), clock=ledger.app.clock
    )
    web.headers["Authorization"] = f"Bearer {key}"
    return web


def test_the_reports_api_gives_per_currency_figures_as_decimal_strings(
    ledger: Ledger, api: TestClient
) -> None:
    ledger.invoice("Acme", "1000.50", due=TODAY - timedelta(days=45))
    ledger.invoice("Acme", "200", due=TODAY + timedelta(days=3))
    ledger.invoice("Pune Traders", "83000", due=TODAY)

    aging = api.get("/api/v1/reports/aging").json()
    assert aging["today"] == TODAY.isoformat()
    eur, inr = aging["currencies"]
    assert (eur["currency"], eur["buckets"]["31-60"], eur["buckets"]["current"]) == (
        "EUR",
        "1000.50",
        "200.00",
    )
    assert (eur["total"], eur["overdue"], eur["counts"]["31-60"]) == ("1200.50", "1000.50", 1)
    assert (inr["currency"], inr["total"]) == ("INR", "83000.00")

    dso = api.get("/api/v1/reports/dso").json()
    assert dso["formula"].startswith("DSO = open receivables")
    assert [c["currency"] for c in dso["currencies"]] == ["EUR", "INR"]

    forecast = api.get("/api/v1/reports/forecast").json()
    assert [w["week"] for w in forecast["weeks"]][:2] == ["2026-W48", "2026-W49"]
    assert forecast["currencies"][0]["weeks"][0] == "1200.50"  # overdue + due this week

    overdue = api.get("/api/v1/reports/overdue-clients").json()["items"]
    assert [(o["name"], o["balance"], o["days_past_due"]) for o in overdue] == [
        ("Acme", "1000.50", 45)
    ]


def test_the_reports_need_an_api_key_or_a_session(web: TestClient) -> None:
    r = web.get("/api/v1/reports/aging")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    schema = web.get("/api/v1/openapi.json").json()
    assert schema["paths"]["/api/v1/reports/aging"]["get"]["tags"] == ["reports"]


def test_the_dashboard_is_for_signed_in_users_and_shows_the_figures(
    ledger: Ledger, web: TestClient
) -> None:
    r = web.get("/dashboard", follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]
    ledger.invoice("Acme", "1000.50", due=TODAY - timedelta(days=45))
    sign_in(web, *OWNER)
    page = web.get("/dashboard").text
    assert "€1,000.50" in page
    assert 'role="img"' in page and "Open balances by days past due, EUR" in page
    assert "DSO = open receivables" in page and "Weekly audit" in page


def _statement_csv(web: TestClient, client_id: int, query: str) -> list[list[str]]:
    r = web.get(f"/clients/{client_id}/statement.csv?{query}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(r.text)))


def test_the_statement_has_opening_balance_entries_and_closing_balance(
    ledger: Ledger, web: TestClient
) -> None:
    acme = ledger.clients["Acme"]
    old = ledger.invoice("Acme", "500", issued=TODAY - timedelta(days=60), due=TODAY)
    ledger.invoice("Acme", "300", issued=TODAY - timedelta(days=10), due=TODAY)
    ledger.invoice("Acme", "100", issued=TODAY - timedelta(days=5), due=TODAY, status="void")
    ledger.invoice(
        "Acme",
        "50",
        issued=TODAY - timedelta(days=4),
        due=TODAY,
        kind="credit_note",
        status="issued",
    )
    payments.record_payment(
        payments.RecordPayment(
            invoice_id=old,
            amount="200",
            received_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
            method="bank_transfer",
            reference="SEPA 77",
        ),
        uow=ledger.app.uow(),
        clock=ledger.clock,
        actor="test",
    )
    sign_in(web, *OWNER)
    start = (TODAY - timedelta(days=30)).isoformat()
    rows = _statement_csv(web, acme, f"from={start}&to={TODAY.isoformat()}")
    assert rows[0] == ["currency", "date", "description", "reference", "debit", "credit", "balance"]
    assert rows[1] == ["EUR", start, "Opening balance", "", "", "", "500.00"]
    assert [r[2] for r in rows[2:-1]] == [
        "Invoice T-00002",
        "Payment (bank transfer) for T-00001",
        "Credit note T-00004",
    ]
    assert rows[3][3:] == ["SEPA 77", "", "200.00", "600.00"]
    assert rows[4][3:] == ["T-00004", "", "50.00", "550.00"]
    assert rows[-1] == ["EUR", TODAY.isoformat(), "Closing balance", "", "", "", "550.00"]


def test_a_bad_period_is_refused_naming_the_field(ledger: Ledger, web: TestClient) -> None:
    sign_in(web, *OWNER)
    acme = ledger.clients["Acme"]
    r = web.get(f"/clients/{acme}/statement.csv?from=2026-13-01")
    assert r.status_code == 422 and "from: " in r.text.lower()
    r = web.get(f"/clients/{acme}/statement.csv?from=2026-11-02&to=2026-11-01")
    assert r.status_code == 422 and "before it starts" in r.text


def test_the_statement_pdf_lays_out_each_currency(ledger: Ledger, web: TestClient) -> None:
    ledger.invoice("Acme", "1234.56", issued=TODAY - timedelta(days=3), due=TODAY)
    sign_in(web, *OWNER)
    r = web.get(f"/clients/{ledger.clients['Acme']}/statement.pdf?from=2026-11-01")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    for expected in (
        "Statement of account",
        "Acme",
        "Nordlicht IT Services GmbH",
        "Invoice T-00001",
        "€1,234.56",
    ):
        assert expected in text
