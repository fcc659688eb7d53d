"""ClickUp ``taskStatusUpdated`` history items → task completed / reopened / changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.clickup import CONNECTOR
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import Event, Subject
from autoinvoice.services.connectors import SourceConfig

HERE = Path(__file__).parent
CONFIG = SourceConfig(name="clickup")


def parse(name: str) -> list[Event]:
    return CONNECTOR.parse({}, (HERE / name).read_bytes(), CONFIG)


def test_a_status_moved_to_a_closed_type_is_completed_work_that_needs_its_name() -> None:
    [event] = parse("status_closed.json")
    assert event.type == "work.completed"
    assert event.subject is Subject.TASK
    assert event.external_id == "1vj37mc"
    assert event.needs_fetch
    assert event.fields["project_ref"] == "162641062"
    assert event.fields["status"] == "complete"
    assert event.fields["status_category"] == "done"
    assert event.dedupe_key == "clickup:2800787326214176591"
    assert event.version == datetime(2022, 1, 21, 3, 34, 34, 284000, tzinfo=UTC)
    assert event.occurred_at == event.version


def test_a_done_type_counts_as_completion_too() -> None:
    data = json.loads((HERE / "status_closed.json").read_text())
    data["history_items"][0]["after"]["type"] = "done"
    [event] = CONNECTOR.parse({}, json.dumps(data).encode(), CONFIG)
    assert event.type == "work.completed"


def test_leaving_a_closed_status_is_reopened_work() -> None:
    [event] = parse("status_reopened.json")
    assert event.type == "work.reopened"
    assert not event.needs_fetch
    assert event.fields["status"] == "in progress"


def test_the_status_set_on_creation_is_only_a_change() -> None:
    [event] = parse("status_on_creation.json")
    assert event.type == "work.changed"
    assert event.fields["status"] == "to do"
    assert event.fields["status_category"] == "open"
    assert not event.needs_fetch


def test_other_clickup_events_give_nothing() -> None:
    assert parse("task_updated_content.json") == []


def test_a_history_item_without_a_date_names_its_place() -> None:
    data = json.loads((HERE / "status_closed.json").read_text())
    del data["history_items"][0]["date"]
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, json.dumps(data).encode(), CONFIG)
    assert caught.value.field == "body.history_items.0.date"


def test_a_body_without_a_task_id_names_the_field() -> None:
    data = json.loads((HERE / "status_closed.json").read_text())
    del data["task_id"]
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, json.dumps(data).encode(), CONFIG)
    assert caught.value.field == "body.task_id"


def test_a_body_that_is_not_json_names_the_body() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, b"\xff\xfe", CONFIG)
    assert caught.value.field == "body"
