"""Asana compact events → canonical work events (a completion needs the task read back)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.asana import CONNECTOR
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import Subject
from autoinvoice.services.connectors import SourceConfig

HERE = Path(__file__).parent
BODY = (HERE / "asana_task_events.json").read_bytes()
CONFIG = SourceConfig(name="asana")


def test_a_completion_change_becomes_an_event_that_must_be_fetched() -> None:
    completed, *_ = CONNECTOR.parse({}, BODY, CONFIG)
    assert completed.needs_fetch
    assert completed.subject is Subject.TASK
    assert completed.external_id == "1207431964551023"
    assert completed.occurred_at == datetime(2024, 5, 30, 14, 2, 11, 318000, tzinfo=UTC)
    assert completed.raw["change"] == {"field": "completed", "action": "changed"}


def test_other_task_changes_are_work_changed_without_a_fetch() -> None:
    _, assignee, _ = CONNECTOR.parse({}, BODY, CONFIG)
    assert assignee.type == "work.changed"
    assert not assignee.needs_fetch
    assert assignee.version == datetime(2024, 5, 30, 14, 3, 47, 905000, tzinfo=UTC)


def test_a_milestone_task_is_a_milestone() -> None:
    *_, milestone = CONNECTOR.parse({}, BODY, CONFIG)
    assert milestone.subject is Subject.MILESTONE
    assert milestone.external_id == "1207431964551180"
    assert milestone.needs_fetch


def test_stories_and_deleted_tasks_give_no_event() -> None:
    ids = [e.external_id for e in CONNECTOR.parse({}, BODY, CONFIG)]
    assert "1207432011834470" not in ids  # the story
    assert "1207431964551311" not in ids  # the deleted task
    assert len(ids) == 3


def test_a_heartbeat_gives_nothing() -> None:
    assert CONNECTOR.parse({}, (HERE / "asana_heartbeat.json").read_bytes(), CONFIG) == []


def test_dedupe_keys_are_stable_and_tell_events_apart() -> None:
    first = [e.dedupe_key for e in CONNECTOR.parse({}, BODY, CONFIG)]
    again = [e.dedupe_key for e in CONNECTOR.parse({}, BODY, CONFIG)]
    assert first == again
    assert len(set(first)) == 3
    assert all(key.startswith("asana:") for key in first)


def test_an_event_without_created_at_names_its_place() -> None:
    data = json.loads(BODY)
    del data["events"][2]["created_at"]
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, json.dumps(data).encode(), CONFIG)
    assert caught.value.field == "body.events.2.created_at"


def test_a_body_without_events_is_refused() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, b'{"data": []}', CONFIG)
    assert caught.value.field == "body.events"


def test_a_body_that_is_not_json_names_the_body() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, b"events=[]", CONFIG)
    assert caught.value.field == "body"
