"""The rule pages as an operator uses them: the list, the YAML editor with its checks,
saving a new version, enabling and disabling, and "Test this rule" — with htmx and
without, for each role, and leaving the live database as it was."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_support import ISSUED_AT, OWNER, add_user, sign_in

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.adapters.db import tables as t
from autoinvoice.adapters.passwords import Argon2Hasher
from autoinvoice.bootstrap import App, build
from autoinvoice.config import Settings
from autoinvoice.domain.contracts import BillingModel
from autoinvoice.domain.events import Event, Subject
from autoinvoice.entrypoints.demo_data import load_demo_data
from autoinvoice.services import ingest, sources
from autoinvoice.services.triggering import load_rules

MONTHLY = """\
name: monthly-time
schedule:
  rrule: "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=7"
  timezone: Europe/Berlin
applies_to: {model: time_and_materials}
build: time
"""
HTMX = {"HX-Request": "true"}


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str) -> App:
    """The demo organisation (no invoices: the rules bring their own), the clock on
    1 December 2026, and the owner."""
    app = build(Settings(data_dir=tmp_path, database_url=sqlite_url), clock=ManualClock(ISSUED_AT))
    cheap = Argon2Hasher()
    cheap._h = PasswordHasher.from_parameters(CHEAPEST)  # sign-ins are not under test here
    app = replace(app, hasher=cheap)
    load_demo_data(app)
    add_user(app, *OWNER, "owner")
    return app


def _timesheets(app: App) -> str:
    """A csv source with 11 unbilled hours on the demo T&M contract; returns its client."""
    sources.add_source(
        sources.NewSource(kind="csv", name="timesheets"),
        uow=app.uow(),
        clock=app.clock,
        box=app.box,
        actor="test",
        kinds=app.source_kinds,
    )
    with app.uow(read_only=True) as uow:
        contract = next(
            c for c in uow.contracts.list() if c.model is BillingModel.TIME_AND_MATERIALS
        )
        client = uow.clients.get(contract.client_id or 0).party.name
    ingest.link_ref(
        "timesheets",
        "project",
        "WEB",
        client_id=None,
        contract_id=contract.id,
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )
    for n, hours, day in ((1, "6", "2026-11-24"), (2, "5", "2026-11-25")):
        event = Event(
            type="time_entry.logged",
            subject=Subject.TIME_ENTRY,
            external_id=f"te-{n}",
            occurred_at=datetime.fromisoformat(f"{day}T17:00:00+01:00"),
            dedupe_key=f"te-evt-{n}",
            fields={
                "entry_id": f"te-{n}",
                "person": "Jonas Weber",
                "hours": hours,
                "day": day,
                "project_ref": "WEB",
                "task": "Frontend",
                "role": "Engineer",
            },
        )
        with app.uow() as uow:
            src = uow.sources.by_name("timesheets")
            ingest.apply_event(event, src, None, uow=uow, now=event.occurred_at, actor="test")
            uow.commit()
    return client


def _counts(app: App) -> dict[str, Any]:
    with app.engine.connect() as c:
        out: dict[str, Any] = {
            tb.name: c.execute(select(func.count()).select_from(tb)).scalar_one()
            for tb in (t.invoices, t.rule_firings, t.jobs, t.outbound_messages, t.rules)
        }
        out["counters"] = [tuple(r) for r in c.execute(select(t.series_counters))]
    return out


def _validate(client: TestClient, token: str, text: str) -> str:
    r = client.post("/rules/validate", data={"yaml": text, "csrf_token": token}, headers=HTMX)
    assert r.status_code == 200
    return r.text


def test_the_editor_names_yaml_syntax_errors_by_line_and_column(
    client: TestClient, owner: str
) -> None:
    page = _validate(client, owner, "name: x\nwhen: {source: crm\nbuild: deal\n")
    assert "This rule cannot be saved yet" in page
    assert (
        "line 3, column 6: expected &#39;,&#39; or &#39;}&#39;, but got &#39;:&#39; "
        "(while parsing a flow mapping that starts on line 2)"
    ) in page


def test_the_editor_names_an_unknown_source_and_lists_the_connected_ones(
    app: App, client: TestClient, owner: str
) -> None:
    _timesheets(app)
    page = _validate(client, owner, "name: x\nwhen: {source: crmx, event: deal.won}\nbuild: deal")
    assert 'Line 2 · <code class="field-path">when.source</code>' in page
    assert "no source named &#39;crmx&#39; — connected sources: timesheets" in page


def test_the_editor_names_a_bad_rrule(client: TestClient, owner: str) -> None:
    page = _validate(client, owner, MONTHLY.replace("FREQ=MONTHLY", "FREQ=MONTHY"))
    assert 'Line 3 · <code class="field-path">schedule.rrule</code>' in page
    assert "not a valid RFC 5545 RRULE" in page


def test_a_valid_rule_is_described_in_words(client: TestClient, owner: str) -> None:
    page = _validate(client, owner, MONTHLY)
    assert "✓ Valid" in page
    assert "every month on day 1 at 07:00 (Europe/Berlin); T&amp;M contracts" in page
    assert "Next occurrence: Jan 1, 2027, 07:00" in page


def test_saving_makes_a_new_version_and_the_list_shows_it(
    app: App, client: TestClient, owner: str
) -> None:
    r = client.post(
        "/rules/save", data={"yaml": MONTHLY, "csrf_token": owner}, follow_redirects=False
    )
    assert (r.status_code, r.headers["location"]) == (303, "/rules/monthly-time/edit")
    changed = MONTHLY + "action: draft\n"
    client.post("/rules/save", data={"yaml": changed, "csrf_token": owner})
    with app.uow(read_only=True) as uow:
        assert uow.rules.get("monthly-time").version == 2
        assert [a["action"] for a in uow.audit.recent(5)][:2] == ["rule.saved", "rule.saved"]
    listing = client.get("/rules").text
    assert "monthly-time" in listing and "v2" in listing
    assert "every month on day 1 at 07:00" in listing
    history = client.get("/rules/monthly-time").text
    assert '<span class="add">+action: draft</span>' in history
    assert '<span class="del">-action: issue</span>' not in history  # it had no action line


def test_a_rule_that_does_not_validate_is_not_saved(
    app: App, client: TestClient, owner: str
) -> None:
    r = client.post(
        "/rules/save",
        data={"yaml": MONTHLY.replace("build: time", "build: teatime"), "csrf_token": owner},
    )
    assert r.status_code == 422
    assert '<code class="field-path">build</code>' in r.text
    assert "build: teatime" in r.text  # the text is kept for fixing
    with app.uow(read_only=True) as uow:
        assert uow.rules.list() == []


def test_disabling_and_enabling_make_new_versions(app: App, client: TestClient, owner: str) -> None:
    client.post("/rules/save", data={"yaml": MONTHLY, "csrf_token": owner})
    client.post("/rules/monthly-time/disable", data={"csrf_token": owner})
    with app.uow(read_only=True) as uow:
        rec = uow.rules.get("monthly-time")
    assert (rec.version, rec.rule.enabled) == (2, False)
    assert "Disabled" in client.get("/rules").text
    client.post("/rules/monthly-time/enable", data={"csrf_token": owner})
    with app.uow(read_only=True) as uow:
        assert uow.rules.get("monthly-time").rule.enabled is True


def test_testing_a_rule_shows_the_invoice_it_would_create_and_changes_nothing(
    app: App, client: TestClient, owner: str
) -> None:
    name = _timesheets(app)
    before = _counts(app)
    r = client.post(
        "/rules/test", data={"yaml": MONTHLY, "csrf_token": owner, "start": "", "end": ""},
        headers=HTMX,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert "<html" not in r.text  # a partial for htmx
    assert name in r.text
    assert "Would issue &amp; send" in r.text or "Needs attention" in r.text
    assert "Frontend — Jonas Weber" in r.text
    token = r.text.split("/rules/previews/")[1].split("/")[0]
    pdf = client.get(f"/rules/previews/{token}/1.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert _counts(app) == before
    with app.uow(read_only=True) as uow:
        [entry] = [a for a in uow.audit.recent(20) if a["action"] == "rules.tested"]
    assert entry["subject_type"] == "rule" and entry["detail"]["invoices"] == 1


def test_without_javascript_the_test_reloads_the_editor_with_the_results(
    app: App, client: TestClient, owner: str
) -> None:
    _timesheets(app)
    r = client.post(
        "/rules/test",
        data={"yaml": MONTHLY, "csrf_token": owner, "start": "2026-12-01", "end": "2026-12-31"},
    )
    assert r.status_code == 200
    assert "<html" in r.text and "Test run of <code>monthly-time</code>" in r.text
    assert 'value="2026-12-01"' in r.text  # the period picked is kept


def test_a_test_period_over_a_year_is_refused(client: TestClient, owner: str) -> None:
    r = client.post(
        "/rules/test",
        data={"yaml": MONTHLY, "csrf_token": owner, "start": "2027-01-01", "end": "2028-06-01"},
    )
    assert r.status_code == 422
    assert "a test run covers at most one year" in r.text


def test_a_viewer_may_look_and_test_but_not_save_or_switch(app: App, client: TestClient) -> None:
    load_rules({"rules": [{"name": "won", "when": {"event": "deal.won"}, "build": "deal"}]},
               uow=app.uow(), clock=app.clock, actor="test")  # fmt: skip
    add_user(app, "viewer@nordlicht.example", "viewer password 1", "viewer")
    token = sign_in(client, "viewer@nordlicht.example", "viewer password 1")
    listing = client.get("/rules").text
    assert "won" in listing and "Disable" not in listing and "New rule" not in listing
    editor = client.get("/rules/won/edit").text
    assert "Save rule" not in editor and "only an owner or accountant can save" in editor
    assert (
        client.post("/rules/test", data={"yaml": MONTHLY, "csrf_token": token}).status_code == 200
    )
    assert (
        client.post("/rules/save", data={"yaml": MONTHLY, "csrf_token": token}).status_code == 403
    )
    assert client.post("/rules/won/disable", data={"csrf_token": token}).status_code == 403
    with app.uow(read_only=True) as uow:
        assert [r.rule.name for r in uow.rules.list()] == ["won"]
        assert uow.rules.get("won").version == 1


def test_validate_and_test_need_the_csrf_token(client: TestClient, owner: str) -> None:
    del owner
    assert client.post("/rules/validate", data={"yaml": MONTHLY}).status_code == 403
    assert client.post("/rules/test", data={"yaml": MONTHLY}).status_code == 403


@pytest.mark.parametrize("path", ["/rules", "/rules/new"])
def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_an_expired_or_made_up_preview_is_not_found(client: TestClient, owner: str) -> None:
    del owner
    assert client.get("/rules/previews/not-a-real-token-at-all-xx/1.pdf").status_code == 404
    for path in ("/rules/nope/edit", "/rules/nope"):
        missing = client.get(path)
        assert missing.status_code == 404 and "no rule named" in missing.text
