"""HubSpot request validation (signature v3, and the legacy v1/v2), checked against the
documented algorithm and against the official SDK's ``hubspot.utils.signature.Signature``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hubspot.utils.signature import Signature

from autoinvoice.adapters.connectors import connector
from autoinvoice.adapters.connectors.hubspot import CONNECTOR, hubspot_uri
from autoinvoice.services.connectors import (
    Handshake,
    InboundRequest,
    SignatureRejected,
    SourceSecrets,
    Verified,
)

HERE = Path(__file__).parent
SECRET = "3f9a1c2e-7b4d-4e8f-9a6b-5c1d2e3f4a5b"
# The public URL as called, with URL-encoded characters HubSpot decodes before signing.
URL = "https://invoices.example.com/hooks/hubspot%3Amain?token=a%2Fb%40c"
DECODED = "https://invoices.example.com/hooks/hubspot:main?token=a/b@c"
BODY = (HERE / "deal_propertychange_batch.json").read_bytes()
NOW = datetime(2024, 5, 31, 9, 12, 50, tzinfo=UTC)
SECRETS = SourceSecrets(signing_secret=SECRET)


def millis(when: datetime) -> str:
    return str(int(when.timestamp() * 1000))


def v3_signature(secret: str, method: str, uri: str, body: bytes, stamp: str) -> str:
    """As documented: base64(HMAC-SHA256(client secret, method + uri + body + timestamp))."""
    message = f"{method}{uri}{body.decode()}{stamp}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def request(headers: dict[str, str], body: bytes = BODY, url: str = URL) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url=url,
        headers={k.lower(): v for k, v in headers.items()},
        body=body,
        received_at=NOW,
    )


def v3_headers(signature: str, stamp: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": stamp,
        "X-HubSpot-Signature": "legacy-value-ignored-when-v3-is-present",
        "X-HubSpot-Signature-Version": "v1",
    }


def test_the_registry_serves_the_hubspot_connector() -> None:
    assert connector("hubspot") is CONNECTOR
    assert CONNECTOR.kind == "hubspot"


def test_hubspot_decodes_only_the_characters_of_its_table() -> None:
    assert hubspot_uri(URL) == DECODED
    assert hubspot_uri("https://x.example/a%20b%3a") == "https://x.example/a%20b:"


def test_a_valid_v3_signature_passes() -> None:
    stamp = millis(NOW - timedelta(seconds=20))
    sig = v3_signature(SECRET, "POST", DECODED, BODY, stamp)
    result = CONNECTOR.verify(request(v3_headers(sig, stamp)), SECRETS, now=NOW)
    assert result == Verified(delivery_id=None)


def test_a_signature_the_sdk_makes_is_accepted() -> None:
    stamp = millis(NOW)
    sig = Signature.get_signature(SECRET, BODY.decode(), "v3", DECODED, "POST", stamp)
    assert isinstance(CONNECTOR.verify(request(v3_headers(sig, stamp)), SECRETS, now=NOW), Verified)


def test_the_sdk_accepts_the_signature_our_test_computes() -> None:
    real_now = datetime.now(UTC)
    stamp = millis(real_now)
    sig = v3_signature(SECRET, "POST", DECODED, BODY, stamp)
    assert Signature.is_valid(
        signature=sig,
        client_secret=SECRET,
        request_body=BODY.decode(),
        http_uri=DECODED,
        http_method="POST",
        signature_version="v3",
        timestamp=stamp,
    )
    assert isinstance(
        CONNECTOR.verify(request(v3_headers(sig, stamp)), SECRETS, now=real_now), Verified
    )


def test_a_tampered_body_is_rejected() -> None:
    stamp = millis(NOW)
    sig = v3_signature(SECRET, "POST", DECODED, BODY, stamp)
    tampered = BODY.replace(b"closedwon", b"closedwin")
    with pytest.raises(SignatureRejected, match="v3 signature does not match"):
        CONNECTOR.verify(request(v3_headers(sig, stamp), body=tampered), SECRETS, now=NOW)


def test_a_signature_for_another_url_is_rejected() -> None:
    stamp = millis(NOW)
    sig = v3_signature(SECRET, "POST", "https://evil.example/hook", BODY, stamp)
    with pytest.raises(SignatureRejected):
        CONNECTOR.verify(request(v3_headers(sig, stamp)), SECRETS, now=NOW)


def test_a_wrong_secret_is_rejected() -> None:
    stamp = millis(NOW)
    sig = v3_signature("another-app-secret", "POST", DECODED, BODY, stamp)
    with pytest.raises(SignatureRejected) as caught:
        CONNECTOR.verify(request(v3_headers(sig, stamp)), SECRETS, now=NOW)
    assert SECRET not in str(caught.value)


def test_a_missing_signature_header_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="X-HubSpot-Signature-v3 header is missing"):
        CONNECTOR.verify(request({"Content-Type": "application/json"}), SECRETS, now=NOW)


def test_a_missing_timestamp_header_is_rejected() -> None:
    sig = v3_signature(SECRET, "POST", DECODED, BODY, millis(NOW))
    with pytest.raises(SignatureRejected, match="X-HubSpot-Request-Timestamp header is missing"):
        CONNECTOR.verify(request({"X-HubSpot-Signature-v3": sig}), SECRETS, now=NOW)


def test_a_timestamp_older_than_five_minutes_is_rejected() -> None:
    stamp = millis(NOW - timedelta(minutes=5, seconds=1))
    sig = v3_signature(SECRET, "POST", DECODED, BODY, stamp)
    with pytest.raises(SignatureRejected, match="5-minute window"):
        CONNECTOR.verify(request(v3_headers(sig, stamp)), SECRETS, now=NOW)


def test_a_timestamp_far_in_the_future_is_rejected() -> None:
    stamp = millis(NOW + timedelta(minutes=6))
    sig = v3_signature(SECRET, "POST", DECODED, BODY, stamp)
    with pytest.raises(SignatureRejected, match="5-minute window"):
        CONNECTOR.verify(request(v3_headers(sig, stamp)), SECRETS, now=NOW)


def test_a_source_without_a_client_secret_rejects_everything() -> None:
    stamp = millis(NOW)
    sig = v3_signature(SECRET, "POST", DECODED, BODY, stamp)
    with pytest.raises(SignatureRejected, match="no HubSpot client secret"):
        CONNECTOR.verify(request(v3_headers(sig, stamp)), SourceSecrets(), now=NOW)


def test_the_documented_v1_example_passes() -> None:
    # https://developers.hubspot.com/docs/faq/v1-request-validation
    secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
    body = (HERE / "contact_creation.json").read_bytes()
    compact = b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
    compact += b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,'
    compact += b'"changeSource":"CRM","changeFlag":"NEW","appId":54321}]'
    expected = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
    headers = {"X-HubSpot-Signature": expected, "X-HubSpot-Signature-Version": "v1"}
    verified = CONNECTOR.verify(
        request(headers, body=compact), SourceSecrets(signing_secret=secret), now=NOW
    )
    assert verified == Verified(delivery_id=None)
    with pytest.raises(SignatureRejected, match="v1 signature does not match"):
        CONNECTOR.verify(request(headers, body=body), SourceSecrets(signing_secret=secret), now=NOW)


def test_a_v2_signature_made_the_sdk_way_passes() -> None:
    sig = Signature.get_signature(SECRET, BODY.decode(), "v2", URL, "POST")
    headers = {"X-HubSpot-Signature": sig, "X-HubSpot-Signature-Version": "v2"}
    assert isinstance(CONNECTOR.verify(request(headers), SECRETS, now=NOW), Verified)
    with pytest.raises(SignatureRejected):
        CONNECTOR.verify(request(headers, body=BODY + b" "), SECRETS, now=NOW)


def test_an_unknown_legacy_signature_version_is_rejected() -> None:
    headers = {"X-HubSpot-Signature": "abc", "X-HubSpot-Signature-Version": "v9"}
    with pytest.raises(SignatureRejected, match="Signature-Version"):
        CONNECTOR.verify(request(headers), SECRETS, now=NOW)


def test_hubspot_has_no_handshake() -> None:
    stamp = millis(NOW)
    sig = v3_signature(SECRET, "POST", DECODED, b"[]", stamp)
    result = CONNECTOR.verify(request(v3_headers(sig, stamp), body=b"[]"), SECRETS, now=NOW)
    assert not isinstance(result, Handshake)
