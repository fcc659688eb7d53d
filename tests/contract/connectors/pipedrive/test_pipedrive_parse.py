"""Pipedrive webhooks v2 deal bodies become canonical deal events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.pipedrive import CONNECTOR
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import DEAL_CHANGED, DEAL_LOST, DEAL_WON, Subject
from autoinvoice.services.connectors import SourceConfig, SourceSecrets

HERE = Path(__file__).parent
CONFIG = SourceConfig(name="pipedrive-main")


def body(name: str) -> bytes:
    return (HERE / name).read_bytes()


def test_a_deal_changed_to_won_is_a_won_deal_with_its_fields() -> None:
    (event,) = CONNECTOR.parse({}, body("change_deal_won.json"), CONFIG)
    assert event.type == DEAL_WON
    assert event.subject == Subject.DEAL
    assert event.external_id == "1187"
    assert event.needs_fetch is False
    assert event.dedupe_key == "pipedrive:b6f2a8e4-3c1d-4f7a-9e2b-8d5c6a7f1e30"
    assert event.occurred_at == datetime(2024, 9, 27, 14, 25, 28, 412000, tzinfo=UTC)
    assert event.version == datetime(2024, 9, 27, 14, 25, 28, tzinfo=UTC)
    assert event.fields == {
        "deal_id": "1187",
        "name": "Managed hosting 2025 – Nordlicht AG",
        "amount": "18400.75",
        "currency": "EUR",
        "stage": "5",
        "pipeline": "1",
        "status": "won",
        "close_date": "2024-09-27",
        "client_ref": "412",
    }
    assert event.raw == json.loads(body("change_deal_won.json"))


def test_editing_an_already_won_deal_is_only_a_change() -> None:
    (event,) = CONNECTOR.parse({}, body("change_deal_title_of_won_deal.json"), CONFIG)
    assert event.type == DEAL_CHANGED
    assert event.fields["status"] == "won"
    assert event.fields["name"] == "Managed hosting 2025 (3 sites) – Nordlicht AG"
    # meta.timestamp as the documented 10-character Unix time
    assert event.occurred_at == datetime(2024, 9, 28, 7, 1, 2, tzinfo=UTC)


def test_a_deal_created_as_won_is_a_won_deal() -> None:
    payload = json.loads(body("change_deal_won.json"))
    payload["meta"]["action"] = "create"
    payload["previous"] = None
    (event,) = CONNECTOR.parse({}, json.dumps(payload).encode(), CONFIG)
    assert event.type == DEAL_WON


def test_a_deal_changed_to_lost_is_a_lost_deal() -> None:
    (event,) = CONNECTOR.parse({}, body("change_deal_lost.json"), CONFIG)
    assert event.type == DEAL_LOST
    assert event.fields["amount"] == "9600"
    assert event.fields["currency"] == "CHF"
    assert event.fields["close_date"] == "2024-09-30"


def test_custom_fields_are_mapped_by_path() -> None:
    config = SourceConfig(
        name="pd", field_map={"po_number": "custom_fields.8f4b27fbd737c6a4c3f6a3a8a8e3b5a1d2c3e4f5"}
    )
    (event,) = CONNECTOR.parse({}, body("change_deal_won.json"), config)
    assert event.fields["po_number"] == "PO-7781"


def test_other_entities_and_deletions_give_nothing() -> None:
    assert CONNECTOR.parse({}, body("create_person.json"), CONFIG) == []
    payload = json.loads(body("change_deal_won.json"))
    payload["meta"]["action"] = "delete"
    payload["previous"], payload["data"] = payload["data"], None
    assert CONNECTOR.parse({}, json.dumps(payload).encode(), CONFIG) == []


def test_a_v1_body_is_refused_with_a_hint() -> None:
    with pytest.raises(InvalidValue, match=r"version 2\.0") as caught:
        CONNECTOR.parse({}, body("v1_updated_deal.json"), CONFIG)
    assert caught.value.field == "body.meta.version"


def test_a_body_without_meta_names_the_path() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, b'{"data": {}}', CONFIG)
    assert caught.value.field == "body.meta"


def test_a_bad_amount_names_the_path() -> None:
    payload = json.loads(body("change_deal_won.json"))
    payload["data"]["value"] = "lots"
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, json.dumps(payload).encode(), CONFIG)
    assert caught.value.field == "body.data.value"


def test_a_bad_timestamp_names_the_path() -> None:
    payload = json.loads(body("change_deal_won.json"))
    payload["meta"]["timestamp"] = "last tuesday"
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, json.dumps(payload).encode(), CONFIG)
    assert caught.value.field == "body.meta.timestamp"


def test_malformed_json_is_refused() -> None:
    with pytest.raises(InvalidValue) as caught:
        CONNECTOR.parse({}, b"{meta", CONFIG)
    assert caught.value.field == "body"


def test_without_an_event_id_the_dedupe_key_is_a_digest_of_the_change() -> None:
    payload = json.loads(body("change_deal_won.json"))
    del payload["meta"]["id"]
    (first,) = CONNECTOR.parse({}, json.dumps(payload).encode(), CONFIG)
    (again,) = CONNECTOR.parse({}, json.dumps(payload).encode(), CONFIG)
    assert first.dedupe_key == again.dedupe_key
    assert first.dedupe_key.startswith("pipedrive:")


def test_fetch_has_nothing_to_add() -> None:
    (event,) = CONNECTOR.parse({}, body("change_deal_won.json"), CONFIG)
    assert CONNECTOR.fetch(event, SourceSecrets(api_token="x"), CONFIG) is event
