"""Toggl Track API v9 polling (``GET /api/v9/me/time_entries?since=…``) against a local
server answering like api.track.toggl.com."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.connectors import poller
from autoinvoice.adapters.connectors.toggl import CONNECTOR, POLLER, poll_events
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import TIME_DELETED, TIME_LOGGED, Subject
from autoinvoice.services.connectors import (
    PollResult,
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    VendorUnavailable,
)
from vendor_api import VendorApi

HERE = Path(__file__).parent
TOKEN = "1971800d4d82861d8f2c1651fea4d212"
SECRETS = SourceSecrets(api_token=TOKEN)
NOW = datetime(2024, 3, 7, 12, 0, tzinfo=UTC)
PATH = "/api/v9/me/time_entries"
ENTRIES: list[dict[str, Any]] = json.loads((HERE / "api_me_time_entries.json").read_text())


def config(api: VendorApi, **options: Any) -> SourceConfig:
    return SourceConfig(name="toggl", api_base=api.url, options=options)


def poll(entries: Any, cursor: str | None = "2024-03-05T00:00:00Z", **options: Any) -> Any:
    with VendorApi({("GET", PATH): entries}) as api:
        result = POLLER.poll(SECRETS, config(api, **options), cursor, now=NOW)
    return result, api.requests


def test_the_registry_names_the_toggl_poller() -> None:
    assert poller("toggl") is POLLER
    assert POLLER.kind == "toggl"


def test_stopped_entries_become_logged_time_with_exact_hours() -> None:
    result, _ = poll(ENTRIES)
    logged = [e for e in result.events if e.type == TIME_LOGGED]
    assert [e.external_id for e in logged] == ["3291844071", "3291907735"]
    first = logged[0]
    assert first.subject is Subject.TIME_ENTRY
    assert first.dedupe_key == "toggl:poll:3291844071:2024-03-05T10:17:27+00:00"
    assert first.version == datetime(2024, 3, 5, 10, 17, 27, tzinfo=UTC)
    assert first.occurred_at == first.version
    assert first.raw["tag_ids"] == [15420977]
    assert first.fields == {
        "entry_id": "3291844071",
        "hours": "2.2542",  # 8115 s = 2.254166… h
        "started_at": "2024-03-05T08:02:11+00:00",
        "day": "2024-03-05",
        "description": "API integration – order export",
        "task": "API integration – order export",
        "billable": True,
        "project_ref": "193791204",
        "project_name": "Nordwind Fleet Portal",
        "client_name": "Nordwind Logistik GmbH",
        "person_ref": "9547721",
        "person": "user 9547721",
        "updated_at": "2024-03-05T10:17:27+00:00",
    }
    assert logged[1].fields["hours"] == "0.3336"  # 1201 s
    assert logged[1].fields["project_ref"] is None
    assert "project_name" not in logged[1].fields


def test_a_deleted_entry_becomes_a_deletion() -> None:
    result, _ = poll(ENTRIES)
    [gone] = [e for e in result.events if e.type == TIME_DELETED]
    assert gone.external_id == "3290518824"
    assert gone.dedupe_key == "toggl:poll:3290518824:2024-03-05T16:21:40+00:00"
    assert gone.fields["entry_id"] == "3290518824"
    assert "hours" not in gone.fields


def test_a_running_entry_gives_no_event_but_moves_the_cursor() -> None:
    result, _ = poll(ENTRIES)
    assert "3292011450" not in {e.external_id for e in result.events}
    assert result.cursor == "2024-03-06T09:00:05Z"  # the running entry's `at` is the newest


def test_the_request_carries_basic_auth_and_since_in_unix_seconds() -> None:
    _, requests = poll(ENTRIES, "2024-03-05T00:00:00Z")
    [req] = requests
    expected = base64.b64encode(f"{TOKEN}:api_token".encode()).decode()
    assert req.path == PATH
    assert req.headers["authorization"] == f"Basic {expected}"
    # one second before the cursor: an entry changed within the cursor's second is re-read
    assert req.query["since"] == [str(int(datetime(2024, 3, 5, tzinfo=UTC).timestamp()) - 1)]
    assert req.query["meta"] == ["true"]


def test_the_first_poll_starts_now_and_bills_no_history_unless_asked() -> None:
    _, requests = poll([], None)
    assert requests[0].query["since"] == [str(int(NOW.timestamp()))]
    _, requests = poll([], None, since="2024-01-01")
    assert requests[0].query["since"] == [str(int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()))]


def test_nothing_new_keeps_the_old_cursor() -> None:
    result, _ = poll([], "2024-03-06T09:00:05Z")
    assert result == PollResult(events=[], cursor="2024-03-06T09:00:05Z")
    first, _ = poll([], None)
    assert first == PollResult(events=[], cursor=None)


def test_polling_again_from_the_cursor_repeats_the_same_keys() -> None:
    once, _ = poll(ENTRIES)
    again, _ = poll(ENTRIES, once.cursor)
    assert [e.dedupe_key for e in again.events] == [e.dedupe_key for e in once.events]
    assert again.cursor == once.cursor


def test_a_poll_and_a_webhook_of_the_same_change_share_the_version() -> None:
    delivery = (HERE / "time_entry_updated.json").read_bytes()
    [hooked] = CONNECTOR.parse({}, delivery, SourceConfig(name="toggl"))
    entry = json.loads(delivery)["payload"]
    [polled] = poll([entry])[0].events
    assert polled.version == hooked.version
    assert polled.dedupe_key != hooked.dedupe_key
    assert polled.fields["hours"] == hooked.fields["hours"] == "0.8336"
    assert polled.fields["day"] == hooked.fields["day"]


def test_field_map_reads_the_entry_as_the_webhook_payload() -> None:
    cfg = SourceConfig(name="toggl", field_map={"tags": "payload.tags"})
    events, _ = poll_events(ENTRIES, cfg)
    assert events[0].fields["tags"] == ["backend"]


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_rate_limits_are_temporary(status: int) -> None:
    with pytest.raises(VendorUnavailable):
        poll((status, {"error": "busy"}))


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_permanent_and_not_echoed(status: int) -> None:
    with pytest.raises(VendorRefused) as err:
        poll((status, "Incorrect username and/or password"))
    assert TOKEN not in str(err.value)


def test_an_unreachable_api_is_temporary() -> None:
    with VendorApi() as api:
        cfg = config(api)
    with pytest.raises(VendorUnavailable) as err:
        POLLER.poll(SECRETS, cfg, None, now=NOW)
    assert TOKEN not in str(err.value)


def test_a_source_without_a_token_is_refused() -> None:
    cfg = SourceConfig(name="toggl", api_base="http://127.0.0.1:9")
    with pytest.raises(VendorRefused, match="API token"):
        POLLER.poll(SourceSecrets(), cfg, None, now=NOW)


def test_an_answer_that_is_not_a_list_names_the_body() -> None:
    with pytest.raises(InvalidValue) as err:
        poll_events({"data": []}, SourceConfig(name="toggl"))
    assert err.value.field == "body"


def test_an_entry_without_at_names_its_path() -> None:
    broken = copy.deepcopy(ENTRIES)
    del broken[1]["at"]
    with pytest.raises(InvalidValue) as err:
        poll_events(broken, SourceConfig(name="toggl"))
    assert err.value.field == "body.1.at"


def test_a_bad_start_names_its_path() -> None:
    broken = copy.deepcopy(ENTRIES)
    broken[0]["start"] = "yesterday morning"
    with pytest.raises(InvalidValue) as err:
        poll_events(broken, SourceConfig(name="toggl"))
    assert err.value.field == "body.0.start"
