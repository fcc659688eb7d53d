"""Pipedrive polling (``GET /api/v2/deals?updated_since=…&sort_by=update_time``, cursor
paginated) against a local server answering like <company>.pipedrive.com."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.connectors import pipedrive, poller
from autoinvoice.adapters.connectors.pipedrive import CONNECTOR, POLLER, polled_deal_event
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import DEAL_CHANGED, DEAL_LOST, DEAL_WON, Subject
from autoinvoice.services.connectors import (
    PollResult,
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    VendorUnavailable,
)
from vendor_api import Recorded, VendorApi

HERE = Path(__file__).parent
TOKEN = "659c9fddb16335e48cc67114694b52074e812e03"
SECRETS = SourceSecrets(api_token=TOKEN)
NOW = datetime(2024, 9, 30, 12, 0, tzinfo=UTC)
PATH = "/api/v2/deals"
PAGE1: dict[str, Any] = json.loads((HERE / "api_v2_deals_page1.json").read_text())
PAGE2: dict[str, Any] = json.loads((HERE / "api_v2_deals_page2.json").read_text())
NEXT = PAGE1["additional_data"]["next_cursor"]


def by_cursor(req: Recorded) -> tuple[int, Any]:
    cursor = req.query.get("cursor", [None])[0]
    return 200, {None: PAGE1, NEXT: PAGE2}[cursor]


def poll(
    route: Any, cursor: str | None = "2024-09-27T00:00:00Z", **options: Any
) -> tuple[PollResult, list[Recorded]]:
    with VendorApi({("GET", PATH): route}) as api:
        cfg = SourceConfig(name="pd", api_base=api.url, options=options)
        result = POLLER.poll(SECRETS, cfg, cursor, now=NOW)
    return result, api.requests


def test_the_registry_names_the_pipedrive_poller() -> None:
    assert poller("pipedrive") is POLLER
    assert POLLER.kind == "pipedrive"


def test_deals_updated_since_the_cursor_become_events_by_their_status() -> None:
    result, requests = poll(by_cursor)
    assert len(requests) == 2
    assert [(e.type, e.external_id) for e in result.events] == [
        (DEAL_WON, "1187"),
        (DEAL_CHANGED, "1192"),
        (DEAL_LOST, "1201"),
    ]
    won = result.events[0]
    assert won.subject is Subject.DEAL
    assert won.dedupe_key == "pipedrive:poll:1187:2024-09-27T14:25:28Z"
    assert won.version == datetime(2024, 9, 27, 14, 25, 28, tzinfo=UTC)
    assert won.occurred_at == won.version
    assert won.raw["person_id"] == 903
    assert won.fields == {
        "deal_id": "1187",
        "name": "Managed hosting 2025 – Nordlicht AG",
        "amount": "18400.75",
        "currency": "EUR",
        "stage": "5",
        "pipeline": "1",
        "status": "won",
        "close_date": "2024-09-27",
        "client_ref": "412",
    }


def test_amounts_stay_exact_decimals_whatever_json_type_they_come_as() -> None:
    result, _ = poll(by_cursor)
    assert result.events[1].fields["amount"] == "4200"
    lost = result.events[2]
    assert lost.fields["amount"] == "12500.00"
    assert lost.fields["currency"] == "CHF"
    assert lost.fields["close_date"] == "2024-09-28"


def test_requests_carry_the_api_token_header_and_the_documented_query() -> None:
    _, (first, second) = poll(by_cursor)
    assert first.path == PATH
    assert first.headers["x-api-token"] == TOKEN
    assert "authorization" not in first.headers
    assert "api_token" not in first.query  # never in the URL
    assert first.query == {
        "updated_since": ["2024-09-27T00:00:00Z"],
        "sort_by": ["update_time"],
        "sort_direction": ["asc"],
        "limit": ["100"],
    }
    assert second.query["cursor"] == [NEXT]
    assert second.query["updated_since"] == first.query["updated_since"]
    assert second.headers["x-api-token"] == TOKEN


def test_the_cursor_is_the_newest_update_seen() -> None:
    result, _ = poll(by_cursor)
    assert result.cursor == "2024-09-28T09:11:45Z"


def test_polling_again_from_the_cursor_repeats_the_newest_deal_under_the_same_key() -> None:
    once, _ = poll(by_cursor)
    again, requests = poll(PAGE2, once.cursor)
    assert requests[0].query["updated_since"] == ["2024-09-28T09:11:45Z"]
    assert [e.dedupe_key for e in again.events] == [once.events[-1].dedupe_key]
    assert again.cursor == once.cursor


def test_the_first_poll_starts_now_and_bills_no_history_unless_asked() -> None:
    _, requests = poll(by_cursor, None)
    assert requests[0].query["updated_since"] == ["2024-09-30T12:00:00Z"]
    _, requests = poll(by_cursor, None, since="2024-09-01")
    assert requests[0].query["updated_since"] == ["2024-09-01T00:00:00Z"]


@pytest.mark.parametrize("empty", [[], None])
def test_nothing_new_keeps_the_old_cursor(empty: Any) -> None:
    answer = {"success": True, "data": empty, "additional_data": {"next_cursor": None}}
    result, requests = poll(answer, "2024-09-28T09:11:45Z")
    assert result == PollResult(events=[], cursor="2024-09-28T09:11:45Z")
    assert len(requests) == 1


def test_a_polled_won_deal_has_the_fields_of_its_webhook() -> None:
    delivery = json.loads((HERE / "change_deal_won.json").read_text())
    cfg = SourceConfig(
        name="pd", field_map={"po_number": "custom_fields.8f4b27fbd737c6a4c3f6a3a8a8e3b5a1d2c3e4f5"}
    )
    [hooked] = CONNECTOR.parse({}, json.dumps(delivery).encode(), cfg)
    polled = polled_deal_event(delivery["data"], cfg, where="body.data")
    assert (polled.type, polled.subject, polled.external_id) == (
        hooked.type,
        hooked.subject,
        hooked.external_id,
    )
    assert polled.fields == hooked.fields
    assert polled.fields["po_number"] == "PO-7781"
    assert polled.version == hooked.version
    assert polled.dedupe_key != hooked.dedupe_key


def test_a_repeating_next_cursor_ends_the_poll() -> None:
    looping = {**PAGE2, "additional_data": {"next_cursor": "c2FtZQ"}}
    _, requests = poll(looping)
    assert len(requests) == 2  # the same cursor twice: stop instead of looping


def test_a_poll_that_never_ends_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipedrive, "MAX_PAGES", 3)
    counter = iter(range(100))

    def endless(_: Recorded) -> tuple[int, Any]:
        return 200, {**PAGE2, "additional_data": {"next_cursor": f"c{next(counter)}"}}

    with pytest.raises(VendorRefused, match="after 3 pages"):
        poll(endless)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_rate_limits_are_temporary(status: int) -> None:
    with pytest.raises(VendorUnavailable):
        poll((status, {"success": False, "error": "Service unavailable"}))


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_permanent_and_not_echoed(status: int) -> None:
    body = {
        "success": False,
        "error": "unauthorized access",
        "errorCode": status,
        "error_info": "Please check developers.pipedrive.com for more information.",
    }
    with pytest.raises(VendorRefused) as err:
        poll((status, body))
    assert TOKEN not in str(err.value)


def test_an_unreachable_api_is_temporary() -> None:
    with VendorApi() as api:
        cfg = SourceConfig(name="pd", api_base=api.url)
    with pytest.raises(VendorUnavailable) as err:
        POLLER.poll(SECRETS, cfg, None, now=NOW)
    assert TOKEN not in str(err.value)


def test_a_source_without_api_token_is_refused() -> None:
    cfg = SourceConfig(name="pd", api_base="http://127.0.0.1:9")
    with pytest.raises(VendorRefused, match="API token"):
        POLLER.poll(SourceSecrets(basic_user="u", basic_password="p"), cfg, None, now=NOW)


def test_a_deal_without_update_time_names_its_path() -> None:
    broken = copy.deepcopy(PAGE2)
    del broken["data"][0]["update_time"]
    with pytest.raises(InvalidValue) as err:
        poll(broken)
    assert err.value.field == "page1.data.0.update_time"


def test_a_deal_value_that_is_no_number_names_its_path() -> None:
    broken = copy.deepcopy(PAGE2)
    broken["data"][0]["value"] = "twelve thousand"
    with pytest.raises(InvalidValue) as err:
        poll(broken)
    assert err.value.field == "page1.data.0.value"


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ([], "page1"),
        ({"success": True}, "page1.data"),
        ({"success": True, "data": {"id": 1}}, "page1.data"),
        ({"success": True, "data": ["1187"]}, "page1.data.0"),
    ],
)
def test_a_malformed_answer_names_where(answer: Any, field: str) -> None:
    with pytest.raises(InvalidValue) as err:
        poll(answer)
    assert err.value.field == field
