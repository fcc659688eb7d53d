"""Clockify API v1 polling (``GET /v1/workspaces/{ws}/user/{user}/time-entries``) against a
local server answering like api.clockify.me (hydrated answers, two pages)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.connectors import clockify, poller
from autoinvoice.adapters.connectors.clockify import POLLER, page_events
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import TIME_LOGGED, Subject
from autoinvoice.services.connectors import (
    PollResult,
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    VendorUnavailable,
)
from vendor_api import Recorded, VendorApi

HERE = Path(__file__).parent
API_KEY = "YjQ2ZTVmMTQtOGM3Ni00ZDFhLWI5NzEtMmE0NGY3ZGQ1N2Rm"
SECRETS = SourceSecrets(api_token=API_KEY)
NOW = datetime(2024, 3, 7, 12, 0, tzinfo=UTC)
WORKSPACE = "65d8b2e1f0a3c47b1d2e9a01"
USER = "65d8b2e1f0a3c47b1d2e9a07"
PATH = f"/v1/workspaces/{WORKSPACE}/user/{USER}/time-entries"
PAGE1: list[dict[str, Any]] = json.loads((HERE / "api_time_entries_page1.json").read_text())
PAGE2: list[dict[str, Any]] = json.loads((HERE / "api_time_entries_page2.json").read_text())


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three entries a page, so the recorded answers make two pages."""
    monkeypatch.setattr(clockify, "PAGE_SIZE", 3)


def config(api: VendorApi, **options: Any) -> SourceConfig:
    return SourceConfig(
        name="clockify",
        api_base=api.url,
        options={"workspace_id": WORKSPACE, "user_id": USER, **options},
    )


def by_page(*pages: list[dict[str, Any]]) -> Any:
    def route(req: Recorded) -> tuple[int, Any]:
        number = int(req.query["page"][0])
        return 200, pages[number - 1] if number <= len(pages) else []

    return route


def poll(
    route: Any, cursor: str | None = "2024-03-04T00:00:00Z", **options: Any
) -> tuple[PollResult, list[Recorded]]:
    with VendorApi({("GET", PATH): route}) as api:
        result = POLLER.poll(SECRETS, config(api, **options), cursor, now=NOW)
    return result, api.requests


def test_the_registry_names_the_clockify_poller() -> None:
    assert poller("clockify") is POLLER
    assert POLLER.kind == "clockify"


def test_two_pages_of_finished_entries_become_logged_time() -> None:
    result, requests = poll(by_page(PAGE1, PAGE2))
    assert len(requests) == 2
    assert [e.external_id for e in result.events] == [
        "65e82280c3b2d94e7a1f0c11",
        "65e71ad4c3b2d94e7a1f0c12",
        "65e6fb30c3b2d94e7a1f0c13",
        "65e58d90c3b2d94e7a1f0c15",
    ]
    first = result.events[0]
    assert first.type == TIME_LOGGED
    assert first.subject is Subject.TIME_ENTRY
    assert first.dedupe_key.startswith("clockify:poll:")
    assert first.version is None
    # the ObjectId's first four bytes: 0x65e82280 = 2024-03-06T08:00:00Z, its creation
    assert first.occurred_at == datetime(2024, 3, 6, 8, 0, tzinfo=UTC)
    assert first.fields == {
        "entry_id": "65e82280c3b2d94e7a1f0c11",
        "started_at": "2024-03-06T08:00:00+00:00",
        "day": "2024-03-06",
        "description": "Order export API",
        "task": "Backend development",
        "billable": True,
        "project_ref": "65d8b3a4f0a3c47b1d2e9b10",  # from the hydrated project object
        "project_name": "Fleet Portal Relaunch",
        "client_ref": "65d8b39cf0a3c47b1d2e9b02",
        "client_name": "Nordwind Logistik GmbH",
        "person_ref": USER,
        "person": f"user {USER}",
        "hours": "2.5000",
    }


def test_hours_are_exact_decimals() -> None:
    result, _ = poll(by_page(PAGE1, PAGE2))
    assert [e.fields["hours"] for e in result.events] == ["2.5000", "0.7556", "1.0000", "1.1250"]


def test_an_entry_without_project_keeps_the_references_empty() -> None:
    result, _ = poll(by_page(PAGE1, PAGE2))
    lunch = result.events[2].fields
    assert lunch["project_ref"] is None and lunch["client_ref"] is None
    assert lunch["billable"] is False
    assert lunch["task"] == "Team lunch"


def test_a_running_entry_gives_no_event() -> None:
    result, _ = poll(by_page(PAGE1, PAGE2))
    assert "65e9833cc3b2d94e7a1f0c14" not in {e.external_id for e in result.events}


def test_requests_carry_the_api_key_window_and_paging() -> None:
    _, (first, second) = poll(by_page(PAGE1, PAGE2))
    assert first.path == PATH
    assert first.headers["x-api-key"] == API_KEY
    # the cursor less the 7-day look-back: entries edited within it are read again
    assert first.query["start"] == ["2024-02-26T00:00:00Z"]
    assert first.query["page"] == ["1"]
    assert first.query["page-size"] == ["3"]
    assert first.query["hydrated"] == ["true"]
    assert second.query["page"] == ["2"]
    assert second.query["start"] == ["2024-02-26T00:00:00Z"]
    assert second.headers["x-api-key"] == API_KEY


def test_the_cursor_is_the_latest_start_of_a_finished_entry() -> None:
    result, _ = poll(by_page(PAGE1, PAGE2))
    assert result.cursor == "2024-03-06T08:00:00Z"


def test_a_running_entry_holds_the_cursor_at_its_start() -> None:
    page2 = copy.deepcopy(PAGE2)
    page2[0]["timeInterval"]["start"] = "2024-03-05T07:00:00Z"
    result, _ = poll(by_page(PAGE1, page2))
    assert result.cursor == "2024-03-05T07:00:00Z"


def test_an_unchanged_entry_read_again_has_the_same_key_and_an_edit_a_new_one() -> None:
    once, _ = poll(by_page(PAGE1, PAGE2))
    edited = copy.deepcopy(PAGE1)
    edited[1]["timeInterval"].update(end="2024-03-05T14:30:00Z", duration="PT1H15M")
    again, _ = poll(by_page(edited, PAGE2), once.cursor)
    before = {e.external_id: e.dedupe_key for e in once.events}
    after = {e.external_id: e.dedupe_key for e in again.events}
    assert after["65e82280c3b2d94e7a1f0c11"] == before["65e82280c3b2d94e7a1f0c11"]
    assert after["65e71ad4c3b2d94e7a1f0c12"] != before["65e71ad4c3b2d94e7a1f0c12"]
    assert again.events[1].fields["hours"] == "1.2500"


def test_the_first_poll_starts_now_and_bills_no_history_unless_asked() -> None:
    _, requests = poll([], None)
    assert requests[0].query["start"] == ["2024-03-07T12:00:00Z"]
    _, requests = poll([], None, since="2024-01-01")
    assert requests[0].query["start"] == ["2024-01-01T00:00:00Z"]


def test_nothing_new_keeps_the_old_cursor() -> None:
    result, _ = poll([], "2024-03-06T08:00:00Z")
    assert result == PollResult(events=[], cursor="2024-03-06T08:00:00Z")


def test_a_configured_look_back_widens_the_window() -> None:
    _, requests = poll([], "2024-03-04T00:00:00Z", lookback_days=1)
    assert requests[0].query["start"] == ["2024-03-03T00:00:00Z"]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_rate_limits_are_temporary(status: int) -> None:
    with pytest.raises(VendorUnavailable):
        poll((status, {"message": "Too many requests", "code": status}))


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_permanent_and_not_echoed(status: int) -> None:
    body = {"message": "Full authentication is required to access this resource", "code": 1000}
    with pytest.raises(VendorRefused) as err:
        poll((status, body))
    assert API_KEY not in str(err.value)


def test_an_unreachable_api_is_temporary() -> None:
    with VendorApi() as api:
        cfg = config(api)
    with pytest.raises(VendorUnavailable) as err:
        POLLER.poll(SECRETS, cfg, None, now=NOW)
    assert API_KEY not in str(err.value)


def test_a_source_without_key_workspace_or_user_is_refused() -> None:
    cfg = SourceConfig(name="clockify", api_base="http://127.0.0.1:9")
    with pytest.raises(VendorRefused, match="API key"):
        POLLER.poll(SourceSecrets(), cfg, None, now=NOW)
    with pytest.raises(VendorRefused, match="workspace_id and user_id"):
        POLLER.poll(SECRETS, cfg, None, now=NOW)


def test_an_answer_that_is_not_a_list_names_the_body() -> None:
    with pytest.raises(InvalidValue) as err:
        page_events({"message": "nope"}, SourceConfig(name="clockify"))
    assert err.value.field == "body"


def test_a_bad_duration_names_its_path() -> None:
    broken = copy.deepcopy(PAGE1)
    broken[2]["timeInterval"]["duration"] = "an hour"
    with pytest.raises(InvalidValue) as err:
        page_events(broken, SourceConfig(name="clockify"))
    assert err.value.field == "body.2.timeInterval.duration"


def test_an_entry_without_start_names_its_path() -> None:
    broken = copy.deepcopy(PAGE1)
    del broken[0]["timeInterval"]["start"]
    with pytest.raises(InvalidValue) as err:
        page_events(broken, SourceConfig(name="clockify"))
    assert err.value.field == "body.0.timeInterval.start"
