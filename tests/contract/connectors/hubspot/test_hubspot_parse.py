"""HubSpot webhook batches become canonical deal events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.hubspot import CONNECTOR
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import DEAL_CHANGED, DEAL_LOST, DEAL_WON, Subject
from autoinvoice.services.connectors import SourceConfig

HERE = Path(__file__).parent
CONFIG = SourceConfig(name="hubspot-main")
HEADERS = {"content-type": "application/json"}


def body(name: str) -> bytes:
    return (HERE / name).read_bytes()


def test_a_deal_moved_to_closedwon_is_a_won_deal_that_needs_its_record() -> None:
    events = CONNECTOR.parse(HEADERS, body("deal_propertychange_batch.json"), CONFIG)
    won = events[0]
    assert won.type == DEAL_WON
    assert won.subject == Subject.DEAL
    assert won.external_id == "15829386542"
    assert won.needs_fetch is True
    assert won.fields["deal_id"] == "15829386542"
    assert won.fields["stage"] == "closedwon"
    assert won.fields["status"] == "won"
    assert won.occurred_at == datetime(2024, 5, 31, 9, 12, 44, 118000, tzinfo=UTC)
    assert won.version == won.occurred_at
    assert won.dedupe_key == "hubspot:62515:2381724:1862839104:15829386542:1717146764118"
    assert won.raw == json.loads(body("deal_propertychange_batch.json"))[0]


def test_another_deal_property_change_is_a_changed_deal_and_contacts_are_ignored() -> None:
    events = CONNECTOR.parse(HEADERS, body("deal_propertychange_batch.json"), CONFIG)
    assert [e.type for e in events] == [DEAL_WON, DEAL_CHANGED]
    changed = events[1]
    assert changed.needs_fetch is False
    assert "stage" not in changed.fields
    assert changed.dedupe_key != events[0].dedupe_key


def test_a_generic_deal_property_change_to_closedlost_is_a_lost_deal() -> None:
    events = CONNECTOR.parse(HEADERS, body("object_propertychange_deal_lost.json"), CONFIG)
    assert len(events) == 1  # the ticket (0-5) event is not about a deal
    lost = events[0]
    assert lost.type == DEAL_LOST
    assert lost.external_id == "15829390001"
    assert lost.fields["status"] == "lost"
    assert lost.needs_fetch is False


def test_won_and_lost_stages_come_from_the_source_options() -> None:
    config = SourceConfig(
        name="hs", options={"won_stages": ["appointmentscheduled"], "lost_stages": ["closedwon"]}
    )
    events = CONNECTOR.parse(HEADERS, body("deal_propertychange_batch.json"), config)
    assert events[0].type == DEAL_LOST


def test_a_stage_that_is_neither_won_nor_lost_is_an_open_changed_deal() -> None:
    batch = json.loads(body("deal_propertychange_batch.json"))[:1]
    batch[0]["propertyValue"] = "contractsent"
    (event,) = CONNECTOR.parse(HEADERS, json.dumps(batch).encode(), CONFIG)
    assert event.type == DEAL_CHANGED
    assert event.fields["status"] == "open"


def test_a_deal_creation_is_a_changed_deal() -> None:
    (event,) = CONNECTOR.parse(HEADERS, body("deal_creation.json"), CONFIG)
    assert event.type == DEAL_CHANGED
    assert event.needs_fetch is False


def test_irrelevant_events_give_nothing() -> None:
    assert CONNECTOR.parse(HEADERS, body("contact_creation.json"), CONFIG) == []
    assert CONNECTOR.parse(HEADERS, b"[]", CONFIG) == []


def test_mapped_fields_are_read_from_the_event() -> None:
    config = SourceConfig(name="hs", field_map={"hubspot_source": "changeSource"})
    events = CONNECTOR.parse(HEADERS, body("deal_propertychange_batch.json"), config)
    assert events[0].fields["hubspot_source"] == "CRM_UI"


def test_a_body_that_is_not_an_array_is_refused() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(HEADERS, b'{"eventId": 1}', CONFIG)
    assert caught.value.field == "body"


def test_malformed_json_is_refused() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(HEADERS, b"[{", CONFIG)
    assert caught.value.field == "body"


def test_an_event_without_object_id_names_the_path() -> None:
    batch = json.loads(body("deal_propertychange_batch.json"))
    del batch[1]["objectId"]
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(HEADERS, json.dumps(batch).encode(), CONFIG)
    assert caught.value.field == "body.1.objectId"


def test_an_event_with_a_bad_timestamp_names_the_path() -> None:
    batch = json.loads(body("deal_propertychange_batch.json"))
    batch[0]["occurredAt"] = "yesterday"
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse(HEADERS, json.dumps(batch).encode(), CONFIG)
    assert caught.value.field == "body.0.occurredAt"
