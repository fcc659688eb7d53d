"""Recurring schedules as RFC 5545 recurrence rules, evaluated in the contract's time zone.

``FREQ=MONTHLY;BYMONTHDAY=1`` fires on the 1st at the ``dtstart`` wall-clock time in the
contract's zone, whatever the DST offset is that day; ``FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;
BYSETPOS=-1`` is the last business day. python-dateutil evaluates the rule.

>>> from datetime import datetime, UTC
>>> r = Recurrence("FREQ=MONTHLY;BYMONTHDAY=1", "Europe/Berlin", datetime(2026, 1, 1, 6))
>>> after, until = datetime(2026, 2, 15, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)
>>> [d.isoformat() for d in r.between(after, until)]
['2026-03-01T05:00:00+00:00', '2026-04-01T04:00:00+00:00']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

from .errors import InvalidValue


def zone(name: str, *, field: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidValue(f"{name!r} is not an IANA time zone", field=field) from None


def require_aware(moment: datetime, field: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidValue("a timezone-aware datetime is required", field=field)
    return moment


@dataclass(frozen=True, slots=True)
class Recurrence:
    """An RRULE anchored at ``dtstart``, a naive wall-clock time in ``timezone``."""

    rule: str
    timezone: str
    dtstart: datetime

    def __post_init__(self) -> None:
        if self.dtstart.tzinfo is not None:  # convert to the contract's wall clock
            local = self.dtstart.astimezone(zone(self.timezone))
            object.__setattr__(self, "dtstart", local.replace(tzinfo=None))
        self._rrule()

    def _rrule(self) -> rrule:
        tz = zone(self.timezone)
        text = self.rule.strip()
        if text.upper().startswith("RRULE:"):
            text = text[6:]
        if "\n" in text or ":" in text or "DTSTART" in text.upper():
            raise InvalidValue(
                "give one RRULE line (FREQ=…;…); the start comes from the "
                "contract, not from a DTSTART line",
                field="rrule",
            )
        interval = re.search(r"INTERVAL=([^;]*)", text.upper())
        if interval and not (interval.group(1).isdigit() and int(interval.group(1)) >= 1):
            raise InvalidValue("INTERVAL must be a whole number of at least 1", field="rrule")
        try:
            parsed = rrulestr(text, dtstart=self.dtstart.replace(tzinfo=tz))
        except (ValueError, TypeError) as exc:
            raise InvalidValue(
                f"{self.rule!r} is not a valid RFC 5545 RRULE: {exc}", field="rrule"
            ) from None
        if not isinstance(parsed, rrule):
            raise InvalidValue("give a single RRULE, not a set", field="rrule")
        return parsed

    def between(self, after: datetime, until: datetime) -> list[datetime]:
        """Occurrences in ``(after, until]``, as aware UTC datetimes."""
        require_aware(after, "after")
        require_aware(until, "until")
        occ = self._rrule().between(after, until, inc=True)
        return [o.astimezone(UTC) for o in occ if o > after]

    def next_after(self, moment: datetime) -> datetime | None:
        nxt = self._rrule().after(require_aware(moment, "moment"), inc=False)
        return nxt.astimezone(UTC) if nxt else None

    def local_date(self, occurrence: datetime) -> date:
        return occurrence.astimezone(zone(self.timezone)).date()

    def period(self, occurrence: datetime) -> tuple[date, date]:
        """The service period an occurrence bills in advance: its date up to the day before
        the next occurrence (or one month, for a last occurrence)."""
        start = self.local_date(occurrence)
        nxt = self.next_after(occurrence)
        if nxt is None:
            return start, start + relativedelta(months=1) - timedelta(days=1)
        return start, self.local_date(nxt) - timedelta(days=1)


__all__ = ["Recurrence", "require_aware", "zone"]
