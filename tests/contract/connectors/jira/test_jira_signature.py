"""Jira Cloud admin webhooks with a secret: ``X-Hub-Signature: sha256=<hex>`` over the raw
body (WebSub method=signature)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors import connector
from autoinvoice.adapters.connectors.jira import CONNECTOR
from autoinvoice.services.connectors import (
    Handshake,
    InboundRequest,
    SignatureRejected,
    SourceSecrets,
    Verified,
)

HERE = Path(__file__).parent
BODY = (HERE / "issue_updated_done.json").read_bytes()
SECRET = "hQ2v9XkR7bT4mN8pL1sD6fG3jW5zY0cE"
SECRETS = SourceSecrets(signing_secret=SECRET)
NOW = datetime(2024, 6, 4, 7, 20, 13, tzinfo=UTC)
DELIVERY = "5b3e6a1c-8f2d-4e7b-9c0a-1d2e3f4a5b6c"


def signed(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request(signature: str | None, body: bytes = BODY) -> InboundRequest:
    headers = {
        "content-type": "application/json; charset=UTF-8",
        "user-agent": "Atlassian Webhook HTTP Client",
        "x-atlassian-webhook-identifier": DELIVERY,
        "x-atlassian-webhook-flow": "Primary",
    }
    if signature is not None:
        headers["x-hub-signature"] = signature
    return InboundRequest(
        method="POST",
        url="https://invoices.example.com/hooks/jira/src_7",
        headers=headers,
        body=body,
        received_at=NOW,
    )


def test_the_registry_serves_the_jira_connector() -> None:
    assert connector("jira") is CONNECTOR


def test_a_valid_signature_passes_and_names_the_delivery() -> None:
    result = CONNECTOR.verify(request(signed(SECRET, BODY)), SECRETS, now=NOW)
    assert result == Verified(delivery_id=DELIVERY)


def test_an_upper_case_hex_digest_passes() -> None:
    method, digest = signed(SECRET, BODY).split("=")
    assert isinstance(
        CONNECTOR.verify(request(f"{method}={digest.upper()}"), SECRETS, now=NOW), Verified
    )


def test_a_tampered_body_is_rejected() -> None:
    tampered = BODY.replace(b'"done"', b'"new"')
    with pytest.raises(SignatureRejected, match="does not match"):
        CONNECTOR.verify(request(signed(SECRET, BODY), body=tampered), SECRETS, now=NOW)


def test_a_wrong_secret_is_rejected_without_naming_it() -> None:
    with pytest.raises(SignatureRejected) as caught:
        CONNECTOR.verify(request(signed("not-the-secret", BODY)), SECRETS, now=NOW)
    assert SECRET not in str(caught.value)


def test_a_missing_signature_header_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="X-Hub-Signature header is missing"):
        CONNECTOR.verify(request(None), SECRETS, now=NOW)


def test_a_sha1_signature_is_rejected() -> None:
    sha1 = "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    with pytest.raises(SignatureRejected, match="sha256="):
        CONNECTOR.verify(request(sha1), SECRETS, now=NOW)


def test_a_source_without_a_secret_rejects_everything() -> None:
    with pytest.raises(SignatureRejected, match="no Jira webhook secret"):
        CONNECTOR.verify(request(signed(SECRET, BODY)), SourceSecrets(), now=NOW)


def test_jira_signs_no_timestamp_so_an_old_delivery_still_verifies() -> None:
    # Replay protection comes from the delivery id / dedupe key, not from the signature.
    later = datetime(2025, 1, 1, tzinfo=UTC)
    assert isinstance(CONNECTOR.verify(request(signed(SECRET, BODY)), SECRETS, now=later), Verified)


def test_jira_has_no_handshake() -> None:
    result = CONNECTOR.verify(request(signed(SECRET, b"{}"), body=b"{}"), SECRETS, now=NOW)
    assert not isinstance(result, Handshake)
