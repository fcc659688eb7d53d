"""Pipedrive: webhooks v2 for deals (``change.deal`` with status won) → ``deal.*`` events,
and a poller over API v2 deals.

Documents followed:

* "Guide for Webhooks v2", https://pipedrive.readme.io/docs/guide-for-webhooks-v2: a webhook
  is created with ``http_auth_user``/``http_auth_password`` and Pipedrive sends them as HTTP
  Basic auth; there is no signature (also "pipedrive-webhooks" skill by Hookdeck: "Pipedrive
  does NOT sign webhooks … Authorization: Basic <base64(user:pass)>"). The body is
  ``{meta, data, previous}``; ``data`` is the object as of this update (null on delete),
  ``previous`` holds only the fields that changed (null on create). ``meta.id`` is "ID of the
  event triggering the webhook", ``meta.attempt`` counts retries (so a retry carries the same
  ``meta.id`` — inferred, not stated), ``meta.timestamp`` is documented as a "10 character
  timestamp" while the example shows ISO 8601: both are read.
* "Webhooks v2 migration guide", https://pipedrive.readme.io/docs/webhooks-v2-migration-guide:
  ``current`` became ``data``, ``retry`` became ``meta.attempt``, custom fields live in
  ``data.custom_fields``; a v1 body (``current``/``meta.v``) is refused with a hint.

Because ``previous`` holds only changed fields, a deal counts as *won* when ``data.status`` is
``won`` and either it was created so (``create``) or ``previous.status`` exists and is not
``won`` — an edit of an already won deal is a ``deal.changed``. The per-source URL token is
checked by the intake. ``fetch`` has nothing to add (deal products are not read).

Polling (:class:`PipedrivePoller`, ``POLLER``) — deals updated since the cursor, API v2:

* ``GET /api/v2/deals`` ("Get all deals", ``pipedrive/client-nodejs``
  ``src/versions/v2/api/deals-api.ts`` and the v2 OpenAPI text): ``updated_since`` "only
  deals with an ``update_time`` later than or equal to this time … In RFC3339 format, e.g.
  2025-01-01T10:20:00Z"; ``sort_by`` ``id``/``update_time``/``add_time``; ``sort_direction``
  ``asc``/``desc``; ``limit`` (default 100, max 500); ``cursor`` "the marker (an opaque
  string value) representing the first item on the next page". The answer carries
  ``additional_data.next_cursor`` (changelog "cursor-paginated GET endpoints", 2023-03-21);
  no ``next_cursor`` means the last page. Only not-deleted deals are listed by default.
* v2 deals carry ids only (``org_id``, ``stage_id``, no related objects), RFC 3339 times and
  ``custom_fields`` (https://pipedrive.readme.io/docs/pipedrive-api-v2-migration-guide).
* Auth — https://pipedrive.readme.io/docs/core-api-concepts-authentication : "The API token
  must be provided in the x-api-token header for all requests" (example
  ``https://companydomain.pipedrive.com/api/v2/deals``). The base is ``api_base``, else
  ``https://{options.company_domain}.pipedrive.com``, else ``https://api.pipedrive.com``.

Each listed deal becomes the event its webhook gives for its status (``deal_fields`` is
shared): ``won`` → ``deal.won``, ``lost`` → ``deal.lost``, else ``deal.changed``;
``dedupe_key`` = ``pipedrive:poll:{id}:{update_time}``, ``version`` = ``update_time``. A
won deal edited later is listed again with a newer ``update_time`` and gives another
``deal.won`` (new key, newer version), as HubSpot's poller does. ``updated_since`` is
inclusive, so the cursor is the greatest ``update_time`` seen: the newest deal is read
again next time and recognised by its key. Not confirmed: whether a deal whose only change
is to a related object (product, participant) gets a new ``update_time``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ...domain.errors import InvalidValue
from ...domain.events import DEAL_CHANGED, DEAL_LOST, DEAL_WON, Event, Subject
from ...services.connectors import (
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

_PLAIN_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
API_BASE = "https://api.pipedrive.com"
DEALS_PATH = "/api/v2/deals"
PAGE_LIMIT = 100
MAX_PAGES = 1000
_POLLED_TYPES = {"won": DEAL_WON, "lost": DEAL_LOST}


def _dec(value: Any, field: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidValue(f"{value!r} is not a number", field=field) from None
    if not number.is_finite():
        raise InvalidValue(f"{value!r} is not a finite number", field=field)
    return str(number)


def _time(value: Any, field: str) -> datetime:
    """A Pipedrive time: Unix seconds (the documented "10 character timestamp"), ISO 8601,
    or the API's ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    if isinstance(value, bool):
        raise InvalidValue(f"{value!r} is not a time", field=field)
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidValue(f"{value!r} is not a Unix time", field=field) from None
    text = str(value).strip()
    if _PLAIN_TIME.fullmatch(text):
        text = text.replace(" ", "T") + "+00:00"
    return from_iso(text, field=field)


def _ref(value: Any) -> str | None:
    """An id that may come bare (v2) or as ``{"value": id, "name": …}`` (API v1 style)."""
    if isinstance(value, Mapping):
        value = value.get("value", value.get("id"))
    return None if value is None or value == "" else str(value)


def deal_fields(
    data: Mapping[str, Any], deal_id: str, config: SourceConfig, *, where: str
) -> dict[str, Any]:
    """The canonical fields of a deal object (a webhook's ``data`` or an API v2 deal)."""
    closed = data.get("won_time") or data.get("close_time")
    fields: dict[str, Any] = {
        **mapped_fields(data, config),
        "deal_id": deal_id,
        "name": data.get("title"),
        "amount": _dec(data.get("value"), f"{where}.value"),
        "currency": data.get("currency"),
        "stage": _ref(data.get("stage_id")),
        "pipeline": _ref(data.get("pipeline_id")),
        "status": str(data.get("status") or "open"),
        "close_date": _time(closed, f"{where}.won_time").date().isoformat() if closed else None,
        "client_ref": _ref(data.get("org_id")),
    }
    org = data.get("org_id")
    if isinstance(org, Mapping) and org.get("name"):
        fields["client_name"] = org["name"]
    return fields


class PipedriveConnector:
    kind = "pipedrive"

    def verify(self, request: InboundRequest, secrets: SourceSecrets, *, now: datetime) -> Verified:
        if not secrets.basic_user or not secrets.basic_password:
            raise SignatureRejected("this source has no HTTP Basic credentials configured")
        header = require_header(request.headers, "Authorization").strip()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic" or not token.strip():
            raise SignatureRejected("the Authorization header does not carry Basic credentials")
        try:
            pair = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise SignatureRejected("the Basic credentials are not valid base64") from None
        user, colon, password = pair.partition(b":")
        user_ok = same(user, secrets.basic_user.encode())
        password_ok = same(password, secrets.basic_password.encode())
        if not (colon and user_ok & password_ok):
            raise SignatureRejected("the Basic credentials do not match")
        return Verified(delivery_id=None)

    def parse(self, headers: Mapping[str, str], body: bytes, config: SourceConfig) -> list[Event]:
        payload = load_json(body)
        if not isinstance(payload, Mapping):
            raise InvalidValue("a Pipedrive webhook body is a JSON object", field="body")
        meta = need(payload, "meta")
        if not isinstance(meta, Mapping):
            raise InvalidValue("meta is not an object", field="body.meta")
        if "current" in payload or "v" in meta or str(meta.get("version", "2")).startswith("1"):
            raise InvalidValue(
                "this is a webhooks v1 body; create the Pipedrive webhook with version 2.0",
                field="body.meta.version",
            )
        if meta.get("entity") != "deal":
            return []
        action = str(need(payload, "meta.action"))
        if action not in ("create", "change"):
            return []  # delete: data is null, nothing to invoice or track
        data = need(payload, "data")
        if not isinstance(data, Mapping):
            raise InvalidValue("data is not an object", field="body.data")
        previous = payload.get("previous") or {}
        if not isinstance(previous, Mapping):
            raise InvalidValue("previous is not an object", field="body.previous")
        deal_id = _ref(data.get("id")) or _ref(meta.get("entity_id"))
        if deal_id is None:
            raise InvalidValue("the deal has no id", field="body.data.id")
        occurred = _time(need(payload, "meta.timestamp"), "body.meta.timestamp")
        updated = data.get("update_time")
        version = _time(updated, "body.data.update_time") if updated else occurred
        status = str(data.get("status") or "open")
        moved = action == "create" or ("status" in previous and previous["status"] != status)
        if status == "won" and moved:
            event_type = DEAL_WON
        elif status == "lost" and moved:
            event_type = DEAL_LOST
        else:
            event_type = DEAL_CHANGED
        fields = deal_fields(data, deal_id, config, where="body.data")
        event_id = meta.get("id")
        dedupe = (
            f"pipedrive:{event_id}"
            if event_id not in (None, "")
            else f"pipedrive:{digest('deal', deal_id, action, meta.get('timestamp'))}"
        )
        return [
            Event(
                type=event_type,
                subject=Subject.DEAL,
                external_id=deal_id,
                occurred_at=occurred,
                dedupe_key=dedupe,
                fields=fields,
                raw=dict(payload),
                needs_fetch=False,
                version=version,
            )
        ]

    def fetch(self, event: Event, secrets: SourceSecrets, config: SourceConfig) -> Event:
        return event


def polled_deal_event(deal: Any, config: SourceConfig, *, where: str) -> Event:
    """One deal of an API v2 list answer → the event its webhook gives for its status:
    ``won`` → ``deal.won``, ``lost`` → ``deal.lost``, else ``deal.changed``."""
    if not isinstance(deal, Mapping):
        raise InvalidValue(f"{where} is not an object", field=where)
    deal_id = _ref(need(deal, "id", where=where))
    if deal_id is None:
        raise InvalidValue(f"{where}.id is missing", field=f"{where}.id")
    updated_raw = need(deal, "update_time", where=where)
    updated = _time(updated_raw, f"{where}.update_time")
    status = str(deal.get("status") or "open")
    return Event(
        type=_POLLED_TYPES.get(status, DEAL_CHANGED),
        subject=Subject.DEAL,
        external_id=deal_id,
        occurred_at=updated,
        dedupe_key=f"pipedrive:poll:{deal_id}:{updated_raw}",
        fields=deal_fields(deal, deal_id, config, where=where),
        raw=dict(deal),
        version=updated,
    )


class PipedrivePoller:
    kind = "pipedrive"

    def poll(
        self, secrets: SourceSecrets, config: SourceConfig, cursor: str | None, *, now: datetime
    ) -> PollResult:
        if not secrets.api_token:
            raise VendorRefused("this Pipedrive source has no API token configured")
        start = poll_start(config, cursor, now)
        domain = config.options.get("company_domain")
        base = f"https://{domain}.pipedrive.com" if domain else API_BASE
        params: dict[str, Any] = {
            "updated_since": utc_stamp(start),
            "sort_by": "update_time",
            "sort_direction": "asc",
            "limit": PAGE_LIMIT,
        }
        events: list[Event] = []
        stamps = [start] if cursor else []
        seen: set[str] = set()
        with api_client(config, base, {"x-api-token": secrets.api_token}) as client:
            for page in range(1, MAX_PAGES + 1):
                body = get_json(client, DEALS_PATH, **params)
                for i, deal in enumerate(_page_deals(body, f"page{page}")):
                    event = polled_deal_event(deal, config, where=f"page{page}.data.{i}")
                    events.append(event)
                    stamps.append(event.stamp)
                token = pick(body, "additional_data.next_cursor")
                if not token or str(token) in seen:
                    break
                seen.add(str(token))
                params["cursor"] = str(token)
            else:
                raise VendorRefused(f"Pipedrive still had a next page after {MAX_PAGES} pages")
        return PollResult(events=events, cursor=utc_stamp(max(stamps)) if stamps else None)


def _page_deals(body: Any, where: str) -> list[Any]:
    """The ``data`` list of one page (``null`` when empty, as v1 answered)."""
    if not isinstance(body, Mapping):
        raise InvalidValue(f"{where} is not a JSON object", field=where)
    if "data" not in body:
        raise InvalidValue(f"{where}.data is missing", field=f"{where}.data")
    deals = body["data"] or []
    if not isinstance(deals, list):
        raise InvalidValue(f"{where}.data is not a list", field=f"{where}.data")
    return deals


CONNECTOR = PipedriveConnector()
POLLER = PipedrivePoller()

__all__ = ["CONNECTOR", "POLLER", "PipedriveConnector", "PipedrivePoller", "polled_deal_event"]
