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
"""

from __future__ import annotations

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
    SourceConfig,
    SourceSecrets,
    Verified,
)
from .base import (
    check_sha256_header,
    from_iso,
    load_json,
    mapped_fields,
    need,
    pick,
    require_secret,
)

_ACTIONS = {"created": TIME_LOGGED, "updated": TIME_LOGGED, "deleted": TIME_DELETED}


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


def _fields(entry: Mapping[str, Any], kind: str, config: SourceConfig) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    start_raw = pick(entry, "start")
    if start_raw:
        start = from_iso(start_raw, field="body.payload.start")
        fields["started_at"] = start.isoformat()
        fields["day"] = start.astimezone(_zone(config)).date().isoformat()
    if kind == TIME_LOGGED:
        fields["hours"] = hours_of(need(entry, "duration", where="body.payload"))
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
        updated_at=from_iso(at, field="body.payload.at").isoformat() if at else None,
    )
    return fields


def hours_of(seconds: Any) -> str:
    """Seconds as hours: an exact decimal string, rounded half-up to 4 places.

    >>> hours_of(5400), hours_of(3001)
    ('1.5000', '0.8336')
    """
    try:
        value = Decimal(str(seconds))
    except InvalidOperation:
        raise InvalidValue(
            f"{seconds!r} is not a duration in seconds", field="body.payload.duration"
        ) from None
    return str((value / 3600).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _zone(config: SourceConfig) -> ZoneInfo:
    name = config.options.get("timezone") or "UTC"
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(f"unknown time zone {name!r}", field="config.options.timezone") from None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


CONNECTOR = TogglConnector()

__all__ = ["CONNECTOR", "TogglConnector", "hours_of"]
