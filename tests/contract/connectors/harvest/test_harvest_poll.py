"""Harvest API v2 polling against a local server answering like api.harvestapp.com."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.connectors import poller
from autoinvoice.adapters.connectors.harvest import POLLER, page_events
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import TIME_LOGGED, Subject
from autoinvoice.services.connectors import (
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    VendorUnavailable,
)
from vendor_api import Recorded, VendorApi

HERE = Path(__file__).parent
TOKEN = "2180736.pt.Xk9vQ2mLrT4s8WzYb1NcHfEj"
SECRETS = SourceSecrets(api_token=TOKEN)
NOW = datetime(2024, 3, 7, 12, 0, tzinfo=UTC)
PATH = "/v2/time_entries"


def load(name: str) -> dict[str, Any]:
    return json.loads((HERE / name).read_text())  # type: ignore[no-any-return]


PAGE1 = load("harvest_time_entries_page1.json")
PAGE2 = load("harvest_time_entries_page2.json")


def config(api: VendorApi, **options: Any) -> SourceConfig:
    return SourceConfig(
        name="harvest", api_base=api.url, options={"account_id": "1187224", **options}
    )


def by_page(pages: dict[str, dict[str, Any]]) -> Any:
    def route(req: Recorded) -> tuple[int, Any]:
        key = (req.query.get("cursor") or req.query.get("page") or ["1"])[0]
        return 200, pages[key]

    return route


def test_the_registry_names_the_harvest_poller() -> None:
    assert poller("harvest") is POLLER
    assert POLLER.kind == "harvest"


def test_two_pages_of_entries_become_time_entry_events() -> None:
    with VendorApi({("GET", PATH): by_page({"1": PAGE1, "2": PAGE2})}) as api:
        result = POLLER.poll(SECRETS, config(api), "2024-03-01T00:00:00Z", now=NOW)
    ids = [e.external_id for e in result.events]
    assert ids == ["2445789310", "2445792256", "2446010034", "2446013598"]
    first = result.events[0]
    assert first.type == TIME_LOGGED
    assert first.subject is Subject.TIME_ENTRY
    assert first.dedupe_key == "harvest:2445789310:2024-03-04T10:21:07Z"
    assert first.version == datetime(2024, 3, 4, 10, 21, 7, tzinfo=UTC)
    assert first.raw["user_assignment"]["id"] == 413502174
    assert first.fields == {
        "entry_id": "2445789310",
        "hours": "1.33",
        "rounded_hours": "1.5",
        "day": "2024-03-04",
        "person": "Maria Jensen",
        "person_ref": "4271805",
        "task": "Project Management",
        "task_ref": "21956443",
        "description": "Sprint planning with the client, backlog grooming",
        "billable": True,
        "is_billed": False,
        "project_ref": "39764021",
        "project_name": "Fleet Portal Relaunch",
        "project_code": "NW-FP",
        "client_ref": "13822465",
        "client_name": "Nordwind Logistik GmbH",
        "started_time": "9:00am",
        "updated_at": "2024-03-04T10:21:07Z",
    }


def test_hours_stay_exact_decimals() -> None:
    with VendorApi({("GET", PATH): by_page({"1": PAGE1, "2": PAGE2})}) as api:
        result = POLLER.poll(SECRETS, config(api), "2024-03-01T00:00:00Z", now=NOW)
    assert [e.fields["hours"] for e in result.events] == ["1.33", "6.07", "0.25", "2.5"]


def test_a_running_timer_gives_no_event_yet() -> None:
    with VendorApi({("GET", PATH): by_page({"1": PAGE1, "2": PAGE2})}) as api:
        result = POLLER.poll(SECRETS, config(api), "2024-03-01T00:00:00Z", now=NOW)
    assert "2445801777" not in {e.external_id for e in result.events}


def test_null_notes_and_non_billable_entries_are_kept_as_such() -> None:
    with VendorApi({("GET", PATH): by_page({"1": PAGE1, "2": PAGE2})}) as api:
        result = POLLER.poll(SECRETS, config(api), "2024-03-01T00:00:00Z", now=NOW)
    billed = result.events[2].fields
    assert billed["description"] == ""
    assert billed["billable"] is False
    assert billed["is_billed"] is True
    assert billed["project_code"] is None


def test_the_new_cursor_is_the_greatest_updated_at_seen() -> None:
    with VendorApi({("GET", PATH): by_page({"1": PAGE1, "2": PAGE2})}) as api:
        result = POLLER.poll(SECRETS, config(api), "2024-03-01T00:00:00Z", now=NOW)
    # page 2's first entry is the newest, although pages are ordered by spent_date
    assert result.cursor == "2024-03-06T09:15:00Z"


def test_requests_carry_the_documented_headers_and_filters() -> None:
    with VendorApi({("GET", PATH): by_page({"1": PAGE1, "2": PAGE2})}) as api:
        POLLER.poll(SECRETS, config(api), "2024-03-01T00:00:00Z", now=NOW)
    first, second = api.requests
    assert first.path == PATH
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.headers["harvest-account-id"] == "1187224"
    assert first.headers["user-agent"].startswith("autoinvoice/")
    assert first.query["updated_since"] == ["2024-03-01T00:00:00Z"]
    assert first.query["per_page"] == ["100"]
    assert first.query["page"] == ["1"]
    # the second request follows links.next, rebased on the configured API root
    assert second.path == PATH
    assert second.query["page"] == ["2"]
    assert second.query["updated_since"] == ["2024-03-01T00:00:00Z"]
    assert second.headers["authorization"] == f"Bearer {TOKEN}"


def test_cursor_links_are_followed_when_next_page_is_null() -> None:
    cursor = "eyJhZnRlciI6eyJpZCI6MjQ0NTgwMTc3N319"
    page1 = copy.deepcopy(PAGE1)
    page1["next_page"] = None
    page1["links"]["next"] = (
        f"https://api.harvestapp.com/v2/time_entries?cursor={cursor}&per_page=3&ref=next_cursor"
    )
    with VendorApi({("GET", PATH): by_page({"1": page1, cursor: PAGE2})}) as api:
        result = POLLER.poll(SECRETS, config(api), "2024-03-01T00:00:00Z", now=NOW)
    assert len(result.events) == 4
    assert api.requests[1].query["cursor"] == [cursor]


def test_next_page_alone_is_followed_with_the_same_filters() -> None:
    page1 = copy.deepcopy(PAGE1)
    del page1["links"]
    with VendorApi({("GET", PATH): by_page({"1": page1, "2": PAGE2})}) as api:
        result = POLLER.poll(SECRETS, config(api), "2024-03-01T00:00:00Z", now=NOW)
    assert len(result.events) == 4
    assert api.requests[1].query["page"] == ["2"]
    assert api.requests[1].query["updated_since"] == ["2024-03-01T00:00:00Z"]


def test_the_first_poll_starts_now_and_bills_no_history_unless_asked() -> None:
    with VendorApi({("GET", PATH): PAGE2}) as api:
        POLLER.poll(SECRETS, config(api), None, now=NOW)
    assert api.requests[0].query["updated_since"] == ["2024-03-07T12:00:00Z"]


def test_the_first_poll_starts_at_the_configured_date() -> None:
    with VendorApi({("GET", PATH): PAGE2}) as api:
        POLLER.poll(SECRETS, config(api, since="2024-01-01"), None, now=NOW)
    assert api.requests[0].query["updated_since"] == ["2024-01-01T00:00:00Z"]


def test_nothing_new_keeps_the_old_cursor() -> None:
    empty = {
        "time_entries": [],
        "per_page": 100,
        "total_pages": 0,
        "total_entries": 0,
        "next_page": None,
        "previous_page": None,
        "page": 1,
        "links": {"first": None, "next": None, "previous": None, "last": None},
    }
    with VendorApi({("GET", PATH): empty}) as api:
        result = POLLER.poll(SECRETS, config(api), "2024-03-06T09:15:00Z", now=NOW)
    assert result == type(result)(events=[], cursor="2024-03-06T09:15:00Z")


def test_an_entry_seen_again_at_the_cursor_has_the_same_dedupe_key() -> None:
    with VendorApi({("GET", PATH): PAGE2}) as api:
        once = POLLER.poll(SECRETS, config(api), "2024-03-05T00:00:00Z", now=NOW)
        again = POLLER.poll(SECRETS, config(api), once.cursor, now=NOW)
    assert [e.dedupe_key for e in once.events] == [e.dedupe_key for e in again.events]
    assert again.cursor == once.cursor


def test_field_map_adds_configured_fields() -> None:
    with VendorApi({("GET", PATH): PAGE1 | {"next_page": None, "links": {}}}) as api:
        cfg = SourceConfig(
            name="harvest",
            api_base=api.url,
            options={"account_id": "1187224"},
            field_map={"ticket": "external_reference.id", "rate": "billable_rate"},
        )
        result = POLLER.poll(SECRETS, cfg, "2024-03-01T00:00:00Z", now=NOW)
    assert result.events[1].fields["ticket"] == "NW-412"
    assert result.events[0].fields["ticket"] is None


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_rate_limits_are_temporary(status: int) -> None:
    route = {("GET", PATH): (status, {"error": "busy"})}
    with VendorApi(route) as api, pytest.raises(VendorUnavailable):
        POLLER.poll(SECRETS, config(api), None, now=NOW)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_permanent_and_not_echoed(status: int) -> None:
    body = {"error": "invalid_token", "error_description": "The access token provided is expired"}
    with VendorApi({("GET", PATH): (status, body)}) as api, pytest.raises(VendorRefused) as err:
        POLLER.poll(SECRETS, config(api), None, now=NOW)
    assert TOKEN not in str(err.value)


def test_an_unreachable_api_is_temporary() -> None:
    with VendorApi() as api:
        url = api.url
    cfg = SourceConfig(name="harvest", api_base=url, options={"account_id": "1187224"})
    with pytest.raises(VendorUnavailable) as err:
        POLLER.poll(SECRETS, cfg, None, now=NOW)
    assert TOKEN not in str(err.value)


def test_a_source_without_token_or_account_is_refused() -> None:
    cfg = SourceConfig(name="harvest", api_base="http://127.0.0.1:9", options={})
    with pytest.raises(VendorRefused, match="API token"):
        POLLER.poll(SourceSecrets(), cfg, None, now=NOW)
    with pytest.raises(VendorRefused, match="account_id"):
        POLLER.poll(SECRETS, cfg, None, now=NOW)


def test_the_secrets_never_show_in_a_repr() -> None:
    assert TOKEN not in repr(SECRETS)


def test_an_entry_without_an_id_names_its_path() -> None:
    broken = copy.deepcopy(PAGE2)
    del broken["time_entries"][1]["id"]
    with pytest.raises(InvalidValue) as err:
        page_events(broken, SourceConfig(name="harvest"))
    assert err.value.field == "body.time_entries.1.id"


def test_a_body_without_time_entries_names_the_field() -> None:
    with pytest.raises(InvalidValue) as err:
        page_events({"message": "hello"}, SourceConfig(name="harvest"))
    assert err.value.field == "body.time_entries"


def test_a_bad_hours_value_names_its_path() -> None:
    broken = copy.deepcopy(PAGE2)
    broken["time_entries"][0]["hours"] = "lots"
    with pytest.raises(InvalidValue) as err:
        page_events(broken, SourceConfig(name="harvest"))
    assert err.value.field == "body.time_entries.0.hours"


def test_a_stopped_duration_timer_gives_its_start_instant() -> None:
    page = copy.deepcopy(PAGE2)
    page["time_entries"][1]["timer_started_at"] = "2024-03-05T16:00:31Z"
    events, newest = page_events(page, SourceConfig(name="harvest"))
    assert events[1].fields["started_at"] == "2024-03-05T16:00:31Z"
    assert newest == datetime(2024, 3, 6, 9, 15, tzinfo=UTC)
