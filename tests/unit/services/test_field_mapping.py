"""The field map of a source: checked before saving, previewed against a recorded body with
the source's real connector (pure parse, no network)."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

from autoinvoice.adapters.connectors import connector
from autoinvoice.services import field_mapping
from autoinvoice.services.connectors import SourceConfig
from autoinvoice.services.field_mapping import check_field_map, leaf_paths, preview_mapping

CONNECTORS = Path(__file__).parents[2] / "contract" / "connectors"


def _generic_body() -> bytes:
    event = json.loads((CONNECTORS / "generic" / "event_single.json").read_text())
    event["fields"]["po_number"] = "PO-4471"
    event["meta"] = {"buyer": {"cost_center": "CC-9"}}
    return json.dumps(event).encode()


def _preview(field_map: dict[str, str], body: bytes | None = None, kind: str = "generic"):  # type: ignore[no-untyped-def]
    return preview_mapping(
        connector(kind), {}, body or _generic_body(), SourceConfig("shop"), field_map
    )


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(field_mapping).failed == 0


def test_a_path_that_exists_shows_its_value_in_the_event() -> None:
    preview = _preview({"po_number": "fields.po_number", "cost_center": "meta.buyer.cost_center"})
    assert preview.error is None
    (event,) = preview.events
    rows = {r.name: r for r in event.mapped}
    assert rows["po_number"].found and rows["po_number"].value == "PO-4471"
    assert rows["cost_center"].value == "CC-9"
    assert event.fields["po_number"] == "PO-4471"
    assert event.type == "work.reopened"


def test_a_misspelt_path_is_not_found_and_the_closest_path_is_suggested() -> None:
    (event,) = _preview({"po_number": "fields.po_nmber"}).events
    (row,) = event.mapped
    assert not row.found
    assert row.suggestion == "fields.po_number"
    assert "po_number" not in event.fields


def test_the_record_paths_are_offered_relative_to_the_record_the_connector_reads() -> None:
    (event,) = _preview({}).events
    assert "fields.po_number" in event.paths
    assert "meta.buyer.cost_center" in event.paths
    assert "project_ref" in event.own  # filled by the connector itself


def test_hubspot_paths_are_read_from_each_webhook_item() -> None:
    body = (CONNECTORS / "hubspot" / "deal_propertychange_batch.json").read_bytes()
    preview = _preview({"source_of_change": "changeSource"}, body, "hubspot")
    assert preview.error is None and preview.events
    row = preview.events[0].mapped[0]
    assert row.found and row.value == "CRM_UI"
    assert "portalId" in preview.paths


def test_a_body_the_connector_refuses_gives_its_error() -> None:
    preview = _preview({}, b"{not json")
    assert preview.events == []
    assert preview.error and "not valid JSON" in preview.error


def test_field_names_must_be_identifiers_and_paths_well_formed() -> None:
    fmap, errors = check_field_map(
        [("po_number", "properties.po_number"), ("", ""), ("PO", "a..b"), ("x", "")]
    )
    assert fmap == {"po_number": "properties.po_number"}
    assert set(errors) == {"name-2", "path-2", "path-3"}


def test_a_field_the_connector_fills_is_only_overwritten_when_allowed() -> None:
    _, errors = check_field_map([("amount", "properties.amount")])
    assert "name-0" in errors and "filled by the connector" in errors["name-0"]
    fmap, errors = check_field_map([("amount", "properties.amount")], allow_override=True)
    assert fmap == {"amount": "properties.amount"} and not errors


def test_a_field_mapped_twice_is_refused() -> None:
    _, errors = check_field_map([("po", "a"), ("po", "b")])
    assert errors == {"name-1": "'po' is mapped twice"}


def test_leaf_paths_skip_keys_a_dotted_path_cannot_name() -> None:
    assert list(leaf_paths({"a b": 1, "x": [1, 2, 3, 4, 5]})) == ["x.0", "x.1", "x.2"]


def test_a_mapped_field_the_connector_fills_differently_is_pointed_out() -> None:
    (event,) = _preview({"project_ref": "meta.buyer.cost_center"}).events
    (row,) = event.mapped
    assert row.found and row.value == "CC-9"
    assert row.connector_value == "ACME-WEB"


def test_a_path_of_a_record_still_to_be_fetched_is_not_called_missing() -> None:
    body = (CONNECTORS / "hubspot" / "deal_propertychange_batch.json").read_bytes()
    preview = _preview({"po_number": "properties.po_number"}, body, "hubspot")
    won = next(e for e in preview.events if e.type == "deal.won")
    assert won.needs_fetch
    (row,) = won.mapped
    assert not row.found and row.deferred
