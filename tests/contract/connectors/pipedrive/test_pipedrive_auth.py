"""Pipedrive signs nothing: the webhook's HTTP Basic credentials are the check."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors import connector
from autoinvoice.adapters.connectors.pipedrive import CONNECTOR
from autoinvoice.services.connectors import (
    Handshake,
    InboundRequest,
    SignatureRejected,
    SourceSecrets,
    Verified,
)

HERE = Path(__file__).parent
BODY = (HERE / "change_deal_won.json").read_bytes()
NOW = datetime(2024, 9, 27, 14, 25, 30, tzinfo=UTC)
USER, PASSWORD = "autoinvoice", "kV9#pX2m!Lq7@Tz4wR8s"
SECRETS = SourceSecrets(basic_user=USER, basic_password=PASSWORD)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request(authorization: str | None, body: bytes = BODY) -> InboundRequest:
    headers = {"content-type": "application/json", "user-agent": "Pipedrive Webhooks"}
    if authorization is not None:
        headers["authorization"] = authorization
    return InboundRequest(
        method="POST",
        url="https://invoices.example.com/hooks/pipedrive/src_1?token=abc",
        headers=headers,
        body=body,
        received_at=NOW,
    )


def test_the_registry_serves_the_pipedrive_connector() -> None:
    assert connector("pipedrive") is CONNECTOR


def test_the_configured_basic_credentials_pass() -> None:
    assert CONNECTOR.verify(request(basic(USER, PASSWORD)), SECRETS, now=NOW) == Verified(None)


def test_a_password_containing_colons_passes() -> None:
    secrets = SourceSecrets(basic_user=USER, basic_password="a:b:c")
    assert isinstance(CONNECTOR.verify(request(basic(USER, "a:b:c")), secrets, now=NOW), Verified)


def test_a_wrong_password_is_rejected_without_naming_it() -> None:
    with pytest.raises(SignatureRejected, match="do not match") as caught:
        CONNECTOR.verify(request(basic(USER, "guess")), SECRETS, now=NOW)
    assert PASSWORD not in str(caught.value)


def test_a_wrong_user_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="do not match"):
        CONNECTOR.verify(request(basic("admin", PASSWORD)), SECRETS, now=NOW)


def test_a_missing_authorization_header_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="Authorization header is missing"):
        CONNECTOR.verify(request(None), SECRETS, now=NOW)


def test_another_auth_scheme_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="Basic credentials"):
        CONNECTOR.verify(request("Bearer abc.def"), SECRETS, now=NOW)


def test_garbage_credentials_are_rejected() -> None:
    with pytest.raises(SignatureRejected, match="base64"):
        CONNECTOR.verify(request("Basic ***"), SECRETS, now=NOW)
    no_colon = "Basic " + base64.b64encode(f"{USER}{PASSWORD}".encode()).decode()
    with pytest.raises(SignatureRejected, match="do not match"):
        CONNECTOR.verify(request(no_colon), SECRETS, now=NOW)


def test_a_source_without_credentials_rejects_everything() -> None:
    with pytest.raises(SignatureRejected, match="no HTTP Basic credentials"):
        CONNECTOR.verify(request(basic(USER, PASSWORD)), SourceSecrets(), now=NOW)


def test_a_tampered_body_cannot_be_detected_so_the_credentials_decide() -> None:
    # Pipedrive documents no signature: the body is not part of the check.
    tampered = BODY.replace(b"18400.75", b"99999.00")
    assert isinstance(
        CONNECTOR.verify(request(basic(USER, PASSWORD), body=tampered), SECRETS, now=NOW), Verified
    )


def test_pipedrive_has_no_handshake() -> None:
    result = CONNECTOR.verify(request(basic(USER, PASSWORD), body=b""), SECRETS, now=NOW)
    assert not isinstance(result, Handshake)
