"""CSV deal import: a HubSpot deals export, and one with line items (several rows a deal)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.csvfile import ColumnMapping, CsvProblems, parse_deals
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import DEAL_CHANGED, DEAL_LOST, DEAL_WON, Subject

HERE = Path(__file__).parent

HUBSPOT = ColumnMapping(
    columns={
        "deal_id": "Record ID",
        "name": "Deal Name",
        "stage": "Deal Stage",
        "close_date": "Close Date",
        "amount": "Amount",
        "currency": "Currency",
        "pipeline": "Pipeline",
        "client_ref": "Associated Company IDs",
        "client_name": "Associated Company",
        "owner": "Deal owner",
    },
    timezone="Europe/Berlin",
    won_stages=("Closed Won",),
    lost_stages=("Closed Lost",),
)
LINE_ITEMS = ColumnMapping(
    columns={
        "deal_id": "Deal ID",
        "name": "Deal Name",
        "amount": "Amount",
        "close_date": "Close Date",
        "client_ref": "Associated Company IDs",
        "product": "Line Item Name",
        "quantity": "Quantity",
        "unit_price": "Unit price",
    }
)


def text(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


AT = datetime(2024, 4, 2, 8, 0, tzinfo=UTC)


def test_a_hubspot_export_gives_one_event_per_deal() -> None:
    events = parse_deals(
        text("hubspot_deals_export.csv"), HUBSPOT, source_name="deals.csv", imported_at=AT
    )
    assert [(e.type, e.external_id) for e in events] == [
        (DEAL_WON, "16784512301"),
        (DEAL_WON, "16784512987"),
        (DEAL_CHANGED, "16784513420"),
        (DEAL_LOST, "16784513555"),
    ]
    won = events[0]
    assert won.subject is Subject.DEAL
    assert won.fields == {
        "deal_id": "16784512301",
        "name": "Nordwind – Fleet Portal Phase 2",
        "amount": "48500",
        "currency": "EUR",
        "client_ref": "9120045811",
        "client_name": "Nordwind Logistik GmbH",
        "close_date": "2024-03-15",
        "stage": "Closed Won",
        "pipeline": "Sales Pipeline",
        "status": "won",
        "products": [],
        "owner": "Maria Jensen",
    }
    assert won.occurred_at.isoformat() == "2024-03-15T00:00:00+01:00"
    assert won.dedupe_key.startswith("csv:16784512301:")
    assert won.raw["rows"][0]["values"]["Create Date"] == "2024-01-22 09:15"


def test_amounts_with_thousands_separators_stay_exact() -> None:
    events = parse_deals(
        text("hubspot_deals_export.csv"), HUBSPOT, source_name="deals.csv", imported_at=AT
    )
    assert events[1].fields["amount"] == "12000.5"
    assert events[1].fields["currency"] == "USD"


def test_an_open_deal_without_close_date_uses_the_import_time() -> None:
    at = datetime(2024, 4, 2, 8, 0, tzinfo=UTC)
    events = parse_deals(
        text("hubspot_deals_export.csv"), HUBSPOT, source_name="deals.csv", imported_at=at
    )
    assert events[2].occurred_at == at
    assert events[2].fields["status"] == "open"
    assert events[2].fields["close_date"] is None


def test_a_deal_without_close_date_and_no_import_time_is_a_problem() -> None:
    with pytest.raises(InvalidValue) as err:
        parse_deals(text("hubspot_deals_export.csv"), HUBSPOT, source_name="deals.csv")
    assert err.value.message == "row 4, column 'Close Date': the value is missing"


def test_without_won_stages_every_row_is_a_won_deal() -> None:
    mapping = ColumnMapping.from_dict({**HUBSPOT.to_dict(), "won_stages": [], "lost_stages": []})
    at = datetime(2024, 4, 2, tzinfo=UTC)
    events = parse_deals(text("hubspot_deals_export.csv"), mapping, source_name="d", imported_at=at)
    assert {e.type for e in events} == {DEAL_WON}


def test_rows_of_one_deal_are_its_products() -> None:
    events = parse_deals(text("hubspot_deals_line_items.csv"), LINE_ITEMS, source_name="li.csv")
    assert [e.external_id for e in events] == ["16784512301", "16784512987"]
    assert events[0].fields["products"] == [
        {"name": "Discovery workshop", "quantity": "1", "unit_price": "3500"},
        {"name": "Development sprint (2 weeks)", "quantity": "4", "unit_price": "10000"},
        {"name": "Hosting setup", "quantity": "1", "unit_price": "5000"},
    ]
    assert events[0].fields["amount"] == "48500"
    assert events[0].fields["currency"] is None
    assert len(events[0].raw["rows"]) == 3
    assert events[1].fields["products"] == []
    assert events[1].fields["amount"] == "12000.5"


def test_a_changed_product_row_changes_the_deal_dedupe_key() -> None:
    body = text("hubspot_deals_line_items.csv")
    before = parse_deals(body, LINE_ITEMS, source_name="li.csv")[0]
    after = parse_deals(body.replace(",4,10000.00", ",5,10000.00"), LINE_ITEMS, source_name="x")
    assert after[0].external_id == before.external_id
    assert after[0].dedupe_key != before.dedupe_key


def test_rows_of_one_deal_that_disagree_are_problems() -> None:
    body = text("hubspot_deals_line_items.csv").replace(
        "Hosting setup,1,5000", "Hosting setup,one,5000"
    )
    lines = body.splitlines()
    lines[2] = lines[2].replace("48500.00", "49000.00")
    with pytest.raises(CsvProblems) as err:
        parse_deals("\n".join(lines), LINE_ITEMS, source_name="li.csv")
    assert [m for _, m in err.value.problems] == [
        "row 3, column 'Amount': '49000.00' differs from row 2 of the same deal",
        "row 4, column 'Quantity': 'one' is not a number",
    ]


def test_a_deal_without_amount_or_company_is_a_problem() -> None:
    body = (
        "Deal ID,Deal Name,Amount,Close Date,Associated Company IDs\n"
        "D-1,Retainer,,2024-03-01,\n"
        "D-2,Audit,EUR 5000,2024-03-02,C-9\n"
    )
    mapping = ColumnMapping(
        columns={k: v for k, v in LINE_ITEMS.columns.items() if k in HUBSPOT.columns}
    )
    with pytest.raises(CsvProblems) as err:
        parse_deals(body, mapping, source_name="d.csv")
    assert [m for _, m in err.value.problems] == [
        "row 2, column 'Amount': the value is missing",
        "row 2, column 'Associated Company IDs': the value is missing",
    ]


def test_a_currency_code_in_the_amount_is_used() -> None:
    body = (
        "Deal ID,Deal Name,Amount,Close Date,Associated Company IDs\n"
        "D-2,Audit,EUR 5000,2024-03-02,C-9\n"
    )
    mapping = ColumnMapping(
        columns={k: v for k, v in LINE_ITEMS.columns.items() if k in HUBSPOT.columns}
    )
    (event,) = parse_deals(body, mapping, source_name="d.csv")
    assert event.fields["amount"] == "5000"
    assert event.fields["currency"] == "EUR"


def test_a_mapping_without_client_column_names_both_choices() -> None:
    mapping = ColumnMapping(columns={"deal_id": "ID", "name": "N", "amount": "A"})
    with pytest.raises(InvalidValue, match="no column for client_ref or client_name"):
        parse_deals(
            "ID,N,A\n", mapping, source_name="d", imported_at=datetime(2024, 1, 1, tzinfo=UTC)
        )


def test_a_mapping_without_close_date_needs_an_import_time() -> None:
    mapping = ColumnMapping(
        columns={"deal_id": "ID", "name": "N", "amount": "A", "client_ref": "C"}
    )
    with pytest.raises(InvalidValue, match="close date") as err:
        parse_deals("ID,N,A,C\nD-1,x,1,c\n", mapping, source_name="d")
    assert err.value.field == "mapping.columns"
