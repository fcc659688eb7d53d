"""HubSpot: a deal moved to closed-won becomes an issued, emailed invoice — exactly once.

The webhook is signed as HubSpot signs v3 requests; the deal, its company and line items
are read from a local server answering like the CRM v3 objects API."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from trigger_world import BASE, World, hubspot_v3, payload
from vendor_api import VendorApi

SECRET = "hs-client-secret-1f3c"
TOKEN = "pat-eu1-0c7e1b2a-5d4f-4c3b-9a8e-112233445566"


def _routes() -> dict[tuple[str, str], Any]:
    return {
        ("GET", "/crm/v3/objects/deals/15829386542"): payload("hubspot", "api_deal.json"),
        ("GET", "/crm/v3/objects/companies/9183746501"): payload("hubspot", "api_company.json"),
        ("GET", "/crm/v3/objects/line_items/6112233441"): payload(
            "hubspot", "api_line_item_6112233441.json"
        ),
        ("GET", "/crm/v3/objects/line_items/6112233442"): payload(
            "hubspot", "api_line_item_6112233442.json"
        ),
    }


def _batch(world: World) -> bytes:
    events = payload("hubspot", "deal_propertychange_batch.json")
    ms = int(world.clock.now().timestamp() * 1000)
    for e in events:
        e["occurredAt"] = ms - 2000
    return json.dumps(events).encode()


def _signed(world: World, body: bytes, path: str = "/webhooks/hubspot") -> dict[str, str]:
    ms = int(world.clock.now().timestamp() * 1000)
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": hubspot_v3(SECRET, "POST", BASE + path, body, ms),
        "X-HubSpot-Request-Timestamp": str(ms),
    }


def _setup(world: World, api: VendorApi) -> None:
    world.source(
        "hubspot", "crm", secrets={"signing_secret": SECRET, "api_token": TOKEN}, api_base=api.url
    )
    world.link("crm", company="9183746501", client=world.client_id)
    world.rules(
        {
            "name": "won-deals",
            "when": {
                "source": "hubspot",
                "event": "deal.won",
                "conditions": [{"field": "pipeline", "eq": "default"}],
            },
            "build": "deal",
        }
    )


def test_a_won_deal_is_invoiced_with_its_products_and_emailed(world: World) -> None:
    with VendorApi(_routes()) as api:
        _setup(world, api)
        body = _batch(world)
        r = world.post("/webhooks/hubspot", body, _signed(world, body))
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "accepted"}
        world.work()
        assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"
    assert len(inv.lines) == 2  # the deal's two line items, each its own line
    assert inv.totals().net.amount == Decimal("12500.50")
    assert inv.currency == "EUR"
    [mail] = world.smtp.wait_for(1)
    assert "INV-2026-000001" in mail.message.get("Subject", "")


def test_the_same_delivery_twice_and_a_retry_make_one_invoice(world: World) -> None:
    with VendorApi(_routes()) as api:
        _setup(world, api)
        body = _batch(world)
        assert world.post("/webhooks/hubspot", body, _signed(world, body)).json() == {
            "status": "accepted"
        }
        assert world.post("/webhooks/hubspot", body, _signed(world, body)).json() == {
            "status": "duplicate"
        }
        retry = json.loads(body)
        for e in retry:
            e["attemptNumber"] = 1  # HubSpot's retry: same events, new body
        retry_body = json.dumps(retry).encode()
        assert world.post("/webhooks/hubspot", retry_body, _signed(world, retry_body)).json() == {
            "status": "accepted"
        }
        world.work()
    assert len(world.invoices()) == 1
    assert [f["outcome"] for f in world.firings()] == ["issued"]


def test_a_forged_or_tampered_or_stale_request_is_rejected_and_recorded(world: World) -> None:
    with VendorApi(_routes()) as api:
        _setup(world, api)
        body = _batch(world)
        headers = _signed(world, body)
        tampered = body.replace(b"closedwon", b"closedwoN")
        assert world.post("/webhooks/hubspot", tampered, headers).status_code == 401
        forged = dict(headers, **{"X-HubSpot-Signature-v3": "Zm9yZ2Vk"})
        assert world.post("/webhooks/hubspot", body, forged).status_code == 401
        stale = _signed(world, body)
        world.clock.advance(timedelta(minutes=6))
        r = world.post("/webhooks/hubspot", body, stale)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        world.work()
    assert world.invoices() == []
    rejected = world.audit("webhook.rejected")
    assert len(rejected) == 3
    assert all(SECRET not in json.dumps(a["detail"]) for a in rejected)


def test_an_unmapped_company_is_recorded_with_what_to_do(world: World) -> None:
    with VendorApi(_routes()) as api:
        world.source(
            "hubspot",
            "crm",
            secrets={"signing_secret": SECRET, "api_token": TOKEN},
            api_base=api.url,
        )
        world.rules({"name": "won", "when": {"event": "deal.won"}, "build": "deal"})
        body = _batch(world)
        world.post("/webhooks/hubspot", body, _signed(world, body))
        world.work()
    assert world.invoices() == []
    [failed] = world.firings()
    assert failed["outcome"] == "failed"
    assert "maps to no client" in failed["detail"]


def test_after_linking_the_company_a_replay_bills_the_deal_once(world: World) -> None:
    from autoinvoice.services.ingest import replay_inbound

    with VendorApi(_routes()) as api:
        world.source(
            "hubspot",
            "crm",
            secrets={"signing_secret": SECRET, "api_token": TOKEN},
            api_base=api.url,
        )
        world.rules({"name": "won", "when": {"event": "deal.won"}, "build": "deal"})
        body = _batch(world)
        world.post("/webhooks/hubspot", body, _signed(world, body))
        world.work()
        assert world.invoices() == []
        world.link("crm", company="9183746501", client=world.client_id)
        with world.app.uow(read_only=True) as uow:
            [req] = uow.inbound.recent(uow.sources.by_name("crm").id)
        replay_inbound(req["id"], uow=world.app.uow(), clock=world.app.clock, actor="test")
        world.work()
        replay_inbound(req["id"], uow=world.app.uow(), clock=world.app.clock, actor="test")
        world.work()
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"
    assert [f["outcome"] for f in world.firings()] == ["issued"]


def test_a_deal_the_crm_refuses_does_not_spoil_the_rest_of_the_batch(world: World) -> None:
    from autoinvoice.services.ingest import replay_inbound

    with VendorApi(_routes()) as api:
        _setup(world, api)
        events = json.loads(_batch(world))
        gone = dict(events[0], eventId=1862839199, objectId=15829380000)  # deleted meanwhile
        body = json.dumps([gone, *events]).encode()
        world.post("/webhooks/hubspot", body, _signed(world, body))
        world.work()
        assert len(world.invoices()) == 1  # the other deal is billed
        with world.app.uow(read_only=True) as uow:
            [req] = uow.inbound.recent(uow.sources.by_name("crm").id)
        assert req["status"] == "partial"
        # the record is back (restored in the CRM): a replay bills it, the first deal not again
        api.routes[("GET", "/crm/v3/objects/deals/15829380000")] = dict(
            payload("hubspot", "api_deal.json"), id="15829380000"
        )
        replay_inbound(req["id"], uow=world.app.uow(), clock=world.app.clock, actor="test")
        world.work()
    assert len(world.invoices()) == 2
