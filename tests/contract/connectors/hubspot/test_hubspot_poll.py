"""HubSpot polling: ``POST /crm/v3/objects/deals/search`` for won deals modified since the
cursor, each completed through the CRM v3 objects API, against a local server."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.connectors import poller
from autoinvoice.adapters.connectors.hubspot import POLLER, search_event
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import DEAL_WON, Subject
from autoinvoice.services.connectors import (
    PollResult,
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    VendorUnavailable,
)
from vendor_api import Recorded, VendorApi

HERE = Path(__file__).parent
TOKEN = "pat-eu1-0c7e1b2a-5d4f-4c3b-9a8e-112233445566"
SECRETS = SourceSecrets(api_token=TOKEN)
NOW = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)
SEARCH = "/crm/v3/objects/deals/search"
WON = ["closedwon", "1044129385"]


def load(name: str) -> Any:
    return json.loads((HERE / name).read_text())


PAGE1 = load("api_deals_search_page1.json")
PAGE2 = load("api_deals_search_page2.json")


def by_after(req: Recorded) -> tuple[int, Any]:
    after = json.loads(req.body).get("after")
    return 200, {None: PAGE1, "2": PAGE2}[after]


def routes(search: Any = by_after) -> dict[tuple[str, str], Any]:
    return {
        ("POST", SEARCH): search,
        ("GET", "/crm/v3/objects/deals/15829386542"): load("api_deal.json"),
        ("GET", "/crm/v3/objects/deals/15830011209"): load("api_deal_15830011209.json"),
        ("GET", "/crm/v3/objects/deals/15833472001"): load("api_deal_15833472001.json"),
        ("GET", "/crm/v3/objects/companies/9183746501"): load("api_company.json"),
        ("GET", "/crm/v3/objects/companies/9183746577"): load("api_company_9183746577.json"),
        ("GET", "/crm/v3/objects/companies/9183746612"): load("api_company_9183746612.json"),
        ("GET", "/crm/v3/objects/line_items/6112233441"): load("api_line_item_6112233441.json"),
        ("GET", "/crm/v3/objects/line_items/6112233442"): load("api_line_item_6112233442.json"),
        ("GET", "/crm/v3/objects/line_items/6112299001"): load("api_line_item_6112299001.json"),
    }


def poll(
    search: Any = by_after, cursor: str | None = "2024-05-30T00:00:00Z", **options: Any
) -> tuple[PollResult, list[Recorded]]:
    with VendorApi(routes(search)) as api:
        cfg = SourceConfig(
            name="hs",
            api_base=api.url,
            options={"won_stages": WON, **options},
            field_map={"po_number": "properties.po_number"},
        )
        result = POLLER.poll(SECRETS, cfg, cursor, now=NOW)
    return result, api.requests


def searches(requests: list[Recorded]) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in requests if r.path == SEARCH]


def test_the_registry_names_the_hubspot_poller() -> None:
    assert poller("hubspot") is POLLER
    assert POLLER.kind == "hubspot"


def test_two_pages_of_won_deals_become_complete_deal_won_events() -> None:
    result, _ = poll()
    assert [e.external_id for e in result.events] == ["15829386542", "15830011209", "15833472001"]
    first = result.events[0]
    assert first.type == DEAL_WON
    assert first.subject is Subject.DEAL
    assert first.needs_fetch is False
    assert first.dedupe_key == "hubspot:poll:15829386542:2024-05-31T09:12:46.530Z"
    assert first.version == datetime(2024, 5, 31, 9, 12, 46, 530000, tzinfo=UTC)
    assert first.raw["properties"]["dealstage"] == "closedwon"
    assert first.fields == {
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


def test_a_deal_without_line_items_and_a_custom_won_stage_are_complete_too() -> None:
    result, _ = poll()
    bakery, retainer = result.events[1].fields, result.events[2].fields
    assert bakery["products"] == []
    assert bakery["amount"] == "3980"
    assert bakery["client_name"] == "Bäckerei Sommer KG"
    assert retainer["stage"] == "1044129385" and retainer["status"] == "won"
    assert retainer["currency"] == "CHF"
    assert retainer["products"] == [
        {"name": "Support retainer (12 months)", "quantity": "12", "unit_price": "1500.00"}
    ]


def test_the_search_asks_for_won_stages_modified_since_the_cursor() -> None:
    _, requests = poll()
    first, second = searches(requests)
    search_request = next(r for r in requests if r.path == SEARCH)
    assert search_request.headers["authorization"] == f"Bearer {TOKEN}"
    assert search_request.headers["content-type"] == "application/json"
    millis = str(int(datetime(2024, 5, 30, tzinfo=UTC).timestamp() * 1000))
    assert first["filterGroups"] == [
        {
            "filters": [
                {"propertyName": "dealstage", "operator": "IN", "values": WON},
                {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": millis},
            ]
        }
    ]
    assert first["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    assert "hs_lastmodifieddate" in first["properties"]
    assert first["limit"] == 100
    assert "after" not in first
    assert second["after"] == "2"
    assert second["filterGroups"] == first["filterGroups"]


def test_every_request_carries_the_token() -> None:
    _, requests = poll()
    assert {r.headers["authorization"] for r in requests} == {f"Bearer {TOKEN}"}
    assert len(requests) == 2 + 3 + 3 + 3  # searches, deals, companies, line items


def test_the_cursor_is_the_newest_modification_seen() -> None:
    result, _ = poll()
    assert result.cursor == "2024-06-02T10:31:05.004000Z"


def test_the_first_poll_starts_now_and_bills_no_history_unless_asked() -> None:
    _, requests = poll(cursor=None)
    start = NOW
    assert searches(requests)[0]["filterGroups"][0]["filters"][1]["value"] == str(
        int(start.timestamp() * 1000)
    )
    _, requests = poll(cursor=None, since="2024-01-01")
    assert searches(requests)[0]["filterGroups"][0]["filters"][1]["value"] == "1704067200000"


def test_the_default_won_stage_is_closedwon() -> None:
    with VendorApi(routes({"total": 0, "results": []})) as api:
        POLLER.poll(SECRETS, SourceConfig(name="hs", api_base=api.url), None, now=NOW)
    [body] = searches(api.requests)
    assert body["filterGroups"][0]["filters"][0]["values"] == ["closedwon"]


def test_nothing_new_keeps_the_old_cursor() -> None:
    result, requests = poll({"total": 0, "results": []}, "2024-06-02T10:31:05.004000Z")
    assert result == PollResult(events=[], cursor="2024-06-02T10:31:05.004000Z")
    assert len(requests) == 1


def test_polling_again_from_the_cursor_repeats_the_same_key() -> None:
    once, _ = poll()
    last_page = {"total": 1, "results": PAGE2["results"]}
    again, _ = poll(last_page, once.cursor)
    assert [e.dedupe_key for e in again.events] == [once.events[-1].dedupe_key]
    assert again.cursor == once.cursor


def test_paging_stops_before_the_ten_thousand_result_limit() -> None:
    page = copy.deepcopy(PAGE1)
    page["paging"]["next"]["after"] = "9950"
    result, requests = poll(page)
    assert len(searches(requests)) == 1
    assert result.cursor == "2024-06-01T14:03:12.880000Z"  # the next poll goes on from here


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_rate_limits_are_temporary(status: int) -> None:
    body = {
        "status": "error",
        "message": "You have reached your secondly limit.",
        "category": "RATE_LIMITS",
    }
    with pytest.raises(VendorUnavailable):
        poll((status, body))


@pytest.mark.parametrize("status", [400, 401, 403])
def test_a_refused_token_or_search_is_permanent_and_not_echoed(status: int) -> None:
    body = {
        "status": "error",
        "message": "Authentication credentials not found.",
        "category": "INVALID_AUTHENTICATION",
    }
    with pytest.raises(VendorRefused) as err:
        poll((status, body))
    assert TOKEN not in str(err.value)


def test_a_failing_deal_read_fails_the_poll() -> None:
    table = routes()
    table[("GET", "/crm/v3/objects/deals/15830011209")] = (502, {"message": "Bad Gateway"})
    with VendorApi(table) as api:
        cfg = SourceConfig(name="hs", api_base=api.url, options={"won_stages": WON})
        with pytest.raises(VendorUnavailable):
            POLLER.poll(SECRETS, cfg, "2024-05-30T00:00:00Z", now=NOW)


def test_an_unreachable_api_is_temporary() -> None:
    with VendorApi() as api:
        cfg = SourceConfig(name="hs", api_base=api.url)
    with pytest.raises(VendorUnavailable) as err:
        POLLER.poll(SECRETS, cfg, None, now=NOW)
    assert TOKEN not in str(err.value)


def test_a_source_without_a_token_is_refused() -> None:
    cfg = SourceConfig(name="hs", api_base="http://127.0.0.1:9")
    with pytest.raises(VendorRefused, match="token"):
        POLLER.poll(SourceSecrets(), cfg, None, now=NOW)


def test_a_result_without_modification_time_names_its_path() -> None:
    broken = copy.deepcopy(PAGE2)
    del broken["results"][0]["properties"]["hs_lastmodifieddate"]
    with pytest.raises(InvalidValue) as err:
        poll(broken)
    assert err.value.field == "page1.results.0.properties.hs_lastmodifieddate"


def test_an_answer_without_results_names_the_page() -> None:
    with pytest.raises(InvalidValue) as err:
        search_event("15829386542", where="page1.results.0")
    assert err.value.field == "page1.results.0"
    with pytest.raises(InvalidValue) as err:
        poll({"status": "COMPLETE"})
    assert err.value.field == "page1.results"
