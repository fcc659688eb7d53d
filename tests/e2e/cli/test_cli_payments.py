"""The payments ledger from the `autoinvoice` command, as a user runs it: separate processes,
real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from autoinvoice.services.invoicing import issue_invoice
from builders import draft_for, make_app, make_client, make_entity

pytestmark = pytest.mark.slow


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoinvoice", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **env},
        timeout=120,
    )


def as_json(*args: str, env: dict[str, str]) -> dict[str, object]:
    done = run(*args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_receive_reverse_refund_and_credit_from_the_command_line(
    database_url: str, tmp_path: Path
) -> None:
    app = make_app(database_url, tmp_path)
    client = make_client(app, make_entity(app))
    for _ in range(2):  # INV-2026-000001 and …02, 5355.00 each
        issue_invoice(draft_for(app, client), uow=app.uow(), clock=app.clock, actor="test")
    app.engine.dispose()
    env = {"AUTOINVOICE_DATABASE_URL": database_url, "AUTOINVOICE_DATA_DIR": str(tmp_path)}

    both = as_json(
        "payments", "receive", "Hanseatic Logistics AG", "6000", "--key", "tx-1", env=env
    )
    assert both["allocations"] == [
        {"invoice_id": 1, "amount": "5355.00"},
        {"invoice_id": 2, "amount": "645.00"},
    ]
    again = as_json("payments", "receive", str(client), "6000", "--key", "tx-1", env=env)
    assert again["duplicate"] is True and again["payment_id"] == both["payment_id"]

    extra = as_json(
        "payments", "receive", str(client), "100", "--invoice", "INV-2026-000001", env=env
    )
    assert (extra["allocations"], extra["credited"]) == ([], "100.00")
    refund = as_json("payments", "refund", str(client), "40", "--reason", "asked", env=env)
    assert refund["credit_left"] == "60.00"

    reversed_ = as_json(
        "payments", "reverse", str(both["payment_id"]), "--reason", "bank return R01", env=env
    )
    assert [r["invoice_id"] for r in reversed_["reopened"]] == [1, 2]  # type: ignore[index]
    twice = run("payments", "reverse", str(both["payment_id"]), "--reason", "again", env=env)
    assert twice.returncode == 2 and "[payment_id]" in twice.stderr

    applied = as_json("payments", "apply-credit", str(client), "INV-2026-000002", env=env)
    assert applied["applied"] == "60.00"
    note = as_json(
        "invoices", "credit", "INV-2026-000001", "--line", "1:0.5", "--reason", "half", env=env
    )
    assert (note["number"], note["gross"], note["applied"]) == (
        "CN-2026-000001",
        "2677.50",
        "2677.50",
    )
    bad = run("invoices", "credit", "INV-2026-000001", "--line", "x", "--reason", "r", env=env)
    assert bad.returncode == 2 and "[line]" in bad.stderr

    listed = json.loads(run("payments", "list", "--json", env=env).stdout)
    assert [p["id"] for p in listed] == [2, 1]
    assert listed[1]["reversed_at"] is not None and listed[1]["allocations"] == {}
    table = run("payments", "list", env=env)
    assert table.returncode == 0 and "bank return R01" in table.stdout
    shown = json.loads(run("invoices", "show", "INV-2026-000002", "--json", env=env).stdout)
    assert shown["status"] == "partially_paid" and Decimal(shown["paid"]) == Decimal("60")
