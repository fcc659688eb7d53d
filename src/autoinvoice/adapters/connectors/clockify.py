"""Clockify webhooks: time entries logged, changed and deleted.

Vendor documents followed:

* Authentication — Clockify does **not** sign the body. Every request carries
  ``Clockify-Signature: <the webhook's token>`` (shown per webhook in Workspace settings →
  Webhooks, ``authToken`` in ``GET /v1/workspaces/{id}/webhooks``), which we compare in
  constant time with the stored token; ``Clockify-Webhook-Event-Type`` names the event.
  Sources: https://clockify.me/help/administration/api-webhook-settings (UI),
  https://dev-docs.marketplace.cake.com/documentation/build/manifest/webhooks.html (header
  names and event list), public receivers comparing the header verbatim. Marketplace
  add-on webhooks send a Clockify-signed JWT in the same header; verifying that JWT is not
  supported here.
* Event types (same CAKE.com page): ``NEW_TIME_ENTRY``, ``TIME_ENTRY_UPDATED``,
  ``TIMER_STOPPED`` → ``time_entry.logged``; ``TIME_ENTRY_DELETED`` →
  ``time_entry.deleted``; ``NEW_TIMER_STARTED`` (a running entry) and the rest → nothing.
  ``TIME_ENTRY_RESTORED`` (seen in recorded samples, not in the documented list) is
  treated as logged.
* Body — the time-entry DTO: ``id, description, userId, projectId, taskId, billable,
  timeInterval{start, end, duration (ISO 8601, e.g. PT1H30M)}, workspaceId, hourlyRate,
  project{name, clientId, clientName}, task{name}, user{name}, tags``. A running entry has
  ``end``/``duration`` null; recorded ``TIME_ENTRY_DELETED`` samples have them null too.

Dedupe: Clockify sends no event id, so the key is a digest of the entry id, the event type
and the state it reports (``timeInterval`` and ``description``).

Ordering: the DTO has no modification time. ``timeInterval.end`` is not usable as one (it
moves back when an entry is shortened and is null in deletions), so ``version`` is left
``None`` and ``occurred_at`` is the entry's creation time — Clockify ids are MongoDB
ObjectIds whose first 4 bytes are the creation second — falling back to
``timeInterval.start``. Every event of one entry therefore carries the same stamp: none is
ever taken for stale, and they apply in arrival order.

Polling (:class:`ClockifyPoller`, ``POLLER``) — documents followed:

* https://clockify.me/developers-api (API v1, base ``https://api.clockify.me/api/v1``):
  every request carries ``X-Api-Key: <key>`` (else "Full authentication is required …");
  list endpoints take ``page`` (from 1) and ``page-size`` (default 50).
* "Get time entries for a user on workspace", ``GET /v1/workspaces/{workspaceId}/user/
  {userId}/time-entries`` (parameter text as in the official docs, quoted by the typed
  clients ``clockify-ts`` / ``clockify`` R package): ``start`` — "only time entries that
  started after the specified datetime will be returned. Datetime must be in ISO-8601 format
  … You send time based on your timezone (from Profile Settings), and get results in UTC";
  ``hydrated`` — "project, task and tags will be returned in full and not just their ids
  … projectId, taskId and tagIds will be changed to project, task and tags". The answer is a
  JSON array of time-entry DTOs (the webhook body's shape).

Clockify offers no "modified since" filter and the DTO has no modification time, so the
poll re-reads a window: from the cursor (the latest ``timeInterval.start`` of a finished
entry, held back to the start of any entry still running) less ``options.lookback_days``
(default 7; at least the 14 h of the profile-time-zone quirk above). An entry edited within
that window comes back with new content and so a new ``dedupe_key`` (``clockify:poll:`` +
digest of id, interval, description, billable, project, task); one re-read unchanged has the
same key and is skipped. Edits to entries started before the window, and deletions, are
not seen by polling (the webhooks carry them). ``version`` stays None as for webhooks.
Paging: ``page-size`` 200, a page shorter than that is the last (Clockify documents no
total; a ``Last-Page`` header is not relied on).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...domain.errors import InvalidValue
from ...domain.events import TIME_DELETED, TIME_LOGGED, Event, Subject
from ...services.connectors import (
    Handshake,
    InboundRequest,
    PollResult,
    SignatureRejected,
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    Verified,
)
from .base import (
    api_client,
    digest,
    from_iso,
    get_json,
    load_json,
    mapped_fields,
    need,
    pick,
    poll_start,
    require_header,
    same,
    utc_stamp,
)

EVENT_TYPES = {
    "NEW_TIME_ENTRY": TIME_LOGGED,
    "TIME_ENTRY_UPDATED": TIME_LOGGED,
    "TIMER_STOPPED": TIME_LOGGED,
    "TIME_ENTRY_RESTORED": TIME_LOGGED,
    "TIME_ENTRY_DELETED": TIME_DELETED,
}
_DURATION = re.compile(
    r"P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")
API_BASE = "https://api.clockify.me/api"
PAGE_SIZE = 200
MAX_PAGES = 500
LOOKBACK_DAYS = 7


class ClockifyConnector:
    kind = "clockify"

    def verify(
        self, request: InboundRequest, secrets: SourceSecrets, *, now: datetime
    ) -> Verified | Handshake:
        token = require_header(request.headers, "Clockify-Signature")
        if not secrets.signing_secret:
            raise SignatureRejected("this source has no Clockify webhook token configured")
        if not same(token.strip(), secrets.signing_secret):
            raise SignatureRejected("the Clockify-Signature is not this webhook's token")
        return Verified(delivery_id=None)

    def parse(self, headers: Mapping[str, str], body: bytes, config: SourceConfig) -> list[Event]:
        name = _header(headers, "Clockify-Webhook-Event-Type")
        if not name:
            raise InvalidValue(
                "the Clockify-Webhook-Event-Type header is missing",
                field="headers.clockify-webhook-event-type",
            )
        kind = EVENT_TYPES.get(name.strip())
        if kind is None:
            return []
        entry = load_json(body)
        if not isinstance(entry, Mapping):
            raise InvalidValue("the body must be a JSON object", field="body")
        entry_id = str(need(entry, "id"))
        start = from_iso(need(entry, "timeInterval.start"), field="body.timeInterval.start")
        end = pick(entry, "timeInterval.end")
        duration = pick(entry, "timeInterval.duration")
        if kind == TIME_LOGGED and end is None:
            return []  # still running: nothing to bill yet
        fields = _fields(entry, start, config)
        if kind == TIME_LOGGED:
            fields["hours"] = _hours(_seconds(entry, start, end, duration))
        return [
            Event(
                type=kind,
                subject=Subject.TIME_ENTRY,
                external_id=entry_id,
                occurred_at=_created(entry_id) or start,
                dedupe_key="clockify:"
                + digest(
                    entry_id, name.strip(), start.isoformat(), end, duration, fields["description"]
                ),
                fields={**fields, **mapped_fields(entry, config)},
                raw=entry,
                version=None,
            )
        ]

    def fetch(self, event: Event, secrets: SourceSecrets, config: SourceConfig) -> Event:
        # The event carries the whole time entry: nothing to read back.
        return event


def _fields(entry: Mapping[str, Any], start: datetime, config: SourceConfig) -> dict[str, Any]:
    user_id = pick(entry, "userId")
    people = config.options.get("people") or {}
    description = pick(entry, "description")
    return {
        "entry_id": str(entry["id"]),
        "started_at": start.isoformat(),
        "day": start.astimezone(_zone(config)).date().isoformat(),
        "description": description,
        "task": pick(entry, "task.name") or description,
        "billable": bool(entry.get("billable", False)),
        # a hydrated API answer has project{id, name …} instead of projectId
        "project_ref": pick(entry, "projectId") or pick(entry, "project.id") or None,
        "project_name": pick(entry, "project.name"),
        "client_ref": pick(entry, "project.clientId") or None,
        "client_name": pick(entry, "project.clientName") or None,
        "person_ref": user_id or None,
        "person": pick(entry, "user.name")
        or people.get(str(user_id))
        or (f"user {user_id}" if user_id else None),
    }


def _seconds(
    entry: Mapping[str, Any], start: datetime, end: Any, duration: Any, where: str = "body"
) -> Decimal:
    if duration is None:  # not seen in practice; derive it from the interval
        delta = from_iso(end, field=f"{where}.timeInterval.end") - start
        if delta < timedelta(0):
            raise InvalidValue("the entry ends before it starts", field=f"{where}.timeInterval.end")
        return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 10**6
    match = _DURATION.fullmatch(str(duration))
    if match is None or not any(match.groupdict().values()):
        raise InvalidValue(
            f"{duration!r} is not an ISO 8601 duration like PT1H30M",
            field=f"{where}.timeInterval.duration",
        )
    parts = {k: Decimal(v or 0) for k, v in match.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


def _hours(seconds: Decimal) -> str:
    """Hours as an exact decimal string, rounded half-up to 4 places (``PT1H30M`` → 1.5000)."""
    return str((seconds / 3600).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _created(entry_id: str) -> datetime | None:
    """The creation second embedded in a MongoDB ObjectId (its first 4 bytes)."""
    if not _OBJECT_ID.fullmatch(entry_id):
        return None
    return datetime.fromtimestamp(int(entry_id[:8], 16), tz=UTC)


def _zone(config: SourceConfig) -> ZoneInfo:
    name = config.options.get("timezone") or "UTC"
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(f"unknown time zone {name!r}", field="config.options.timezone") from None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name.lower())
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value or None


def entry_event(entry: Mapping[str, Any], config: SourceConfig, *, where: str) -> Event | None:
    """One time entry read over the API → ``time_entry.logged`` (pure); None while running."""
    entry_id = str(need(entry, "id", where=where))
    start_raw = need(entry, "timeInterval.start", where=where)
    start = from_iso(start_raw, field=f"{where}.timeInterval.start")
    end = pick(entry, "timeInterval.end")
    duration = pick(entry, "timeInterval.duration")
    if end is None:
        return None
    fields = _fields(entry, start, config)
    fields["hours"] = _hours(_seconds(entry, start, end, duration, where))
    state = (
        entry_id,
        start.isoformat(),
        end,
        duration,
        fields["description"],
        fields["billable"],
        fields["project_ref"],
        pick(entry, "taskId") or pick(entry, "task.id"),
    )
    return Event(
        type=TIME_LOGGED,
        subject=Subject.TIME_ENTRY,
        external_id=entry_id,
        occurred_at=_created(entry_id) or start,
        dedupe_key="clockify:poll:" + digest(*state),
        fields={**fields, **mapped_fields(entry, config)},
        raw=dict(entry),
        version=None,
    )


def page_events(
    body: Any, config: SourceConfig, *, where: str = "body"
) -> tuple[list[Event], datetime | None, datetime | None]:
    """A page's events, the latest start of a finished entry, the earliest of a running one."""
    if not isinstance(body, list):
        raise InvalidValue(f"{where} is not a JSON array of time entries", field=where)
    events: list[Event] = []
    finished: datetime | None = None
    running: datetime | None = None
    for i, entry in enumerate(body):
        at = f"{where}.{i}"
        if not isinstance(entry, Mapping):
            raise InvalidValue(f"{at} is not an object", field=at)
        event = entry_event(entry, config, where=at)
        start_raw = need(entry, "timeInterval.start", where=at)
        start = from_iso(start_raw, field=f"{at}.timeInterval.start")
        if event is None:
            running = start if running is None or start < running else running
        else:
            events.append(event)
            finished = start if finished is None or start > finished else finished
    return events, finished, running


def _lookback(config: SourceConfig) -> timedelta:
    value = config.options.get("lookback_days", LOOKBACK_DAYS)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidValue(
            f"{value!r} is not a number of days", field="config.options.lookback_days"
        )
    return timedelta(days=value)


class ClockifyPoller:
    kind = "clockify"

    def poll(
        self, secrets: SourceSecrets, config: SourceConfig, cursor: str | None, *, now: datetime
    ) -> PollResult:
        if not secrets.api_token:
            raise VendorRefused("this Clockify source has no API key configured")
        workspace, user = config.options.get("workspace_id"), config.options.get("user_id")
        if not workspace or not user:
            raise VendorRefused("this Clockify source needs workspace_id and user_id options")
        start = poll_start(config, cursor, now) - (_lookback(config) if cursor else timedelta(0))
        path = f"/v1/workspaces/{workspace}/user/{user}/time-entries"
        query = {"start": utc_stamp(start), "page-size": PAGE_SIZE, "hydrated": "true"}
        events: list[Event] = []
        finished = [from_iso(cursor, field="cursor")] if cursor else []
        running: list[datetime] = []
        with api_client(config, API_BASE, {"X-Api-Key": secrets.api_token}) as client:
            for page in range(1, MAX_PAGES + 1):
                body = get_json(client, path, **query, page=page)
                found, latest, earliest = page_events(body, config, where=f"page{page}")
                events.extend(found)
                finished.extend([latest] if latest else [])
                running.extend([earliest] if earliest else [])
                if len(body) < PAGE_SIZE:
                    break
            else:
                raise VendorRefused(f"Clockify still had entries after {MAX_PAGES} pages")
        newest = max(finished) if finished else None
        if running:  # keep a running entry inside the next window: its end is still to come
            newest = min([newest, *running]) if newest else min(running)
        return PollResult(events=events, cursor=utc_stamp(newest) if newest else None)


CONNECTOR = ClockifyConnector()
POLLER = ClockifyPoller()

__all__ = [
    "CONNECTOR",
    "EVENT_TYPES",
    "POLLER",
    "ClockifyConnector",
    "ClockifyPoller",
    "entry_event",
    "page_events",
]
