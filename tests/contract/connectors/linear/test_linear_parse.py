"""Linear issue and project webhooks become canonical work events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.linear import CONNECTOR
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import WORK_CHANGED, WORK_COMPLETED, WORK_REOPENED, Subject
from autoinvoice.services.connectors import SourceConfig, SourceSecrets

HERE = Path(__file__).parent
CONFIG = SourceConfig(name="linear-nordlicht")
HEADERS = {"linear-delivery": "234d1a4e-b617-4388-90fe-adc3633d6b72", "linear-event": "Issue"}


def body(name: str) -> bytes:
    return (HERE / name).read_bytes()


def test_an_issue_moved_to_a_completed_state_is_a_completed_task() -> None:
    (event,) = CONNECTOR.parse(HEADERS, body("issue_update_completed.json"), CONFIG)
    assert event.type == WORK_COMPLETED
    assert event.subject == Subject.TASK
    assert event.external_id == "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
    assert event.version == datetime(2024, 6, 4, 9, 20, 11, 822000, tzinfo=UTC)
    assert event.occurred_at == event.version
    assert event.needs_fetch is False
    assert event.fields == {
        "project_ref": "NOR",
        "project_name": "Customer portal 2.0",
        "linear_project_id": "f4a5b6c7-d8e9-4f0a-1b2c-3d4e5f6a7b8c",
        "key": "NOR-128",
        "title": "Migrate invoices export to the new API",
        "status": "Done",
        "status_category": "completed",
        "labels": ["Billable", "Backend"],
        "url": "https://linear.app/nordlicht/issue/NOR-128/migrate-invoices-export-to-the-new-api",
    }
    assert event.raw == json.loads(body("issue_update_completed.json"))


def test_an_issue_moved_out_of_completed_is_reopened() -> None:
    (event,) = CONNECTOR.parse(HEADERS, body("issue_update_reopened.json"), CONFIG)
    assert event.type == WORK_REOPENED
    assert event.fields["status_category"] == "started"


def test_an_edit_of_a_completed_issue_is_only_a_change() -> None:
    (event,) = CONNECTOR.parse(HEADERS, body("issue_update_title.json"), CONFIG)
    assert event.type == WORK_CHANGED
    assert event.fields["title"] == "Migrate invoice export to the v2 API"


def test_a_completed_project_is_a_completed_project() -> None:
    (event,) = CONNECTOR.parse(HEADERS, body("project_update_completed.json"), CONFIG)
    assert event.type == WORK_COMPLETED
    assert event.subject == Subject.PROJECT
    assert event.external_id == "f4a5b6c7-d8e9-4f0a-1b2c-3d4e5f6a7b8c"
    assert event.fields["project_ref"] == "f4a5b6c7-d8e9-4f0a-1b2c-3d4e5f6a7b8c"
    assert event.fields["title"] == "Customer portal 2.0"
    assert event.fields["status"] == "Completed"
    assert event.fields["status_category"] == "completed"
    assert event.fields["team_ids"] == ["e3f4a5b6-c7d8-4e9f-0a1b-2c3d4e5f6a7b"]
    assert event.version == datetime(2024, 6, 28, 16, 45, 3, 1000, tzinfo=UTC)


def test_a_redelivery_has_the_same_dedupe_key_and_another_change_another() -> None:
    (first,) = CONNECTOR.parse(HEADERS, body("issue_update_completed.json"), CONFIG)
    (again,) = CONNECTOR.parse({}, body("issue_update_completed.json"), CONFIG)
    (other,) = CONNECTOR.parse(HEADERS, body("issue_update_title.json"), CONFIG)
    assert first.dedupe_key == again.dedupe_key
    assert first.dedupe_key.startswith("linear:")
    assert other.dedupe_key != first.dedupe_key


def test_mapped_fields_are_read_from_the_issue() -> None:
    config = SourceConfig(name="lin", field_map={"estimate": "estimate", "cycle": "cycle.number"})
    (event,) = CONNECTOR.parse(HEADERS, body("issue_update_completed.json"), config)
    assert event.fields["estimate"] == 3
    assert event.fields["cycle"] is None


def test_comments_and_removals_give_nothing() -> None:
    assert CONNECTOR.parse(HEADERS, body("comment_create.json"), CONFIG) == []
    payload = json.loads(body("issue_update_completed.json"))
    payload["action"] = "remove"
    assert CONNECTOR.parse(HEADERS, json.dumps(payload).encode(), CONFIG) == []


def test_an_issue_without_state_type_names_the_path() -> None:
    payload = json.loads(body("issue_update_completed.json"))
    del payload["data"]["state"]["type"]
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(HEADERS, json.dumps(payload).encode(), CONFIG)
    assert caught.value.field == "body.data.state.type"


def test_a_bad_updated_at_names_the_path() -> None:
    payload = json.loads(body("issue_update_completed.json"))
    payload["data"]["updatedAt"] = "yesterday"
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(HEADERS, json.dumps(payload).encode(), CONFIG)
    assert caught.value.field == "body.data.updatedAt"


def test_malformed_json_is_refused() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(HEADERS, b'{"type": "Issue",', CONFIG)
    assert caught.value.field == "body"


def test_fetch_has_nothing_to_add() -> None:
    (event,) = CONNECTOR.parse(HEADERS, body("issue_update_completed.json"), CONFIG)
    assert CONNECTOR.fetch(event, SourceSecrets(api_token="x"), CONFIG) is event
