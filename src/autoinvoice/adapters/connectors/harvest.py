"""Harvest (API v2): no webhooks, so the worker polls changed time entries.

Documents followed (confirmed with the search tool):

* https://help.getharvest.com/api-v2/introduction/overview/general — every request carries
  ``Authorization: Bearer <token>``, ``Harvest-Account-Id: <account id>`` and a
  ``User-Agent`` naming the application and a contact (missing → 400).
* https://help.getharvest.com/api-v2/introduction/overview/pagination — list responses carry
  ``page``, ``total_pages``, ``total_entries``, ``next_page``, ``previous_page`` and
  ``links{first,next,previous,last}``; "use the links section instead of constructing
  pagination links yourself" (``links.next`` may be a ``cursor=…`` URL, in which case
  ``next_page`` is null on middle pages). ``per_page`` is 1…2000 in the current text
  (older text: 1…100); we ask for 100.
* https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/ — the time
  entry object (``id``, ``spent_date``, ``user{id,name}``, ``client{id,name,currency}``,
  ``project{id,name,code}``, ``task{id,name}``, ``hours``, ``rounded_hours``, ``notes``,
  ``is_running``, ``billable``, ``is_billed``, ``timer_started_at``, ``started_time``,
  ``updated_at`` …) and ``GET /v2/time_entries?updated_since=<ISO 8601>``.

Source options: ``account_id`` (required), ``since`` (first poll's start: a date or an ISO
8601 instant; default 30 days before ``now``). Fields beyond the canonical ones:
``rounded_hours`` (what Harvest itself invoices), ``is_billed`` (Harvest already invoiced
it), ``task_ref``, ``project_code``, ``started_time`` ("9:00am", account time zone).

Not confirmed: whether ``updated_since`` is inclusive. We assume it may be, so the next
cursor is the greatest ``updated_at`` seen (not one second later): an entry updated in the
same second as the cursor is read again and recognised by its dedupe key
``harvest:{id}:{updated_at}``. Deleted entries are not visible through ``updated_since``
(reference notes [U]), so no ``time_entry.deleted`` events come from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import httpx

from ...domain.errors import InvalidValue
from ...domain.events import TIME_LOGGED, Event, Subject
from ...services.connectors import PollResult, SourceConfig, SourceSecrets, VendorRefused
from .base import api_client, from_iso, get_json, mapped_fields, need, pick, poll_start

DEFAULT_BASE = "https://api.harvestapp.com"
PATH = "/v2/time_entries"
PER_PAGE = 100
MAX_PAGES = 1000  # 100 000 entries in one poll: beyond that something loops


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _decimal(value: Any, *, field: str) -> str:
    """A vendor number as an exact decimal string (``Decimal(str(x))``, never float maths)."""
    if isinstance(value, bool):
        raise InvalidValue(f"{value!r} is not a number", field=field)
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise InvalidValue(f"{value!r} is not a number", field=field) from None
    if not d.is_finite():
        raise InvalidValue(f"{value!r} is not a finite number", field=field)
    return str(d)


def _ref(value: Any) -> str | None:
    return None if value is None else str(value)


def entry_event(entry: Mapping[str, Any], config: SourceConfig, *, where: str) -> Event:
    """One Harvest time entry object → ``time_entry.logged`` (pure)."""
    entry_id = str(need(entry, "id", where=where))
    updated_raw = need(entry, "updated_at", where=where)
    updated = from_iso(updated_raw, field=f"{where}.updated_at")
    fields: dict[str, Any] = {
        "entry_id": entry_id,
        "hours": _decimal(need(entry, "hours", where=where), field=f"{where}.hours"),
        "day": str(need(entry, "spent_date", where=where)),
        "person": pick(entry, "user.name"),
        "person_ref": _ref(pick(entry, "user.id")),
        "task": pick(entry, "task.name"),
        "task_ref": _ref(pick(entry, "task.id")),
        "description": entry.get("notes") or "",
        "billable": bool(entry.get("billable", False)),
        "is_billed": bool(entry.get("is_billed", False)),
        "project_ref": str(need(entry, "project.id", where=where)),
        "project_name": pick(entry, "project.name"),
        "project_code": pick(entry, "project.code") or None,
        "client_ref": _ref(pick(entry, "client.id")),
        "client_name": pick(entry, "client.name"),
        "updated_at": _iso(updated),
    }
    if entry.get("rounded_hours") is not None:
        fields["rounded_hours"] = _decimal(entry["rounded_hours"], field=f"{where}.rounded_hours")
    if entry.get("timer_started_at"):
        started = from_iso(entry["timer_started_at"], field=f"{where}.timer_started_at")
        fields["started_at"] = _iso(started)
    elif entry.get("started_time"):
        # "8:00am" in the account's time zone; the date is spent_date. Passed on as Harvest
        # wrote it: without the account's zone it cannot become an instant.
        fields["started_time"] = str(entry["started_time"])
    fields.update(mapped_fields(entry, config))
    return Event(
        type=TIME_LOGGED,
        subject=Subject.TIME_ENTRY,
        external_id=entry_id,
        occurred_at=updated,
        dedupe_key=f"harvest:{entry_id}:{updated_raw}",
        fields=fields,
        raw=dict(entry),
        version=updated,
    )


def page_events(
    body: Any, config: SourceConfig, *, where: str = "body"
) -> tuple[list[Event], datetime | None]:
    """The events of one list page and the greatest ``updated_at`` on it. Running entries
    count for the cursor but give no event yet: stopping the timer changes the entry's
    hours, so it comes back with a newer ``updated_at`` (assumed; Harvest does not say)."""
    entries = need(body, "time_entries", where=where)
    if not isinstance(entries, list):
        raise InvalidValue(f"{where}.time_entries is not a list", field=f"{where}.time_entries")
    events: list[Event] = []
    newest: datetime | None = None
    for i, entry in enumerate(entries):
        at = f"{where}.time_entries.{i}"
        if not isinstance(entry, Mapping):
            raise InvalidValue(f"{at} is not an object", field=at)
        updated = from_iso(need(entry, "updated_at", where=at), field=f"{at}.updated_at")
        newest = updated if newest is None or updated > newest else newest
        if entry.get("is_running"):
            continue
        events.append(entry_event(entry, config, where=at))
    return events, newest


def _relative(link: str, base: httpx.URL) -> str:
    """``links.next`` as a path and query on our configured API base: the token only ever
    goes to that base (a proxy or the test server keeps working with Harvest's links)."""
    parts = urlsplit(link)
    path = parts.path
    prefix = base.path.rstrip("/")
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) :]
    return f"{path}?{parts.query}" if parts.query else path


class HarvestPoller:
    kind = "harvest"

    def poll(
        self, secrets: SourceSecrets, config: SourceConfig, cursor: str | None, *, now: datetime
    ) -> PollResult:
        if not secrets.api_token:
            raise VendorRefused("this Harvest source has no API token configured")
        account = config.options.get("account_id")
        if not account:
            raise VendorRefused("this Harvest source has no account_id option configured")
        since = poll_start(config, cursor, now)
        headers = {
            "Authorization": f"Bearer {secrets.api_token}",
            "Harvest-Account-Id": str(account),
        }
        query: dict[str, Any] = {"updated_since": _iso(since), "per_page": PER_PAGE}
        events: list[Event] = []
        stamps: list[datetime] = [from_iso(cursor, field="cursor")] if cursor else []
        with api_client(config, DEFAULT_BASE, headers) as client:
            target, params = PATH, {**query, "page": 1}
            seen = {f"{target}{params}"}
            for number in range(1, MAX_PAGES + 1):
                body = get_json(client, target, **params)
                found, newest = page_events(body, config, where=f"page{number}")
                events.extend(found)
                stamps.extend([newest] if newest else [])
                step = self._next(body, client.base_url, query)
                if step is None or f"{step[0]}{step[1]}" in seen:
                    break
                target, params = step
                seen.add(f"{target}{params}")
            else:
                raise VendorRefused(f"Harvest still had a next page after {MAX_PAGES} pages")
        return PollResult(events=events, cursor=_iso(max(stamps)) if stamps else None)

    @staticmethod
    def _next(
        body: Any, base: httpx.URL, query: dict[str, Any]
    ) -> tuple[str, dict[str, Any]] | None:
        """The next page: ``links.next`` as Harvest asks (it may carry a ``cursor``), else
        ``next_page`` with our filters; None on the last page."""
        link = pick(body, "links.next")
        if isinstance(link, str) and link:
            return _relative(link, base), {}
        page = pick(body, "next_page")
        if page is None:
            return None
        if isinstance(page, bool) or not isinstance(page, int | str) or not str(page).isdigit():
            raise InvalidValue(f"next_page {page!r} is not a page number", field="body.next_page")
        return PATH, {**query, "page": int(page)}


POLLER = HarvestPoller()

__all__ = ["POLLER", "HarvestPoller", "entry_event", "page_events"]
