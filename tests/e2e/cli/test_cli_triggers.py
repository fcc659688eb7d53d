"""The trigger side of the `autoinvoice` command as a user runs it: separate processes on a
real database — sources and their secrets, rules from YAML, CSV imports, the simulation
sandbox, the shadow report and the scheduler's tick.

Records the commands have no options for (issuing entity, clients, contracts, links) are
set up in-process on the same database, as the web UI would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from autoinvoice.adapters.db import tables as t
from autoinvoice.bootstrap import App
from autoinvoice.domain.contracts import BillingModel, Contract, Rate
from autoinvoice.domain.terms import PaymentTerms
from autoinvoice.services import ingest, sources
from autoinvoice.services.setup import add_contract
from autoinvoice.services.triggering import load_rules
from builders import make_app, make_client, make_entity

pytestmark = pytest.mark.slow

SECRET, TOKEN = "S3CRET-VALUE", "TOK-VALUE"


def run(*args: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoinvoice", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **env},
        timeout=timeout,
    )


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"AUTOINVOICE_DATABASE_URL": database_url, "AUTOINVOICE_DATA_DIR": str(tmp_path)}


def _rows(app: App, table: Any) -> list[dict[str, Any]]:
    with app.engine.connect() as c:
        return [dict(r._mapping) for r in c.execute(select(table))]


def _count(app: App, table: Any) -> int:
    with app.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(table)).scalar_one())


def _contract(app: App, client_id: int, name: str) -> int:
    contract = Contract(
        name=name,
        model=BillingModel.TIME_AND_MATERIALS,
        currency="EUR",
        terms=PaymentTerms.parse("net:14"),
        client_id=client_id,
        rates=(Rate("default", Decimal("100.00")),),
    )
    return add_contract(contract, uow=app.uow(), clock=app.clock, actor="test")


def _timesheets(app: App, links: dict[str, int]) -> None:
    """A csv source named ``timesheets`` with each project linked to a contract."""
    sources.add_source(
        sources.NewSource(kind="csv", name="timesheets"),
        uow=app.uow(),
        clock=app.clock,
        box=app.box,
        actor="test",
        kinds=app.source_kinds,
    )
    for project, contract_id in links.items():
        ingest.link_ref(
            "timesheets",
            "project",
            project,
            client_id=None,
            contract_id=contract_id,
            uow=app.uow(),
            clock=app.clock,
            actor="test",
        )


@pytest.fixture
def sqlite_app(sqlite_url: str, tmp_path: Path) -> Iterator[App]:
    app = make_app(sqlite_url, tmp_path)
    yield app
    app.engine.dispose()


# -- sources ---------------------------------------------------------------------------------
def test_a_source_prints_its_webhook_url_and_never_its_secrets(
    database_url: str, tmp_path: Path
) -> None:
    env = _env(database_url, tmp_path)
    added = run(
        "sources", "add", "hubspot", "--name", "crm", "--secret", SECRET, "--api-token", TOKEN,
        env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "/webhooks/hubspot/" in added.stdout
    listed = run("sources", "list", "--json", env=env)
    status = run("sources", "status", "--json", env=env)
    for r in (added, listed, status):
        assert SECRET not in r.stdout + r.stderr and TOKEN not in r.stdout + r.stderr
    [source] = json.loads(listed.stdout)
    assert (source["name"], source["kind"]) == ("crm", "hubspot")
    assert source["webhook_url"] in added.stdout
    [health] = json.loads(status.stdout)
    assert {"name", "kind", "last_event_at", "last_success_at", "error_count", "stale"} <= set(
        health
    )
    assert (health["name"], health["last_event_at"], health["error_count"], health["stale"]) == (
        "crm",
        None,
        0,
        False,
    )
    app = make_app(database_url, tmp_path)
    [row] = _rows(app, t.sources)
    assert source["webhook_url"].endswith(f"/webhooks/hubspot/{row['url_token']}")
    assert SECRET not in row["secrets"] and TOKEN not in row["secrets"]
    opened = sources.open_secrets(_source(app), app.box)  # sealed with the data dir's key
    assert (opened.signing_secret, opened.api_token) == (SECRET, TOKEN)
    assert all(SECRET not in json.dumps(a, default=str) for a in _rows(app, t.audit_log))
    app.engine.dispose()


def _source(app: App) -> Any:
    with app.uow(read_only=True) as uow:
        return uow.sources.by_name("crm")


# -- rules -----------------------------------------------------------------------------------
RULES_YAML = """\
rules:
  - name: won-deals
    when:
      source: hubspot
      event: deal.won
      conditions:
        - {field: pipeline, op: eq, value: default}
    build: deal
  - name: monthly-time
    schedule:
      rrule: "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=7"
      timezone: Europe/Berlin
      start: "2026-01-01T07:00"
    applies_to: {model: time_and_materials}
    build: time
  - name: forty-hours
    threshold: {hours: 40, per: contract}
    build: time
    action: draft
"""


def test_rules_load_from_yaml_with_versions_history_and_errors_that_name_the_field(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = _env(sqlite_url, tmp_path)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_YAML)
    first = run("rules", "load", str(rules), env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split("\n")[:3] == [
        "won-deals: version 1",
        "monthly-time: version 1",
        "forty-hours: version 1",
    ]
    again = run("rules", "load", str(rules), env=env)
    assert again.stdout.split("\n")[:3] == [
        "won-deals: version 1 (unchanged)",
        "monthly-time: version 1 (unchanged)",
        "forty-hours: version 1 (unchanged)",
    ]
    rules.write_text(RULES_YAML.replace("hours: 40", "hours: 35"))
    changed = run("rules", "load", str(rules), env=env)
    assert changed.returncode == 0, changed.stderr
    assert "forty-hours: version 2" in changed.stdout.split("\n")
    assert "won-deals: version 1 (unchanged)" in changed.stdout
    history = run("rules", "history", "forty-hours", env=env)
    assert history.returncode == 0, history.stderr
    assert "version 1" in history.stdout and "version 2" in history.stdout
    assert "hours: 40" in history.stdout and "hours: 35" in history.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "rules:\n"
        "  - name: extra-time\n"
        "    threshold: {amount: '5000', per: client}\n"
        "    build: time\n"
        "  - name: won\n"
        "    when:\n"
        "      event: deal.won\n"
        "      conditions:\n"
        "        - {field: pipeline, op: equals, value: default}\n"
        "    build: deal\n"
    )
    refused = run("rules", "load", str(bad), env=env)
    assert refused.returncode == 2
    assert "rules.won.when.conditions.0.op" in refused.stderr
    assert "equals" in refused.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules:\n  - name: x\n    build: [time\n  - name: y\n")
    not_yaml = run("rules", "load", str(broken), env=env)
    assert not_yaml.returncode == 2
    assert "not valid YAML at line 4, column" in " ".join(not_yaml.stderr.split())

    ticked = run("tick", "--json", env=env)
    assert ticked.returncode == 0, ticked.stderr
    assert json.loads(ticked.stdout) == {
        "issued": [],
        "held": [],
        "skipped": 0,
        "rules": [],
        "polled": {},
        "stale": [],
    }
    listed = json.loads(run("rules", "list", "--json", env=env).stdout)
    by_name = {r["name"]: r for r in listed}
    assert set(by_name) == {"won-deals", "monthly-time", "forty-hours"}  # nothing of bad.yaml
    assert {n: (r["kind"], r["build"], r["version"]) for n, r in by_name.items()} == {
        "won-deals": ("event", "deal", 1),
        "monthly-time": ("schedule", "time", 1),
        "forty-hours": ("threshold", "time", 2),
    }
    assert by_name["forty-hours"]["action"] == "draft"
    assert by_name["forty-hours"]["definition"]["threshold"] == {"hours": 35, "per": "contract"}
    # the tick gave the schedule rule its next occurrence: the 1st of a month, 07:00 Berlin
    nxt = datetime.fromisoformat(by_name["monthly-time"]["next_run_at"])
    assert nxt > datetime.now(UTC)
    assert nxt.day == 1 and (nxt.hour, nxt.minute) in ((6, 0), (5, 0))


# -- CSV import ------------------------------------------------------------------------------
def test_importing_time_from_csv_saves_a_mapping_and_reports_bad_cells_by_row_and_column(
    sqlite_app: App, sqlite_url: str, tmp_path: Path
) -> None:
    client = make_client(sqlite_app, make_entity(sqlite_app))
    contract_id = _contract(sqlite_app, client, "ACME web platform")
    _timesheets(sqlite_app, {"ACME-WEB": contract_id})
    env = _env(sqlite_url, tmp_path)
    november = tmp_path / "toggl-november.csv"
    november.write_text(
        "User,Project,Task,Date,Hours\n"
        "Anna Berg,ACME-WEB,API design,2026-11-18,3.5\n"
        "Jonas Weber,ACME-WEB,Frontend,2026-11-19,4\n"
    )
    first = run(
        "import", "time", str(november), "--source", "timesheets",
        "--column", "person=User", "--column", "hours=Hours", "--column", "day=Date",
        "--column", "project_ref=Project", "--column", "task=Task",
        "--save-mapping", "toggl-export",
        env=env,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "2 time entries imported into timesheets" in first.stdout
    [saved] = _rows(sqlite_app, t.csv_mappings)
    assert saved["name"] == "toggl-export"

    december = tmp_path / "toggl-december.csv"
    december.write_text(
        "User,Project,Task,Date,Hours\n"
        "Anna Berg,ACME-WEB,Code review,2026-12-01,1.25\n"
        "Jonas Weber,ACME-WEB,Frontend,2026-12-02,2\n"
        "Jonas Weber,ACME-WEB,Frontend,2026-12-03,0:45\n"
    )
    second = run(
        "import", "time", str(december), "--source", "timesheets",
        "--mapping", "toggl-export", "--json",
        env=env,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == {"rows": 3, "fired": []}
    entries = _rows(sqlite_app, t.time_entries)
    assert len(entries) == 5
    assert {e["contract_id"] for e in entries} == {contract_id}
    assert sorted(Decimal(str(e["hours"])) for e in entries) == [
        Decimal("0.75"),
        Decimal("1.25"),
        Decimal("2"),
        Decimal("3.5"),
        Decimal("4"),
    ]

    bad = tmp_path / "toggl-bad.csv"
    bad.write_text(
        "User,Project,Task,Date,Hours\n"
        "Anna Berg,ACME-WEB,API design,2026-12-04,2\n"
        "Jonas Weber,ACME-WEB,Frontend,2026-12-04,1.5x\n"
    )
    refused = run(
        "import", "time", str(bad), "--source", "timesheets", "--mapping", "toggl-export",
        env=env,
    )  # fmt: skip
    assert refused.returncode == 2
    message = " ".join(refused.stderr.split())
    assert "row 3, column 'Hours'" in message and "'1.5x' is not a number" in message
    assert _count(sqlite_app, t.time_entries) == 5  # the good row of that file is not kept


# -- simulation ------------------------------------------------------------------------------
def _event(n: int, hours: str, day: str) -> dict[str, Any]:
    return {
        "id": f"toggl-evt-{n}",
        "source": "timesheets",
        "type": "time_entry.logged",
        "subject": "time_entry",
        "external_id": f"te-{n}",
        "occurred_at": f"{day}T17:00:00+01:00",
        "fields": {
            "entry_id": f"te-{n}",
            "person": "Jonas Weber",
            "hours": hours,
            "day": day,
            "project_ref": "ACME-WEB",
            "task": "Frontend",
        },
    }


def test_simulate_previews_the_invoice_a_threshold_would_issue_and_changes_nothing(
    sqlite_app: App, sqlite_url: str, tmp_path: Path
) -> None:
    app = sqlite_app
    client = make_client(app, make_entity(app))
    _timesheets(app, {"ACME-WEB": _contract(app, client, "ACME web platform")})
    load_rules(
        {"rules": [{"name": "ten-hours", "threshold": {"hours": 10}, "build": "time"}]},
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )
    events = tmp_path / "events"
    events.mkdir()
    for n, hours, day in ((1, "6", "2026-11-10"), (2, "5", "2026-11-17"), (3, "2", "2026-12-03")):
        (events / f"{n:03d}.json").write_text(json.dumps(_event(n, hours, day)))
    counters = _rows(app, t.series_counters)
    out = tmp_path / "sim"
    result = run(
        "simulate", "--from", "2026-11-01", "--to", "2026-12-31",
        "--events", str(events), "--out", str(out), "--json",
        env=_env(sqlite_url, tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["events"] == 3 and report["problems"] == []
    [would] = report["invoices"]
    assert (would["rule"], would["client"], would["outcome"]) == (
        "ten-hours",
        "Hanseatic Logistics AG",
        "would issue",
    )
    assert (would["gross"], would["currency"]) == ("1309.00", "EUR")  # 11 h × 100 + 19 %
    assert would["lines"] == ["Frontend — Jonas Weber (default)"]
    preview = out / would["preview"]
    assert preview.read_bytes().startswith(b"%PDF")
    assert json.loads((out / "report.json").read_text()) == report

    listed = run("invoices", "list", "--json", env=_env(sqlite_url, tmp_path))
    assert json.loads(listed.stdout) == []
    assert _rows(app, t.series_counters) == counters
    for table in (t.jobs, t.events, t.time_entries, t.rule_firings, t.outbound_messages):
        assert _count(app, table) == 0, table.name


# -- shadow report ---------------------------------------------------------------------------
def test_the_shadow_report_compares_what_a_shadow_rule_would_issue_with_invoices_by_hand(
    sqlite_app: App, sqlite_url: str, tmp_path: Path
) -> None:
    app = sqlite_app
    entity = make_entity(app)
    projects = {}
    for project, name in (
        ("HAN", "Hanseatic Logistics AG"),
        ("BAL", "Baltic Freight GmbH"),
        ("ELB", "Elbe Cloud KG"),
    ):
        projects[project] = _contract(app, make_client(app, entity, name=name), f"{name} support")
    _timesheets(app, projects)
    env = _env(sqlite_url, tmp_path)
    shadow = tmp_path / "shadow.yaml"
    shadow.write_text(
        "rules:\n"
        "  - name: five-hours\n"
        "    threshold: {hours: 5, per: contract}\n"
        "    build: time\n"
        "    shadow: true\n"
    )
    assert run("rules", "load", str(shadow), env=env).returncode == 0
    today = datetime.now(UTC).date()
    day = today.isoformat()
    time_csv = tmp_path / "time.csv"
    time_csv.write_text(
        "User,Project,Date,Hours\n"
        f"Anna Berg,HAN,{day},2\n"
        f"Anna Berg,HAN,{day},4\n"  # 6 h: crosses here
        f"Jonas Weber,BAL,{day},8\n"
        f"Jonas Weber,ELB,{day},5\n"
    )
    imported = run(
        "import", "time", str(time_csv), "--source", "timesheets", "--json",
        "--column", "person=User", "--column", "hours=Hours", "--column", "day=Date",
        "--column", "project_ref=Project",
        env=env,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert [f["outcome"] for f in json.loads(imported.stdout)["fired"]] == ["shadow"] * 3
    assert _count(app, t.invoices) == 0  # shadow mode issues nothing

    manual = tmp_path / "manual.csv"
    manual.write_text(
        "Invoice;Customer;Date;Total\n"
        f"RE-101;Hanseatic Logistics AG;{today:%d.%m.%Y};714,00\n"
        f"RE-102;Baltic Freight GmbH;{today:%d.%m.%Y};900,00\n"
        f"RE-103;Kieler Werft AG;{today:%d.%m.%Y};1.200,00\n"
        "RE-001;Hanseatic Logistics AG;15.01.2020;714,00\n"  # outside the period
    )
    result = run(
        "rules", "shadow-report", "--manual", str(manual),
        "--from", f"{today:%Y-%m}-01", "--to", day,
        "--column", "number=Invoice", "--column", "client=Customer",
        "--column", "issue_date=Date", "--column", "gross=Total",
        "--date-format", "%d.%m.%Y", "--decimal-comma", "--json",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["compared"] == "gross"
    assert report["summary"] == {"matched": 1, "different": 1, "missing": 1, "extra": 1}
    rows = {r["status"]: r for r in report["rows"]}
    assert (rows["matched"]["client"], rows["matched"]["manual_ref"]) == (
        "Hanseatic Logistics AG",
        "RE-101",
    )
    assert Decimal(rows["matched"]["shadow"]) == Decimal("714.00")
    assert rows["different"]["client"] == "Baltic Freight GmbH"
    assert (Decimal(rows["different"]["manual"]), Decimal(rows["different"]["shadow"])) == (
        Decimal("900.00"),
        Decimal("952.00"),
    )
    assert Decimal(rows["different"]["difference"]) == Decimal("52.00")
    assert (rows["missing"]["client"], rows["missing"]["manual_ref"]) == (
        "Kieler Werft AG",
        "RE-103",
    )
    assert rows["extra"]["client"] == "Elbe Cloud KG"
    assert Decimal(rows["extra"]["shadow"]) == Decimal("595.00")
    assert rows["extra"]["manual"] is None
