"""Pay now with Stripe Checkout, and ``POST /webhooks/stripe`` — exactly once.

The real app (TestClient) on SQLite and PostgreSQL, the official Stripe SDK talking to a
local server that answers as the Stripe API does (``tests/stripe_api.py``), and webhooks
signed with the SDK's own signing helper, as Stripe signs them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.adapters.db.tables import payment_sessions, provider_events
from autoinvoice.bootstrap import App
from autoinvoice.entrypoints.web.app import create_app
from autoinvoice.services import invoicing
from builders import draft_for, make_app, make_client, make_entity
from stripe_api import FakeStripe, completed_session, event, signed, succeeded_intent

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BASE = "https://billing.example.com"
WHSEC = "whsec_test_Nordlicht4f8Qz1Lr7Vt2Xc9Pm"
GROSS = Decimal("5355.00")  # 4500.00 + 19 % VAT


@dataclass
class Shop:
    app: App
    web: TestClient
    stripe: FakeStripe
    client_id: int

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.app.clock, ManualClock)
        return self.app.clock

    def issue(self, **kw: Any) -> tuple[int, str]:
        """An issued invoice (gross 5355.00 EUR) and its portal token."""
        inv_id = draft_for(self.app, self.client_id, **kw)
        invoicing.issue_invoice(inv_id, uow=self.app.uow(), clock=self.app.clock, actor="test")
        with self.app.uow(read_only=True) as uow:
            return inv_id, uow.invoices.portal_token(inv_id)

    def pay_now(self, token: str) -> dict[str, Any]:
        """Press "Pay now"; the Checkout Session the browser is sent to."""
        r = self.web.post(f"/portal/invoices/{token}/pay", follow_redirects=False)
        assert r.status_code == 303, r.text
        session_id = r.headers["location"].split("/c/pay/")[1].split("#")[0]
        return self.stripe.sessions[session_id]

    def deliver(self, envelope: dict[str, Any], *, age: int = 0, secret: str = WHSEC) -> Any:
        body, headers = signed(envelope, secret, self.app.clock.now(), age=age)
        return self.web.post("/webhooks/stripe", content=body, headers=headers)

    def invoice(self, inv_id: int) -> Any:
        with self.app.uow(read_only=True) as uow:
            return uow.invoices.get(inv_id)

    def payments(self, inv_id: int) -> list[dict[str, Any]]:
        with self.app.uow(read_only=True) as uow:
            return uow.payments.for_invoice(inv_id)

    def events(self) -> list[dict[str, Any]]:
        with self.app.engine.connect() as c:
            rows = c.execute(select(provider_events).order_by(provider_events.c.id))
            return [dict(r._mapping) for r in rows]

    def audit(self, action: str) -> list[dict[str, Any]]:
        with self.app.uow(read_only=True) as uow:
            return [a for a in uow.audit.recent(1000) if a["action"] == action]


@pytest.fixture
def shop(database_url: str, tmp_path: Path) -> Iterator[Shop]:
    with FakeStripe() as fake:
        app = make_app(
            database_url,
            tmp_path,
            clock=ManualClock(NOW),
            base_url=BASE,
            stripe_secret_key=fake.secret_key,
            stripe_webhook_secret=WHSEC,
            stripe_api_base=fake.url,
        )
        client_id = make_client(app, make_entity(app))
        with TestClient(create_app(app), base_url=BASE) as web:
            yield Shop(app, web, fake, client_id)
        app.engine.dispose()


def paid_checkout(shop: Shop, session: dict[str, Any], intent: str, evt: str) -> dict[str, Any]:
    """``checkout.session.completed`` for ``session``, as Stripe sends it once paid."""
    return event(evt, "checkout.session.completed", completed_session(session, intent))


def intent_succeeded(
    shop: Shop, session: dict[str, Any], intent: str, evt: str, amount: int | None = None
) -> dict[str, Any]:
    """``payment_intent.succeeded`` carrying the metadata our app gave the PaymentIntent."""
    obj = succeeded_intent(
        intent,
        session["amount_total"] if amount is None else amount,
        session["currency"],
        shop.stripe.intent_metadata(session["id"]),
    )
    return event(evt, "payment_intent.succeeded", obj)


# -- Pay now ----------------------------------------------------------------------------------
def test_pay_now_sends_the_client_to_a_stripe_checkout_for_the_open_balance(shop: Shop) -> None:
    inv_id, token = shop.issue()

    page = shop.web.get(f"/portal/invoices/{token}", headers={"User-Agent": "Mozilla/5.0"})
    assert f'action="/portal/invoices/{token}/pay"' in page.text
    assert (
        "form-action 'self' https://checkout.stripe.com" in page.headers["content-security-policy"]
    )
    r = shop.web.post(f"/portal/invoices/{token}/pay", follow_redirects=False)

    assert r.status_code == 303
    (session,) = shop.stripe.sessions.values()
    assert r.headers["location"] == session["url"]
    assert session["amount_total"] == 535500 and session["currency"] == "eur"
    assert session["metadata"]["invoice_id"] == str(inv_id)
    assert session["success_url"] == f"{BASE}/portal/invoices/{token}?paid=1"
    assert shop.stripe.calls[0].headers["idempotency-key"] == (
        f"stripe:checkout:{inv_id}:{GROSS}:1"
    )
    with shop.app.engine.connect() as c:
        (row,) = c.execute(select(payment_sessions)).all()
    assert (row.session_id, row.amount, row.currency, row.status) == (
        session["id"],
        GROSS,
        "EUR",
        "open",
    )
    assert shop.audit("payment.checkout_started")[0]["detail"]["session_id"] == session["id"]


def test_a_second_click_reuses_the_open_checkout(shop: Shop) -> None:
    _, token = shop.issue()

    first = shop.pay_now(token)
    second = shop.pay_now(token)

    assert second["id"] == first["id"]
    assert len(shop.stripe.calls) == 1


def test_after_a_partial_payment_pay_now_asks_for_the_new_balance(shop: Shop) -> None:
    inv_id, token = shop.issue()
    first = shop.pay_now(token)
    shop.deliver(intent_succeeded(shop, first, "pi_part", "evt_part", amount=200000))

    second = shop.pay_now(token)

    assert second["id"] != first["id"]
    assert second["amount_total"] == 335500
    assert shop.stripe.calls[-1].headers["idempotency-key"] == (
        f"stripe:checkout:{inv_id}:3355.00:1"
    )


def test_the_return_page_says_the_payment_is_being_confirmed(shop: Shop) -> None:
    _, token = shop.issue()

    page = shop.web.get(f"/portal/invoices/{token}?paid=1", headers={"User-Agent": "Mozilla/5.0"})

    assert page.status_code == 200
    assert "your payment is being confirmed" in page.text
    assert "/pay" not in page.text  # no second payment while the first is confirmed


def test_a_paid_invoice_offers_no_pay_now_and_refuses_a_checkout(shop: Shop) -> None:
    _, token = shop.issue()
    session = shop.pay_now(token)
    shop.deliver(paid_checkout(shop, session, "pi_full", "evt_full"))

    page = shop.web.get(f"/portal/invoices/{token}", headers={"User-Agent": "Mozilla/5.0"})
    r = shop.web.post(f"/portal/invoices/{token}/pay", follow_redirects=False)

    assert "Paid in full" in page.text and "/pay" not in page.text
    assert r.status_code == 303 and r.headers["location"] == f"/portal/invoices/{token}"
    assert len(shop.stripe.calls) == 1


def test_when_stripe_fails_the_client_sees_a_calm_error(shop: Shop) -> None:
    _, token = shop.issue()
    shop.stripe.fail_with = (500, {"error": {"type": "api_error", "message": "down"}})

    r = shop.web.post(f"/portal/invoices/{token}/pay", follow_redirects=False)

    assert r.status_code == 502
    assert "try again" in r.text
    assert shop.stripe.secret_key not in r.text


# -- POST /webhooks/stripe ------------------------------------------------------------------
def test_a_paid_checkout_marks_the_invoice_paid(shop: Shop) -> None:
    inv_id, token = shop.issue()
    session = shop.pay_now(token)

    r = shop.deliver(paid_checkout(shop, session, "pi_3QabcPaid", "evt_1Paid"))

    assert r.status_code == 200
    assert r.json() == {"status": "applied", "outcome": "applied"}
    inv = shop.invoice(inv_id)
    assert inv.status.value == "paid" and inv.balance.amount == 0
    (payment,) = shop.payments(inv_id)
    assert (payment["amount"], payment["currency"], payment["method"]) == (GROSS, "EUR", "card")
    assert payment["reference"] == "pi_3QabcPaid"
    assert payment["idempotency_key"] == "stripe:pi_3QabcPaid"
    with shop.app.engine.connect() as c:
        assert c.execute(select(payment_sessions.c.status)).scalar() == "complete"


def test_a_forged_signature_is_refused_with_400_and_nothing_is_recorded(shop: Shop) -> None:
    inv_id, token = shop.issue()
    session = shop.pay_now(token)

    r = shop.deliver(paid_checkout(shop, session, "pi_forged", "evt_forged"), secret="whsec_x")

    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "signature_rejected"
    assert shop.payments(inv_id) == [] and shop.events() == []
    assert shop.invoice(inv_id).status.value == "issued"
    (rejected,) = shop.audit("webhook.rejected")
    assert "signature" in rejected["detail"]["reason"]
    # the reason and a digest, never the body
    assert "pi_forged" not in json.dumps(rejected, default=str)


def test_a_request_without_a_signature_is_refused(shop: Shop) -> None:
    inv_id, token = shop.issue()
    body = json.dumps(paid_checkout(shop, shop.pay_now(token), "pi_x", "evt_x")).encode()

    r = shop.web.post("/webhooks/stripe", content=body)

    assert r.status_code == 400
    assert shop.payments(inv_id) == []


def test_a_signature_older_than_300_seconds_is_refused(shop: Shop) -> None:
    inv_id, token = shop.issue()
    session = shop.pay_now(token)

    late = shop.deliver(paid_checkout(shop, session, "pi_late", "evt_late"), age=301)
    in_time = shop.deliver(paid_checkout(shop, session, "pi_late", "evt_late"), age=300)

    assert late.status_code == 400 and "older than 300" in late.json()["detail"]
    assert in_time.status_code == 200
    assert len(shop.payments(inv_id)) == 1


def test_a_redelivered_event_records_one_payment(shop: Shop) -> None:
    inv_id, token = shop.issue()
    envelope = paid_checkout(shop, shop.pay_now(token), "pi_twice", "evt_twice")

    first = shop.deliver(envelope)
    shop.clock.advance(timedelta(minutes=5))
    again = shop.deliver(envelope)

    assert first.json()["status"] == "applied"
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "outcome": "applied"}
    assert len(shop.payments(inv_id)) == 1
    assert len(shop.events()) == 1
    assert len(shop.audit("invoice.payment_received")) == 1


@pytest.mark.parametrize("order", ["checkout_first", "intent_first"])
def test_checkout_completed_and_payment_intent_succeeded_record_one_payment(
    shop: Shop, order: str
) -> None:
    inv_id, token = shop.issue()
    session = shop.pay_now(token)
    events = [
        paid_checkout(shop, session, "pi_3Qone", "evt_1Checkout"),
        intent_succeeded(shop, session, "pi_3Qone", "evt_2Intent"),
    ]
    if order == "intent_first":
        events.reverse()

    answers = [shop.deliver(e).json() for e in events]

    assert answers == [
        {"status": "applied", "outcome": "applied"},
        {"status": "applied", "outcome": "duplicate_payment"},
    ]
    (payment,) = shop.payments(inv_id)
    assert payment["amount"] == GROSS and payment["reference"] == "pi_3Qone"
    assert shop.invoice(inv_id).status.value == "paid"
    assert {e["event_id"] for e in shop.events()} == {"evt_1Checkout", "evt_2Intent"}
    with shop.app.uow(read_only=True) as uow:
        assert uow.credits.balance(shop.client_id, "EUR") == 0


def test_a_partial_amount_leaves_the_invoice_partially_paid(shop: Shop) -> None:
    inv_id, token = shop.issue()
    session = shop.pay_now(token)

    r = shop.deliver(intent_succeeded(shop, session, "pi_part", "evt_part", amount=200000))

    assert r.json()["outcome"] == "applied"
    inv = shop.invoice(inv_id)
    assert inv.status.value == "partially_paid"
    assert inv.amount_paid == Decimal("2000.00")
    assert inv.balance.amount == Decimal("3355.00")
    page = shop.web.get(f"/portal/invoices/{token}", headers={"User-Agent": "Mozilla/5.0"})
    assert "Balance due" in page.text and "3,355.00" in page.text


def test_an_event_for_an_unknown_invoice_is_kept_as_its_outcome(shop: Shop) -> None:
    shop.issue()
    obj = succeeded_intent("pi_stranger", 9900, "eur", {"invoice_id": "999999"})

    r = shop.deliver(event("evt_stranger", "payment_intent.succeeded", obj))

    assert r.status_code == 200
    assert r.json() == {"status": "applied", "outcome": "unknown_invoice"}
    (stored,) = shop.events()
    assert (stored["event_id"], stored["outcome"], stored["invoice_id"]) == (
        "evt_stranger",
        "unknown_invoice",
        None,
    )
    (audited,) = shop.audit("payment.provider_event")
    assert audited["detail"]["invoice_id"] == 999999
    assert audited["detail"]["amount"] == "99.00"


def test_a_payment_for_a_void_invoice_is_kept_and_audited_not_applied(shop: Shop) -> None:
    inv_id, token = shop.issue()
    session = shop.pay_now(token)
    invoicing.void_invoice(
        inv_id, "issued twice", uow=shop.app.uow(), clock=shop.app.clock, actor="test"
    )

    r = shop.deliver(paid_checkout(shop, session, "pi_void", "evt_void"))

    assert r.json() == {"status": "applied", "outcome": "invoice_void"}
    assert shop.payments(inv_id) == []
    assert shop.events()[0]["invoice_id"] == inv_id
    (audited,) = shop.audit("payment.provider_event")
    assert audited["detail"]["outcome"] == "invoice_void"
    assert audited["detail"]["reference"] == "pi_void"


def test_a_second_payment_of_a_paid_invoice_becomes_client_credit(shop: Shop) -> None:
    inv_id, token = shop.issue()
    session = shop.pay_now(token)
    shop.deliver(paid_checkout(shop, session, "pi_first", "evt_first"))

    r = shop.deliver(intent_succeeded(shop, session, "pi_second", "evt_second"))

    assert r.json() == {"status": "applied", "outcome": "credited"}
    assert len(shop.payments(inv_id)) == 2
    with shop.app.uow(read_only=True) as uow:
        assert uow.credits.balance(shop.client_id, "EUR") == GROSS


def test_a_payment_in_another_currency_is_kept_as_rejected(shop: Shop) -> None:
    inv_id, _ = shop.issue()
    obj = succeeded_intent("pi_usd", 535500, "usd", {"invoice_id": str(inv_id)})

    r = shop.deliver(event("evt_usd", "payment_intent.succeeded", obj))

    assert r.json() == {"status": "applied", "outcome": "rejected"}
    assert shop.payments(inv_id) == []
    (audited,) = shop.audit("payment.provider_event")
    assert "USD" in audited["detail"]["reason"]


def test_a_checkout_that_is_not_paid_yet_records_nothing(shop: Shop) -> None:
    inv_id, token = shop.issue()
    session = shop.pay_now(token)
    unpaid = completed_session(session, "pi_sepa", paid=False)

    r = shop.deliver(event("evt_sepa", "checkout.session.completed", unpaid))

    assert r.json()["outcome"] == "not_paid"
    assert shop.payments(inv_id) == []


# -- without Stripe ---------------------------------------------------------------------------
def test_without_stripe_there_is_no_pay_now_and_no_stripe_webhook(world: Any) -> None:
    inv_id = draft_for(world.app, world.client_id)
    invoicing.issue_invoice(inv_id, uow=world.app.uow(), clock=world.app.clock, actor="test")
    with world.app.uow(read_only=True) as uow:
        token = uow.invoices.portal_token(inv_id)

    page = world.web.get(f"/portal/invoices/{token}", headers={"User-Agent": "Mozilla/5.0"})
    pay = world.web.post(f"/portal/invoices/{token}/pay", follow_redirects=False)
    hook = world.web.post("/webhooks/stripe", content=b"{}")

    assert page.status_code == 200 and not re.search(r"/pay\b", page.text)
    assert pay.status_code == 404
    assert hook.status_code == 404
