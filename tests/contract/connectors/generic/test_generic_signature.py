"""Generic sources sign as Standard Webhooks: ``v1,base64(HMAC-SHA256(base64decode(whsec_…),
"{webhook-id}.{webhook-timestamp}.{body}"))`` with a 5-minute window. Signatures here are
made by hand as the spec says, and cross-checked with the reference library."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from autoinvoice.adapters.connectors import connector
from autoinvoice.adapters.connectors.generic import CONNECTOR
from autoinvoice.services.connectors import (
    InboundRequest,
    SignatureRejected,
    SourceSecrets,
    Verified,
)

HERE = Path(__file__).parent
BODY = (HERE / "events_batch.json").read_bytes()
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRETS = SourceSecrets(signing_secret=SECRET)
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
NOW = datetime(2025, 3, 1, 16, 31, 20, tzinfo=UTC)


def sign(msg_id: str, stamp: int, body: bytes, secret: str = SECRET) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def request(
    body: bytes = BODY,
    *,
    stamp: datetime = NOW,
    signature: str | None = None,
    drop: str | None = None,
) -> InboundRequest:
    ts = int(stamp.timestamp())
    headers = {
        "content-type": "application/json",
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(ts),
        "webhook-signature": signature or sign(MSG_ID, ts, BODY),
    }
    if drop:
        del headers[drop]
    return InboundRequest("POST", "https://in.example.com/webhooks/generic", headers, body, NOW)


def test_the_registry_serves_the_generic_connector() -> None:
    assert connector("generic") is CONNECTOR
    assert CONNECTOR.kind == "generic"


def test_a_valid_signature_passes_and_the_message_id_is_the_delivery_id() -> None:
    assert CONNECTOR.verify(request(), SECRETS, now=NOW) == Verified(delivery_id=MSG_ID)


def test_our_hand_made_signature_is_the_reference_librarys() -> None:
    ts = int(NOW.timestamp())
    assert sign(MSG_ID, ts, BODY) == Webhook(SECRET).sign(MSG_ID, NOW, BODY.decode())


def test_one_matching_signature_among_several_suffices() -> None:
    ts = int(NOW.timestamp())
    rotated = f"v1,{base64.b64encode(b'x' * 32).decode()} v1a,c2lnbmVk {sign(MSG_ID, ts, BODY)}"
    assert CONNECTOR.verify(request(signature=rotated), SECRETS, now=NOW) == Verified(MSG_ID)


def test_a_tampered_body_is_rejected() -> None:
    tampered = BODY.replace(b'"12000.00"', b'"120000.00"')
    with pytest.raises(SignatureRejected, match="no v1 entry"):
        CONNECTOR.verify(request(tampered), SECRETS, now=NOW)


def test_a_signature_made_with_another_secret_is_rejected() -> None:
    other = "whsec_" + base64.b64encode(b"another key of 24 bytes!").decode()
    sig = sign(MSG_ID, int(NOW.timestamp()), BODY, other)
    with pytest.raises(SignatureRejected, match="no v1 entry"):
        CONNECTOR.verify(request(signature=sig), SECRETS, now=NOW)


def test_a_different_message_id_breaks_the_signature() -> None:
    req = request()
    headers = {**req.headers, "webhook-id": "msg_other"}
    forged = InboundRequest(req.method, req.url, headers, req.body, req.received_at)
    with pytest.raises(SignatureRejected, match="no v1 entry"):
        CONNECTOR.verify(forged, SECRETS, now=NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_rejected(missing: str) -> None:
    with pytest.raises(SignatureRejected, match=f"{missing} header is missing"):
        CONNECTOR.verify(request(drop=missing), SECRETS, now=NOW)


def test_a_timestamp_older_than_five_minutes_is_rejected() -> None:
    old = NOW - timedelta(minutes=5, seconds=1)
    sig = sign(MSG_ID, int(old.timestamp()), BODY)
    with pytest.raises(SignatureRejected, match="more than 5 minutes old"):
        CONNECTOR.verify(request(stamp=old, signature=sig), SECRETS, now=NOW)


def test_a_timestamp_from_the_future_is_rejected() -> None:
    ahead = NOW + timedelta(minutes=6)
    sig = sign(MSG_ID, int(ahead.timestamp()), BODY)
    with pytest.raises(SignatureRejected, match="in the future"):
        CONNECTOR.verify(request(stamp=ahead, signature=sig), SECRETS, now=NOW)


def test_a_timestamp_just_inside_the_window_passes() -> None:
    old = NOW - timedelta(minutes=4, seconds=59)
    sig = sign(MSG_ID, int(old.timestamp()), BODY)
    assert CONNECTOR.verify(request(stamp=old, signature=sig), SECRETS, now=NOW) == Verified(MSG_ID)


def test_a_source_without_a_secret_rejects_and_says_why() -> None:
    with pytest.raises(SignatureRejected, match="no signing secret") as caught:
        CONNECTOR.verify(request(), SourceSecrets(), now=NOW)
    assert SECRET not in str(caught.value)


def test_a_garbled_signature_entry_is_rejected_not_crashed_on() -> None:
    with pytest.raises(SignatureRejected, match="no v1 entry"):
        CONNECTOR.verify(request(signature="v1,not*base64 v1"), SECRETS, now=NOW)
