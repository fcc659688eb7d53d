"""The dashboard in a real browser, at desktop and phone width: the figures, the charts
(SVG, labelled for screen readers), the overdue clients and the weekly audit with links
that lead to where each item is fixed. Screenshots land in /tmp/shots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from autoinvoice.adapters.db.engine import make_engine
from autoinvoice.adapters.db.migrate import upgrade
from autoinvoice.services import accounts
from cashflow_world import TODAY, Ledger, make_ledger, random_ledger
from live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/shots")
EMAIL, PASSWORD = "owner@nordlicht.example", "correct horse battery"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    ledger = make_ledger(url, tmp_path)
    random_ledger(ledger, 120, seed=5)
    ledger.client("Bare Metal Ltd", address=None, emails=())  # incomplete billing data
    ledger.invoice("Client 1", "1200", due=TODAY, status="draft", hold_reason="no PO number")
    ledger.invoice("Client 2", "980", due=TODAY - timedelta(days=120))
    accounts.create_user(
        EMAIL,
        PASSWORD,
        "owner",
        uow=ledger.app.uow(),
        clock=ledger.app.clock,
        hasher=ledger.app.hasher,
        actor="test",
    )
    yield ledger
    ledger.app.engine.dispose()


def test_the_owner_sees_cash_flow_charts_and_the_weekly_audit(ledger: Ledger) -> None:
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with live_server(ledger.app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.goto(base + "/")
            expect(page).to_have_url(f"{base}/dashboard")
            expect(page.get_by_role("heading", name="Cash flow")).to_be_visible()
            expect(page.get_by_role("link", name="Dashboard")).to_have_attribute(
                "aria-current", "page"
            )
            # a chart per currency for aging and for the forecast, each an image with a name
            for name in (
                "Open balances by days past due, EUR",
                "Open balances by days past due, INR",
                "Expected inflows per week, EUR",
            ):
                expect(page.get_by_role("img", name=name)).to_be_visible()
            assert page.locator("svg.chart").count() == 4
            expect(page.get_by_text("DSO = open receivables")).to_be_visible()
            expect(page.get_by_role("heading", name="Most overdue clients")).to_be_visible()
            audit = page.locator("#audit")
            expect(audit.get_by_text("Invoices held for attention")).to_be_visible()
            expect(audit.get_by_role("link", name="Bare Metal Ltd")).to_be_visible()
            page.screenshot(path=SHOTS / "dashboard-desktop.png", full_page=True)

            # the audit's link leads to the draft that needs attention
            audit.get_by_role("link", name="for Client 1").first.click()
            expect(page).to_have_url(re.compile(r"/invoices/\d+$"))
            expect(page.get_by_text("Needs attention").first).to_be_visible()
            page.go_back()

            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.context.add_cookies(page.context.cookies())
            phone.goto(base + "/dashboard")
            expect(phone.get_by_role("heading", name="Cash flow")).to_be_visible()
            overflow = phone.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
            phone.screenshot(path=SHOTS / "dashboard-phone-top.png")
            phone.screenshot(path=SHOTS / "dashboard-phone.png", full_page=True)
            for part in ("aging-h", "forecast-h", "clients-h", "audit-h"):  # screen by screen
                phone.locator(f"#{part}").scroll_into_view_if_needed()
                phone.evaluate(f"document.getElementById('{part}').scrollIntoView()")
                phone.screenshot(path=SHOTS / f"dashboard-phone-{part[:-2]}.png")
        finally:
            browser.close()
