"""Invoices a business wrote by hand, read from its outgoing-invoice list."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.csvfile import (
    ColumnMapping,
    CsvProblems,
    ManualInvoice,
    decode,
    parse_manual_invoices,
)

HERE = Path(__file__).parent

BOOK = ColumnMapping(
    columns={
        "number": "Rechnungsnr.",
        "client_name": "Kunde",
        "issue_date": "Rechnungsdatum",
        "net": "Netto",
        "gross": "Brutto",
        "currency": "Währung",
    },
    date_format="%d.%m.%Y",
    decimal_comma=True,
    delimiter=";",
)


def test_a_german_invoice_book_becomes_manual_invoices() -> None:
    body = decode((HERE / "manual_invoices.csv").read_bytes())
    invoices = parse_manual_invoices(body, BOOK, source_name="ausgang.csv")
    assert invoices == [
        ManualInvoice(
            number="RE-2024-0041",
            client="Nordwind Logistik GmbH",
            issue_date=date(2024, 3, 1),
            net=Decimal("12500.00"),
            gross=Decimal("14875.00"),
            currency="EUR",
            row=2,
        ),
        ManualInvoice(
            number="RE-2024-0042",
            client="Harbor Lane Studio",
            issue_date=date(2024, 3, 4),
            net=Decimal("2375.50"),
            gross=None,
            currency="USD",
            row=3,
        ),
        ManualInvoice(
            number="GS-2024-0003",
            client="Nordwind Logistik GmbH",
            issue_date=date(2024, 3, 8),
            net=Decimal("-500.00"),
            gross=Decimal("-595.00"),
            currency="EUR",
            row=4,
        ),
    ]


def test_a_client_ref_column_is_marked_as_a_ref() -> None:
    mapping = ColumnMapping(
        columns={"number": "No", "client_ref": "Customer", "issue_date": "Date", "gross": "Total"}
    )
    (inv,) = parse_manual_invoices("No,Customer,Date,Total\n17,C-4,2024-03-01,€1190.00\n", mapping)
    assert inv.client_is_ref is True
    assert inv.gross == Decimal("1190.00")
    assert inv.net is None
    assert inv.currency == "EUR"


def test_invoice_problems_are_listed_together() -> None:
    body = (
        "Rechnungsnr.;Kunde;Rechnungsdatum;Netto;Brutto;Währung\n"
        "RE-1;Nordwind;01.03.2024;100,00;119,00;EUR\n"
        "RE-1;Nordwind;02.03.2024;100,00;119,00;EUR\n"
        "RE-2;;2024-13-01;;;EUR\n"
        "RE-3;Harbor;03.03.2024;1.5;;XYZ\n"
    )
    with pytest.raises(CsvProblems) as err:
        parse_manual_invoices(body, BOOK, source_name="book.csv")
    assert [m for _, m in err.value.problems] == [
        "row 3, column 'Rechnungsnr.': 'RE-1' is already the number of row 2",
        "row 4, column 'Kunde': the value is missing",
        "row 4, column 'Rechnungsdatum': '2024-13-01' is not a date like 31.12.2024",
        "row 5, column 'Netto': '1.5' is not a number "
        "(the column mapping expects decimal commas, e.g. 1,5)",
        "row 5, column 'Währung': 'XYZ' is not an ISO 4217 currency code",
    ]


def test_a_row_without_any_amount_is_a_problem() -> None:
    body = "Rechnungsnr.;Kunde;Rechnungsdatum;Netto;Brutto;Währung\nRE-1;N;01.03.2024;;;EUR\n"
    with pytest.raises(CsvProblems, match="row 2, column 'Netto': neither net nor gross is given"):
        parse_manual_invoices(body, BOOK)


def test_an_amount_in_another_currency_than_the_column_is_a_problem() -> None:
    body = "Rechnungsnr.;Kunde;Rechnungsdatum;Netto;Brutto;Währung\nRE-1;N;01.03.2024;USD 10;;EUR\n"
    with pytest.raises(CsvProblems, match="several currencies: EUR, USD"):
        parse_manual_invoices(body, BOOK)
