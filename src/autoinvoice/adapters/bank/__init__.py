"""Bank statement parsers: one module per format, each returning
:class:`~autoinvoice.domain.statements.StatementTransaction` values.

==========  ====================================  ==========================================
format      module                                parsed by
==========  ====================================  ==========================================
camt        :mod:`.camt` (camt.052/053/054)       lxml, namespace-aware (see its docstring)
mt940       :mod:`.mt940`                         ``mt-940`` (WoLpH/mt940)
ofx         :mod:`.ofx`                           ``ofxtools``
csv         :mod:`.csvfile`                       stdlib ``csv`` with a saved column mapping
==========  ====================================  ==========================================

A broken file raises :class:`StatementError` naming the line (MT940, OFX, CSV) or the
element path (camt) at fault; nothing of it is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any

from ...domain.errors import InvalidValue
from ...domain.money import minor_units
from ...domain.payment_aids import is_creditor_reference
from ...domain.statements import StatementTransaction

FORMATS = ("camt", "mt940", "ofx", "csv")


_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def creditor_reference_in(text: str) -> str | None:
    """An ISO 11649 reference quoted in free text, spaced or not (``RF18 5390 0754 7034``):
    the longest run after an ``RF`` whose check digits hold."""
    compact = _NOT_ALNUM.sub("", text.upper())
    for m in re.finditer(r"RF\d{2}", compact):
        for end in range(min(len(compact), m.start() + 25), m.start() + 4, -1):
            if is_creditor_reference(compact[m.start() : end]):
                return compact[m.start() : end]
    return None


def too_fine(amount: Decimal, currency: str) -> str | None:
    """Why ``amount`` cannot be an amount of ``currency`` — more decimals than its ISO 4217
    minor units (a broken file; ISO 20022 CurrencyAmount rule) — or None when it can."""
    places = minor_units(currency)
    if amount == amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):
        return None
    return f"{amount} has more decimals than {currency} has minor units ({places})"


class StatementError(InvalidValue):
    """A statement file that cannot be read; ``field`` is where (``line 12`` or an XPath)."""

    code = "invalid_statement"


def detect_format(data: bytes, filename: str = "") -> str:
    """Guess the format from the first bytes (and the file name for CSV)."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<?xml") or head.startswith(b"<Document"):
        return "ofx" if b"<OFX" in head and b"camt." not in head else "camt"
    if head.startswith(b"OFXHEADER") or b"<OFX>" in head:
        return "ofx"
    if head.startswith(b":20:") or head.startswith(b"{1:") or b"\n:20:" in head:
        return "mt940"
    if filename.lower().endswith((".csv", ".txt")) or b"," in head or b";" in head:
        return "csv"
    raise StatementError("cannot tell the statement format; pass it", field="format")


def parse_statement(
    data: bytes, fmt: str | None = None, *, mapping: Mapping[str, Any] | None = None
) -> list[StatementTransaction]:
    """All transactions of the file, keyed (see ``domain.statements.with_keys``)."""
    from ...domain.statements import with_keys
    from . import camt, csvfile, mt940, ofx

    fmt = fmt or detect_format(data)
    if fmt == "camt":
        txs = camt.parse(data)
    elif fmt == "mt940":
        txs = mt940.parse(data)
    elif fmt == "ofx":
        txs = ofx.parse(data)
    elif fmt == "csv":
        if mapping is None:
            raise StatementError("a CSV statement needs a saved column mapping", field="mapping")
        txs = csvfile.parse(data, mapping)
    else:
        raise StatementError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}", field="format")
    return with_keys(txs)


__all__ = [
    "FORMATS",
    "StatementError",
    "creditor_reference_in",
    "detect_format",
    "parse_statement",
    "too_fine",
]
