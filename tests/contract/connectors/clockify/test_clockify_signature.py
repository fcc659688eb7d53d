"""Clockify: ``Clockify-Signature`` carries the webhook's token itself (no HMAC); it is
compared in constant time with the stored token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors import connector
from autoinvoice.adapters.connectors.clockify import CONNECTOR
from autoinvoice.services.connectors import (
    InboundRequest,
    SignatureRejected,
    SourceSecrets,
    Verified,
)

HERE = Path(__file__).parent
BODY = (HERE / "new_time_entry.json").read_bytes()
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJ3ZWJob29rSWQiOiI3NmE2ODdlMiJ9.pZ0fkq2c"
SECRETS = SourceSecrets(signing_secret=TOKEN)
NOW = datetime(2020, 7, 17, 12, 35, 3, tzinfo=UTC)


def request(token: str | None) -> InboundRequest:
    headers = {"content-type": "application/json", "clockify-webhook-event-type": "NEW_TIME_ENTRY"}
    if token is not None:
        headers["clockify-signature"] = token
    return InboundRequest("POST", "https://in.example.com/webhooks/clockify", headers, BODY, NOW)


def test_the_registry_serves_the_clockify_connector() -> None:
    assert connector("clockify") is CONNECTOR
    assert CONNECTOR.kind == "clockify"


def test_the_webhooks_own_token_passes() -> None:
    assert CONNECTOR.verify(request(TOKEN), SECRETS, now=NOW) == Verified(delivery_id=None)


def test_another_token_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="not this webhook's token") as caught:
        CONNECTOR.verify(request(TOKEN[:-1] + "d"), SECRETS, now=NOW)
    assert TOKEN not in str(caught.value)


def test_a_request_without_the_token_header_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="Clockify-Signature header is missing"):
        CONNECTOR.verify(request(None), SECRETS, now=NOW)


def test_a_source_without_a_token_rejects_and_says_why() -> None:
    with pytest.raises(SignatureRejected, match="no Clockify webhook token"):
        CONNECTOR.verify(request(TOKEN), SourceSecrets(), now=NOW)
