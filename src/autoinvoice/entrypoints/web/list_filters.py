"""Reading the filters of a list page (invoices, payments, audit log) from its query string.

A filter that cannot be read is switched off with a notice saying why, and the page still
shows: a bookmarked or hand-edited URL must never turn into an error page.
"""

from __future__ import annotations

from datetime import date


def day_filter(text: str, what: str, notices: list[str]) -> date | None:
    """``text`` as a date, or None (empty, or not a date: then a notice).

    >>> notes: list[str] = []
    >>> day_filter("2026-11-25", "from", notes), day_filter("25.11.", "“from”", notes)
    (datetime.date(2026, 11, 25), None)
    >>> notes
    ["'25.11.' is not a date (YYYY-MM-DD); the “from” filter is off."]
    """
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        notices.append(f"{text!r} is not a date (YYYY-MM-DD); the {what} filter is off.")
        return None


def id_filter(text: str, what: str, notices: list[str]) -> int | None:
    """``text`` as an id, or None (empty, or not a number: then a notice)."""
    if not text.strip():
        return None
    if text.strip().isdigit():
        return int(text.strip())
    notices.append(f"{text!r} is not a {what}; that filter is off.")
    return None
