"""Toggl Track webhooks (Webhooks API v1): time entries logged, changed and deleted.

Vendor documents followed:

* Signature — https://engineering.toggl.com/docs/webhooks_start/validating_received_events :
  ``X-Webhook-Signature-256: sha256=<hex HMAC-SHA256(key = subscription secret, msg = full
  raw body)>``. The page's example (secret ``PGuRrhCFajIyEvFlreKL``, a PING body →
  ``sha256=bf829606…06b1``) is reproduced in our tests. No timestamp is signed.
* URL validation — https://engineering.toggl.com/docs/webhooks_start/url_endpoint_validation :
  a subscription gets events only once validated; its PING event (``"payload": "ping"``)
  carries ``validation_code`` for non-validated subscriptions and Toggl reads the answer
  body ``{"validation_code": "<code>"}``. The documented PING is itself signed, so the
  signature is checked first and the answer is a :class:`Handshake` (nothing stored).
  (The asynchronous alternative, ``GET …/validate/{ws}/{sub}/{code}``, is left to the user.)
* Envelope — ``{event_id, created_at, creator_id, metadata{action: created|updated|deleted,
  model: time_entry, path, time_entry_id, workspace_id …}, payload{…API v9 time entry…},
  subscription_id, timestamp, url_callback}`` (recorded deliveries; the v9 entry shape is
  https://engineering.toggl.com/docs/api/time_entries). A running entry has a negative
  ``duration`` and ``stop: null``.
* Dedupe — ``(subscription_id, event_id)`` (Toggl documents no delivery id header).

Mapping: ``created``/``updated`` of a stopped entry → ``time_entry.logged``; ``deleted`` →
``time_entry.deleted``; running entries and other models → nothing. ``hours`` is
``duration / 3600`` as a decimal string rounded half-up to 4 places; ``day`` is the start
date in ``config.options["timezone"]`` (default UTC); ``person`` comes from
``config.options["people"][str(user_id)]``, else ``"user <id>"``. ``version`` is the entry's
``at`` (last update), falling back to the event's ``created_at``.

Not confirmed: the exact payload of a ``deleted`` event (the entry id falls back to
``metadata.time_entry_id``) and Toggl's retry schedule.

Polling (:class:`TogglPoller`, ``POLLER``) — documents followed:

* https://engineering.toggl.com/docs/api/time_entries ("GET TimeEntries"):
  ``GET https://api.track.toggl.com/api/v9/me/time_entries`` with ``since`` = "entries
  modified since this date using UNIX timestamp, including deleted ones" and ``meta`` ("should
  the response contain data for meta entities": ``project_name``, ``client_name`` …). The
  answer is a JSON array (not paginated) of v9 time entries (``id, workspace_id,
  project_id, task_id, user_id, start, stop, duration, description, billable, tags, at``);
  403 = "User does not have access"; ``at`` is the last update.
* https://engineering.toggl.com/docs/authentication : HTTP Basic with the API token as user
  and the literal ``api_token`` as password; a failed authentication answers 403.
* ``server_deleted_at`` is not in that field table but is part of the v9 entry (recorded
  webhook payloads above; community typings): set → ``time_entry.deleted``.

Each entry becomes the event the webhook gives (same field mapping, ``field_map`` read from
``{"payload": entry}`` so one map serves both); ``dedupe_key`` =
``toggl:poll:{id}:{at}``, ``version`` = ``at`` like the webhook's, so a webhook and a poll of
the same change both apply idempotently. ``since`` is the cursor (the greatest ``at`` seen)
less one second, so an entry changed in the cursor's second is read again (and recognised
by its key) whether Toggl's ``since`` is inclusive or not (not documented). Running entries
move the cursor but give no event (stopping one changes its ``at``). Not confirmed: how far
back ``since`` may reach (an old Toggl note says about three months; older starts may be
refused with a 4xx, i.e. VendorRefused).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...domain.errors import InvalidValue
from ...domain.events import TIME_DELETED, TIME_LOGGED, Event, Subject
from ...services.connectors import (
    Handshake,
    InboundRequest,
    PollResult,
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    Verified,
)
from .base import (
    api_client,
    check_sha256_header,
    from_iso,
    get_json,
    load_json,
    mapped_fields,
    need,
    pick,
    poll_start,
    require_secret,
    utc_stamp,
)

_ACTIONS = {"created": TIME_LOGGED, "updated": TIME_LOGGED, "deleted": TIME_DELETED}
API_BASE = "https://api.track.toggl.com"
POLL_PATH = "/api/v9/me/time_entries"


class TogglConnector:
    kind = "toggl"

    def verify(
        self, request: InboundRequest, secrets: SourceSecrets, *, now: datetime
    ) -> Verified | Handshake:
        secret = require_secret(secrets.signing_secret, "Toggl subscription secret")
        check_sha256_header(request.body, request.headers, "X-Webhook-Signature-256", secret)
        return _ping_answer(request.body) or Verified(delivery_id=None)

    def parse(self, headers: Mapping[str, str], body: bytes, config: SourceConfig) -> list[Event]:
        data = load_json(body)
        if not isinstance(data, Mapping):
            raise InvalidValue("the body must be a JSON object", field="body")
        if data.get("payload") == "ping" or pick(data, "metadata.model") != "time_entry":
            return []
        kind = _ACTIONS.get(str(pick(data, "metadata.action")))
        if kind is None:
            return []
        entry = data.get("payload")
        entry = entry if isinstance(entry, Mapping) else {}
        if kind == TIME_LOGGED and not _stopped(entry):
            return []
        created = from_iso(need(data, "created_at"), field="body.created_at")
        at = pick(entry, "at")
        version = from_iso(at, field="body.payload.at") if at else created
        entry_id = pick(entry, "id") or need(data, "metadata.time_entry_id")
        fields = _fields(entry, kind, config) if entry else {}
        fields["entry_id"] = str(entry_id)
        return [
            Event(
                type=kind,
                subject=Subject.TIME_ENTRY,
                external_id=str(entry_id),
                occurred_at=created,
                dedupe_key=(f"toggl:{need(data, 'subscription_id')}:{need(data, 'event_id')}"),
                fields={**fields, **mapped_fields(data, config)},
                raw=data,
                version=version,
            )
        ]

    def fetch(self, event: Event, secrets: SourceSecrets, config: SourceConfig) -> Event:
        # The event carries the whole time entry: nothing to read back.
        return event


def _ping_answer(body: bytes) -> Handshake | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None  # parse() reports the fault with its position
    if not isinstance(data, Mapping) or data.get("payload") != "ping":
        return None
    code = data.get("validation_code")
    answer = json.dumps({"validation_code": code}).encode() if isinstance(code, str) else b""
    return Handshake(status=200, body=answer)


def _stopped(entry: Mapping[str, Any]) -> bool:
    duration = entry.get("duration")
    return (
        entry.get("stop") is not None
        and isinstance(duration, int | float)
        and not isinstance(duration, bool)
        and duration >= 0
    )


def _fields(
    entry: Mapping[str, Any], kind: str, config: SourceConfig, where: str = "body.payload"
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    start_raw = pick(entry, "start")
    if start_raw:
        start = from_iso(start_raw, field=f"{where}.start")
        fields["started_at"] = start.isoformat()
        fields["day"] = start.astimezone(_zone(config)).date().isoformat()
    if kind == TIME_LOGGED:
        duration = need(entry, "duration", where=where)
        fields["hours"] = hours_of(duration, field=f"{where}.duration")
    user_id = pick(entry, "user_id")
    people = config.options.get("people") or {}
    description = pick(entry, "description")
    at = pick(entry, "at")
    fields.update(
        description=description,
        task=pick(entry, "task_name") or description,
        billable=bool(entry.get("billable", False)),
        project_ref=_str_or_none(pick(entry, "project_id")),
        person_ref=_str_or_none(user_id),
        person=people.get(str(user_id)) or (f"user {user_id}" if user_id is not None else None),
        updated_at=from_iso(at, field=f"{where}.at").isoformat() if at else None,
    )
    return fields


def hours_of(seconds: Any, *, field: str = "body.payload.duration") -> str:
    """Seconds as hours: an exact decimal string, rounded half-up to 4 places.

    >>> hours_of(5400), hours_of(3001)
    ('1.5000', '0.8336')
    """
    try:
        value = Decimal(str(seconds))
    except InvalidOperation:
        raise InvalidValue(f"{seconds!r} is not a duration in seconds", field=field) from None
    return str((value / 3600).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _zone(config: SourceConfig) -> ZoneInfo:
    name = config.options.get("timezone") or "UTC"
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(f"unknown time zone {name!r}", field="config.options.timezone") from None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def entry_event(entry: Mapping[str, Any], config: SourceConfig, *, where: str) -> Event | None:
    """One v9 time entry read over the API → the event its webhook would give (pure);
    None for a running entry."""
    entry_id = str(need(entry, "id", where=where))
    at_raw = need(entry, "at", where=where)
    at = from_iso(at_raw, field=f"{where}.at")
    if entry.get("server_deleted_at"):
        kind = TIME_DELETED
    elif _stopped(entry):
        kind = TIME_LOGGED
    else:
        return None
    fields = _fields(entry, kind, config, where)
    fields["entry_id"] = entry_id
    for name in ("project_name", "client_name"):  # present when asked for with meta=true
        if entry.get(name):
            fields[name] = entry[name]
    return Event(
        type=kind,
        subject=Subject.TIME_ENTRY,
        external_id=entry_id,
        occurred_at=at,
        dedupe_key=f"toggl:poll:{entry_id}:{at_raw}",
        fields={**fields, **mapped_fields({"payload": entry}, config)},
        raw=dict(entry),
        version=at,
    )


def poll_events(
    body: Any, config: SourceConfig, *, where: str = "body"
) -> tuple[list[Event], datetime | None]:
    """The events of a ``GET /me/time_entries`` answer and the greatest ``at`` in it."""
    if not isinstance(body, list):
        raise InvalidValue(f"{where} is not a JSON array of time entries", field=where)
    events: list[Event] = []
    newest: datetime | None = None
    for i, entry in enumerate(body):
        at_path = f"{where}.{i}"
        if not isinstance(entry, Mapping):
            raise InvalidValue(f"{at_path} is not an object", field=at_path)
        event = entry_event(entry, config, where=at_path)
        stamp = from_iso(need(entry, "at", where=at_path), field=f"{at_path}.at")
        newest = stamp if newest is None or stamp > newest else newest
        if event is not None:
            events.append(event)
    return events, newest


class TogglPoller:
    kind = "toggl"

    def poll(
        self, secrets: SourceSecrets, config: SourceConfig, cursor: str | None, *, now: datetime
    ) -> PollResult:
        if not secrets.api_token:
            raise VendorRefused("this Toggl source has no API token configured")
        start = poll_start(config, cursor, now)
        since = int(start.timestamp()) - (1 if cursor else 0)
        basic = base64.b64encode(f"{secrets.api_token}:api_token".encode()).decode()
        with api_client(config, API_BASE, {"Authorization": f"Basic {basic}"}) as client:
            body = get_json(client, POLL_PATH, since=since, meta="true")
        events, newest = poll_events(body, config)
        stamps = [s for s in (newest, from_iso(cursor, field="cursor") if cursor else None) if s]
        return PollResult(events=events, cursor=utc_stamp(max(stamps)) if stamps else None)


CONNECTOR = TogglConnector()
POLLER = TogglPoller()

__all__ = [
    "CONNECTOR",
    "POLLER",
    "TogglConnector",
    "TogglPoller",
    "entry_event",
    "hours_of",
    "poll_events",
    "poll_start",
]
