"""Toggl Track: ``X-Webhook-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>``,
checked against the example of Toggl's "Validating Received Events" page, and the PING
validation answered with ``{"validation_code": …}``."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors import connector
from autoinvoice.adapters.connectors.toggl import CONNECTOR
from autoinvoice.services.connectors import (
    Handshake,
    InboundRequest,
    SignatureRejected,
    SourceSecrets,
    Verified,
)

HERE = Path(__file__).parent
BODY = (HERE / "time_entry_updated.json").read_bytes()
SECRET = "PGuRrhCFajIyEvFlreKL"  # the secret of Toggl's documented example
SECRETS = SourceSecrets(signing_secret=SECRET)
NOW = datetime(2023, 8, 22, 12, 43, 37, tzinfo=UTC)
DOC_PING = (
    b'{"event_id":0,"created_at":"2022-06-25T03:58:10.207820267Z","creator_id":6,'
    b'"metadata":{"request_type":"POST","event_user_id":6},"payload":"ping",'
    b'"subscription_id":6,"timestamp":"2022-06-25T03:58:10.207820267Z",'
    b'"url_callback":"https://callback-url.com"}'
)
DOC_SIGNATURE = "sha256=bf829606cda0ca6923defb5ca70a43135adc7e8887486a201a19cb50ca6006b1"


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request(body: bytes = BODY, signature: str | None = None) -> InboundRequest:
    headers = {"content-type": "application/json", "user-agent": "Toggl-Webhooks"}
    if signature is not None:
        headers["x-webhook-signature-256"] = signature
    return InboundRequest("POST", "https://in.example.com/webhooks/toggl", headers, body, NOW)


def test_the_registry_serves_the_toggl_connector() -> None:
    assert connector("toggl") is CONNECTOR
    assert CONNECTOR.kind == "toggl"


def test_toggls_documented_example_passes() -> None:
    result = CONNECTOR.verify(request(DOC_PING, DOC_SIGNATURE), SECRETS, now=NOW)
    assert isinstance(result, Handshake)  # it is a PING: answered, nothing stored


def test_a_valid_signature_on_an_event_passes() -> None:
    assert CONNECTOR.verify(request(signature=signed(BODY)), SECRETS, now=NOW) == Verified()


def test_a_tampered_body_is_rejected() -> None:
    tampered = BODY.replace(b'"duration": 3001', b'"duration": 30010')
    with pytest.raises(SignatureRejected, match="does not match"):
        CONNECTOR.verify(request(tampered, signed(BODY)), SECRETS, now=NOW)


def test_a_signature_made_with_another_secret_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="does not match"):
        CONNECTOR.verify(request(signature=signed(BODY, "other")), SECRETS, now=NOW)


def test_a_request_without_the_signature_header_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="X-Webhook-Signature-256 header is missing"):
        CONNECTOR.verify(request(), SECRETS, now=NOW)


def test_a_signature_without_the_sha256_prefix_is_rejected() -> None:
    bare = signed(BODY).removeprefix("sha256=")
    with pytest.raises(SignatureRejected, match="sha256=<hex>"):
        CONNECTOR.verify(request(signature=bare), SECRETS, now=NOW)


def test_a_source_without_a_secret_rejects_and_says_why() -> None:
    with pytest.raises(SignatureRejected, match="no Toggl subscription secret"):
        CONNECTOR.verify(request(signature=signed(BODY)), SourceSecrets(), now=NOW)


def test_the_validation_ping_is_answered_with_its_code() -> None:
    ping = (HERE / "ping_validation.json").read_bytes()
    result = CONNECTOR.verify(request(ping, signed(ping)), SECRETS, now=NOW)
    assert isinstance(result, Handshake)
    assert result.status == 200
    assert json.loads(result.body) == {"validation_code": "9d5e3c2a-6f41-4b0e-8a17-2c0f6b1d4e93"}
    assert result.new_signing_secret is None


def test_an_unsigned_validation_ping_is_rejected() -> None:
    ping = (HERE / "ping_validation.json").read_bytes()
    with pytest.raises(SignatureRejected, match="missing"):
        CONNECTOR.verify(request(ping), SECRETS, now=NOW)
