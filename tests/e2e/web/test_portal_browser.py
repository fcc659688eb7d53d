"""The client's side in a real browser with JavaScript off, on a phone: the invoice page
with its payment reference and e-invoice downloads, then the client's own page with its
statement of account. Screenshots land in /tmp/webshots/portal-*.png."""

from __future__ import annotations

import pytest
from test_web_browser import CHROMIUM, SHOTS, server  # noqa: F401  (fixture)

from autoinvoice.bootstrap import App
from autoinvoice.services.payments import RecordPayment, record_payment

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
]
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
)


def test_a_client_reads_an_invoice_and_its_statement_on_a_phone(
    server: tuple[str, App],  # noqa: F811
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, app = server
    record_payment(
        RecordPayment(1, "2000.00", method="bank_transfer"),
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )
    with app.uow() as uow:
        token = uow.invoices.portal_token(1)
        uow.commit()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            phone = browser.new_page(
                viewport={"width": 375, "height": 812}, user_agent=IPHONE, java_script_enabled=False
            )
            phone.goto(f"{base}/portal/invoices/{token}")
            expect(phone.get_by_role("heading", name="Rechnung INV-2026-000001")).to_be_visible()
            expect(phone.get_by_text("RF", exact=False).first).to_be_visible()
            for title in ("Factur-X PDF", "UBL (Peppol BIS 3.0)", "UN/CEFACT CII"):
                expect(phone.get_by_role("link", name=title)).to_be_visible()
            phone.screenshot(path=SHOTS / "portal-invoice-phone.png", full_page=True)
            ubl = phone.request.get(
                base
                + (
                    phone.get_by_role("link", name="UBL (Peppol BIS 3.0)").get_attribute("href")
                    or ""
                )
            )
            assert ubl.status == 200 and b"<Invoice" in ubl.body()

            phone.get_by_role(
                "link", name="All your invoices and your statement of account →"
            ).click()
            expect(phone.get_by_role("heading", name="Hanseatic Logistics AG")).to_be_visible()
            expect(phone.get_by_text("Balance owed")).to_be_visible()
            statement = phone.locator("table.statement tbody tr")
            expect(statement).to_have_count(2)
            expect(statement.nth(1)).to_contain_text("Payment (bank transfer)")
            phone.screenshot(path=SHOTS / "portal-account-phone.png", full_page=True)
        finally:
            browser.close()
    with app.uow(read_only=True) as uow:  # the client's view counted; nothing else changed
        assert uow.invoices.get(1).viewed_at is not None
