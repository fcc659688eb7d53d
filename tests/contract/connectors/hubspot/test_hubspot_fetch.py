"""A won HubSpot deal is completed from the CRM v3 objects API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.hubspot import CONNECTOR
from autoinvoice.domain.events import Event
from autoinvoice.services.connectors import (
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    VendorUnavailable,
)
from vendor_api import VendorApi

HERE = Path(__file__).parent
TOKEN = "pat-eu1-0c7e1b2a-5d4f-4c3b-9a8e-112233445566"
SECRETS = SourceSecrets(api_token=TOKEN)
DEAL_PATH = "/crm/v3/objects/deals/15829386542"


def load(name: str) -> object:
    return json.loads((HERE / name).read_text())


def won_event(config: SourceConfig) -> Event:
    raw = (HERE / "deal_propertychange_batch.json").read_bytes()
    return CONNECTOR.parse({}, raw, config)[0]


def routes() -> dict[tuple[str, str], object]:
    return {
        ("GET", DEAL_PATH): load("api_deal.json"),
        ("GET", "/crm/v3/objects/companies/9183746501"): load("api_company.json"),
        ("GET", "/crm/v3/objects/line_items/6112233441"): load("api_line_item_6112233441.json"),
        ("GET", "/crm/v3/objects/line_items/6112233442"): load("api_line_item_6112233442.json"),
    }


def test_fetch_fills_the_deal_company_and_products() -> None:
    with VendorApi(routes()) as api:
        config = SourceConfig(
            name="hs", api_base=api.url, field_map={"po_number": "properties.po_number"}
        )
        event = won_event(config)
        done = CONNECTOR.fetch(event, SECRETS, config)
    assert done.needs_fetch is False
    assert done.type == event.type and done.dedupe_key == event.dedupe_key
    assert done.fields == {
        "deal_id": "15829386542",
        "name": "Website relaunch – Acme GmbH",
        "amount": "12500.50",
        "currency": "EUR",
        "stage": "closedwon",
        "pipeline": "default",
        "status": "won",
        "close_date": "2024-05-31",
        "client_ref": "9183746501",
        "client_name": "Acme GmbH",
        "products": [
            {"name": "Design sprint", "quantity": "2", "unit_price": "4500.00"},
            {"name": "Hosting setup", "quantity": "1", "unit_price": "3500.50"},
        ],
        "po_number": "PO-2024-118",
    }


def test_fetch_sends_the_private_app_token_and_asks_for_the_documented_properties() -> None:
    with VendorApi(routes()) as api:
        config = SourceConfig(name="hs", api_base=api.url)
        CONNECTOR.fetch(won_event(config), SECRETS, config)
    deal_call = api.requests[0]
    assert deal_call.path == DEAL_PATH
    assert deal_call.headers["authorization"] == f"Bearer {TOKEN}"
    assert deal_call.query["properties"] == [
        "dealname,amount,dealstage,pipeline,closedate,deal_currency_code"
    ]
    assert deal_call.query["associations"] == ["companies,line_items"]
    assert [r.path for r in api.requests[1:]] == [
        "/crm/v3/objects/companies/9183746501",
        "/crm/v3/objects/line_items/6112233441",
        "/crm/v3/objects/line_items/6112233442",
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in api.requests)


def test_a_deal_without_company_or_line_items_still_completes() -> None:
    deal = load("api_deal.json")
    assert isinstance(deal, dict)
    deal.pop("associations")
    with VendorApi({("GET", DEAL_PATH): deal}) as api:
        config = SourceConfig(name="hs", api_base=api.url)
        done = CONNECTOR.fetch(won_event(config), SECRETS, config)
    assert "client_ref" not in done.fields
    assert done.fields["products"] == []
    assert len(api.requests) == 1


def test_an_event_that_needs_no_fetch_is_returned_unchanged() -> None:
    config = SourceConfig(name="hs", api_base="http://127.0.0.1:9")
    raw = (HERE / "deal_propertychange_batch.json").read_bytes()
    changed = CONNECTOR.parse({}, raw, config)[1]
    assert CONNECTOR.fetch(changed, SECRETS, config) is changed


def test_a_server_error_means_try_again_later() -> None:
    with VendorApi({("GET", DEAL_PATH): (503, {"status": "error"})}) as api:
        config = SourceConfig(name="hs", api_base=api.url)
        with pytest.raises(VendorUnavailable):
            CONNECTOR.fetch(won_event(config), SECRETS, config)


def test_an_expired_token_is_refused_without_showing_it() -> None:
    answer = {
        "status": "error",
        "message": "Authentication credentials not found.",
        "category": "INVALID_AUTHENTICATION",
    }
    with VendorApi({("GET", DEAL_PATH): (401, answer)}) as api:
        config = SourceConfig(name="hs", api_base=api.url)
        with pytest.raises(VendorRefused) as caught:
            CONNECTOR.fetch(won_event(config), SECRETS, config)
    assert TOKEN not in str(caught.value)


def test_a_source_without_a_token_is_refused() -> None:
    config = SourceConfig(name="hs", api_base="http://127.0.0.1:9")
    with pytest.raises(VendorRefused, match="no HubSpot private-app token"):
        CONNECTOR.fetch(won_event(config), SourceSecrets(), config)
