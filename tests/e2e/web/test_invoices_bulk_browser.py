"""The invoices list in a real browser: filter, tick three invoices, send them again and read
the summary; a viewer sees no bulk controls. Screenshots of /invoices (filtered, with a
selection), /payments and /audit at desktop and phone width land in /tmp/shots/."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.bootstrap import App
from autoinvoice.services import credit_notes, invoicing, jobs, payments, reversals
from live_server import live_server

sys.path.insert(0, str(Path(__file__).parents[2] / "integration" / "web"))
from web_support import OWNER, add_user, demo_app, milestone_draft

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/shots")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWER = ("viewer@nordlicht.example", "viewer password 1")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]


def _pay(app: App, invoice_id: int, amount: str, method: str, ref: str) -> int:
    cmd = payments.RecordPayment(invoice_id=invoice_id, amount=amount, method=method, reference=ref)
    return payments.record_payment(cmd, uow=app.uow(), clock=app.clock, actor="user:" + OWNER[0])


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    """Seven invoices over three months for three clients, payments (one reversed, one
    with credit left over) and a credit note."""
    app = demo_app(tmp_path)
    for month in (1, 2):
        app.clock.set(datetime(2027, month, 1, 6, 30, tzinfo=UTC))  # type: ignore[attr-defined]
        invoicing.fire_due_schedules(uow=app.uow(), clock=app.clock)
        jobs.run_jobs_once(uow=app.uow(), clock=app.clock, worker="t", handlers=app.handlers("t"))
    invoicing.issue_invoice(milestone_draft(app), uow=app.uow(), clock=app.clock, actor="t")
    _pay(app, 2, "500.00", "bank_transfer", "RF18 0000 0002")
    _pay(app, 7, "12500.00", "card", "ch_3PQ…")  # 500 above the balance: client credit
    wrong = _pay(app, 4, "1020.00", "cash", "counter")
    reversals.reverse_payment(
        wrong.payment_id, "recorded twice", uow=app.uow(), clock=app.clock, actor="t"
    )
    credit_notes.issue_credit_note(
        credit_notes.IssueCreditNote(invoice_id=6, reason="one seat less", amount="100.00"),
        uow=app.uow(),
        clock=app.clock,
        actor="user:" + OWNER[0],
    )
    add_user(app, *VIEWER, "viewer")
    yield app
    app.engine.dispose()


def _sign_in(page, base: str, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _phone_shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """The top of the page at phone width (a whole long list is too tall to look at)."""
    page.screenshot(
        path=str(SHOTS / f"{name}.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": PHONE["width"], "height": 1800},
    )


def test_filter_select_three_and_send_again_then_a_viewer_sees_no_controls(app: App) -> None:
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with live_server(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport=DESKTOP)
            _sign_in(page, base, *OWNER)
            page.goto(base + "/invoices")
            page.get_by_label("Client").select_option(label="Hanseatic Logistics AG")
            page.get_by_label("Issued from").fill("2026-12-01")
            page.get_by_role("button", name="Filter").click()
            expect(page).to_have_url(re.compile(r"/invoices\?client=1&issued_from=2026-12-01"))
            boxes = page.locator('input[name="invoice_ids"]')
            expect(boxes).to_have_count(3)
            for i in range(3):
                boxes.nth(i).check()
            page.screenshot(path=str(SHOTS / "invoices_bulk_desktop.png"), full_page=True)
            page.get_by_role("button", name="Send again").click()
            expect(page.locator(".flash")).to_have_text("Send again: 3 queued.")
            # the filters survive the action
            expect(page).to_have_url(f"{base}/invoices?client=1&issued_from=2026-12-01")

            page.goto(base + "/invoices?client=1&issued_from=2026-12-01&select=all")
            page.set_viewport_size(PHONE)
            _phone_shot(page, "invoices_bulk_phone")
            for name in ("payments", "audit"):
                page.set_viewport_size(DESKTOP)
                page.goto(f"{base}/{name}")
                page.screenshot(path=str(SHOTS / f"{name}_desktop.png"), full_page=True)
                page.set_viewport_size(PHONE)
                _phone_shot(page, f"{name}_phone")
            page.set_viewport_size(DESKTOP)
            page.goto(base + "/credit-notes")
            page.screenshot(path=str(SHOTS / "credit_notes_desktop.png"), full_page=True)
            page.goto(base + "/audit?action=invoice.send_again")
            expect(page.locator("tbody tr")).to_have_count(3)
            page.close()

            viewer = browser.new_page(viewport=DESKTOP)
            _sign_in(viewer, base, *VIEWER)
            viewer.goto(base + "/invoices?select=all")
            expect(viewer.get_by_role("heading", name="Invoices")).to_be_visible()
            expect(viewer.locator('input[type="checkbox"]')).to_have_count(0)
            expect(viewer.get_by_role("button", name="Send again")).to_have_count(0)
            viewer.goto(base + "/payments")
            expect(viewer.get_by_text("Reverse…")).to_have_count(0)
            viewer.screenshot(path=str(SHOTS / "invoices_viewer_payments.png"), full_page=True)
        finally:
            browser.close()
