"""Jira issue and version webhooks become canonical work events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.jira import CONNECTOR
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import WORK_CHANGED, WORK_COMPLETED, WORK_REOPENED, Subject
from autoinvoice.services.connectors import SourceConfig, SourceSecrets

HERE = Path(__file__).parent
CONFIG = SourceConfig(name="jira-acme")
DELIVERY = "5b3e6a1c-8f2d-4e7b-9c0a-1d2e3f4a5b6c"
HEADERS = {"x-atlassian-webhook-identifier": DELIVERY, "content-type": "application/json"}


def body(name: str) -> bytes:
    return (HERE / name).read_bytes()


def test_an_issue_moved_to_done_is_a_completed_task() -> None:
    (event,) = CONNECTOR.parse(HEADERS, body("issue_updated_done.json"), CONFIG)
    assert event.type == WORK_COMPLETED
    assert event.subject == Subject.TASK
    assert event.external_id == "10342"
    assert event.dedupe_key == f"jira:{DELIVERY}"
    assert event.occurred_at == datetime(2024, 6, 4, 7, 20, 11, 822000, tzinfo=UTC)
    assert event.version == event.occurred_at
    assert event.needs_fetch is False
    assert event.fields == {
        "project_ref": "WEB",
        "project_name": "Website Relaunch Acme",
        "key": "WEB-42",
        "title": "Implement checkout page",
        "status": "Done",
        "status_category": "done",
        "labels": ["billable", "phase-2"],
        "url": "https://acme-it.atlassian.net/browse/WEB-42",
    }
    assert event.raw == json.loads(body("issue_updated_done.json"))


def test_an_epic_moved_to_done_is_a_completed_milestone() -> None:
    (event,) = CONNECTOR.parse(HEADERS, body("epic_updated_done.json"), CONFIG)
    assert event.type == WORK_COMPLETED
    assert event.subject == Subject.MILESTONE
    assert event.fields["key"] == "WEB-7"


def test_an_issue_moved_out_of_done_is_reopened() -> None:
    (event,) = CONNECTOR.parse(HEADERS, body("issue_updated_reopened.json"), CONFIG)
    assert event.type == WORK_REOPENED
    assert event.fields["status_category"] == "indeterminate"
    assert event.version == datetime(2024, 6, 5, 7, 20, 11, tzinfo=UTC)


def test_leaving_a_configured_done_status_without_resolution_is_reopened() -> None:
    payload = json.loads(body("issue_updated_reopened.json"))
    items = payload["changelog"]["items"]
    payload["changelog"]["items"] = [i for i in items if i["field"] == "status"]
    payload["changelog"]["items"][0]["fromString"] = "Shipped"
    raw = json.dumps(payload).encode()
    (plain,) = CONNECTOR.parse(HEADERS, raw, CONFIG)
    assert plain.type == WORK_CHANGED
    config = SourceConfig(name="jira", options={"done_statuses": ["Shipped"]})
    (event,) = CONNECTOR.parse(HEADERS, raw, config)
    assert event.type == WORK_REOPENED


def test_an_edit_that_does_not_move_the_status_is_a_change() -> None:
    (event,) = CONNECTOR.parse(HEADERS, body("issue_updated_summary.json"), CONFIG)
    assert event.type == WORK_CHANGED
    assert event.fields["status_category"] == "done"
    assert event.fields["title"] == "Implement checkout page (guest + account)"


def test_a_released_version_is_a_completed_milestone_of_the_project_id() -> None:
    (event,) = CONNECTOR.parse(HEADERS, body("version_released.json"), CONFIG)
    assert event.type == WORK_COMPLETED
    assert event.subject == Subject.MILESTONE
    assert event.external_id == "10021"
    assert event.version == datetime(2024, 6, 6, 9, 0, 0, 123000, tzinfo=UTC)
    assert event.fields["title"] == "Phase 2"
    assert event.fields["project_ref"] == "10004"
    assert event.fields["status_category"] == "done"
    assert event.fields["url"] == "https://acme-it.atlassian.net/rest/api/2/version/10021"


def test_an_unreleased_version_is_reopened() -> None:
    payload = json.loads(body("version_released.json"))
    payload["webhookEvent"] = "jira:version_unreleased"
    payload["version"]["released"] = False
    (event,) = CONNECTOR.parse(HEADERS, json.dumps(payload).encode(), CONFIG)
    assert event.type == WORK_REOPENED


def test_without_a_delivery_header_the_changelog_id_dedupes() -> None:
    (event,) = CONNECTOR.parse({}, body("issue_updated_done.json"), CONFIG)
    assert event.dedupe_key == "jira:changelog:10681"
    (version,) = CONNECTOR.parse({}, body("version_released.json"), CONFIG)
    assert version.dedupe_key.startswith("jira:") and len(version.dedupe_key) > 20


def test_mapped_fields_are_read_from_the_issue() -> None:
    config = SourceConfig(name="jira", field_map={"due": "fields.duedate"})
    (event,) = CONNECTOR.parse(HEADERS, body("issue_updated_done.json"), config)
    assert event.fields["due"] == "2024-06-07"


def test_comments_give_nothing() -> None:
    assert CONNECTOR.parse(HEADERS, body("comment_created.json"), CONFIG) == []


def test_an_issue_without_status_category_names_the_path() -> None:
    payload = json.loads(body("issue_updated_done.json"))
    del payload["issue"]["fields"]["status"]["statusCategory"]
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(HEADERS, json.dumps(payload).encode(), CONFIG)
    assert caught.value.field == "body.issue.fields.status.statusCategory.key"


def test_a_body_without_event_name_or_timestamp_names_the_path() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(HEADERS, b'{"issue": {}}', CONFIG)
    assert caught.value.field == "body.webhookEvent"
    payload = json.loads(body("version_released.json"))
    payload["timestamp"] = "soon"
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(HEADERS, json.dumps(payload).encode(), CONFIG)
    assert caught.value.field == "body.timestamp"


def test_malformed_json_is_refused() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(HEADERS, b"\xff\xfe", CONFIG)
    assert caught.value.field == "body"


def test_fetch_has_nothing_to_add() -> None:
    (event,) = CONNECTOR.parse(HEADERS, body("issue_updated_done.json"), CONFIG)
    assert CONNECTOR.fetch(event, SourceSecrets(api_token="x"), CONFIG) is event
