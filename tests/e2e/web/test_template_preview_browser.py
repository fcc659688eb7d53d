"""The template editor in a real browser: changing the accent colour and the email subject
updates the preview (the invoice's first page and the email) without a reload; a broken
template shows its error in the preview pane. Screenshots land in /tmp/shots/:
templates-desktop.png, templates-phone.png, templates-error.png, templates-preview-page.png."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from live_server import live_server

if TYPE_CHECKING:
    from playwright.sync_api import Page

sys.path.insert(0, str(Path(__file__).parents[2] / "integration" / "web"))
from web_support import OWNER, demo_app, milestone_draft

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/shots")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]


def _whole_page(page: Page, path: Path) -> None:
    """A screenshot of the whole page as a tall window shows it (sticky bars where they
    sit, not where a scrolled full-page capture leaves them)."""
    width = page.viewport_size["width"] if page.viewport_size else 1360
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(100)
    page.screenshot(path=str(path))


def test_the_preview_follows_the_accent_colour_and_the_subject_as_they_are_typed(
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    app = demo_app(tmp_path)
    milestone_draft(app)
    with live_server(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(base + "/login")
            page.get_by_label("Email").fill(OWNER[0])
            page.get_by_label("Password").fill(OWNER[1])
            page.get_by_role("button", name="Sign in").click()
            page.goto(base + "/templates")
            expect(page.get_by_role("heading", name="Templates", exact=True)).to_be_visible()
            image = page.locator("#preview-page")
            expect(image).to_be_visible()
            first_png = image.get_attribute("src")
            page.wait_for_load_state("networkidle")
            _whole_page(page, SHOTS / "templates-desktop.png")
            page.set_viewport_size({"width": 1360, "height": 1000})

            # the accent colour: a new first page is drawn, no reload
            page.evaluate("document.body.dataset.marker = 'same page'")
            page.locator("#accent").fill("#c2185b")
            expect(image).not_to_have_attribute("src", first_png or "", timeout=5000)
            src = image.get_attribute("src") or ""
            (SHOTS / "templates-preview-page.png").write_bytes(base64.b64decode(src.split(",")[1]))

            # the subject: the preview's subject follows
            page.locator("#subject").fill("Your invoice {{ invoice.number }} — thank you!")
            expect(page.locator("#preview-subject")).to_have_text(
                "Your invoice INV-(number at issue) — thank you!", timeout=5000
            )
            frame = page.frame_locator("iframe.tpl-frame")
            expect(frame.get_by_text("Brightwave", exact=False).first).to_be_visible()
            assert page.evaluate("document.body.dataset.marker") == "same page"  # no reload

            # a broken template: the error with its line, in the preview pane
            page.locator("#text").fill("Hello\n{{ invoice.totl }}")
            error = page.locator("#preview-email-error")
            expect(error).to_contain_text("line 2", timeout=5000)
            expect(error).to_contain_text("totl")
            page.evaluate("window.scrollTo(0, 0)")
            _whole_page(page, SHOTS / "templates-error.png")

            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.context.add_cookies(page.context.cookies())
            phone.goto(base + "/templates")
            expect(phone.locator("#preview-page")).to_be_visible()
            phone.wait_for_load_state("networkidle")
            _whole_page(phone, SHOTS / "templates-phone.png")
            assert not errors, errors  # no CSP violation, no script error
        finally:
            browser.close()
