"""Reading the task back: ``GET /api/1.0/tasks/{gid}`` with a Bearer token settles whether
a completion change completed or reopened the task."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.asana import CONNECTOR, TASK_FIELDS
from autoinvoice.domain.events import Event
from autoinvoice.services.connectors import (
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    VendorUnavailable,
)
from vendor_api import VendorApi

HERE = Path(__file__).parent
BODY = (HERE / "asana_task_events.json").read_bytes()
TASK = json.loads((HERE / "api_task_completed.json").read_text())
PATH = "/api/1.0/tasks/1207431964551023"
SECRETS = SourceSecrets(signing_secret="hook", api_token="2/1202178852626547/1207:9c1e0f")


def completion_event() -> Event:
    return CONNECTOR.parse({}, BODY, SourceConfig(name="asana"))[0]


def test_a_completed_task_is_completed_work_with_its_project_tags_and_link() -> None:
    with VendorApi({("GET", PATH): TASK}) as api:
        config = SourceConfig(name="asana", api_base=api.url)
        event = CONNECTOR.fetch(completion_event(), SECRETS, config)
    [call] = api.requests
    assert call.headers["authorization"] == "Bearer 2/1202178852626547/1207:9c1e0f"
    assert call.query["opt_fields"] == [TASK_FIELDS]
    assert event.type == "work.completed"
    assert not event.needs_fetch
    assert event.fields["title"] == "Design review – phase 2"
    assert event.fields["project_ref"] == "1207431964550871"
    assert event.fields["project_name"] == "ACME website relaunch"
    assert event.fields["labels"] == ["billable", "phase-2"]
    assert event.fields["status"] == "Done"
    assert event.fields["url"] == "https://app.asana.com/0/1207431964550871/1207431964551023"
    assert event.version == datetime(2024, 5, 30, 14, 3, 47, 905000, tzinfo=UTC)


def test_a_task_found_incomplete_is_reopened_work() -> None:
    reopened = {"data": {**TASK["data"], "completed": False, "completed_at": None}}
    with VendorApi({("GET", PATH): reopened}) as api:
        event = CONNECTOR.fetch(completion_event(), SECRETS, SourceConfig("a", api_base=api.url))
    assert event.type == "work.reopened"
    assert event.fields["status_category"] == "open"


def test_configured_fields_are_read_from_the_task() -> None:
    with VendorApi({("GET", PATH): TASK}) as api:
        config = SourceConfig("a", api_base=api.url, field_map={"done_at": "completed_at"})
        event = CONNECTOR.fetch(completion_event(), SECRETS, config)
    assert event.fields["done_at"] == "2024-05-30T14:02:11.210Z"


def test_an_event_that_needs_no_fetch_is_returned_as_is() -> None:
    changed = CONNECTOR.parse({}, BODY, SourceConfig(name="asana"))[1]
    assert (
        CONNECTOR.fetch(changed, SECRETS, SourceConfig("a", api_base="http://127.0.0.1:9"))
        is changed
    )


def test_a_server_error_means_try_again_later() -> None:
    down = (503, {"errors": [{"message": "down"}]})
    with VendorApi({("GET", PATH): down}) as api, pytest.raises(VendorUnavailable):
        CONNECTOR.fetch(completion_event(), SECRETS, SourceConfig("a", api_base=api.url))


def test_a_refused_token_is_not_retried_and_not_repeated() -> None:
    answer = (401, {"errors": [{"message": "Not Authorized"}]})
    with VendorApi({("GET", PATH): answer}) as api, pytest.raises(VendorRefused) as caught:
        CONNECTOR.fetch(completion_event(), SECRETS, SourceConfig("a", api_base=api.url))
    assert "9c1e0f" not in str(caught.value)


def test_without_an_api_token_the_fetch_is_refused() -> None:
    with pytest.raises(VendorRefused, match="no Asana API token"):
        CONNECTOR.fetch(completion_event(), SourceSecrets(signing_secret="h"), SourceConfig("a"))
