"""Stripe Checkout and Stripe webhooks, through the official ``stripe`` SDK.

* Checkout: ``POST /v1/checkout/sessions`` (https://docs.stripe.com/api/checkout/sessions/create)
  in ``mode=payment`` with one ``price_data`` line for the open balance; ``unit_amount`` is
  in the currency's minor units (https://docs.stripe.com/currencies#minor-units) and the
  currency lower-case. The invoice id travels in ``metadata``, in
  ``payment_intent_data.metadata`` (so ``payment_intent.succeeded`` carries it too) and in
  ``client_reference_id``. Every create carries an ``Idempotency-Key``
  (https://docs.stripe.com/api/idempotent_requests).
* Webhooks: ``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">``,
  verified with the SDK's ``WebhookSignature.verify_header`` over the raw body; any ``v1``
  may match (secret rotation). The 300 s tolerance (``Webhook.DEFAULT_TOLERANCE``) is
  measured against the injected clock, not the wall clock (the SDK would read
  ``time.time()``). https://docs.stripe.com/webhooks#verify-events
* Events: ``checkout.session.completed`` / ``checkout.session.async_payment_succeeded``
  (paid when ``payment_status == "paid"``, ``amount_total``) and ``payment_intent.succeeded``
  (``amount_received``). Both name the PaymentIntent (``pi_…``), the key one payment is
  recorded under. Other types are passed on as not paid.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import stripe

from ...domain.errors import UnknownCurrency
from ...domain.money import check_currency, minor_units
from ...services.payment_links import (
    CheckoutRequest,
    CheckoutSession,
    PaymentProviderError,
    ProviderEvent,
    WebhookRejected,
)

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.stripe.com"
TOLERANCE = stripe.Webhook.DEFAULT_TOLERANCE  # 300 s
SIGNATURE_HEADER = "stripe-signature"
CHECKOUT_TYPES = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)
INTENT_SUCCEEDED = "payment_intent.succeeded"


def to_minor(amount: Decimal, currency: str) -> int:
    """``Decimal("5355.00"), "EUR"`` → ``535500``; refuses fractions of a minor unit.

    >>> to_minor(Decimal("5355.00"), "EUR"), to_minor(Decimal("1200"), "JPY")
    (535500, 1200)
    """
    minor = amount.scaleb(minor_units(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of minor units")
    return int(minor)


def from_minor(value: int, currency: str) -> Decimal:
    """``535500, "EUR"`` → ``Decimal("5355.00")``.

    >>> from_minor(535500, "EUR"), from_minor(1200, "JPY")
    (Decimal('5355.00'), Decimal('1200'))
    """
    return Decimal(value).scaleb(-minor_units(currency))


class StripePayments:
    """The ``PaymentProvider`` for Stripe Checkout."""

    name: str = "stripe"
    checkout_origins: tuple[str, ...] = ("https://checkout.stripe.com",)

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str | None,
        *,
        api_base: str = DEFAULT_API_BASE,
        timeout: float = 20.0,
        max_network_retries: int = 2,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")},
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=max_network_retries,  # safe: every create is idempotent
        )

    def __repr__(self) -> str:  # never the keys
        return "StripePayments()"

    # -- checkout -----------------------------------------------------------------------
    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        metadata = {"invoice_id": str(request.invoice_id), "invoice_number": request.invoice_number}
        try:
            session = self._client.v1.checkout.sessions.create(
                params={
                    "mode": "payment",
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": request.currency.lower(),
                                "unit_amount": to_minor(request.amount, request.currency),
                                "product_data": {
                                    "name": f"Invoice {request.invoice_number}",
                                    "description": request.description,
                                },
                            },
                        }
                    ],
                    "success_url": request.success_url,
                    "cancel_url": request.cancel_url,
                    "client_reference_id": str(request.invoice_id),
                    "metadata": metadata,
                    "payment_intent_data": {
                        "metadata": metadata,
                        "description": f"Invoice {request.invoice_number}",
                    },
                    **(
                        {"customer_email": request.customer_email} if request.customer_email else {}
                    ),
                },
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            log.warning("Stripe refused a checkout (%s): %s", type(exc).__name__, exc.user_message)
            raise PaymentProviderError(
                "the card payment could not be started at Stripe; please try again"
            ) from exc
        if not session.id or not session.url:
            raise PaymentProviderError("Stripe answered a checkout session without an address")
        return CheckoutSession(session.id, session.url)

    # -- webhooks -----------------------------------------------------------------------
    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> ProviderEvent:
        self._verify(_header(headers, SIGNATURE_HEADER), body, now)
        try:
            envelope = json.loads(body)
            return parse_event(envelope)
        except (ValueError, TypeError, KeyError, AttributeError, UnknownCurrency) as exc:
            raise WebhookRejected(f"the body is not a Stripe event: {type(exc).__name__}") from None

    def _verify(self, header: str | None, body: bytes, now: datetime) -> None:
        if not self._webhook_secret:
            raise WebhookRejected("no Stripe webhook secret is configured")
        try:
            stripe.WebhookSignature.verify_header(body, header, self._webhook_secret, None)
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected(str(exc.user_message or "bad Stripe-Signature")) from None
        except UnicodeDecodeError:
            raise WebhookRejected("the body is not UTF-8") from None
        assert header is not None  # verify_header refuses a missing header
        signed_at = _signed_at(header)
        if signed_at < now.timestamp() - TOLERANCE:
            raise WebhookRejected(f"the signature is older than {TOLERANCE} s (t={signed_at})")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _signed_at(header: str) -> int:
    """The ``t=`` of a Stripe-Signature header that ``verify_header`` accepted."""
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            return int(value)
    raise WebhookRejected("the Stripe-Signature header has no timestamp")


def _invoice_id(obj: Mapping[str, Any]) -> int | None:
    raw = (obj.get("metadata") or {}).get("invoice_id") or obj.get("client_reference_id")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None


def _object_id(value: Any) -> str | None:
    """An expandable field: an id string, or the expanded object with its ``id``."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def parse_event(envelope: Mapping[str, Any]) -> ProviderEvent:
    """A Stripe event (``{"id": "evt_…", "object": "event", "type", "created", "data":
    {"object": {…}}}``) in provider-neutral terms. Raises KeyError/TypeError/ValueError
    when it is not one."""
    if envelope.get("object") != "event":
        raise ValueError("not an event")
    event_id, kind = str(envelope["id"]), str(envelope["type"])
    obj: Mapping[str, Any] = envelope["data"]["object"]
    occurred = datetime.fromtimestamp(int(envelope["created"]), UTC)
    base: dict[str, Any] = dict(
        event_id=event_id, type=kind, invoice_id=_invoice_id(obj), occurred_at=occurred
    )
    if kind in CHECKOUT_TYPES:
        currency = check_currency(str(obj["currency"]))
        return ProviderEvent(
            **base,
            amount=from_minor(int(obj["amount_total"]), currency),
            currency=currency,
            paid=obj.get("payment_status") == "paid",
            payment_ref=_object_id(obj.get("payment_intent")),
            session_id=_object_id(obj.get("id")),
        )
    if kind == INTENT_SUCCEEDED:
        currency = check_currency(str(obj["currency"]))
        return ProviderEvent(
            **base,
            amount=from_minor(int(obj["amount_received"]), currency),
            currency=currency,
            paid=True,
            payment_ref=_object_id(obj.get("id")),
        )
    return ProviderEvent(**base, amount=None, currency=None, paid=False)


__all__ = ["StripePayments", "from_minor", "parse_event", "to_minor"]
