"""The Stripe adapter on the wire: the official SDK talking to a local server that answers
as the Stripe API does (``tests/stripe_api.py``), and webhooks signed with the SDK's own
``WebhookSignature.generate_signature_header`` (https://docs.stripe.com/webhooks#verify-events)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import stripe

from autoinvoice.adapters.payments.stripe import StripePayments, from_minor, to_minor
from autoinvoice.services.payment_links import (
    CheckoutRequest,
    PaymentProviderError,
    WebhookRejected,
)
from stripe_api import (
    FakeStripe,
    completed_session,
    event,
    signed,
    succeeded_intent,
)

WHSEC = "whsec_test_Nordlicht4f8Qz1Lr7Vt2Xc9Pm"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def api() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def provider(api: FakeStripe) -> StripePayments:
    return StripePayments(api.secret_key, WHSEC, api_base=api.url, max_network_retries=0)


def request(**kw: object) -> CheckoutRequest:
    base: dict[str, object] = dict(
        invoice_id=17,
        invoice_number="INV-2026-000017",
        description="Nordlicht IT Services GmbH, invoice INV-2026-000017",
        amount=Decimal("5355.00"),
        currency="EUR",
        success_url="https://billing.example.com/portal/invoices/tok?paid=1",
        cancel_url="https://billing.example.com/portal/invoices/tok",
        idempotency_key="stripe:checkout:17:5355.00:1",
        customer_email="ap@hanseatic.example",
    )
    return CheckoutRequest(**{**base, **kw})  # type: ignore[arg-type]


# -- creating a Checkout Session --------------------------------------------------------------
def test_checkout_session_is_created_with_the_balance_in_minor_units_and_the_invoice_metadata(
    api: FakeStripe, provider: StripePayments
) -> None:
    session = provider.create_checkout(request())

    assert session.session_id.startswith("cs_test_")
    assert session.url == api.sessions[session.session_id]["url"]
    assert session.url.startswith("https://checkout.stripe.com/c/pay/cs_test_")
    (call,) = api.calls
    assert call.headers["idempotency-key"] == "stripe:checkout:17:5355.00:1"
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.headers["stripe-version"] == stripe.api_version
    p = call.params
    assert p["mode"] == "payment"
    assert p["line_items[0][quantity]"] == "1"
    assert p["line_items[0][price_data][currency]"] == "eur"
    assert p["line_items[0][price_data][unit_amount]"] == "535500"
    assert p["line_items[0][price_data][product_data][name]"] == "Invoice INV-2026-000017"
    assert p["metadata[invoice_id]"] == "17"
    assert p["metadata[invoice_number]"] == "INV-2026-000017"
    assert p["payment_intent_data[metadata][invoice_id]"] == "17"
    assert p["payment_intent_data[metadata][invoice_number]"] == "INV-2026-000017"
    assert p["client_reference_id"] == "17"
    assert p["success_url"] == "https://billing.example.com/portal/invoices/tok?paid=1"
    assert p["cancel_url"] == "https://billing.example.com/portal/invoices/tok"
    assert p["customer_email"] == "ap@hanseatic.example"


def test_the_same_idempotency_key_answers_the_same_session(
    api: FakeStripe, provider: StripePayments
) -> None:
    first = provider.create_checkout(request())
    again = provider.create_checkout(request())
    other = provider.create_checkout(request(idempotency_key="stripe:checkout:17:5355.00:2"))

    assert again == first
    assert other.session_id != first.session_id
    assert len(api.calls) == 3 and len(api.sessions) == 2


def test_zero_decimal_currencies_are_sent_in_whole_units(
    api: FakeStripe, provider: StripePayments
) -> None:
    provider.create_checkout(request(amount=Decimal("120000"), currency="JPY"))

    assert api.calls[0].params["line_items[0][price_data][currency]"] == "jpy"
    assert api.calls[0].params["line_items[0][price_data][unit_amount]"] == "120000"


def test_minor_unit_conversion_refuses_fractions_of_a_cent() -> None:
    assert to_minor(Decimal("0.01"), "EUR") == 1
    assert to_minor(Decimal("12.345"), "KWD") == 12345  # three decimals
    assert from_minor(535500, "EUR") == Decimal("5355.00")
    with pytest.raises(ValueError, match="minor units"):
        to_minor(Decimal("10.005"), "EUR")


def test_a_stripe_error_becomes_a_provider_error_without_the_key(
    api: FakeStripe, provider: StripePayments
) -> None:
    api.fail_with = (400, {"error": {"type": "invalid_request_error", "message": "No such"}})

    with pytest.raises(PaymentProviderError) as caught:
        provider.create_checkout(request())

    assert api.secret_key not in str(caught.value)
    assert api.secret_key not in repr(provider)


def test_a_wrong_api_key_is_a_provider_error(api: FakeStripe) -> None:
    wrong = StripePayments("sk_test_wrong", WHSEC, api_base=api.url, max_network_retries=0)

    with pytest.raises(PaymentProviderError):
        wrong.create_checkout(request())


# -- verifying and reading webhooks ---------------------------------------------------------
def intent_event(amount: int = 535500, event_id: str = "evt_3Q1") -> dict[str, object]:
    metadata = {"invoice_id": "17", "invoice_number": "INV-2026-000017"}
    obj = succeeded_intent("pi_3Q1abc", amount, "eur", metadata)
    return event(event_id, "payment_intent.succeeded", obj)


def test_a_signed_payment_intent_event_is_read_in_major_units(provider: StripePayments) -> None:
    body, headers = signed(intent_event(), WHSEC, NOW)

    ev = provider.parse_webhook(headers, body, now=NOW)

    assert (ev.event_id, ev.type, ev.invoice_id) == ("evt_3Q1", "payment_intent.succeeded", 17)
    assert (ev.amount, ev.currency, ev.paid) == (Decimal("5355.00"), "EUR", True)
    assert ev.payment_ref == "pi_3Q1abc"
    assert ev.occurred_at == NOW


def test_checkout_completed_names_the_same_payment_intent(provider: StripePayments) -> None:
    session = {
        "id": "cs_test_a1b2",
        "object": "checkout.session",
        "amount_total": 535500,
        "currency": "eur",
        "client_reference_id": "17",
        "metadata": {"invoice_id": "17"},
    }
    env = event("evt_1Cs", "checkout.session.completed", completed_session(session, "pi_3Q1abc"))
    body, headers = signed(env, WHSEC, NOW)

    ev = provider.parse_webhook(headers, body, now=NOW)

    assert (ev.invoice_id, ev.amount, ev.paid) == (17, Decimal("5355.00"), True)
    assert (ev.payment_ref, ev.session_id) == ("pi_3Q1abc", "cs_test_a1b2")


def test_a_completed_checkout_still_awaiting_payment_is_not_paid(
    provider: StripePayments,
) -> None:
    session = {"id": "cs_test_x", "amount_total": 100, "currency": "eur", "metadata": {}}
    unpaid = completed_session(session, "pi_x", paid=False)
    body, headers = signed(event("evt_2", "checkout.session.completed", unpaid), WHSEC, NOW)

    assert provider.parse_webhook(headers, body, now=NOW).paid is False


def test_a_signature_with_another_secret_is_rejected(provider: StripePayments) -> None:
    body, headers = signed(intent_event(), "whsec_forged", NOW)

    with pytest.raises(WebhookRejected, match="signature"):
        provider.parse_webhook(headers, body, now=NOW)


def test_a_body_changed_after_signing_is_rejected(provider: StripePayments) -> None:
    body, headers = signed(intent_event(), WHSEC, NOW)

    with pytest.raises(WebhookRejected):
        provider.parse_webhook(headers, body.replace(b"535500", b"999999"), now=NOW)


def test_a_missing_signature_header_is_rejected(provider: StripePayments) -> None:
    body, _ = signed(intent_event(), WHSEC, NOW)

    with pytest.raises(WebhookRejected, match="Stripe-Signature"):
        provider.parse_webhook({"content-type": "application/json"}, body, now=NOW)


def test_the_tolerance_is_300_seconds_on_the_injected_clock(provider: StripePayments) -> None:
    fresh, fresh_headers = signed(intent_event(), WHSEC, NOW, age=300)
    old, old_headers = signed(intent_event(), WHSEC, NOW, age=301)

    assert provider.parse_webhook(fresh_headers, fresh, now=NOW).paid
    with pytest.raises(WebhookRejected, match="older than 300"):
        provider.parse_webhook(old_headers, old, now=NOW)
    # the same old signature was fine when it was made
    assert provider.parse_webhook(old_headers, old, now=NOW - timedelta(seconds=301)).paid


def test_any_v1_signature_may_match_while_the_secret_rotates(provider: StripePayments) -> None:
    body, headers = signed(intent_event(), WHSEC, NOW)
    t, v1 = headers["Stripe-Signature"].split(",")
    stale = stripe.WebhookSignature.generate_signature_header(
        body.decode(), "whsec_old", timestamp=int(t[2:])
    ).split(",")[1]

    rotated = {"Stripe-Signature": f"{t},{stale},{v1}"}

    assert provider.parse_webhook(rotated, body, now=NOW).event_id == "evt_3Q1"


def test_a_signed_body_that_is_not_an_event_is_rejected(provider: StripePayments) -> None:
    body, headers = signed({"object": "list", "data": []}, WHSEC, NOW)

    with pytest.raises(WebhookRejected, match="not a Stripe event"):
        provider.parse_webhook(headers, body, now=NOW)


def test_without_a_webhook_secret_every_webhook_is_rejected(api: FakeStripe) -> None:
    no_secret = StripePayments(api.secret_key, None, api_base=api.url)
    body, headers = signed(intent_event(), WHSEC, NOW)

    with pytest.raises(WebhookRejected, match="no Stripe webhook secret"):
        no_secret.parse_webhook(headers, body, now=NOW)


def test_other_event_types_are_read_as_not_paid(provider: StripePayments) -> None:
    charge = {"id": "ch_1", "object": "charge", "metadata": {"invoice_id": "17"}}
    body, headers = signed(event("evt_9", "charge.refunded", charge), WHSEC, NOW)

    ev = provider.parse_webhook(headers, body, now=NOW)

    assert (ev.type, ev.invoice_id, ev.paid, ev.amount) == ("charge.refunded", 17, False, None)
