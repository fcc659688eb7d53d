"""CSV bank exports, read with the stdlib ``csv`` module through a saved column mapping
(every bank's export differs; there is no standard to hand to a library).

A mapping names the header of each column (saved with ``autoinvoice bank mapping save``
in ``csv_mappings`` with kind ``bank``)::

    {"account": "DE89370400440532013000",   # our account (or "account_col")
     "date_col": "Buchungstag", "date_format": "%d.%m.%Y",
     "amount_col": "Betrag",                 # signed; or "credit_col" + "debit_col"
     "currency": "EUR",                      # or "currency_col"
     "name_col": "Name", "iban_col": "IBAN", "text_col": "Verwendungszweck",
     "ref_col": "Referenz", "value_date_col": "Valuta",
     "delimiter": ";", "decimal": ",", "encoding": "utf-8"}

A row that cannot be read is reported with its line number (the header is line 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ...domain.errors import InvalidValue
from ...domain.money import check_currency
from ...domain.statements import StatementTransaction
from . import StatementError, creditor_reference_in, too_fine

_COLUMNS = (
    "date_col",
    "amount_col",
    "credit_col",
    "debit_col",
    "currency_col",
    "name_col",
    "iban_col",
    "text_col",
    "ref_col",
    "value_date_col",
    "account_col",
)
KNOWN_KEYS = frozenset(
    (*_COLUMNS, "account", "currency", "date_format", "delimiter", "decimal", "encoding")
)


def check_mapping(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """The mapping, checked: a date column, an amount (or credit/debit) and a currency."""
    unknown = set(mapping) - KNOWN_KEYS
    if unknown:
        raise InvalidValue(f"unknown mapping keys: {', '.join(sorted(unknown))}", field="mapping")
    if not mapping.get("date_col"):
        raise InvalidValue("the mapping needs date_col", field="date_col")
    if not mapping.get("amount_col") and not (
        mapping.get("credit_col") and mapping.get("debit_col")
    ):
        raise InvalidValue(
            "the mapping needs amount_col, or credit_col and debit_col", field="amount_col"
        )
    if not mapping.get("currency") and not mapping.get("currency_col"):
        raise InvalidValue("the mapping needs currency or currency_col", field="currency")
    if not mapping.get("account") and not mapping.get("account_col"):
        raise InvalidValue("the mapping needs account or account_col", field="account")
    if mapping.get("currency"):
        check_currency(str(mapping["currency"]))
    return {k: v for k, v in mapping.items() if v not in (None, "")}


def parse(data: bytes, mapping: Mapping[str, Any]) -> list[StatementTransaction]:
    m = check_mapping(mapping)
    try:
        text = data.decode(m.get("encoding", "utf-8-sig"))
    except (UnicodeDecodeError, LookupError) as exc:
        raise StatementError(
            f"the file is not {m.get('encoding', 'utf-8')}: {exc}", field="encoding"
        ) from None
    reader = csv.DictReader(io.StringIO(text), delimiter=m.get("delimiter", ","))
    headers = reader.fieldnames or []
    missing = [m[c] for c in _COLUMNS if c in m and m[c] not in headers]
    if missing:
        raise StatementError(
            f"the header has no column {', '.join(map(repr, missing))}", field="line 1"
        )
    out = []
    for row in reader:
        line = reader.line_num
        try:
            out.append(_row(row, m))
        except (ValueError, InvalidOperation, InvalidValue) as exc:
            raise StatementError(f"{_message(exc)}", field=f"line {line}") from None
    return out


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, InvalidValue) else str(exc)


def _row(row: dict[str, str], m: dict[str, Any]) -> StatementTransaction:
    def col(key: str) -> str:
        return (row.get(m[key]) or "").strip() if key in m else ""

    if "amount_col" in m:
        amount = _number(col("amount_col"), m, "amount_col")
    else:
        credit, debit = col("credit_col"), col("debit_col")
        amount = (
            _number(credit, m, "credit_col") if credit else -abs(_number(debit, m, "debit_col"))
        )
    text = " ".join(col("text_col").split())
    currency = check_currency(m.get("currency") or col("currency_col"), field="currency_col")
    if (fault := too_fine(amount, currency)) is not None:
        raise ValueError(fault)
    return StatementTransaction(
        account=m.get("account") or col("account_col"),
        booking_date=_date(col("date_col"), m, "date_col"),
        value_date=_date(col("value_date_col"), m, "value_date_col")
        if col("value_date_col")
        else None,
        amount=amount,
        currency=currency,
        counterparty_name=col("name_col") or None,
        counterparty_iban=col("iban_col").replace(" ", "").upper() or None,
        remittance=text,
        structured_ref=creditor_reference_in(text),
        bank_ref=col("ref_col") or None,
    )


def _number(value: str, m: dict[str, Any], key: str) -> Decimal:
    raw = value.replace(" ", "").replace("\u00a0", "")
    if m.get("decimal", ".") == ",":
        raw = raw.replace(".", "").replace(",", ".")
    else:
        raw = raw.replace(",", "")
    try:
        d = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{m[key]} {value!r} is not an amount") from None
    if not d.is_finite():
        raise ValueError(f"{m[key]} {value!r} is not an amount")
    return d


def _date(value: str, m: dict[str, Any], key: str) -> date:
    fmt = m.get("date_format", "%Y-%m-%d")
    try:
        return datetime.strptime(value, fmt).date()  # noqa: DTZ007 (a calendar date only)
    except ValueError:
        raise ValueError(f"{m[key]} {value!r} is not a date ({fmt})") from None


__all__ = ["KNOWN_KEYS", "check_mapping", "parse"]
