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
    SignatureRejected,
    SourceConfig,
    SourceSecrets,
    Verified,
)
from .base import digest, from_iso, load_json, mapped_fields, need, pick, require_header, same

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
        "project_ref": pick(entry, "projectId") or None,
        "project_name": pick(entry, "project.name"),
        "client_ref": pick(entry, "project.clientId") or None,
        "client_name": pick(entry, "project.clientName") or None,
        "person_ref": user_id or None,
        "person": pick(entry, "user.name")
        or people.get(str(user_id))
        or (f"user {user_id}" if user_id else None),
    }


def _seconds(entry: Mapping[str, Any], start: datetime, end: Any, duration: Any) -> Decimal:
    if duration is None:  # not seen in practice; derive it from the interval
        delta = from_iso(end, field="body.timeInterval.end") - start
        if delta < timedelta(0):
            raise InvalidValue("the entry ends before it starts", field="body.timeInterval.end")
        return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 10**6
    match = _DURATION.fullmatch(str(duration))
    if match is None or not any(match.groupdict().values()):
        raise InvalidValue(
            f"{duration!r} is not an ISO 8601 duration like PT1H30M",
            field="body.timeInterval.duration",
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


CONNECTOR = ClockifyConnector()

__all__ = ["CONNECTOR", "EVENT_TYPES", "ClockifyConnector"]
