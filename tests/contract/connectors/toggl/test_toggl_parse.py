"""Toggl Track time-entry events → ``time_entry.logged`` / ``time_entry.deleted``
(recorded deliveries; the deleted one follows the same envelope, its payload is assumed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.toggl import CONNECTOR, hours_of
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import Subject
from autoinvoice.services.connectors import SourceConfig, SourceSecrets

HERE = Path(__file__).parent
CONFIG = SourceConfig(name="toggl")


def body(name: str) -> bytes:
    return (HERE / name).read_bytes()


def test_an_updated_entry_is_logged_time_with_exact_hours() -> None:
    [event] = CONNECTOR.parse({}, body("time_entry_updated.json"), CONFIG)
    assert event.type == "time_entry.logged"
    assert event.subject is Subject.TIME_ENTRY
    assert event.external_id == "3095646709"
    assert event.dedupe_key == "toggl:10713:8256404788549451"
    assert event.fields["entry_id"] == "3095646709"
    assert event.fields["hours"] == "0.8336"  # 3001 s
    assert Decimal(event.fields["hours"]) == Decimal("0.8336")
    assert event.fields["day"] == "2023-08-22"
    assert event.fields["started_at"] == "2023-08-22T11:50:51+00:00"
    assert event.fields["description"] == "C2C-2 !!"
    assert event.fields["task"] == "C2C-2 !!"
    assert event.fields["billable"] is False
    assert event.fields["project_ref"] is None
    assert event.fields["person_ref"] == "9547721"
    assert event.fields["person"] == "user 9547721"
    assert event.fields["updated_at"] == "2023-08-22T12:43:35+00:00"
    assert event.version == datetime(2023, 8, 22, 12, 43, 35, tzinfo=UTC)
    assert event.occurred_at == datetime(2023, 8, 22, 12, 43, 35, 731000, tzinfo=UTC)


def test_a_created_billable_entry_names_its_project_and_person() -> None:
    config = SourceConfig(
        name="toggl",
        options={"timezone": "Pacific/Auckland", "people": {"9547721": "Aroha Ngata"}},
    )
    [event] = CONNECTOR.parse({}, body("time_entry_created_billable.json"), config)
    assert event.fields["hours"] == "1.5042"  # 5415 s = 1.504166… h
    assert event.fields["billable"] is True
    assert event.fields["project_ref"] == "193791204"
    assert event.fields["person"] == "Aroha Ngata"
    # 20:45 UTC on the 29th is already the 30th in Auckland.
    assert event.fields["day"] == "2023-09-30"


def test_a_running_entry_gives_nothing() -> None:
    assert CONNECTOR.parse({}, body("time_entry_created_running.json"), CONFIG) == []


def test_a_deleted_entry_is_deleted_time() -> None:
    [event] = CONNECTOR.parse({}, body("time_entry_deleted.json"), CONFIG)
    assert event.type == "time_entry.deleted"
    assert event.external_id == "3095646709"
    assert "hours" not in event.fields
    assert event.version == datetime(2023, 8, 22, 14, 2, 9, tzinfo=UTC)


def test_a_deletion_without_an_entry_falls_back_to_the_metadata_id() -> None:
    data = json.loads(body("time_entry_deleted.json"))
    data["payload"] = None
    [event] = CONNECTOR.parse({}, json.dumps(data).encode(), CONFIG)
    assert event.external_id == "3095646709"
    assert event.version == datetime(2023, 8, 22, 14, 2, 9, 455000, tzinfo=UTC)


def test_pings_and_other_models_give_nothing() -> None:
    assert CONNECTOR.parse({}, body("ping_validation.json"), CONFIG) == []
    data = json.loads(body("time_entry_updated.json"))
    data["metadata"]["model"] = "project"
    assert CONNECTOR.parse({}, json.dumps(data).encode(), CONFIG) == []


def test_hours_are_rounded_half_up_to_four_places() -> None:
    assert hours_of(5400) == "1.5000"
    assert hours_of(1) == "0.0003"  # 0.000277…
    assert hours_of(18) == "0.0050"


def test_an_unknown_time_zone_is_named() -> None:
    config = SourceConfig(name="toggl", options={"timezone": "Mars/Olympus_Mons"})
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, body("time_entry_updated.json"), config)
    assert caught.value.field == "config.options.timezone"


def test_an_event_without_created_at_names_the_field() -> None:
    data = json.loads(body("time_entry_updated.json"))
    del data["created_at"]
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, json.dumps(data).encode(), CONFIG)
    assert caught.value.field == "body.created_at"


def test_a_bad_start_time_names_the_field() -> None:
    data = json.loads(body("time_entry_updated.json"))
    data["payload"]["start"] = "yesterday"
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, json.dumps(data).encode(), CONFIG)
    assert caught.value.field == "body.payload.start"


def test_fetch_returns_the_event_unchanged() -> None:
    [event] = CONNECTOR.parse({}, body("time_entry_updated.json"), CONFIG)
    assert CONNECTOR.fetch(event, SourceSecrets(api_token="t"), CONFIG) is event
