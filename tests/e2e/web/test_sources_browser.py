"""The sources pages in a real browser: the list with health badges, one source with its
recorded requests, and the field-map editor whose preview follows what is typed (htmx, no
reload) before the map is saved — at desktop and phone width. Screenshots land in
/tmp/shots/sources-*.png."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.bootstrap import App
from autoinvoice.services import accounts, ingest, sources
from autoinvoice.services.jobs import run_jobs_once
from builders import make_app, make_client, make_entity
from trigger_world import payload

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/shots")
EMAIL, PASSWORD = "owner@sources.example", "correct horse battery staple"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HEADERS = {"content-type": "application/json", "webhook-signature": "v1,c2lnbmF0dXJl"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]


def _source(app: App, kind: str, name: str, **kw: object) -> int:
    return sources.add_source(
        sources.NewSource(kind=kind, name=name, **kw),  # type: ignore[arg-type]
        uow=app.uow(),
        clock=app.clock,
        box=app.box,
        actor="test",
        kinds=app.source_kinds,
    ).id


def _receive(app: App, source_id: int, key: str, body: bytes) -> None:
    ingest.store_requests(
        [ingest.accepted(source_id, key, HEADERS | {"webhook-id": key}, body, NOW)],
        uow=app.uow(),
    )
    while run_jobs_once(uow=app.uow(), clock=app.clock, worker="t", handlers=app.handlers("t")):
        pass


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path) -> Iterator[App]:
    app = make_app(sqlite_url, tmp_path, clock=ManualClock(NOW))
    client_id = make_client(app, make_entity(app))
    shop = _source(app, "generic", "shop", secrets={"signing_secret": "whsec_c2VjcmV0"})
    ingest.link_ref(
        "shop",
        "client",
        "acme",
        client_id=client_id,
        contract_id=None,
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )
    batch = payload("generic", "events_batch.json")
    batch["events"][1]["fields"]["po_number"] = "PO-4471"
    _receive(app, shop, "msg_1", json.dumps(batch).encode())
    _source(app, "hubspot", "crm", secrets={"signing_secret": "x", "api_token": "y"})
    jira = _source(app, "jira", "jira-acme", secrets={"signing_secret": "z"})
    _receive(app, jira, "msg_2", b'{"webhookEvent": "jira:issue_updated"')  # cut short
    accounts.create_user(
        EMAIL, PASSWORD, "owner", uow=app.uow(), clock=app.clock, hasher=app.hasher, actor="t"
    )
    yield app
    app.engine.dispose()


def test_the_owner_edits_a_field_map_with_a_live_preview_and_saves_it(app: App) -> None:
    from playwright.sync_api import expect, sync_playwright

    from live_server import live_server

    SHOTS.mkdir(parents=True, exist_ok=True)
    with live_server(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/login")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.goto(base + "/sources")
            expect(page.get_by_role("heading", name="Sources")).to_be_visible()
            expect(page.locator("#source-shop .badge")).to_have_text("Healthy")
            expect(page.locator("#source-crm .badge")).to_have_text("Never heard from")
            expect(page.locator("#source-jira-acme .badge")).to_have_text("Failing")
            page.screenshot(path=str(SHOTS / "sources-list.png"), full_page=True)

            page.get_by_role("link", name="shop").click()
            expect(page.get_by_role("heading", name="Recent requests")).to_be_visible()
            expect(page.locator("table.requests")).to_contain_text("deal.won")
            page.screenshot(path=str(SHOTS / "sources-source.png"), full_page=True)

            page.get_by_role("link", name="Field map").click()
            expect(page.get_by_role("heading", name="Live preview")).to_be_visible()
            page.evaluate("window.__same_page = true")  # gone if the page reloads
            page.get_by_label("Field name, row 1").fill("po_number")
            page.get_by_label("Path, row 1").fill("fields.po_nmber")
            preview = page.locator("#preview")
            expect(preview).to_contain_text("not found in this event", timeout=5000)
            expect(preview).to_contain_text("did you mean fields.po_number?")
            page.get_by_label("Path, row 1").fill("fields.po_number")
            expect(preview.locator("li.found")).to_contain_text("= PO-4471", timeout=5000)
            page.locator("#path_filter").fill("po_")
            expect(page.locator("ul.paths")).to_contain_text("fields.po_number")
            expect(page.locator("ul.paths")).not_to_contain_text("external_id")
            assert page.evaluate("window.__same_page") is True
            page.screenshot(path=str(SHOTS / "sources-mapping-desktop.png"), full_page=True)

            page.get_by_role("button", name="Save field map").click()
            expect(page.locator(".flash")).to_contain_text("Field map of shop saved")
            expect(page.get_by_label("Path, row 1")).to_have_value("fields.po_number")

            page.goto(base + "/sources/shop/requests/1")
            expect(page.locator("body")).to_contain_text("(redacted)")
            page.screenshot(path=str(SHOTS / "sources-request.png"), full_page=True)
            page.goto(base + "/sources/new")
            page.get_by_label("Product").select_option("hubspot")  # htmx swaps the fields in
            expect(page.locator("#secret_signing_secret")).to_have_attribute("type", "password")
            page.screenshot(path=str(SHOTS / "sources-new.png"), full_page=True)

            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.context.add_cookies(page.context.cookies())
            for path, shot in [
                ("/sources/shop/mapping", "sources-mapping-phone.png"),
                ("/sources", "sources-list-phone.png"),
                ("/sources/shop", "sources-source-phone.png"),
            ]:
                phone.goto(base + path)
                phone.screenshot(path=str(SHOTS / shot), full_page=True)
                width = phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 390 + 1, f"{path} scrolls sideways on a phone ({width}px)"
        finally:
            browser.close()
    with app.uow(read_only=True) as uow:
        assert dict(uow.sources.by_name("shop").config.field_map) == {
            "po_number": "fields.po_number"
        }
