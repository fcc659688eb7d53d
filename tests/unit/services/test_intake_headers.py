"""What the intake keeps of a request: evidence (signatures, delivery ids), never
credentials — whatever a proxy or vendor names them."""

from __future__ import annotations

from datetime import UTC, datetime

from autoinvoice.services.ingest import accepted

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_credentials_are_dropped_and_evidence_is_kept() -> None:
    headers = {
        "Authorization": "Basic dXNlcjpwYXNz",
        "Proxy-Authorization": "Bearer proxy",
        "Cookie": "session=1",
        "X-Api-Token": "pd-token",
        "CF-Access-Client-Secret": "cf",
        "Clockify-Signature": "clockify-webhook-token",
        "X-Hook-Secret": "asana-secret",
        "X-Hub-Signature-256": "sha256=abc",
        "X-GitHub-Delivery": "72d3162e",
        "Content-Type": "application/json",
    }
    kept = accepted(1, "72d3162e", headers, b"{}", AT).headers
    assert kept == {
        "X-Hub-Signature-256": "sha256=abc",
        "X-GitHub-Delivery": "72d3162e",
        "Content-Type": "application/json",
    }


def test_a_redelivery_is_recognised_by_the_delivery_id_or_else_by_the_body() -> None:
    assert accepted(1, "d1", {}, b"a", AT).dedupe_key == accepted(1, "d1", {}, b"b", AT).dedupe_key
    assert accepted(1, None, {}, b"a", AT).dedupe_key != accepted(1, None, {}, b"b", AT).dedupe_key
    assert accepted(1, None, {}, b"a", AT).dedupe_key == accepted(1, None, {}, b"a", AT).dedupe_key
