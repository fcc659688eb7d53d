"""Invoice numbering series.

A series renders a sequence number into an invoice number with a pattern such as
``INV-{yyyy}-{seq:06d}``. Placeholders: ``{yyyy}``, ``{yy}``, ``{mm}`` (from the issue
date) and ``{seq}`` with any integer format spec. With ``yearly_reset`` the sequence starts
again at 1 each calendar year (the period key is the year); otherwise it runs forever.

Allocation (gapless, in the issuing transaction) is the storage adapter's job; this module
only formats and names periods.

>>> from datetime import date
>>> NumberSeries("INV-{yyyy}-{seq:06d}", yearly_reset=True).render(123, date(2026, 3, 1))
'INV-2026-000123'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from string import Formatter

from .errors import InvalidValue

DEFAULT_PATTERN = "INV-{yyyy}-{seq:06d}"
_PLACEHOLDERS = frozenset({"yyyy", "yy", "mm", "seq"})


@dataclass(frozen=True, slots=True)
class NumberSeries:
    pattern: str = DEFAULT_PATTERN
    yearly_reset: bool = False

    def __post_init__(self) -> None:
        try:
            fields = [f for _, f, _, _ in Formatter().parse(self.pattern) if f is not None]
        except ValueError as exc:
            raise InvalidValue(
                f"{self.pattern!r} is not a valid pattern ({exc})", field="pattern"
            ) from None
        unknown = [f for f in fields if f not in _PLACEHOLDERS]
        if unknown:
            raise InvalidValue(
                f"unknown placeholder {{{unknown[0]}}}; use {{yyyy}}, {{yy}}, {{mm}}, {{seq}}",
                field="pattern",
            )
        if self.yearly_reset and not {"yyyy", "yy"} & set(fields):
            raise InvalidValue(
                "a series that restarts each year needs {yyyy} or {yy} in its "
                "pattern, or its numbers would repeat",
                field="pattern",
            )
        if "seq" not in fields:
            raise InvalidValue("the pattern must contain {seq}, e.g. {seq:06d}", field="pattern")
        try:
            self.render(1, date(2000, 1, 1))
        except (KeyError, ValueError, IndexError, TypeError, AttributeError) as exc:
            raise InvalidValue(
                f"{self.pattern!r} is not a valid pattern ({exc}); "
                "use {yyyy}, {yy}, {mm}, {seq}",
                field="pattern",
            ) from None

    def period_key(self, issue_date: date) -> str:
        return str(issue_date.year) if self.yearly_reset else "all"

    def render(self, seq: int, issue_date: date) -> str:
        if seq < 1:
            raise InvalidValue(f"sequence numbers start at 1, got {seq}", field="seq")
        return self.pattern.format(
            seq=seq,
            yyyy=f"{issue_date.year:04d}",
            yy=f"{issue_date.year % 100:02d}",
            mm=f"{issue_date.month:02d}",
        )


__all__ = ["DEFAULT_PATTERN", "NumberSeries"]
