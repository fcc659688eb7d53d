"""The rule editor in a real browser: the list of rules, a validation error shown beside the
YAML as it is typed, and "Test this rule" bringing the invoices it would create into the
page without a reload — at desktop and phone width. Screenshots land in /tmp/shots/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.bootstrap import App, build
from autoinvoice.config import Settings
from autoinvoice.domain.contracts import BillingModel
from autoinvoice.domain.events import Event, Subject
from autoinvoice.entrypoints.demo_data import load_demo_data
from autoinvoice.services import accounts, ingest, sources
from autoinvoice.services.triggering import load_rules
from live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/shots")
EMAIL, PASSWORD = "owner@nordlicht.example", "correct horse battery"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
NOW = datetime.fromisoformat("2026-11-26T09:00:00+00:00")
WEEKLY = """\
name: weekly-hours
description: Unbilled hours of every T&M contract, every Friday afternoon.
schedule:
  rrule: "FREQ=WEEKLY;BYDAY=FR;BYHOUR=16"
  timezone: Europe/Berlin
applies_to: {model: time_and_materials}
build: time
action: draft
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]


def _hours(app: App) -> None:
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
    ingest.link_ref(
        "timesheets", "project", "WEB", client_id=None, contract_id=contract.id,
        uow=app.uow(), clock=app.clock, actor="test",
    )  # fmt: skip
    for n, (who, role, hours) in enumerate(
        (("Jonas Weber", "Engineer", "6.5"), ("Mira Schulz", "Senior engineer", "4"))
    ):
        event = Event(
            type="time_entry.logged",
            subject=Subject.TIME_ENTRY,
            external_id=f"te-{n}",
            occurred_at=datetime.fromisoformat(f"2026-11-2{n + 3}T17:00:00+01:00"),
            dedupe_key=f"te-evt-{n}",
            fields={
                "entry_id": f"te-{n}", "person": who, "role": role, "hours": hours,
                "day": f"2026-11-2{n + 3}", "project_ref": "WEB", "task": "Checkout redesign",
            },
        )  # fmt: skip
        with app.uow() as uow:
            src = uow.sources.by_name("timesheets")
            ingest.apply_event(event, src, None, uow=uow, now=event.occurred_at, actor="test")
            uow.commit()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    app = build(Settings(data_dir=tmp_path), clock=ManualClock(NOW))
    load_demo_data(app)
    _hours(app)
    load_rules(
        {
            "rules": [
                {
                    "name": "won-deals",
                    "description": "A deal in the default pipeline moved to closed-won.",
                    "when": {
                        "source": "hubspot",
                        "event": "deal.won",
                        "conditions": [{"field": "pipeline", "eq": "default"}],
                    },
                    "build": "deal",
                },
                {
                    "name": "forty-hours",
                    "threshold": {"hours": 40, "per": "contract"},
                    "build": "time",
                    "action": "draft",
                    "shadow": True,
                },
            ]
        },
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )
    accounts.create_user(
        EMAIL, PASSWORD, "owner", uow=app.uow(), clock=app.clock, hasher=app.hasher, actor="t"
    )
    yield app
    app.engine.dispose()


@pytest.mark.parametrize(("tag", "width", "height"), [("desktop", 1280, 900), ("phone", 390, 844)])
def test_the_rule_editor_validates_as_you_type_and_tests_without_a_reload(
    app: App, tag: str, width: int, height: int
) -> None:
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with live_server(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(base + "/login")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.goto(base + "/rules")
            expect(page.get_by_role("heading", name="Rules")).to_be_visible()
            expect(page.get_by_role("link", name="won-deals")).to_be_visible()
            expect(
                page.get_by_text("deal.won from hubspot where pipeline = default")
            ).to_be_visible()
            page.screenshot(path=str(SHOTS / f"rules-{tag}.png"), full_page=True)

            page.goto(base + "/rules/new")
            editor = page.get_by_label("Rule (YAML)")
            check = page.locator("#rule-check")
            expect(check).to_contain_text("✓ Valid")
            page.evaluate("window.stillHere = true")  # gone if the page reloads
            editor.fill("name: x\nwhen: {source: crmx, event: deal.won}\nbuild: deal\n")
            error = check.locator(".alert.error")
            expect(error).to_contain_text("no source named 'crmx' — connected sources: timesheets")
            expect(error.locator("code")).to_have_text("when.source")
            shot = SHOTS / f"rule-editor-error-{tag}.png"
            if tag == "desktop":
                page.screenshot(path=str(shot), full_page=True)
            else:
                page.locator(".editor-main > .card").screenshot(path=str(shot))

            editor.fill(WEEKLY)
            expect(check).to_contain_text("every week on Fri at 16:00")
            page.get_by_role("button", name="Test this rule").click()
            results = page.locator("#test-results")
            expect(results.get_by_role("heading", name="Test run of weekly-hours")).to_be_visible(
                timeout=15_000
            )
            cards = results.locator("article.preview-invoice")
            expect(cards).to_have_count(1)
            expect(cards.first).to_contain_text("Kaveri Software Pvt Ltd")
            expect(cards.first).to_contain_text("Checkout redesign — Jonas Weber (Engineer)")
            expect(cards.first).to_contain_text("€1,097.50")
            expect(cards.first.get_by_role("link", name="PDF preview")).to_be_visible()
            assert page.evaluate("window.stillHere") is True, "the page reloaded"
            assert page.url == base + "/rules/new"
            shot = SHOTS / f"rule-test-results-{tag}.png"
            if tag == "desktop":
                page.screenshot(path=str(shot), full_page=True)
            else:
                results.screenshot(path=str(shot))

            # the schedule changed to the 1st of the month: the same hours, dated 1 December
            editor.fill(
                WEEKLY.replace("WEEKLY;BYDAY=FR;BYHOUR=16", "MONTHLY;BYMONTHDAY=1;BYHOUR=7")
            )
            expect(check).to_contain_text("every month on day 1")
            page.get_by_role("button", name="Test this rule").click()
            expect(cards.first).to_contain_text("dated Dec 1, 2026", timeout=15_000)
            assert page.evaluate("window.stillHere") is True
        finally:
            browser.close()
    with app.uow(read_only=True) as uow:
        assert uow.invoices.summaries() == []  # nothing live was created
        assert [r.rule.name for r in uow.rules.list()] == ["forty-hours", "won-deals"]
