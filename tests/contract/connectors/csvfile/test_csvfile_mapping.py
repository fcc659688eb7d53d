"""The saved column mapping: JSON round trip and validation that names what is wrong."""

from __future__ import annotations

import json
import re

import pytest

from autoinvoice.adapters.connectors.csvfile import ColumnMapping
from autoinvoice.domain.errors import InvalidValue

STORED = {
    "columns": {
        "person": "User",
        "hours": "Duration (decimal)",
        "day": "Start Date",
        "project_ref": "Project",
    },
    "date_format": "%m/%d/%Y",
    "decimal_comma": False,
    "delimiter": ",",
    "timezone": "America/New_York",
    "won_stages": [],
    "lost_stages": [],
}


def test_a_mapping_survives_a_json_round_trip() -> None:
    mapping = ColumnMapping.from_dict(json.loads(json.dumps(STORED)), kind="time_entries")
    assert mapping.to_dict() == STORED
    assert ColumnMapping.from_dict(mapping.to_dict()) == mapping


def test_defaults_fill_what_is_not_stored() -> None:
    mapping = ColumnMapping.from_dict({"columns": {"person": "User"}})
    assert (mapping.date_format, mapping.decimal_comma, mapping.delimiter, mapping.timezone) == (
        "%Y-%m-%d",
        False,
        ",",
        "UTC",
    )


def test_the_mapping_cannot_be_changed_behind_its_back() -> None:
    columns = {"person": "User"}
    mapping = ColumnMapping(columns=columns)
    columns["hours"] = "Hours"
    assert "hours" not in mapping.columns
    with pytest.raises(TypeError):
        mapping.columns["hours"] = "Hours"  # type: ignore[index]


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("time_entries", "no column for hours, day, project_ref (required for time entries)"),
        ("deals", "no column for deal_id, name, amount, client_ref or client_name"),
        ("invoices", "no column for number, client or client_name or client_ref, issue_date"),
    ],
)
def test_missing_required_fields_are_named(kind: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=re.escape(message)) as err:
        ColumnMapping.from_dict({"columns": {"person": "User"}}, kind=kind)
    assert err.value.field == "mapping.columns"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "mapping.timezone"),
        ({"date_format": "%d.%m"}, "mapping.date_format"),
        ({"date_format": "daily"}, "mapping.date_format"),
        ({"delimiter": ";;"}, "mapping.delimiter"),
        ({"decimal_comma": "yes"}, "mapping.decimal_comma"),
        ({"won_stages": "Closed Won"}, "mapping.won_stages"),
        ({"colums": {}}, "mapping.colums"),
        ({"columns": {"person": ""}}, "mapping.columns.person"),
    ],
)
def test_a_bad_setting_names_its_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValue) as err:
        ColumnMapping.from_dict({**STORED, **change})
    assert err.value.field == field
