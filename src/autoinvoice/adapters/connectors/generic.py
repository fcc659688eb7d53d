"""Generic webhooks: HMAC-signed JSON from anything else, in our own documented format.

**Signature** — the Standard Webhooks 1.0 symmetric scheme
(``standard-webhooks/standard-webhooks:spec/standard-webhooks.md``; reference library
``standardwebhooks`` on PyPI, ``libraries/python/standardwebhooks/webhooks.py``):

* ``webhook-id``: the message id, the same on every retry — our delivery id and the
  sender's idempotency key;
* ``webhook-timestamp``: integer Unix seconds of the attempt; more than **5 minutes** from
  our clock (either way) is refused;
* ``webhook-signature``: space-separated ``v1,<base64>`` entries (several during a key
  rotation; ``v1a`` asymmetric entries are ignored); one matching ``v1`` suffices;
* ``v1 = base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{raw body}"))`` where the
  key is the base64-decoded part of the ``whsec_…`` secret.

The key decoding and the signed content are the library's (``Webhook(secret).sign``); its
``Webhook.verify`` is not called because it reads the wall clock, while ours takes ``now``
from the caller (tests and the simulator move it). The tolerance and the any-``v1``-matches,
constant-time comparison mirror that ``verify``.

**Body** — one event object, or ``{"events": [event, …]}``. An event::

    {
      "id": "evt_01J9Z…",              # required, unique per sender: the dedupe key
      "type": "work.completed",        # required, one of our canonical event types
      "subject": "milestone",          # required: deal | project | milestone | task | time_entry
      "external_id": "M-7",            # required: the subject's id in the sending system
      "occurred_at": "2025-03-01T10:15:00+01:00",   # required, ISO 8601 with a zone
      "version": "2025-03-01T10:14:58Z",            # optional: when the subject had this state
      "fields": {"title": "Phase 2", "project_ref": "ACME-WEB", "amount": "1250.00"}
    }

``type`` and ``subject`` must agree (``deal.*`` → deal, ``work.*`` → project, milestone or
task, ``time_entry.*`` → time_entry). ``fields`` uses the canonical names of
:mod:`autoinvoice.domain.events`; ``amount`` and ``hours`` must be decimal *strings*
(``"7.25"``: JSON numbers would pass through binary floating point), ``day`` and
``close_date`` ISO dates, ``billable`` a boolean, ``labels`` a list of strings.
Errors name the place: ``body.events.2.type``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

from ...domain.errors import InvalidValue
from ...domain.events import EVENT_TYPES, Event, Subject
from ...services.connectors import (
    Handshake,
    InboundRequest,
    SignatureRejected,
    SourceConfig,
    SourceSecrets,
    Verified,
)
from .base import from_iso, load_json, mapped_fields, need, require_header, require_secret

TOLERANCE = timedelta(minutes=5)
_SUBJECTS = {
    "deal": {Subject.DEAL},
    "work": {Subject.PROJECT, Subject.MILESTONE, Subject.TASK},
    "time_entry": {Subject.TIME_ENTRY},
}
_DECIMAL_FIELDS = ("amount", "hours")
_DATE_FIELDS = ("day", "close_date")


class GenericConnector:
    kind = "generic"

    def verify(
        self, request: InboundRequest, secrets: SourceSecrets, *, now: datetime
    ) -> Verified | Handshake:
        msg_id = require_header(request.headers, "webhook-id")
        stamp = require_header(request.headers, "webhook-timestamp").strip()
        signatures = require_header(request.headers, "webhook-signature")
        webhook = _webhook(require_secret(secrets.signing_secret))
        if not stamp.isdigit():
            raise SignatureRejected("the webhook-timestamp header is not a Unix time in seconds")
        sent = datetime.fromtimestamp(int(stamp), tz=UTC)
        if sent < now - TOLERANCE:
            raise SignatureRejected("the webhook-timestamp is more than 5 minutes old")
        if sent > now + TOLERANCE:
            raise SignatureRejected("the webhook-timestamp is more than 5 minutes in the future")
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise SignatureRejected("the body is not UTF-8, so it cannot be signed JSON") from None
        expected = base64.b64decode(webhook.sign(msg_id, sent, text).partition(",")[2])
        if not any(hmac.compare_digest(expected, got) for got in _v1_signatures(signatures)):
            raise SignatureRejected("no v1 entry of webhook-signature matches the message")
        return Verified(delivery_id=msg_id)

    def parse(self, headers: Mapping[str, str], body: bytes, config: SourceConfig) -> list[Event]:
        data = load_json(body)
        if not isinstance(data, Mapping):
            raise InvalidValue("the body must be a JSON object", field="body")
        if "events" not in data:
            return [_event(data, "body", config)]
        events = data["events"]
        if not isinstance(events, list):
            raise InvalidValue("body.events must be a list of events", field="body.events")
        return [_event(item, f"body.events.{i}", config) for i, item in enumerate(events)]

    def fetch(self, event: Event, secrets: SourceSecrets, config: SourceConfig) -> Event:
        # Generic events are complete as sent: nothing to read back.
        return event


def _webhook(secret: str) -> Webhook:
    try:
        return Webhook(secret)
    except (EmptyWebhookSecretError, binascii.Error, ValueError, RuntimeError):
        raise SignatureRejected("the signing secret is not a whsec_… base64 key") from None


def _v1_signatures(header: str) -> list[bytes]:
    found = []
    for entry in header.split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue  # a malformed entry cannot match; another one may
    return found


def _event(item: Any, where: str, config: SourceConfig) -> Event:
    if not isinstance(item, Mapping):
        raise InvalidValue(f"{where} must be an event object", field=where)
    event_id = _text(item, "id", where)
    kind = _text(item, "type", where)
    if kind not in EVENT_TYPES:
        raise InvalidValue(
            f"{kind!r} is not an event type; use one of {', '.join(sorted(EVENT_TYPES))}",
            field=f"{where}.type",
        )
    subject_name = _text(item, "subject", where)
    allowed = _SUBJECTS[kind.split(".")[0]]
    if subject_name not in {s.value for s in allowed}:
        names = ", ".join(sorted(s.value for s in allowed))
        raise InvalidValue(
            f"a {kind} event is about a {names}, not {subject_name!r}", field=f"{where}.subject"
        )
    external_id = need(item, "external_id", where=where)
    if (
        not isinstance(external_id, str | int)
        or isinstance(external_id, bool)
        or not str(external_id).strip()
    ):
        raise InvalidValue(
            f"{where}.external_id must be a non-empty string or an integer",
            field=f"{where}.external_id",
        )
    occurred_at = from_iso(need(item, "occurred_at", where=where), field=f"{where}.occurred_at")
    version = item.get("version")
    fields = item.get("fields", {})
    if not isinstance(fields, Mapping):
        raise InvalidValue(f"{where}.fields must be an object", field=f"{where}.fields")
    _check_fields(fields, f"{where}.fields")
    return Event(
        type=kind,
        subject=Subject(subject_name),
        external_id=str(external_id),
        occurred_at=occurred_at,
        dedupe_key=f"generic:{event_id}",
        fields={**fields, **mapped_fields(item, config)},
        raw=item,
        version=from_iso(version, field=f"{where}.version") if version is not None else None,
    )


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = need(item, key, where=where)
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"{where}.{key} must be a non-empty string", field=f"{where}.{key}")
    return value


def _check_fields(fields: Mapping[str, Any], where: str) -> None:
    for name in _DECIMAL_FIELDS:
        if name in fields and fields[name] is not None:
            value = fields[name]
            if not isinstance(value, str) or not _is_decimal(value):
                raise InvalidValue(
                    f'{where}.{name} must be a decimal string like "1250.00", not {value!r}',
                    field=f"{where}.{name}",
                )
    for name in _DATE_FIELDS:
        if name in fields and fields[name] is not None:
            try:
                date.fromisoformat(str(fields[name]))
            except ValueError:
                raise InvalidValue(
                    f"{where}.{name} must be an ISO date like 2025-03-01", field=f"{where}.{name}"
                ) from None
    if "billable" in fields and not isinstance(fields["billable"], bool):
        raise InvalidValue(f"{where}.billable must be true or false", field=f"{where}.billable")
    labels = fields.get("labels")
    if labels is not None and (
        not isinstance(labels, list) or not all(isinstance(x, str) for x in labels)
    ):
        raise InvalidValue(f"{where}.labels must be a list of strings", field=f"{where}.labels")


def _is_decimal(value: str) -> bool:
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


CONNECTOR = GenericConnector()

__all__ = ["CONNECTOR", "TOLERANCE", "GenericConnector"]
