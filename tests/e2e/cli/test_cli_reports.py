"""`autoinvoice report …` and `autoinvoice clients statement` as a user runs them: separate
processes on a real SQLite file. The CLI reads the wall clock, so the invoices here sit
well inside their buckets whatever the hour."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from autoinvoice.adapters.db.engine import make_engine
from autoinvoice.adapters.db.migrate import upgrade
from cashflow_world import make_ledger

pytestmark = pytest.mark.slow


def run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoinvoice", *args, "--database-url", url],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    today = datetime.now(UTC).date()
    ledger = make_ledger(url, tmp_path, now=datetime.now(UTC))
    ledger.client("Acme")
    ledger.client("Pune Traders", "INR")
    ledger.invoice(
        "Acme", "1000.50", issued=today - timedelta(days=75), due=today - timedelta(days=45)
    )
    ledger.invoice("Acme", "200", issued=today - timedelta(days=5), due=today + timedelta(days=25))
    ledger.invoice(
        "Pune Traders", "83000", issued=today - timedelta(days=100), due=today - timedelta(days=95)
    )
    ledger.app.engine.dispose()
    return url


def test_report_aging_prints_a_table_and_json_per_currency(url: str) -> None:
    table = run("report", "aging", url=url)
    assert table.returncode == 0, table.stderr
    assert "31–60 days" in table.stdout and "1000.50" in table.stdout and "INR" in table.stdout
    data = json.loads(run("report", "aging", "--json", url=url).stdout)
    eur, inr = data["currencies"]
    assert (eur["buckets"]["31-60"], eur["buckets"]["current"], eur["total"]) == (
        "1000.50",
        "200.00",
        "1200.50",
    )
    assert inr["buckets"]["90+"] == "83000.00"


def test_report_dso_forecast_and_overdue(url: str) -> None:
    dso = json.loads(run("report", "dso", "--json", url=url).stdout)
    eur = dso["currencies"][0]
    assert (eur["receivables"], eur["credit_sales"], eur["dso"]) == ("1200.50", "1200.50", "90.0")
    forecast = json.loads(run("report", "forecast", "--json", url=url).stdout)
    assert len(forecast["weeks"]) == 8
    assert forecast["currencies"][0]["weeks"][0] == "1000.50"  # overdue: expected now
    printed = run("report", "forecast", url=url)
    assert printed.returncode == 0 and "later" in printed.stdout
    overdue = json.loads(run("report", "overdue", "--json", url=url).stdout)["items"]
    assert [(o["name"], o["balance"]) for o in overdue] == [
        ("Acme", "1000.50"),
        ("Pune Traders", "83000.00"),
    ]


def test_clients_statement_writes_csv_and_pdf(url: str, tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    start = (today - timedelta(days=80)).isoformat()
    out_csv, out_pdf = tmp_path / "s.csv", tmp_path / "s.pdf"
    done = run("clients", "statement", "1", "--from", start, "--to", today.isoformat(),
               "--format", "csv", "-o", str(out_csv), url=url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(out_csv.read_text())))
    assert [r[2] for r in rows[1:]] == [
        "Opening balance",
        "Invoice T-00001",
        "Invoice T-00002",
        "Closing balance",
    ]
    assert rows[-1][-1] == "1200.50"
    done = run("clients", "statement", "1", "--from", start, "--to", today.isoformat(),
               "-o", str(out_pdf), url=url)  # fmt: skip
    assert done.returncode == 0 and out_pdf.read_bytes().startswith(b"%PDF-")


def test_a_bad_statement_request_names_the_option_and_writes_nothing(
    url: str, tmp_path: Path
) -> None:
    target = tmp_path / "never.csv"
    done = run("clients", "statement", "1", "--from", "2026-02-30", "--to", "2026-03-01",
               "--format", "csv", "-o", str(target), url=url)  # fmt: skip
    assert done.returncode == 2 and "[from]" in done.stderr and not target.exists()
    done = run("clients", "statement", "1", "--from", "2026-01-01", "--to", "2026-03-01",
               "--format", "xlsx", "-o", str(target), url=url)  # fmt: skip
    assert done.returncode == 2 and "[format]" in done.stderr and not target.exists()
