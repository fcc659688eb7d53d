"""REST API: one source (health, settings, secret rotation), its events and replays.

Tests that store something run on SQLite and PostgreSQL (``world``); the others on SQLite."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_resources_support import key_for, walk, with_key
from fastapi.testclient import TestClient
from web_support import add_user

from trigger_world import World, make_world, payload

WHSEC = "whsec_" + base64.b64encode(b"generic-webhook-key-for-api-test").decode()
OWNER = ("owner@api.example", "correct horse battery staple")


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    yield from make_world(database_url, tmp_path)


@pytest.fixture
def lite(sqlite_url: str, tmp_path: Path) -> Iterator[World]:
    yield from make_world(sqlite_url, tmp_path)


def api_of(world: World) -> TestClient:
    add_user(world.app, *OWNER, "owner")
    return with_key(world.web, key_for(world.app, OWNER[0]))


def connect(api: TestClient) -> None:
    r = api.post(
        "/api/v1/sources",
        json={"kind": "generic", "name": "shop", "signing_secret": WHSEC, "max_age_seconds": 3600},
    )
    assert r.status_code == 201, r.text


def won_deal(world: World, msg_id: str, deal_id: str = "D-1") -> None:
    deal = payload("generic", "events_batch.json")["events"][1]
    deal["occurred_at"] = world.clock.now().isoformat()
    deal.pop("version", None)
    deal["external_id"], deal["id"] = deal_id, f"evt_{deal_id}"
    body = json.dumps(deal).encode()
    ts = int(world.clock.now().timestamp())
    key = base64.b64decode(WHSEC.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }
    with world.app.uow(read_only=True) as uow:
        token = uow.sources.by_name("shop").url_token
    r = world.post(f"/webhooks/generic/{token}", body, headers)
    assert r.status_code == 200, r.text
    world.work()


def test_a_source_shows_its_health_and_which_secrets_are_set_never_their_values(
    lite: World,
) -> None:
    api = api_of(lite)
    connect(api)
    r = api.get("/api/v1/sources/shop")
    assert r.status_code == 200
    body = r.json()
    assert body["secrets_set"] == ["signing_secret"]
    assert body["enabled"] is True and body["stale"] is False
    assert body["webhook_url"].startswith("https://billing.example.com/webhooks/generic/")
    assert WHSEC not in r.text
    assert api.get("/api/v1/sources/nope").status_code == 404


def test_a_source_is_changed_and_its_secret_rotated_on_both_databases(world: World) -> None:
    api = api_of(world)
    connect(api)
    r = api.patch(
        "/api/v1/sources/shop",
        json={"field_map": {"po_number": "fields.po"}, "options": {"x": 1}, "enabled": False},
    )
    assert r.status_code == 200, r.text
    assert r.json()["field_map"] == {"po_number": "fields.po"}
    assert r.json()["options"] == {"x": 1}
    assert r.json()["enabled"] is False
    rotated = api.post("/api/v1/sources/shop/secret", json={"signing_secret": "whsec_bmV3"})
    assert rotated.status_code == 200, rotated.text
    assert "whsec_bmV3" not in rotated.text
    for action in ("source.mapping_updated", "source.options_changed", "source.disabled",
                   "source.secrets_changed"):  # fmt: skip
        [entry] = world.audit(action)
        assert "whsec" not in json.dumps(entry, default=str)


BAD_SOURCE_CHANGES: list[tuple[dict[str, object], str]] = [
    ({"field_map": {"po number": "fields.po"}}, "field_map.po number"),
    ({"field_map": {"po_number": "fields..po"}}, "field_map.po_number"),
    ({"enabled": "maybe"}, "enabled"),
    ({"secret": "x"}, "secret"),
    ({"options": {"a\x00": 1}}, "options"),
]


def test_a_bad_source_change_is_a_422_and_changes_nothing(lite: World) -> None:
    api = api_of(lite)
    connect(api)
    before = api.get("/api/v1/sources/shop").json()
    for body, field in BAD_SOURCE_CHANGES:
        r = api.patch("/api/v1/sources/shop", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == field, body
    assert api.get("/api/v1/sources/shop").json() == before
    empty = api.post("/api/v1/sources/shop/secret", json={})
    assert empty.status_code == 422


def test_events_are_listed_filtered_paged_and_read_with_their_payload(lite: World) -> None:
    api = api_of(lite)
    connect(api)
    for n in range(3):
        won_deal(lite, f"msg_{n}", deal_id=f"D-{n}")
    every = walk(api, "/api/v1/events", limit=2)
    assert len(every) == len({e["id"] for e in every}) == 3
    assert [e["id"] for e in every] == sorted((e["id"] for e in every), reverse=True)
    assert {e["source"] for e in every} == {"shop"}
    assert {e["type"] for e in every} == {"deal.won"}
    one = api.get("/api/v1/events", params={"external_id": "D-1"}).json()["items"]
    assert [e["external_id"] for e in one] == ["D-1"]
    assert api.get("/api/v1/events", params={"source": "other"}).json()["items"] == []
    assert api.get("/api/v1/events", params={"status": "nonsense"}).json()["items"] == []
    detail = api.get(f"/api/v1/events/{one[0]['id']}").json()
    assert detail["payload"]["external_id"] == "D-1"
    assert isinstance(detail["fields"], dict)
    assert api.get("/api/v1/events/9999").status_code == 404


def test_an_event_is_replayed_without_a_second_invoice_on_both_databases(world: World) -> None:
    api = api_of(world)
    connect(api)
    world.link("shop", company="acme", client=world.client_id)
    world.rules(
        {"name": "won-deals", "when": {"source": "generic", "event": "deal.won"}, "build": "deal"}
    )
    won_deal(world, "msg_1")
    assert len(world.invoices()) == 1
    [event] = api.get("/api/v1/events").json()["items"]
    r = api.post(f"/api/v1/events/{event['id']}/replay")
    assert r.status_code == 202, r.text
    assert r.json() == {"inbound_id": event["inbound_id"], "status": "queued"}
    world.work()
    assert len(world.invoices()) == 1
    again = api.post(f"/api/v1/sources/shop/requests/{event['inbound_id']}/replay")
    assert again.status_code == 202
    world.work()
    assert len(world.invoices()) == 1
    assert len(world.audit("inbound.replayed")) == 2


def test_replaying_an_unknown_event_or_another_sources_request_is_a_404(lite: World) -> None:
    api = api_of(lite)
    connect(api)
    won_deal(lite, "msg_1")
    [event] = api.get("/api/v1/events").json()["items"]
    assert api.post("/api/v1/events/9999/replay").status_code == 404
    assert api.post("/api/v1/sources/shop/requests/9999/replay").status_code == 404
    api.post("/api/v1/sources", json={"kind": "generic", "name": "other", "signing_secret": WHSEC})
    r = api.post(f"/api/v1/sources/other/requests/{event['inbound_id']}/replay")
    assert r.status_code == 404
    assert r.json()["field"] == "request_id"
