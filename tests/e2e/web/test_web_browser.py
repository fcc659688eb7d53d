"""A real browser against a real server: sign in, find the first invoice, open its PDF,
record a payment, see the status change. Screenshots land in /tmp/webshots/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.bootstrap import App, build
from autoinvoice.config import Settings
from autoinvoice.entrypoints.demo_data import load_demo_data
from autoinvoice.services import accounts, invoicing, jobs
from live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/webshots")
EMAIL, PASSWORD = "owner@nordlicht.example", "correct horse battery"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]


def demo_app(tmp_path: Path) -> App:
    clock = ManualClock(datetime(2026, 11, 20, 9, tzinfo=UTC))
    app = build(Settings(data_dir=tmp_path), clock=clock)
    load_demo_data(app)
    clock.set(datetime(2026, 12, 1, 6, 30, tzinfo=UTC))
    invoicing.fire_due_schedules(uow=app.uow(), clock=app.clock)
    jobs.run_jobs_once(uow=app.uow(), clock=app.clock, worker="t", handlers=app.handlers("t"))
    accounts.create_user(
        EMAIL, PASSWORD, "owner", uow=app.uow(), clock=app.clock, hasher=app.hasher, actor="test"
    )
    return app


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, App]]:
    app = demo_app(tmp_path)
    with live_server(app) as base:
        yield base, app


def test_an_owner_records_a_payment_in_a_real_browser(server: tuple[str, App]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, app = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})

            page.goto(f"{base}/invoices")
            expect(page).to_have_url(f"{base}/login?next=%2Finvoices")
            page.screenshot(path=SHOTS / "01-login.png")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()

            expect(page).to_have_url(f"{base}/invoices")
            expect(page.get_by_role("link", name="INV-2026-000001")).to_be_visible()
            expect(page.get_by_text(EMAIL)).to_be_visible()
            page.screenshot(path=SHOTS / "02-invoices.png", full_page=True)

            page.get_by_role("link", name="INV-2026-000001").click()
            expect(page.get_by_role("heading", name="Invoice INV-2026-000001")).to_be_visible()
            page.screenshot(path=SHOTS / "03-invoice.png", full_page=True)

            pdf_link = page.get_by_role("link", name="PDF", exact=True)
            pdf = page.request.get(base + (pdf_link.get_attribute("href") or ""))
            assert pdf.status == 200
            assert pdf.headers["content-type"] == "application/pdf"
            assert pdf.body().startswith(b"%PDF")

            form = page.locator("#record-payment")
            form.get_by_label("Amount (EUR)").fill("1355.00")
            form.get_by_label("Reference").fill("SEPA 2026-12-03")
            form.get_by_role("button", name="Record payment").click()
            expect(page.get_by_role("status")).to_contain_text("now partly paid")
            expect(page.locator(".subtitle .badge").first).to_have_text("Partly paid")
            page.screenshot(path=SHOTS / "04-partly-paid.png", full_page=True)

            form.get_by_label("Amount (EUR)").fill("abc")
            form.get_by_role("button", name="Record payment").click()
            expect(form.get_by_role("alert")).to_contain_text("is not a number")
            page.screenshot(path=SHOTS / "05-bad-amount.png", full_page=True)

            form.get_by_label("Amount (EUR)").fill("4000.00")
            form.get_by_role("button", name="Record payment").click()
            expect(page.locator(".subtitle .badge").first).to_have_text("Paid")
            page.screenshot(path=SHOTS / "06-paid.png", full_page=True)

            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=SHOTS / "07-invoice-phone.png", full_page=True)
            page.set_viewport_size({"width": 1280, "height": 860})

            page.get_by_role("link", name="Clients").click()
            expect(page.get_by_text("Brightwave Analytics Inc.")).to_be_visible()
            page.screenshot(path=SHOTS / "08-clients.png", full_page=True)

            phone = browser.new_page(
                viewport={"width": 390, "height": 844},
                user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 "
                "like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                "Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
                java_script_enabled=False,
            )
            with app.uow() as uow:
                token = uow.invoices.portal_token(2)
                uow.commit()
            phone.goto(f"{base}/portal/invoices/{token}")
            expect(phone.get_by_role("link", name="Download PDF")).to_be_visible()
            phone.screenshot(path=SHOTS / "09-portal-phone.png", full_page=True)
        finally:
            browser.close()

    with app.uow(read_only=True) as uow:
        assert uow.invoices.get(1).status.value == "paid"
        assert uow.invoices.get(2).status.value == "viewed"
