"""The `autoinvoice` command as a user runs it: separate processes, real databases."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from builders import draft_for, make_app, make_client, make_entity

pytestmark = pytest.mark.slow


def run(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoinvoice", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        input=input,
        timeout=timeout,
    )


def test_help_lists_every_command() -> None:
    out = run("--help").stdout
    for command in ("serve", "worker", "migrate", "demo", "invoices", "payments", "users", "tick"):
        assert re.search(rf"│ {command}\b", out), command
    assert "--json" in run("invoices", "list", "--help").stdout


def test_demo_json_reports_the_whole_cycle() -> None:
    result = run("demo", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["invoices_issued"] == 2 and data["emails_sent"] == 2
    assert data["payments"] == 3
    assert set(data["final_statuses"].values()) == {"paid"}
    kinds = [s["step"] for s in data["steps"]]
    for kind in ("rule fired", "PDF", "email", "viewed", "payment"):
        assert kind in kinds
    statuses = [s["text"] for s in data["steps"] if s["step"] == "payment"]
    assert "→ partially_paid" in statuses[0] and "→ paid" in statuses[-1]


def test_demo_keeps_its_result_in_the_given_database(database_url: str) -> None:
    assert run("demo", "--json", "--database-url", database_url).returncode == 0
    listed = json.loads(run("invoices", "list", "--json", "--database-url", database_url).stdout)
    assert sorted(i["number"] for i in listed) == ["INV-2026-000001", "INV-2026-000002"]
    assert {i["status"] for i in listed} == {"paid"}
    assert {i["balance"] for i in listed} == {"0.00"}


def test_recording_payments_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    app = make_app(database_url, tmp_path)
    inv_id = draft_for(app, make_client(app, make_entity(app)))
    env = {"AUTOINVOICE_DATABASE_URL": database_url, "AUTOINVOICE_DATA_DIR": str(tmp_path)}
    issued = run("invoices", "issue", str(inv_id), env=env)
    assert issued.returncode == 0 and "INV-2026-000001" in issued.stdout

    bad_date = run(
        "payments",
        "record",
        "INV-2026-000001",
        "100",
        "--received",
        "2026-02-30T10:00:00+01:00",
        env=env,
    )
    assert bad_date.returncode == 2 and "[received]" in bad_date.stderr
    bad_amount = run("payments", "record", "INV-2026-000001", "12,5x", env=env)
    assert bad_amount.returncode == 2 and "[amount]" in bad_amount.stderr

    part = json.loads(
        run("payments", "record", "INV-2026-000001", "2000", "--json", env=env).stdout
    )
    assert (part["status"], part["balance"]) == ("partially_paid", "3355.00")
    rest = json.loads(
        run("payments", "record", "INV-2026-000001", "3400.00", "--json", env=env).stdout
    )
    assert (rest["status"], rest["credited"]) == ("paid", "45.00")
    shown = json.loads(run("invoices", "show", "INV-2026-000001", "--json", env=env).stdout)
    assert shown["status"] == "paid" and len(shown["payments"]) == 2
    app.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_demo_data_prints_the_owner_login_and_serves_the_app(tmp_path: Path) -> None:
    """What `make run` does, on a fresh data directory."""
    port = _free_port()
    env = {**os.environ, "AUTOINVOICE_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    env.pop("AUTOINVOICE_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoinvoice", "serve", "--port", str(port), "--demo-data"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        while not any("autoinvoice on http" in ln for ln in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        text = "".join(lines)
        email = re.search(r"email:\s+(\S+)", text)
        password = re.search(r"password:\s+(\S+)", text)
        assert email and password, text
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"{base}/readyz").status_code == 200
        with httpx.Client(base_url=base, follow_redirects=True) as c:
            page = c.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token, page.text[:500]
            r = c.post(
                "/login",
                data={
                    "email": email.group(1),
                    "password": password.group(1),
                    "csrf_token": token.group(1),
                },
            )
            assert r.status_code == 200 and "Clients" in r.text
            assert "Hanseatic Logistics AG" in c.get("/clients").text
            # the scheduler bills the retainers' latest period on first start
            for _ in range(100):
                if "INV-" in c.get("/invoices").text:
                    break
                time.sleep(0.2)
            assert "INV-" in c.get("/invoices").text
        assert (tmp_path / "autoinvoice.db").exists()
    finally:
        proc.terminate()
        proc.wait(30)
