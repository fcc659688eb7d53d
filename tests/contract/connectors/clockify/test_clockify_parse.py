"""Clockify time-entry DTOs → ``time_entry.logged`` / ``time_entry.deleted``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.clockify import CONNECTOR
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import Event, Subject
from autoinvoice.services.connectors import SourceConfig, SourceSecrets

HERE = Path(__file__).parent
CONFIG = SourceConfig(name="clockify")


def parse(kind: str, name: str, config: SourceConfig = CONFIG) -> list[Event]:
    headers = {"clockify-webhook-event-type": kind, "clockify-signature": "token"}
    return CONNECTOR.parse(headers, (HERE / name).read_bytes(), config)


def with_duration(duration: str) -> bytes:
    data = json.loads((HERE / "new_time_entry.json").read_text())
    data["timeInterval"]["duration"] = duration
    return json.dumps(data).encode()


def test_a_new_time_entry_is_logged_time() -> None:
    [event] = parse("NEW_TIME_ENTRY", "new_time_entry.json")
    assert event.type == "time_entry.logged"
    assert event.subject is Subject.TIME_ENTRY
    assert event.external_id == "5f118c837db7a8637ffcaf36"
    assert event.fields["hours"] == "1.0000"
    assert event.fields["entry_id"] == "5f118c837db7a8637ffcaf36"
    assert event.fields["person"] == "User"
    assert event.fields["person_ref"] == "5ef1cf219f130f232cc34ddc"
    assert event.fields["task"] == "Task"
    assert event.fields["description"] == "Webhook Test Description"
    assert event.fields["billable"] is True
    assert event.fields["project_ref"] == "5f11849d4e759e12c40733d5"
    assert event.fields["project_name"] == "Project"
    assert event.fields["client_ref"] == "5f1183584e759e12c40733cb"
    assert event.fields["client_name"] == "Client"
    assert event.fields["day"] == "2020-07-17"
    assert event.fields["started_at"] == "2020-07-17T11:35:01+00:00"
    assert event.dedupe_key.startswith("clockify:")


def test_an_updated_entry_has_exact_hours_and_its_task_name() -> None:
    config = SourceConfig(name="clockify", options={"timezone": "Australia/Sydney"})
    [event] = parse("TIME_ENTRY_UPDATED", "time_entry_updated.json", config)
    assert event.type == "time_entry.logged"
    assert event.fields["hours"] == "2.9000"  # PT2H54M
    assert event.fields["task"] == "Consulting"
    assert event.fields["person"] == "Luke"
    assert event.fields["day"] == "2023-08-28"  # 15:48 in Sydney


def test_the_stamp_is_the_entrys_creation_time_from_its_object_id() -> None:
    [event] = parse("TIME_ENTRY_UPDATED", "time_entry_updated.json")
    assert event.version is None
    assert event.occurred_at == datetime.fromtimestamp(0x63B03060, tz=UTC)


def test_every_event_of_one_entry_carries_the_same_stamp() -> None:
    [logged] = parse("NEW_TIME_ENTRY", "new_time_entry.json")
    [deleted] = parse("TIME_ENTRY_DELETED", "time_entry_deleted.json")
    assert logged.stamp == deleted.stamp


def test_a_stopped_timer_is_logged_time() -> None:
    [event] = parse("TIMER_STOPPED", "new_time_entry.json")
    assert event.type == "time_entry.logged"


def test_a_running_timer_gives_nothing() -> None:
    assert parse("NEW_TIMER_STARTED", "new_timer_started.json") == []
    assert parse("TIME_ENTRY_UPDATED", "new_timer_started.json") == []


def test_a_deleted_entry_is_deleted_time_even_without_an_end() -> None:
    [event] = parse("TIME_ENTRY_DELETED", "time_entry_deleted.json")
    assert event.type == "time_entry.deleted"
    assert event.external_id == "5f118c837db7a8637ffcaf36"
    assert "hours" not in event.fields


def test_other_clockify_events_give_nothing() -> None:
    assert parse("NEW_PROJECT", "new_time_entry.json") == []


def test_the_same_delivery_gives_the_same_dedupe_key_and_a_change_a_new_one() -> None:
    [one] = parse("TIME_ENTRY_UPDATED", "new_time_entry.json")
    [again] = parse("TIME_ENTRY_UPDATED", "new_time_entry.json")
    [created] = parse("NEW_TIME_ENTRY", "new_time_entry.json")
    headers = {"clockify-webhook-event-type": "TIME_ENTRY_UPDATED"}
    [longer] = CONNECTOR.parse(headers, with_duration("PT1H15M"), CONFIG)
    assert one.dedupe_key == again.dedupe_key
    assert len({one.dedupe_key, created.dedupe_key, longer.dedupe_key}) == 3


@pytest.mark.parametrize(
    ("duration", "hours"),
    [("PT1H30M", "1.5000"), ("PT45M", "0.7500"), ("PT16S", "0.0044"), ("P1DT2H", "26.0000")],
)
def test_iso_durations_become_exact_hours(duration: str, hours: str) -> None:
    headers = {"clockify-webhook-event-type": "NEW_TIME_ENTRY"}
    [event] = CONNECTOR.parse(headers, with_duration(duration), CONFIG)
    assert event.fields["hours"] == hours


def test_a_malformed_duration_names_the_field() -> None:
    headers = {"clockify-webhook-event-type": "NEW_TIME_ENTRY"}
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(headers, with_duration("90 minutes"), CONFIG)
    assert caught.value.field == "body.timeInterval.duration"


def test_a_missing_event_type_header_names_the_header() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, (HERE / "new_time_entry.json").read_bytes(), CONFIG)
    assert caught.value.field == "headers.clockify-webhook-event-type"


def test_an_entry_without_a_start_names_the_field() -> None:
    data = json.loads((HERE / "new_time_entry.json").read_text())
    del data["timeInterval"]["start"]
    headers = {"clockify-webhook-event-type": "NEW_TIME_ENTRY"}
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(headers, json.dumps(data).encode(), CONFIG)
    assert caught.value.field == "body.timeInterval.start"


def test_fetch_returns_the_event_unchanged() -> None:
    [event] = parse("NEW_TIME_ENTRY", "new_time_entry.json")
    assert CONNECTOR.fetch(event, SourceSecrets(api_token="k"), CONFIG) is event
