"""The intake form in a real browser on a phone (375×812, JavaScript off): a wrong VAT
number comes back with its message right above the field, the fixed form is accepted.
Screenshots land in /tmp/intake-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.bootstrap import App
from autoinvoice.services import intake
from builders import make_app, make_client, make_entity
from live_server import free_port, live_server

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp")
PHONE = {"width": 375, "height": 812}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[str, App, int]]:
    port = free_port()
    app = make_app(
        sqlite_url,
        tmp_path,
        clock=ManualClock(datetime(2026, 11, 20, 9, tzinfo=UTC)),
        base_url=f"http://127.0.0.1:{port}",
    )
    entity = make_entity(app)
    client = make_client(
        app,
        entity,
        name="Société Exemple SA",
        country="FR",
        tax_id=None,
        address=None,
        emails=("compta@exemple.fr",),
    )
    try:
        with live_server(app, port) as base:
            yield base, app, client
    finally:
        app.engine.dispose()


def test_a_client_corrects_a_wrong_vat_number_on_a_phone(server: tuple[str, App, int]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, app, client = server
    link = intake.create_intake_link(
        client, uow=app.uow(), clock=app.clock, actor="test", base_url=base
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport=PHONE, java_script_enabled=False)
            page.goto(link.url)
            expect(page.get_by_role("heading", name="Your billing details")).to_be_visible()
            expect(page.get_by_label("Legal name")).to_have_value("Société Exemple SA")
            page.screenshot(path=SHOTS / "intake-1-form.png", full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})
            page.screenshot(path=SHOTS / "intake-0-desktop.png", full_page=True)
            page.set_viewport_size(PHONE)

            page.get_by_label("Street address").fill("12 rue de la Paix")
            page.get_by_label("Postal code").fill("75002")
            page.get_by_label("City").fill("Paris")
            page.get_by_label("Country").select_option("FR")
            page.get_by_label("Tax ID").fill("FR41303265045")  # bad check digit
            page.get_by_label("We require a purchase order").check()
            page.get_by_label("Bank transfer").check()
            page.get_by_role("button", name="Send billing details").click()

            field = page.get_by_label("Tax ID")
            message = page.locator("#error-tax_id")
            expect(message).to_have_text(
                "This is not a valid VAT number in France: please check it for typos"
            )
            expect(message).to_have_attribute("role", "alert")
            expect(field).to_have_value("FR41303265045")  # kept as typed
            expect(page.get_by_label("City")).to_have_value("Paris")
            expect(page.locator("[role=alert]")).to_have_count(1)
            box, above = field.bounding_box(), message.bounding_box()
            assert box and above
            assert 0 <= box["y"] - (above["y"] + above["height"]) < 12  # right above the field
            assert abs(box["x"] - above["x"]) < 1
            for element in page.locator("input:visible, select, button").all():
                edge = element.bounding_box()
                assert edge and edge["x"] + edge["width"] <= PHONE["width"]  # no sideways scroll
            page.screenshot(path=SHOTS / "intake-2-error.png", full_page=True)
            message.scroll_into_view_if_needed()
            page.screenshot(path=SHOTS / "intake-3-error-field.png")

            field.fill("FR 40 303 265 045")
            page.get_by_role("button", name="Send billing details").click()
            expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
            expect(page.get_by_text("FR40303265045")).to_be_visible()
            page.screenshot(path=SHOTS / "intake-4-done.png", full_page=True)

            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(link.url)  # used: the link does not work again
            expect(
                page.get_by_role("heading", name="This link does not work any more")
            ).to_be_visible()
            page.screenshot(path=SHOTS / "intake-5-used.png")
        finally:
            browser.close()

    with app.uow(read_only=True) as uow:
        stored = uow.clients.get(client)
    assert stored.party.tax_id == "FR40303265045" and stored.po_required
    assert stored.party.address is not None and stored.party.address.city == "Paris"
