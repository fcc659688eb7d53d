"""GitHub delivery validation: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``,
checked against the test vector of GitHub's "Validating webhook deliveries" page."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors import connector
from autoinvoice.adapters.connectors.github import CONNECTOR
from autoinvoice.services.connectors import (
    InboundRequest,
    SignatureRejected,
    SourceSecrets,
    Verified,
)

HERE = Path(__file__).parent
BODY = (HERE / "milestone_closed.json").read_bytes()
SECRET = "whk-9f2c41d7e8a3b6c5"
SECRETS = SourceSecrets(signing_secret=SECRET)
NOW = datetime(2019, 5, 15, 15, 20, 20, tzinfo=UTC)
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def signed(body: bytes, secret: str = SECRET) -> str:
    """As documented: 'sha256=' + hex HMAC-SHA256 keyed with the webhook secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request(body: bytes = BODY, **headers: str) -> InboundRequest:
    base = {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/044aadd",
        "x-github-event": "milestone",
        "x-github-delivery": DELIVERY,
        "x-github-hook-id": "292430182",
    }
    base.update({k.replace("_", "-").lower(): v for k, v in headers.items()})
    return InboundRequest("POST", "https://in.example.com/webhooks/github", base, body, NOW)


def test_the_registry_serves_the_github_connector() -> None:
    assert connector("github") is CONNECTOR
    assert CONNECTOR.kind == "github"


def test_githubs_documented_test_vector_passes() -> None:
    req = request(
        b"Hello, World!",
        x_hub_signature_256="sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    )
    secrets = SourceSecrets(signing_secret="It's a Secret to Everybody")
    assert CONNECTOR.verify(req, secrets, now=NOW) == Verified(delivery_id=DELIVERY)


def test_a_valid_signature_passes_and_names_the_delivery() -> None:
    result = CONNECTOR.verify(request(x_hub_signature_256=signed(BODY)), SECRETS, now=NOW)
    assert result == Verified(delivery_id=DELIVERY)


def test_a_tampered_body_is_rejected() -> None:
    tampered = BODY.replace(b'"title": "v1.0"', b'"title": "v9.9"')
    with pytest.raises(SignatureRejected, match="does not match"):
        CONNECTOR.verify(request(tampered, x_hub_signature_256=signed(BODY)), SECRETS, now=NOW)


def test_a_signature_made_with_another_secret_is_rejected() -> None:
    req = request(x_hub_signature_256=signed(BODY, "someone-elses-secret"))
    with pytest.raises(SignatureRejected, match="does not match"):
        CONNECTOR.verify(req, SECRETS, now=NOW)


def test_a_request_without_the_signature_header_is_rejected() -> None:
    with pytest.raises(SignatureRejected, match="X-Hub-Signature-256 header is missing"):
        CONNECTOR.verify(request(), SECRETS, now=NOW)


def test_the_legacy_sha1_signature_alone_is_not_enough() -> None:
    sha1 = "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    with pytest.raises(SignatureRejected, match="missing"):
        CONNECTOR.verify(request(x_hub_signature=sha1), SECRETS, now=NOW)


def test_a_signature_without_the_sha256_prefix_is_rejected() -> None:
    bare = signed(BODY).removeprefix("sha256=")
    with pytest.raises(SignatureRejected, match="sha256=<hex>"):
        CONNECTOR.verify(request(x_hub_signature_256=bare), SECRETS, now=NOW)


def test_a_source_without_a_secret_rejects_everything_without_leaking_anything() -> None:
    with pytest.raises(SignatureRejected, match="no GitHub webhook secret") as caught:
        CONNECTOR.verify(request(x_hub_signature_256=signed(BODY)), SourceSecrets(), now=NOW)
    assert SECRET not in str(caught.value)


def test_the_rejection_never_contains_the_secret() -> None:
    with pytest.raises(SignatureRejected) as caught:
        CONNECTOR.verify(request(x_hub_signature_256="sha256=00"), SECRETS, now=NOW)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(SECRETS)
