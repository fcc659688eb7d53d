"""CSV time-entry import: Clockify/Toggl report exports and a German Excel export."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from autoinvoice.adapters.connectors.csvfile import (
    ColumnMapping,
    CsvProblems,
    decode,
    parse_time_entries,
)
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import TIME_LOGGED, Subject

HERE = Path(__file__).parent

CLOCKIFY = ColumnMapping(
    columns={
        "person": "User",
        "project_ref": "Project",
        "client_name": "Client",
        "task": "Task",
        "description": "Description",
        "billable": "Billable",
        "day": "Start Date",
        "hours": "Duration (decimal)",
        "email": "Email",
    },
    date_format="%m/%d/%Y",
    timezone="America/New_York",
)
TOGGL = ColumnMapping(
    columns={
        "person": "User",
        "project_ref": "Project",
        "client_name": "Client",
        "task": "Task",
        "description": "Description",
        "billable": "Billable",
        "day": "Start date",
        "hours": "Duration",
    }
)
GERMAN = ColumnMapping(
    columns={
        "person": "Mitarbeiter",
        "project_ref": "Projekt",
        "client_ref": "Kunde",
        "task": "Tätigkeit",
        "description": "Beschreibung",
        "day": "Datum",
        "hours": "Stunden",
        "billable": "Abrechenbar",
        "role": "Rolle",
    },
    date_format="%d.%m.%Y",
    decimal_comma=True,
    timezone="Europe/Berlin",
)
SIMPLE = ColumnMapping(
    columns={
        "entry_id": "ID",
        "person": "Person",
        "project_ref": "Project",
        "day": "Date",
        "hours": "Hours",
    }
)


def text(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def test_a_clockify_detailed_report_becomes_time_entry_events() -> None:
    events = parse_time_entries(text("clockify_detailed_report.csv"), CLOCKIFY, source_name="c.csv")
    assert [e.fields["hours"] for e in events] == ["1.33", "6.07", "0.25", "2.5"]
    first = events[0]
    assert first.type == TIME_LOGGED
    assert first.subject is Subject.TIME_ENTRY
    assert first.occurred_at == datetime(2024, 3, 4, tzinfo=ZoneInfo("America/New_York"))
    assert first.fields == {
        "entry_id": first.external_id,
        "person": "Maria Jensen",
        "hours": "1.33",
        "day": "2024-03-04",
        "project_ref": "Fleet Portal Relaunch",
        "task": "Project Management",
        "description": "Sprint planning, backlog grooming",
        "client_name": "Nordwind Logistik",
        "billable": True,
        "email": "maria@example.com",
    }
    assert first.dedupe_key.startswith(f"csv:{first.external_id}:")
    assert first.raw["row"] == 2
    assert first.raw["values"]["Billable Amount (USD)"] == "160.00"


def test_quoted_cells_keep_commas_quotes_and_line_breaks() -> None:
    events = parse_time_entries(text("clockify_detailed_report.csv"), CLOCKIFY, source_name="c")
    assert events[2].fields["description"] == 'Team lunch & learn: "Typst for invoices"'
    assert events[2].fields["billable"] is False
    assert events[2].fields["client_name"] is None
    assert (
        events[3].fields["description"] == "Checkout A/B test analysis\n(variant B wins, see doc)"
    )


def test_reimporting_a_file_gives_the_same_ids_and_dedupe_keys() -> None:
    once = parse_time_entries(text("clockify_detailed_report.csv"), CLOCKIFY, source_name="a")
    again = parse_time_entries(text("clockify_detailed_report.csv"), CLOCKIFY, source_name="b")
    assert [(e.external_id, e.dedupe_key) for e in once] == [
        (e.external_id, e.dedupe_key) for e in again
    ]


def test_a_corrected_row_keeps_its_entry_id_but_gets_a_new_dedupe_key() -> None:
    before = "ID,Person,Project,Date,Hours\nT-17,Anna,P1,2024-03-04,1.5\n"
    after = "ID,Person,Project,Date,Hours\nT-17,Anna,P1,2024-03-04,1.75\n"
    (a,) = parse_time_entries(before, SIMPLE, source_name="x")
    (b,) = parse_time_entries(after, SIMPLE, source_name="x")
    assert a.external_id == b.external_id == "T-17"
    assert a.dedupe_key != b.dedupe_key
    assert a.dedupe_key.startswith("csv:T-17:")


def test_a_toggl_export_with_hh_mm_ss_durations() -> None:
    events = parse_time_entries(text("toggl_detailed_report.csv"), TOGGL, source_name="t")
    assert [e.fields["hours"] for e in events] == ["1.333333", "0.5", "0.5", "0.25"]
    assert events[0].occurred_at == datetime(2024, 3, 4, tzinfo=UTC)
    assert events[1].fields["task"] is None


def test_identical_rows_stay_two_entries() -> None:
    events = parse_time_entries(text("toggl_detailed_report.csv"), TOGGL, source_name="t")
    assert events[1].external_id != events[2].external_id
    assert events[2].external_id == events[1].external_id + "-2"


def test_a_german_excel_export_with_bom_sep_line_and_decimal_commas() -> None:
    data = (HERE / "datev_style_export.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    events = parse_time_entries(data.decode("utf-8"), GERMAN, source_name="export.csv")
    assert [e.fields["hours"] for e in events] == ["7.5", "1.75", "0.25"]
    assert [e.fields["billable"] for e in events] == [True, True, False]
    assert events[0].fields["description"] == "Schnittstelle DATEV; Export"
    assert events[0].fields["role"] == "Senior Developer"
    assert events[0].fields["client_ref"] == "K-1003"
    assert events[0].occurred_at == datetime(2024, 3, 4, tzinfo=ZoneInfo("Europe/Berlin"))
    assert events[0].raw["row"] == 2  # the sep= line is not a spreadsheet row


def test_decode_drops_the_bom_and_reads_windows_1252() -> None:
    assert decode("\ufeffA;B\n".encode()) == "A;B\n"
    assert decode("Tätigkeit;Stunden\n".encode("cp1252")) == "Tätigkeit;Stunden\n"
    assert decode("A\tB\n".encode("utf-16")) == "A\tB\n"


def test_a_semicolon_file_is_read_although_the_mapping_says_comma() -> None:
    body = "ID;Person;Project;Date;Hours\nT-1;Anna;P1;2024-03-04;2\n"
    (event,) = parse_time_entries(body, SIMPLE, source_name="x")
    assert event.fields["hours"] == "2"


@pytest.mark.parametrize(
    ("cell", "hours"),
    [("1.5", "1.5"), ("1:30", "1.5"), ("0:20", "0.333333"), ("10:05:30", "10.091667"), ("8", "8")],
)
def test_hours_may_be_decimals_or_h_mm(cell: str, hours: str) -> None:
    body = f"ID,Person,Project,Date,Hours\nT-1,Anna,P1,2024-03-04,{cell}\n"
    (event,) = parse_time_entries(body, SIMPLE, source_name="x")
    assert event.fields["hours"] == hours


def test_one_bad_cell_names_its_row_and_column() -> None:
    body = "ID,Person,Project,Date,Hours\n" + "".join(
        f"T-{i},Anna,P1,2024-03-04,1\n" for i in range(2, 7)
    )
    body += 'T-7,Anna,P1,2024-03-04,"1,5x"\n'
    with pytest.raises(InvalidValue) as err:
        parse_time_entries(body, SIMPLE, source_name="x")
    assert err.value.message == "row 7, column 'Hours': '1,5x' is not a number"
    assert err.value.field == "row 7.Hours"


def test_all_problems_of_a_file_are_reported_at_once() -> None:
    body = (
        "ID,Person,Project,Date,Hours\n"
        "T-1,,P1,2024-03-04,1\n"
        "T-2,Anna,P1,04/03/2024,1\n"
        'T-3,Anna,P1,2024-03-04,"1,5"\n'
        "T-4,Anna,,2024-03-04,-2\n"
        "T-1,Anna,P1,2024-03-05,1\n"
    )
    with pytest.raises(CsvProblems) as err:
        parse_time_entries(body, SIMPLE, source_name="march.csv")
    message = err.value.message
    assert message.startswith("6 problems in march.csv:\n")
    assert "row 2, column 'Person': the value is missing" in message
    assert "row 3, column 'Date': '04/03/2024' is not a date like 2024-12-31" in message
    assert (
        "row 4, column 'Hours': '1,5' is not a number (if the file writes decimal commas, "
        "set decimal_comma in the column mapping)"
    ) in message
    assert "row 5, column 'Hours': '-2' is negative: hours cannot be below zero" in message
    assert "row 5, column 'Project': the value is missing" in message
    assert "row 6, column 'ID': 'T-1' is already the id of row 2" in message
    assert err.value.field == "row 2.Person"
    assert [f for f, _ in err.value.problems][:2] == ["row 2.Person", "row 3.Date"]


def test_a_duplicated_entry_id_is_a_problem() -> None:
    body = "ID,Person,Project,Date,Hours\nT-1,Anna,P1,2024-03-04,1\nT-1,Ben,P1,2024-03-05,2\n"
    with pytest.raises(InvalidValue, match="row 3, column 'ID': 'T-1' is already the id of row 2"):
        parse_time_entries(body, SIMPLE, source_name="x")


def test_more_than_twenty_problems_are_summarised() -> None:
    body = "ID,Person,Project,Date,Hours\n" + "".join(
        f"T-{i},Anna,P1,2024-03-04,lots\n" for i in range(25)
    )
    with pytest.raises(CsvProblems) as err:
        parse_time_entries(body, SIMPLE, source_name="x")
    lines = err.value.message.splitlines()
    assert lines[0] == "25 problems in x:"
    assert len(lines) == 22
    assert lines[-1] == "and 5 more"
    assert len(err.value.problems) == 25


def test_an_empty_file_is_refused_clearly() -> None:
    for body in ("", "\ufeff", "\n\n  \n"):
        with pytest.raises(InvalidValue, match=r"x\.csv is empty") as err:
            parse_time_entries(body, SIMPLE, source_name="x.csv")
        assert err.value.field == "file"


def test_a_header_without_rows_gives_no_events() -> None:
    assert parse_time_entries("ID,Person,Project,Date,Hours\r\n", SIMPLE, source_name="x") == []


def test_a_missing_column_names_what_the_file_has() -> None:
    body = "ID,Person,Project,Date,Duration\nT-1,Anna,P1,2024-03-04,1\n"
    with pytest.raises(InvalidValue) as err:
        parse_time_entries(body, SIMPLE, source_name="x")
    assert err.value.message == (
        "the file has no column 'Hours' (mapped to hours); its columns are "
        "'ID', 'Person', 'Project', 'Date', 'Duration'"
    )
    assert err.value.field == "header.Hours"


def test_header_names_match_case_insensitively_and_blank_rows_are_skipped() -> None:
    body = "id,person,PROJECT,Date,Hours\n\nT-1,Anna,P1,2024-03-04,1\n,,,,\n"
    (event,) = parse_time_entries(body, SIMPLE, source_name="x")
    assert event.raw["row"] == 3


def test_billable_accepts_the_usual_spellings() -> None:
    mapping = ColumnMapping(columns={**SIMPLE.columns, "billable": "Billable"})
    cells = ["yes", "No", "TRUE", "false", "1", "0", "x", ""]
    body = "ID,Person,Project,Date,Hours,Billable\n" + "".join(
        f"T-{i},Anna,P1,2024-03-04,1,{c}\n" for i, c in enumerate(cells)
    )
    events = parse_time_entries(body, mapping, source_name="x")
    assert [e.fields["billable"] for e in events] == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
    ]
    with pytest.raises(InvalidValue, match="'maybe' is not yes/no"):
        parse_time_entries(body + "T-9,Anna,P1,2024-03-04,1,maybe\n", mapping, source_name="x")


def test_a_mapping_without_required_fields_is_refused_before_reading() -> None:
    mapping = ColumnMapping(columns={"person": "User", "day": "Date"})
    with pytest.raises(InvalidValue) as err:
        parse_time_entries("User,Date\n", mapping, source_name="x")
    assert err.value.message == (
        "the column mapping names no column for hours, project_ref (required for time entries)"
    )
    assert err.value.field == "mapping.columns"
