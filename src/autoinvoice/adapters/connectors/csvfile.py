"""CSV import for businesses whose tools cannot call us: time entries, won deals, and the
invoices a business wrote by hand (to compare with what autoinvoice would have issued).

Pure functions, no database and no clock. A :class:`ColumnMapping` (stored as JSON, one per
file layout) says which CSV header holds which canonical field (see
:mod:`autoinvoice.domain.events`) and how the file writes dates and numbers.

File conventions handled (no vendor document applies; the formats are what spreadsheet and
time-tracking exports produce): a UTF-8 BOM is dropped; Excel's ``sep=;`` first line sets the
delimiter; if the mapped headers are not found with the mapping's delimiter but are with
``;``, ``,``, tab or ``|`` (a German/French Excel export), that one is used; blank rows are
skipped. Row numbers are spreadsheet rows: the header is row 1, a ``sep=`` line is not
counted, a quoted cell spanning lines is one row.

Every problem names its row and column (``row 7, column 'Hours': '1,5x' is not a number``,
field ``row 7.Hours``); all of a file's problems are reported at once in one
:class:`CsvProblems` (an ``InvalidValue``), so the user fixes the file in one go.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...domain.errors import InvalidValue
from ...domain.events import DEAL_CHANGED, DEAL_LOST, DEAL_WON, TIME_LOGGED, Event, Subject
from ...domain.money import check_currency
from .base import digest

T = TypeVar("T")
MAX_LISTED = 20

# the canonical fields each parser knows; a mapping may name other keys too (copied as text)
KNOWN = {
    kind: frozenset(names.split())
    for kind, names in {
        "time_entries": "entry_id person person_ref hours day project_ref project_name task "
        "description billable role client_ref client_name",
        "deals": "deal_id name amount currency client_ref client_name close_date stage pipeline "
        "product quantity unit_price",
        "invoices": "number client client_name client_ref issue_date net gross currency",
    }.items()
}
# each requirement is satisfied by any one of its alternatives
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "time_entries": (("person",), ("hours",), ("day",), ("project_ref",)),
    "deals": (("deal_id",), ("name",), ("amount",), ("client_ref", "client_name")),
    "invoices": (
        ("number",),
        ("client", "client_name", "client_ref"),
        ("issue_date",),
        ("net", "gross"),
    ),
}
LABEL = {"time_entries": "time entries", "deals": "deals", "invoices": "invoices"}
DELIMITERS = (",", ";", "\t", "|")
TRUE = frozenset({"yes", "y", "true", "1", "x", "ja", "j", "oui", "si", "sí"})
FALSE = frozenset({"no", "n", "false", "0", "nein", "non", ""})
SYMBOLS = {"€": "EUR", "£": "GBP", "$": None, "¥": None}


class CsvProblems(InvalidValue):
    """All problems of one file; ``problems`` holds ``(field, message)`` pairs, ``field`` and
    the message's first line are those of the first problem."""

    def __init__(
        self, message: str, *, field: str | None = None, problems: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(message, field=field)
        self.problems = problems

    @classmethod
    def of(cls, problems: list[tuple[str, str]], source_name: str) -> CsvProblems:
        lines = [message for _, message in problems[:MAX_LISTED]]
        if len(problems) > MAX_LISTED:
            lines.append(f"and {len(problems) - MAX_LISTED} more")
        if len(problems) == 1:
            text = lines[0]
        else:
            text = f"{len(problems)} problems in {source_name}:\n" + "\n".join(lines)
        return cls(text, field=problems[0][0], problems=tuple(problems))


@dataclass(frozen=True)
class ColumnMapping:
    """Which CSV header holds which canonical field, and how the file writes values.

    ``won_stages``/``lost_stages`` (deals only): when set, a row whose stage is not among the
    won stages becomes ``deal.changed`` (or ``deal.lost``) instead of ``deal.won``."""

    columns: Mapping[str, str]
    date_format: str = "%Y-%m-%d"
    decimal_comma: bool = False
    delimiter: str = ","
    timezone: str = "UTC"
    won_stages: tuple[str, ...] = ()
    lost_stages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.columns, Mapping):
            raise InvalidValue("columns must be an object", field="mapping.columns")
        cols: dict[str, str] = {}
        for key, header in self.columns.items():
            if not isinstance(key, str) or not isinstance(header, str) or not header.strip():
                raise InvalidValue(
                    f"{key!r} must map to a column header", field=f"mapping.columns.{key}"
                )
            cols[key] = header.strip()
        object.__setattr__(self, "columns", MappingProxyType(cols))
        if (
            not isinstance(self.delimiter, str)
            or len(self.delimiter) != 1
            or self.delimiter in '"\r\n'
        ):
            raise InvalidValue(
                f"{self.delimiter!r} is not a one-character delimiter", field="mapping.delimiter"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidValue(
                f"{self.timezone!r} is not an IANA time zone", field="mapping.timezone"
            ) from None
        probe = date(2024, 12, 31)
        try:
            ok = datetime.strptime(probe.strftime(self.date_format), self.date_format).date()  # noqa: DTZ007
        except (ValueError, TypeError):
            ok = None
        if ok != probe:
            raise InvalidValue(
                f"{self.date_format!r} is not a date format with day, month and year "
                "(e.g. %d.%m.%Y)",
                field="mapping.date_format",
            )
        for name in ("won_stages", "lost_stages"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(s, str) for s in value):
                raise InvalidValue(f"{name} must be a list of stage names", field=f"mapping.{name}")
            object.__setattr__(self, name, tuple(value))

    def check(self, kind: str) -> None:
        """Refuse a mapping that lacks a required field for ``kind`` (naming them all)."""
        missing = [
            " or ".join(alts) for alts in REQUIRED[kind] if not any(a in self.columns for a in alts)
        ]
        if missing:
            raise InvalidValue(
                f"the column mapping names no column for {', '.join(missing)} "
                f"(required for {LABEL[kind]})",
                field="mapping.columns",
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, kind: str | None = None) -> ColumnMapping:
        if not isinstance(data, Mapping):
            raise InvalidValue("a column mapping must be an object", field="mapping")
        allowed = set(cls.__dataclass_fields__)
        for key in data:
            if key not in allowed:
                raise InvalidValue(f"unknown setting {key!r}", field=f"mapping.{key}")
        if "columns" not in data:
            raise InvalidValue("the column mapping has no columns", field="mapping.columns")
        args = dict(data)
        for name in ("won_stages", "lost_stages"):
            if name in args and isinstance(args[name], list):
                args[name] = tuple(args[name])
        if "decimal_comma" in args and not isinstance(args["decimal_comma"], bool):
            raise InvalidValue("decimal_comma must be true or false", field="mapping.decimal_comma")
        mapping = cls(**args)
        if kind is not None:
            mapping.check(kind)
        return mapping

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": dict(self.columns),
            "date_format": self.date_format,
            "decimal_comma": self.decimal_comma,
            "delimiter": self.delimiter,
            "timezone": self.timezone,
            "won_stages": list(self.won_stages),
            "lost_stages": list(self.lost_stages),
        }


@dataclass(frozen=True, slots=True)
class ManualInvoice:
    """An invoice a business issued by hand; ``client`` is a name, or a ref when
    ``client_is_ref``; at least one of ``net``/``gross`` is set."""

    number: str
    client: str
    issue_date: date
    net: Decimal | None
    gross: Decimal | None
    currency: str | None
    client_is_ref: bool = False
    row: int = 0


# --- values -----------------------------------------------------------------------------


class _Bad(Exception):
    """A cell's value is wrong; the message continues ``'<value>' …``."""


def decode(data: bytes) -> str:
    """Uploaded bytes as text: UTF-16 with BOM (Excel "Unicode text"), UTF-8 (BOM or not),
    else Windows-1252 (Excel's "CSV" on Western Windows)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise InvalidValue(
                "the file is neither UTF-8 nor Windows-1252 text", field="file"
            ) from None


def _plain(d: Decimal) -> str:
    text = format(d.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _number(text: str, decimal_comma: bool, *, grouping: bool = True) -> Decimal:
    s = re.sub(r"[\s\u00a0\u202f']", "", text)
    group, point = (".", ",") if decimal_comma else (",", ".")
    whole = rf"\d{{1,3}}(?:{re.escape(group)}\d{{3}})+|\d+" if grouping else r"\d+"
    if not re.fullmatch(rf"[+-]?(?:{whole})(?:{re.escape(point)}\d+)?", s):
        hint = ""
        if not decimal_comma and re.fullmatch(r"[+-]?\d+,\d+", s):
            hint = " (if the file writes decimal commas, set decimal_comma in the column mapping)"
        elif decimal_comma and re.fullmatch(r"[+-]?\d+\.\d+", s):
            hint = " (the column mapping expects decimal commas, e.g. 1,5)"
        raise _Bad(f"is not a number{hint}")
    return Decimal(s.replace(group, "").replace(point, "."))


def _hours(decimal_comma: bool) -> Callable[[str], Decimal]:
    def parse(text: str) -> Decimal:
        if ":" in text:
            m = re.fullmatch(r"(\d+):([0-5]\d)(?::([0-5]\d))?", text.strip())
            if not m:
                raise _Bad("is not a duration (h:mm or h:mm:ss)")
            h, mi, se = int(m[1]), int(m[2]), int(m[3] or 0)
            value = Decimal(h) + Decimal(mi) / 60 + Decimal(se) / 3600
            return value.quantize(Decimal("0.000001"), ROUND_HALF_UP)
        value = _number(text, decimal_comma, grouping=False)
        if value < 0:
            raise _Bad("is negative: hours cannot be below zero")
        return value

    return parse


def _amount(decimal_comma: bool, *, negative: bool) -> Callable[[str], tuple[Decimal, str | None]]:
    def parse(text: str) -> tuple[Decimal, str | None]:
        s = re.sub(r"[\s\u00a0\u202f]", "", text)
        m = re.fullmatch(r"([A-Z]{3}|[€£$¥])?([^A-Z€£$¥]+)([A-Z]{3}|[€£$¥])?", s)
        if not m or (m[1] and m[3]):
            raise _Bad("is not an amount")
        code = m[1] or m[3]
        value = _number(m[2], decimal_comma)
        if value < 0 and not negative:
            raise _Bad("is negative")
        currency = SYMBOLS.get(code, code) if code else None
        if currency is not None:
            currency = _currency(currency)
        return value, currency

    return parse


def _currency(text: str) -> str:
    try:
        return check_currency(text.strip())
    except InvalidValue:
        raise _Bad("is not an ISO 4217 currency code") from None


def _date(fmt: str) -> Callable[[str], date]:
    def parse(text: str) -> date:
        for candidate in (text, re.split(r"[ T]", text, maxsplit=1)[0]):
            try:
                return datetime.strptime(candidate, fmt).date()  # noqa: DTZ007
            except ValueError:
                pass
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[ T].*)?", text):
            try:
                return date.fromisoformat(text[:10])
            except ValueError:
                pass
        raise _Bad(f"is not a date like {date(2024, 12, 31).strftime(fmt)}")

    return parse


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise _Bad("is not yes/no, true/false, 1/0 or x")


# --- reading ----------------------------------------------------------------------------


class _Table:
    def __init__(self, text: str, mapping: ColumnMapping, source_name: str) -> None:
        if not isinstance(text, str):
            raise InvalidValue("the file content must be text (decode it first)", field="file")
        text = text.removeprefix("\ufeff")
        delimiter = mapping.delimiter
        first, _, rest = text.partition("\n")
        if re.fullmatch(r"sep=(.)\r?", first, flags=re.IGNORECASE):
            delimiter, text = first[4], rest
        if not text.strip():
            raise InvalidValue(f"{source_name} is empty", field="file")
        self.source_name = source_name
        self.problems: list[tuple[str, str]] = []
        records = self._records(text, delimiter)
        self.header, self.columns, missing = self._match(records, mapping)
        if missing:
            for other in DELIMITERS:
                if other != delimiter:
                    alt = self._records(text, other)
                    header, columns, alt_missing = self._match(alt, mapping)
                    if not alt_missing:
                        records, self.header, self.columns, missing = alt, header, columns, []
                        break
        if missing:
            found = ", ".join(repr(h) for h in self.header)
            problems = [
                (
                    f"header.{h}",
                    f"the file has no column {h!r} (mapped to {key}); its columns are {found}",
                )
                for key, h in missing
            ]
            raise CsvProblems.of(problems, source_name)
        header_at = next(i for i, (_, cells) in enumerate(records) if any(c.strip() for c in cells))
        self.rows = [
            (n, cells) for n, cells in records[header_at + 1 :] if any(c.strip() for c in cells)
        ]

    def _records(self, text: str, delimiter: str) -> list[tuple[int, list[str]]]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        out: list[tuple[int, list[str]]] = []
        try:
            for n, cells in enumerate(reader, start=1):
                out.append((n, cells))
        except csv.Error as exc:
            n = len(out) + 1
            raise InvalidValue(
                f"row {n}: the file is not valid CSV ({exc})", field=f"row {n}"
            ) from None
        return out

    @staticmethod
    def _match(
        records: list[tuple[int, list[str]]], mapping: ColumnMapping
    ) -> tuple[list[str], dict[str, int], list[tuple[str, str]]]:
        header = next((cells for _, cells in records if any(c.strip() for c in cells)), [])
        names = [h.strip() for h in header]
        columns: dict[str, int] = {}
        missing: list[tuple[str, str]] = []
        for key, wanted in mapping.columns.items():
            hits = [i for i, h in enumerate(names) if h == wanted] or [
                i for i, h in enumerate(names) if h.casefold() == wanted.casefold()
            ]
            if hits:
                columns[key] = hits[0]
            else:
                missing.append((key, wanted))
        return names, columns, missing

    def raise_problems(self) -> None:
        if self.problems:
            raise CsvProblems.of(self.problems, self.source_name)


class _Row:
    def __init__(self, table: _Table, number: int, cells: list[str]) -> None:
        self.table, self.number, self.cells, self.failed = table, number, cells, False

    def has(self, key: str) -> bool:
        return key in self.table.columns

    def column(self, key: str) -> str:
        return self.table.header[self.table.columns[key]]

    def problem(self, key: str, message: str) -> None:
        col = self.column(key)
        self.table.problems.append(
            (f"row {self.number}.{col}", f"row {self.number}, column {col!r}: {message}")
        )
        self.failed = True

    def text(self, key: str, *, required: bool = False) -> str | None:
        if key not in self.table.columns:
            return None
        i = self.table.columns[key]
        value = self.cells[i].strip() if i < len(self.cells) else ""
        if not value and required:
            self.problem(key, "the value is missing")
        return value or None

    def value(self, key: str, parse: Callable[[str], T], *, required: bool = False) -> T | None:
        raw = self.text(key, required=required)
        if raw is None:
            return None
        try:
            return parse(raw)
        except _Bad as exc:
            self.problem(key, f"{raw!r} {exc}")
            return None

    def values(self) -> dict[str, str]:
        return {
            h: (self.cells[i] if i < len(self.cells) else "")
            for i, h in enumerate(self.table.header)
        }

    def digest(self) -> str:
        return digest(*(f"{k}={self.text(k) or ''}" for k in sorted(self.table.columns)))

    def raw(self) -> dict[str, Any]:
        return {"source": self.table.source_name, "row": self.number, "values": self.values()}

    def extras(self, kind: str) -> dict[str, Any]:
        return {k: self.text(k) for k in self.table.columns if k not in KNOWN[kind]}


def _rows(text: str, mapping: ColumnMapping, source_name: str) -> tuple[_Table, list[_Row]]:
    table = _Table(text, mapping, source_name)
    return table, [_Row(table, n, cells) for n, cells in table.rows]


def _midnight(day: date, mapping: ColumnMapping) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(mapping.timezone))


def _optional(row: _Row, keys: Iterable[str]) -> dict[str, Any]:
    return {k: row.text(k) for k in keys if row.has(k)}


# --- time entries -----------------------------------------------------------------------


def parse_time_entries(text: str, mapping: ColumnMapping, *, source_name: str) -> list[Event]:
    """Rows → ``time_entry.logged`` events (``occurred_at`` = the day's midnight in the
    mapping's time zone). Without an entry id column the id is a digest of the row's mapped
    values (the n-th identical row gets ``-n``, so re-importing a file is idempotent)."""
    mapping.check("time_entries")
    table, rows = _rows(text, mapping, source_name)
    events: list[Event] = []
    seen: dict[str, int] = {}
    repeats: Counter[str] = Counter()
    for row in rows:
        entry_id = row.text("entry_id")
        person = row.text("person", required=True)
        hours = row.value("hours", _hours(mapping.decimal_comma), required=True)
        day = row.value("day", _date(mapping.date_format), required=True)
        project_ref = row.text("project_ref", required=True)
        billable = row.value("billable", _bool) if row.has("billable") else None
        if entry_id is not None and entry_id in seen:
            row.problem("entry_id", f"{entry_id!r} is already the id of row {seen[entry_id]}")
        elif entry_id is not None:
            seen[entry_id] = row.number
        if row.failed or hours is None or day is None:
            continue
        row_digest = row.digest()
        if entry_id is None:
            repeats[row_digest] += 1
            n = repeats[row_digest]
            entry_id = f"row-{row_digest[:20]}" + (f"-{n}" if n > 1 else "")
        fields: dict[str, Any] = {
            "entry_id": entry_id,
            "person": person,
            "hours": _plain(hours),
            "day": day.isoformat(),
            "project_ref": project_ref,
            **_optional(row, ("person_ref", "project_name", "task", "description", "role")),
            **_optional(row, ("client_ref", "client_name")),
            **row.extras("time_entries"),
        }
        if row.has("billable"):
            fields["billable"] = bool(billable)
        events.append(
            Event(
                type=TIME_LOGGED,
                subject=Subject.TIME_ENTRY,
                external_id=entry_id,
                occurred_at=_midnight(day, mapping),
                dedupe_key=f"csv:{entry_id}:{row_digest}",
                fields=fields,
                raw=row.raw(),
            )
        )
    table.raise_problems()
    return events


# --- deals ------------------------------------------------------------------------------


def _deal_level(rows: list[_Row], key: str, parse: Callable[[str], T]) -> T | None:
    """The deal's value for ``key``: the first row that has one; a different value on a
    later row of the same deal is a problem there."""
    found: tuple[int, T] | None = None
    for row in rows:
        value = row.value(key, parse)
        if value is None:
            continue
        if found is None:
            found = (row.number, value)
        elif value != found[1]:
            row.problem(key, f"{row.text(key)!r} differs from row {found[0]} of the same deal")
    return None if found is None else found[1]


def parse_deals(
    text: str,
    mapping: ColumnMapping,
    *,
    source_name: str,
    imported_at: datetime | None = None,
) -> list[Event]:
    """Rows → one event per deal id (several rows of a deal are its products). ``deal.won``
    unless ``won_stages`` is set and the stage is not among them. ``occurred_at`` is the close
    date's midnight in the mapping's zone, else ``imported_at`` (else a problem)."""
    mapping.check("deals")
    if "close_date" not in mapping.columns and imported_at is None:
        raise InvalidValue(
            "map a close date column, or import with imported_at", field="mapping.columns"
        )
    table, rows = _rows(text, mapping, source_name)
    deals: dict[str, list[_Row]] = {}
    for row in rows:
        deal_id = row.text("deal_id", required=True)
        if deal_id is not None:
            deals.setdefault(deal_id, []).append(row)
    won = {s.casefold() for s in mapping.won_stages}
    lost = {s.casefold() for s in mapping.lost_stages}
    events: list[Event] = []
    for deal_id, group in deals.items():
        first = group[0]
        text_of: Callable[[str], str] = str.strip
        name = _deal_level(group, "name", text_of)
        amount = _deal_level(group, "amount", _amount(mapping.decimal_comma, negative=False))
        currency = _deal_level(group, "currency", _currency)
        client_ref = _deal_level(group, "client_ref", text_of)
        client_name = _deal_level(group, "client_name", text_of)
        close = _deal_level(group, "close_date", _date(mapping.date_format))
        stage = _deal_level(group, "stage", text_of)
        pipeline = _deal_level(group, "pipeline", text_of)
        for key, value in (("name", name), ("amount", amount)):
            if value is None:
                first.problem(key, "the value is missing")
        if client_ref is None and client_name is None:
            first.problem(
                "client_ref" if first.has("client_ref") else "client_name", "the value is missing"
            )
        if amount is not None and amount[1] and currency and amount[1] != currency:
            first.problem("amount", f"is in {amount[1]} but the currency column says {currency}")
        if close is None and imported_at is None:
            first.problem("close_date", "the value is missing")
        products = _products(group, mapping)
        if any(r.failed for r in group) or amount is None:
            continue
        when = _midnight(close, mapping) if close else imported_at
        assert when is not None
        folded = (stage or "").casefold()
        kind, status = DEAL_WON, "won"
        if won and folded not in won:
            kind, status = (DEAL_LOST, "lost") if folded in lost else (DEAL_CHANGED, "open")
        fields: dict[str, Any] = {
            "deal_id": deal_id,
            "name": name,
            "amount": _plain(amount[0]),
            "currency": currency or amount[1],
            "client_ref": client_ref,
            "client_name": client_name,
            "close_date": close.isoformat() if close else None,
            "stage": stage,
            "pipeline": pipeline,
            "status": status,
            "products": products,
        }
        for row in group:
            for key, value in row.extras("deals").items():
                if fields.get(key) is None:
                    fields[key] = value
        events.append(
            Event(
                type=kind,
                subject=Subject.DEAL,
                external_id=deal_id,
                occurred_at=when,
                dedupe_key=f"csv:{deal_id}:{digest(*(r.digest() for r in group))}",
                fields=fields,
                raw={"source": source_name, "rows": [r.raw() for r in group]},
            )
        )
    table.raise_problems()
    return events


def _products(group: list[_Row], mapping: ColumnMapping) -> list[dict[str, str]]:
    products: list[dict[str, str]] = []
    for row in group:
        if not any(row.text(k) for k in ("product", "quantity", "unit_price")):
            continue
        name = row.text("product", required=row.has("product"))
        if name is None and not row.has("product"):
            name = row.text("name")
        quantity = row.value("quantity", lambda s: _number(s, mapping.decimal_comma))
        price = row.value(
            "unit_price",
            _amount(mapping.decimal_comma, negative=True),
            required=row.has("unit_price"),
        )
        if row.failed or name is None or price is None:
            continue
        products.append(
            {
                "name": name,
                "quantity": _plain(quantity if quantity is not None else Decimal(1)),
                "unit_price": _plain(price[0]),
            }
        )
    return products


# --- invoices written by hand -----------------------------------------------------------


def parse_manual_invoices(
    text: str, mapping: ColumnMapping, *, source_name: str = "the file"
) -> list[ManualInvoice]:
    """Rows → :class:`ManualInvoice` (amounts may be negative: credit notes)."""
    mapping.check("invoices")
    table, rows = _rows(text, mapping, source_name)
    client_key = next(k for k in ("client", "client_name", "client_ref") if k in mapping.columns)
    amount = _amount(mapping.decimal_comma, negative=True)
    out: list[ManualInvoice] = []
    seen: dict[str, int] = {}
    for row in rows:
        number = row.text("number", required=True)
        client = row.text(client_key, required=True)
        issued = row.value("issue_date", _date(mapping.date_format), required=True)
        net = row.value("net", amount)
        gross = row.value("gross", amount)
        currency = row.value("currency", _currency)
        if net is None and gross is None and not row.failed:
            row.problem("net" if row.has("net") else "gross", "neither net nor gross is given")
        codes = {c for c in (currency, net and net[1], gross and gross[1]) if c}
        if len(codes) > 1:
            where = next(k for k in ("currency", "net", "gross") if row.has(k))
            row.problem(where, f"the row names several currencies: {', '.join(sorted(codes))}")
        if number is not None and number in seen:
            row.problem("number", f"{number!r} is already the number of row {seen[number]}")
        elif number is not None:
            seen[number] = row.number
        if row.failed or number is None or client is None or issued is None:
            continue
        out.append(
            ManualInvoice(
                number=number,
                client=client,
                issue_date=issued,
                net=net[0] if net else None,
                gross=gross[0] if gross else None,
                currency=next(iter(codes), None),
                client_is_ref=client_key == "client_ref",
                row=row.number,
            )
        )
    table.raise_problems()
    return out


__all__ = [
    "ColumnMapping",
    "CsvProblems",
    "ManualInvoice",
    "decode",
    "parse_deals",
    "parse_manual_invoices",
    "parse_time_entries",
]
