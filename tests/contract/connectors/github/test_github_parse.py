"""GitHub milestone and issue events → canonical work events (octokit/webhooks payload
examples; ``issues_closed.json`` and ``milestone_opened.json`` are the octokit ``reopened``
and ``closed`` examples turned into a completed close and a reopen as the payload schemas
describe them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.github import CONNECTOR
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import Subject
from autoinvoice.services.connectors import SourceConfig, SourceSecrets

HERE = Path(__file__).parent
CONFIG = SourceConfig(name="gh")
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def headers(event: str, delivery: str | None = DELIVERY) -> dict[str, str]:
    out = {"x-github-event": event, "content-type": "application/json"}
    if delivery:
        out["x-github-delivery"] = delivery
    return out


def payload(name: str) -> bytes:
    return (HERE / name).read_bytes()


def test_a_closed_milestone_is_completed_work() -> None:
    [event] = CONNECTOR.parse(headers("milestone"), payload("milestone_closed.json"), CONFIG)
    assert event.type == "work.completed"
    assert event.subject is Subject.MILESTONE
    assert event.external_id == "4317517"
    assert event.dedupe_key == f"github:{DELIVERY}"
    assert event.fields["project_ref"] == "Codertocat/Hello-World"
    assert event.fields["title"] == "v1.0"
    assert event.fields["key"] == "1"
    assert event.fields["url"] == "https://github.com/Codertocat/Hello-World/milestone/1"
    assert event.fields["status_category"] == "done"
    assert event.version == datetime(2019, 5, 15, 15, 20, 18, tzinfo=UTC)
    assert event.raw["action"] == "closed"
    assert not event.needs_fetch


def test_a_milestone_opened_again_is_reopened_work() -> None:
    [event] = CONNECTOR.parse(headers("milestone"), payload("milestone_opened.json"), CONFIG)
    assert event.type == "work.reopened"
    assert event.external_id == "4317517"
    assert event.version == datetime(2019, 5, 16, 9, 2, 41, tzinfo=UTC)
    assert event.fields["status"] == "open"


def test_an_issue_closed_as_completed_is_completed_work_with_its_labels() -> None:
    [event] = CONNECTOR.parse(headers("issues"), payload("issues_closed.json"), CONFIG)
    assert event.type == "work.completed"
    assert event.subject is Subject.TASK
    assert event.external_id == "444500041"
    assert event.fields["key"] == "Codertocat/Hello-World#1"
    assert event.fields["title"] == "Spelling error in the README file"
    assert event.fields["labels"] == ["bug"]
    assert event.version == datetime(2021, 10, 11, 16, 40, 56, tzinfo=UTC)


def test_an_issue_closed_as_not_planned_is_only_a_change() -> None:
    data = json.loads(payload("issues_closed.json"))
    data["issue"]["state_reason"] = "not_planned"
    [event] = CONNECTOR.parse(headers("issues"), json.dumps(data).encode(), CONFIG)
    assert event.type == "work.changed"


def test_a_reopened_issue_is_reopened_work() -> None:
    [event] = CONNECTOR.parse(headers("issues"), payload("issues_reopened.json"), CONFIG)
    assert event.type == "work.reopened"
    assert event.fields["status"] == "open"


def test_ping_and_unrelated_events_give_nothing() -> None:
    assert CONNECTOR.parse(headers("ping"), payload("ping.json"), CONFIG) == []
    assert CONNECTOR.parse(headers("push"), b"{}", CONFIG) == []


def test_a_deleted_milestone_gives_nothing() -> None:
    data = json.loads(payload("milestone_closed.json"))
    data["action"] = "deleted"
    assert CONNECTOR.parse(headers("milestone"), json.dumps(data).encode(), CONFIG) == []


def test_without_a_delivery_header_the_dedupe_key_is_a_stable_digest() -> None:
    body = payload("milestone_closed.json")
    [one] = CONNECTOR.parse(headers("milestone", None), body, CONFIG)
    [two] = CONNECTOR.parse(headers("milestone", None), body, CONFIG)
    assert one.dedupe_key == two.dedupe_key
    assert one.dedupe_key.startswith("github:")


def test_configured_extra_fields_are_read_from_the_payload() -> None:
    config = SourceConfig(name="gh", field_map={"due_on": "milestone.due_on"})
    [event] = CONNECTOR.parse(headers("milestone"), payload("milestone_closed.json"), config)
    assert event.fields["due_on"] == "2019-05-23T07:00:00Z"


def test_a_milestone_without_a_title_names_the_field() -> None:
    data = json.loads(payload("milestone_closed.json"))
    del data["milestone"]["title"]
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(headers("milestone"), json.dumps(data).encode(), CONFIG)
    assert caught.value.field == "body.milestone.title"


def test_a_body_that_is_not_json_names_the_body() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(headers("milestone"), b'{"action": "closed",', CONFIG)
    assert caught.value.field == "body"


def test_a_missing_event_header_names_the_header() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, payload("milestone_closed.json"), CONFIG)
    assert caught.value.field == "headers.x-github-event"


def test_fetch_returns_the_event_unchanged() -> None:
    [event] = CONNECTOR.parse(headers("milestone"), payload("milestone_closed.json"), CONFIG)
    assert CONNECTOR.fetch(event, SourceSecrets(api_token="ghp_x"), CONFIG) is event
