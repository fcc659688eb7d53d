"""ClickUp: ``X-Signature`` = hex HMAC-SHA256 of the raw body keyed with ``webhook.secret``."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors import connector
from autoinvoice.adapters.connectors.clickup import CONNECTOR
from autoinvoice.services.connectors import (
    InboundRequest,
    SignatureRejected,
    SourceSecrets,
    Verified,
)

HERE = Path(__file__).parent
BODY = (HERE / "status_closed.json").read_bytes()
SECRET = "O91X3RJ0ELBCGW8EZPCVRT5J8ZD8XHKQSGQQ5K4WYHZOWZNOO3CM6Y9ZDK84XRVF"
SECRETS = SourceSecrets(signing_secret=SECRET)
NOW = datetime(2022, 1, 21, 3, 41, 15, tzinfo=UTC)


def signed(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request(body: bytes = BODY, signature: str | None = None) -> InboundRequest:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-signature"] = signature
    return InboundRequest("POST", "https://in.example.com/webhooks/clickup", headers, body, NOW)


def test_the_registry_serves_the_clickup_connector() -> None:
    assert connector("clickup") is CONNECTOR
    assert CONNECTOR.kind == "clickup"


def test_a_valid_signature_passes() -> None:
    assert CONNECTOR.verify(request(signature=signed(BODY)), SECRETS, now=NOW) == Verified()


def test_a_tampered_body_is_rejected() -> None:
    tampered = BODY.replace(b'"complete"', b'"in review"', 1)
    with pytest.raises(SignatureRejected, match="does not match"):
        CONNECTOR.verify(request(tampered, signed(BODY)), SECRETS, now=NOW)


def test_a_signature_made_with_another_secret_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="does not match"):
        CONNECTOR.verify(request(signature=signed(BODY, "not-the-secret")), SECRETS, now=NOW)


def test_a_request_without_a_signature_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="X-Signature header is missing"):
        CONNECTOR.verify(request(), SECRETS, now=NOW)


def test_a_source_without_a_secret_rejects_and_says_why() -> None:
    with pytest.raises(SignatureRejected, match="no ClickUp webhook secret"):
        CONNECTOR.verify(request(signature=signed(BODY)), SourceSecrets(), now=NOW)
