"""Our documented generic event format → canonical events, with errors that say where."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.connectors.generic import CONNECTOR
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import Subject
from autoinvoice.services.connectors import SourceConfig, SourceSecrets

HERE = Path(__file__).parent
BATCH = (HERE / "events_batch.json").read_bytes()
CONFIG = SourceConfig(name="generic")


def broken(change: Any) -> bytes:
    data = json.loads(BATCH)
    change(data)
    return json.dumps(data).encode()


def field_of(body: bytes) -> str | None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, body, CONFIG)
    return caught.value.field


def test_a_batch_becomes_one_event_each() -> None:
    milestone, deal, time = CONNECTOR.parse({}, BATCH, CONFIG)
    assert milestone.type == "work.completed"
    assert milestone.subject is Subject.MILESTONE
    assert milestone.external_id == "M-7"
    assert milestone.dedupe_key == "generic:evt_01J9ZQ3V7K2M8X4T6R1B5N0C9D"
    assert milestone.occurred_at == datetime(2025, 3, 1, 9, 15, tzinfo=UTC)
    assert milestone.version == datetime(2025, 3, 1, 9, 14, 58, tzinfo=UTC)
    assert milestone.fields["labels"] == ["fixed-price", "phase-2"]
    assert deal.type == "deal.won"
    assert deal.external_id == "88412"
    assert Decimal(deal.fields["amount"]) == Decimal("12000.00")
    assert deal.version is None
    assert time.fields["hours"] == "2.75"
    assert time.raw["id"] == "evt_01J9ZQ5F8B3D6G9J2L5N7Q0R4U"


def test_a_single_event_body_is_accepted() -> None:
    [event] = CONNECTOR.parse({}, (HERE / "event_single.json").read_bytes(), CONFIG)
    assert event.type == "work.reopened"
    assert event.fields == {"title": "Phase 2 – design sign-off", "project_ref": "ACME-WEB"}


def test_an_empty_batch_gives_nothing() -> None:
    assert CONNECTOR.parse({}, b'{"events": []}', CONFIG) == []


def test_configured_extra_fields_are_read_from_the_event() -> None:
    config = SourceConfig(name="generic", field_map={"po_number": "fields.po"})
    body = broken(lambda d: d["events"][0]["fields"].update(po="PO-2025-118"))
    event = CONNECTOR.parse({}, body, config)[0]
    assert event.fields["po_number"] == "PO-2025-118"


def test_an_unknown_type_names_its_place() -> None:
    body = broken(lambda d: d["events"][2].update(type="time_entry.created"))
    assert field_of(body) == "body.events.2.type"


def test_a_subject_that_does_not_fit_the_type_names_its_place() -> None:
    body = broken(lambda d: d["events"][1].update(subject="task"))
    assert field_of(body) == "body.events.1.subject"


def test_a_missing_id_names_its_place() -> None:
    body = broken(lambda d: d["events"][0].pop("id"))
    assert field_of(body) == "body.events.0.id"


def test_an_occurrence_without_a_zone_names_its_place() -> None:
    body = broken(lambda d: d["events"][0].update(occurred_at="2025-03-01T10:15:00"))
    assert field_of(body) == "body.events.0.occurred_at"


def test_an_amount_sent_as_a_json_number_is_refused() -> None:
    body = broken(lambda d: d["events"][1]["fields"].update(amount=12000.1))
    with pytest.raises(InvalidValue, match="decimal string") as caught:
        CONNECTOR.parse({}, body, CONFIG)
    assert caught.value.field == "body.events.1.fields.amount"


def test_hours_that_are_not_a_number_are_refused() -> None:
    body = broken(lambda d: d["events"][2]["fields"].update(hours="two and a half"))
    assert field_of(body) == "body.events.2.fields.hours"


def test_a_day_that_is_not_a_date_is_refused() -> None:
    body = broken(lambda d: d["events"][2]["fields"].update(day="01.03.2025"))
    assert field_of(body) == "body.events.2.fields.day"


def test_a_billable_flag_that_is_not_a_boolean_is_refused() -> None:
    body = broken(lambda d: d["events"][2]["fields"].update(billable="yes"))
    assert field_of(body) == "body.events.2.fields.billable"


def test_an_empty_external_id_names_its_place() -> None:
    body = broken(lambda d: d["events"][0].update(external_id=" "))
    assert field_of(body) == "body.events.0.external_id"


def test_fields_that_are_not_an_object_are_refused() -> None:
    body = broken(lambda d: d["events"][0].update(fields=["title"]))
    assert field_of(body) == "body.events.0.fields"


def test_events_that_are_not_a_list_are_refused() -> None:
    assert field_of(b'{"events": {"id": "x"}}') == "body.events"


def test_a_single_event_reports_errors_from_the_body() -> None:
    data = json.loads((HERE / "event_single.json").read_text())
    data["type"] = "milestone.done"
    assert field_of(json.dumps(data).encode()) == "body.type"


def test_a_body_that_is_not_json_names_the_body() -> None:
    assert field_of(b"type=work.completed") == "body"


def test_fetch_returns_the_event_unchanged() -> None:
    event = CONNECTOR.parse({}, BATCH, CONFIG)[0]
    assert CONNECTOR.fetch(event, SourceSecrets(), CONFIG) is event
