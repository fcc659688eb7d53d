"""A real browser on the bank review page: import a statement, see the waiting lines with
their candidates, tick an invoice and confirm. Screenshot in /tmp/webshots/bank_review.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from autoinvoice.adapters.bank import parse_statement
from autoinvoice.services import accounts
from autoinvoice.services.bank import import_statement
from bank_world import SAMPLES, BankWorld, make_bank_world
from live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/webshots")
EMAIL, PASSWORD = "owner@nordlicht.example", "correct horse battery"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[str, BankWorld]]:
    world = make_bank_world(sqlite_url, tmp_path)
    app = world.app
    accounts.create_user(
        EMAIL, PASSWORD, "owner", uow=app.uow(), clock=app.clock, hasher=app.hasher, actor="test"
    )
    data = (SAMPLES / "camt053_valid.xml").read_bytes()
    import_statement(
        parse_statement(data, "camt"),
        fmt="camt",
        content=data,
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )
    with live_server(app) as base:
        yield base, world


def test_an_owner_confirms_a_waiting_bank_line_in_a_real_browser(
    server: tuple[str, BankWorld],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, _ = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"{base}/login?next=/bank")
            page.fill("input[name=email]", EMAIL)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.get_by_role("heading", name="Bank review")).to_be_visible()
            rows = page.locator("tbody tr")
            expect(rows).to_have_count(3)
            nordsee = rows.filter(has_text="Nordsee Foods GmbH")
            expect(nordsee).to_contain_text("INV-2026-000007")
            expect(nordsee).to_contain_text("INV-2026-000008")
            page.screenshot(path=str(SHOTS / "bank_review.png"), full_page=True)
            nordsee.get_by_label("INV-2026-000008", exact=False).check()
            nordsee.get_by_role("button", name="Confirm").click()
            expect(page.get_by_text("applied as payment")).to_be_visible()
            expect(page.locator("tbody tr")).to_have_count(2)
        finally:
            browser.close()
