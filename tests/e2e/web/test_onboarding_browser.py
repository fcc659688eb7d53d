"""A new owner on a fresh installation (no demo data, just the owner) walks the first-run
guide in a real browser: organisation → a client (after a validation error) → a contract,
and sees the steps turn done. Screenshots at desktop and phone width land in /tmp/shots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from autoinvoice.adapters.db.engine import make_engine
from autoinvoice.adapters.db.migrate import upgrade
from autoinvoice.bootstrap import App
from autoinvoice.services import accounts
from builders import make_app
from live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/shots")
EMAIL, PASSWORD = "owner@fjord.example", "correct horse battery"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[App]:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = make_app(url, tmp_path)
    accounts.create_user(
        EMAIL, PASSWORD, "owner", uow=app.uow(), clock=app.clock, hasher=app.hasher, actor="test"
    )
    yield app
    app.engine.dispose()


def test_a_new_owner_walks_the_set_up_guide(fresh: App) -> None:
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with live_server(fresh) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport=DESKTOP)
            page.goto(base + "/login")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.goto(base + "/dashboard")
            expect(page.get_by_text("Finish setting up — 0 of 5 done")).to_be_visible()
            page.get_by_role("link", name="Continue set-up").click()
            expect(page.get_by_role("heading", name="Get started")).to_be_visible()
            expect(page.locator("#progress-text")).to_have_text("0 of 5 done")
            page.screenshot(path=str(SHOTS / "setup-start-desktop.png"), full_page=True)
            page.set_viewport_size(PHONE)
            page.screenshot(path=str(SHOTS / "setup-start-phone.png"), full_page=True)
            page.set_viewport_size(DESKTOP)

            # 1. the organisation
            page.get_by_role("link", name="Edit organisation").click()
            page.locator("#legal_name").fill("Fjord Digital GmbH")
            page.locator("#tax_id").fill("DE136695976")
            page.locator("#emails").fill("billing@fjord.example")
            page.locator("#timezone").fill("Europe/Berlin")
            page.locator("#address_line1").fill("Torstraße 1")
            page.locator("#postal_code").fill("10119")
            page.locator("#city").fill("Berlin")
            page.locator("#country").select_option("DE")
            page.locator("#iban").fill("DE89 3704 0044 0532 0130 00")
            page.screenshot(path=str(SHOTS / "organisation-form-desktop.png"), full_page=True)
            page.get_by_role("button", name="Save organisation").click()
            expect(page.get_by_role("status")).to_have_text("Fjord Digital GmbH saved.")
            expect(page.locator("#step-organisation")).to_contain_text("Missing: a contract")

            # 4. a client, first with a wrong VAT number
            page.locator("#step-clients").get_by_role("link", name="Add a client").click()
            page.locator("#legal_name").fill("Lumen Studio SARL")
            page.locator("#address_line1").fill("12 rue de la Paix")
            page.locator("#postal_code").fill("75002")
            page.locator("#city").fill("Paris")
            page.locator("#country").select_option("FR")
            page.locator("#emails").fill("ap@lumen.example")
            page.locator("#tax_id").fill("FR00000000000")
            page.get_by_role("button", name="Add client").click()
            error = page.locator("#error-tax_id")
            expect(error).to_contain_text("not a valid VAT number in France")
            expect(page.locator("#tax_id")).to_have_attribute("aria-invalid", "true")
            page.screenshot(path=str(SHOTS / "client-form-error-desktop.png"), full_page=True)
            page.set_viewport_size(PHONE)
            error.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "client-form-error-phone.png"))
            page.set_viewport_size(DESKTOP)
            page.locator("#tax_id").fill("FR40303265045")
            page.get_by_role("button", name="Add client").click()
            expect(page.get_by_role("status")).to_have_text("Client Lumen Studio SARL added.")
            expect(page.get_by_role("link", name="Edit Lumen Studio SARL")).to_be_visible()

            # 1b. a contract: a seat-priced retainer, quarterly
            page.goto(base + "/setup")
            expect(page.locator("#step-clients")).to_contain_text("Done")
            page.get_by_role("link", name="Add a contract").click()
            page.locator("#client_id").select_option(label="Lumen Studio SARL")
            page.locator("#name").fill("Design system support")
            page.locator("#description").fill("Design system support, per seat")
            expect(page.locator("#amount")).to_be_visible()
            expect(page.locator("#milestone-0")).to_be_hidden()
            page.get_by_text("Seats × price per seat").click()
            expect(page.locator("#amount")).to_be_hidden()
            page.locator("#seats").fill("12")
            page.locator("#seat_price").fill("85")
            page.get_by_text("Quarterly on the 1st").click()
            page.locator("label[for=model-milestone]").click()
            expect(page.locator("#milestone-0")).to_be_visible()
            expect(page.locator("#seats")).to_be_hidden()
            page.screenshot(
                path=str(SHOTS / "contract-form-milestones-desktop.png"), full_page=True
            )
            page.locator("label[for=model-retainer]").click()
            page.get_by_role("button", name="Add contract", exact=True).last.click()
            expect(page.get_by_role("heading", name="Design system support")).to_be_visible()
            expect(page.get_by_text("Quarterly on the 1st, 06:00 Europe/Berlin")).to_be_visible()
            expect(page.get_by_text("€1,020.00")).to_be_visible()
            page.screenshot(path=str(SHOTS / "contract-page-desktop.png"), full_page=True)
            page.set_viewport_size(PHONE)
            page.screenshot(path=str(SHOTS / "contract-page-phone.png"), full_page=True)
            page.set_viewport_size(DESKTOP)

            page.goto(base + "/setup")
            expect(page.locator("#progress-text")).to_have_text("2 of 5 done")
            expect(page.locator("#step-organisation")).to_contain_text("Done")
            expect(page.locator("#step-template")).to_contain_text("To do")
            page.screenshot(path=str(SHOTS / "setup-after-desktop.png"), full_page=True)
            page.set_viewport_size(PHONE)
            page.screenshot(path=str(SHOTS / "setup-after-phone.png"), full_page=True)
        finally:
            browser.close()
