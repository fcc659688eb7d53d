"""Linear: ``Linear-Signature`` = hex HMAC-SHA256 of the raw body, and the body's
``webhookTimestamp`` within 60 s of now (as the official SDK's LinearWebhookClient.verify)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors import connector
from autoinvoice.adapters.connectors.linear import CONNECTOR
from autoinvoice.services.connectors import (
    Handshake,
    InboundRequest,
    SignatureRejected,
    SourceSecrets,
    Verified,
)

HERE = Path(__file__).parent
BODY = (HERE / "issue_update_completed.json").read_bytes()
SENT = datetime.fromtimestamp(json.loads(BODY)["webhookTimestamp"] / 1000, tz=UTC)
SECRET = "lin_wh_9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
SECRETS = SourceSecrets(signing_secret=SECRET)
DELIVERY = "234d1a4e-b617-4388-90fe-adc3633d6b72"


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request(sig: str | None, body: bytes = BODY) -> InboundRequest:
    headers = {
        "content-type": "application/json; charset=utf-8",
        "linear-delivery": DELIVERY,
        "linear-event": "Issue",
        "user-agent": "Linear-Webhook",
    }
    if sig is not None:
        headers["linear-signature"] = sig
    return InboundRequest(
        method="POST",
        url="https://invoices.example.com/hooks/linear/src_3",
        headers=headers,
        body=body,
        received_at=SENT,
    )


def test_the_registry_serves_the_linear_connector() -> None:
    assert connector("linear") is CONNECTOR


def test_a_valid_signature_passes_and_names_the_delivery() -> None:
    now = SENT + timedelta(seconds=2)
    result = CONNECTOR.verify(request(signature(SECRET, BODY)), SECRETS, now=now)
    assert result == Verified(delivery_id=DELIVERY)


def test_a_tampered_body_is_rejected() -> None:
    tampered = BODY.replace(b'"completed"', b'"canceled"')
    with pytest.raises(SignatureRejected, match="does not match"):
        CONNECTOR.verify(request(signature(SECRET, BODY), body=tampered), SECRETS, now=SENT)


def test_a_wrong_secret_is_rejected_without_naming_it() -> None:
    with pytest.raises(SignatureRejected) as caught:
        CONNECTOR.verify(request(signature("lin_wh_other", BODY)), SECRETS, now=SENT)
    assert SECRET not in str(caught.value)


def test_a_missing_signature_header_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="Linear-Signature header is missing"):
        CONNECTOR.verify(request(None), SECRETS, now=SENT)


def test_a_delivery_older_than_a_minute_is_rejected() -> None:
    late = SENT + timedelta(seconds=61)
    with pytest.raises(SignatureRejected, match="60 seconds"):
        CONNECTOR.verify(request(signature(SECRET, BODY)), SECRETS, now=late)


def test_a_delivery_from_the_future_is_rejected() -> None:
    early = SENT - timedelta(seconds=61)
    with pytest.raises(SignatureRejected, match="60 seconds"):
        CONNECTOR.verify(request(signature(SECRET, BODY)), SECRETS, now=early)


def test_a_signed_body_without_timestamp_is_rejected() -> None:
    payload = json.loads(BODY)
    del payload["webhookTimestamp"]
    body = json.dumps(payload).encode()
    with pytest.raises(SignatureRejected, match="no webhookTimestamp"):
        CONNECTOR.verify(request(signature(SECRET, body), body=body), SECRETS, now=SENT)


def test_a_source_without_a_secret_rejects_everything() -> None:
    with pytest.raises(SignatureRejected, match="no Linear signing secret"):
        CONNECTOR.verify(request(signature(SECRET, BODY)), SourceSecrets(), now=SENT)


def test_linear_has_no_handshake() -> None:
    result = CONNECTOR.verify(request(signature(SECRET, BODY)), SECRETS, now=SENT)
    assert not isinstance(result, Handshake)
