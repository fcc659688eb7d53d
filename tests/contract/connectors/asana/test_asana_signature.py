"""Asana: the X-Hook-Secret handshake and ``X-Hook-Signature`` = hex HMAC-SHA256 of the raw
body keyed with the secret the handshake handed over."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors import connector
from autoinvoice.adapters.connectors.asana import CONNECTOR
from autoinvoice.services.connectors import (
    Handshake,
    InboundRequest,
    SignatureRejected,
    SourceSecrets,
    Verified,
)

HERE = Path(__file__).parent
BODY = (HERE / "asana_task_events.json").read_bytes()
# The handshake secret from Asana's "Establish a webhook" example.
HOOK_SECRET = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
SECRETS = SourceSecrets(signing_secret=HOOK_SECRET)
NOW = datetime(2024, 5, 30, 14, 2, 12, tzinfo=UTC)


def signed(body: bytes, secret: str = HOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request(body: bytes = BODY, headers: dict[str, str] | None = None) -> InboundRequest:
    base = {"content-type": "application/json; charset=UTF-8"}
    base.update({k.lower(): v for k, v in (headers or {}).items()})
    return InboundRequest("POST", "https://in.example.com/webhooks/asana", base, body, NOW)


def test_the_registry_serves_the_asana_connector() -> None:
    assert connector("asana") is CONNECTOR
    assert CONNECTOR.kind == "asana"


def test_the_handshake_is_answered_by_echoing_the_secret_and_handing_it_over() -> None:
    result = CONNECTOR.verify(
        request(b"", {"X-Hook-Secret": HOOK_SECRET}), SourceSecrets(), now=NOW
    )
    assert result == Handshake(
        status=200, headers={"X-Hook-Secret": HOOK_SECRET}, new_signing_secret=HOOK_SECRET
    )


def test_a_valid_signature_passes() -> None:
    result = CONNECTOR.verify(request(headers={"X-Hook-Signature": signed(BODY)}), SECRETS, now=NOW)
    assert result == Verified(delivery_id=None)


def test_an_upper_case_hex_signature_also_passes() -> None:
    req = request(headers={"X-Hook-Signature": signed(BODY).upper()})
    assert CONNECTOR.verify(req, SECRETS, now=NOW) == Verified(delivery_id=None)


def test_a_tampered_body_is_rejected() -> None:
    tampered = BODY.replace(b"1207431964551023", b"1207431964551024", 1)
    req = request(tampered, {"X-Hook-Signature": signed(BODY)})
    with pytest.raises(SignatureRejected, match="does not match"):
        CONNECTOR.verify(req, SECRETS, now=NOW)


def test_a_signature_made_with_another_secret_is_rejected() -> None:
    req = request(headers={"X-Hook-Signature": signed(BODY, "another-hook-secret")})
    with pytest.raises(SignatureRejected, match="does not match"):
        CONNECTOR.verify(req, SECRETS, now=NOW)


def test_a_request_without_a_signature_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="X-Hook-Signature header is missing"):
        CONNECTOR.verify(request(), SECRETS, now=NOW)


def test_before_any_handshake_nothing_can_be_verified() -> None:
    req = request(headers={"X-Hook-Signature": signed(BODY)})
    with pytest.raises(SignatureRejected, match="no Asana hook secret") as caught:
        CONNECTOR.verify(req, SourceSecrets(), now=NOW)
    assert HOOK_SECRET not in str(caught.value)
