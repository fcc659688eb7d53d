"""ClickUp webhooks: ``taskStatusUpdated`` → task completed / reopened / changed; a poller
over the Workspace's tasks.

Vendor documents followed:

* Signature — https://developer.clickup.com/docs/webhooksignature : every request carries
  ``X-Signature`` = hex ``HMAC-SHA256(key = webhook.secret, msg = raw body)`` ("Signatures
  are always digested in hexadecimal format"); ``webhook.secret`` is returned when the
  webhook is created. No timestamp is signed and no delivery id header is documented.
* Payload — https://developer.clickup.com/docs/webhooktaskpayloads :
  ``{"event": "taskStatusUpdated", "history_items": [{id, type, date (Unix ms, string),
  field: "status", parent_id (the List id), data{status_type}, user, before{status, color,
  type, orderindex}, after{…}}], "task_id", "webhook_id"}``. A ``taskStatusUpdated`` is
  also sent when a task is created (``before.type`` is then ``removed``). Status names are
  per-List; the status *type* (``open``/``custom``/``done``/``closed``) is what we read.
* Read-back — ``GET /api/v2/task/{task_id}`` with ``Authorization: <personal token>``
  (https://developer.clickup.com/docs/authentication : "Personal tokens begin with pk_. Add
  the token to the header: Authorization: {personal_token}" — no ``Bearer``).
  Not confirmed: whether OAuth access tokens are sent the same way (the token is sent
  as configured, without a scheme).
* Delivery — retried up to 5 times (https://developer.clickup.com/docs/webhookhealth);
  the dedupe key is the history item ``id``.

Mapping, per history item whose ``field`` is ``status``: ``after.type`` in ``closed``/``done``
→ ``work.completed`` (needs a fetch, as the task name is not in the payload); from
``closed``/``done`` to anything else → ``work.reopened``; otherwise ``work.changed``.
``version`` = the history item's ``date``. Other ClickUp events give no event.

Polling (:class:`ClickUpPoller`, ``POLLER``) — tasks of the Workspace ``options.team_id``
updated since the cursor:

* "Get Filtered Team Tasks", https://developer.clickup.com/reference/getfilteredteamtasks
  (ClickUp API v2 OpenAPI): ``GET /api/v2/team/{team_Id}/task``; "Responses are limited to
  100 tasks per page"; ``page`` "Page to fetch (starts at 0)"; ``order_by`` ``id``/
  ``created``/``updated``/``due_date``; ``subtasks`` (excluded by default);
  ``include_closed`` ("By default, they are excluded"); ``date_updated_gt`` "Filter by
  date updated greater than Unix time in milliseconds". Answer ``{"tasks": [Task…]}`` with
  ``status{status, type}``, ``date_updated`` (Unix ms as a string), ``name``, ``custom_id``,
  ``tags[{name}]``, ``url``, ``list{id, name}``.
* ``last_page``: not in the OpenAPI schema, but present in answers (psolymos/clickrup#18:
  ``$ last_page: logi TRUE``; api-evangelist ClickUp conventions: "0-indexed page; iterate
  until last_page is true"). We stop at ``last_page: true`` or a page of fewer than 100.
* Auth as for the read-back: ``Authorization: <pk_… token>``, no scheme.

A task whose ``status.type`` is ``closed``/``done`` → ``work.completed`` (subject task,
``project_ref`` = ``list.id``, title, url, labels from tags, ``key`` = ``custom_id``);
others give no event (a poll cannot tell a reopen from any other edit). ``dedupe_key`` =
``clickup:poll:{id}:{date_updated}``, ``version`` = ``date_updated``. The cursor is the
greatest ``date_updated`` seen, stored in whole seconds (rounded down), so the newest task
may be read again under the same key; nothing is skipped although ``date_updated_gt`` is
strict. An edit of a closed task gives another ``work.completed`` (newer key and version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...domain.errors import InvalidValue
from ...domain.events import WORK_CHANGED, WORK_COMPLETED, WORK_REOPENED, Event, Subject
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
    from_millis,
    get_json,
    hex_hmac,
    load_json,
    mapped_fields,
    need,
    pick,
    poll_start,
    require_header,
    require_secret,
    same,
    utc_stamp,
)

API_BASE = "https://api.clickup.com"
DONE_TYPES = frozenset({"closed", "done"})
PAGE_SIZE = 100  # "Responses are limited to 100 tasks per page."
MAX_PAGES = 1000


class ClickUpConnector:
    kind = "clickup"

    def verify(
        self, request: InboundRequest, secrets: SourceSecrets, *, now: datetime
    ) -> Verified | Handshake:
        signature = require_header(request.headers, "X-Signature")
        secret = require_secret(secrets.signing_secret, "ClickUp webhook secret")
        if not same(hex_hmac(secret, request.body), signature.strip().lower()):
            raise SignatureRejected("the X-Signature does not match the body")
        return Verified(delivery_id=None)

    def parse(self, headers: Mapping[str, str], body: bytes, config: SourceConfig) -> list[Event]:
        data = load_json(body)
        if not isinstance(data, Mapping):
            raise InvalidValue("the body must be a JSON object", field="body")
        if data.get("event") != "taskStatusUpdated":
            return []
        task_id = str(need(data, "task_id"))
        items = need(data, "history_items")
        if not isinstance(items, list):
            raise InvalidValue("body.history_items must be a list", field="body.history_items")
        out: list[Event] = []
        for i, item in enumerate(items):
            where = f"body.history_items.{i}"
            if not isinstance(item, Mapping):
                raise InvalidValue(f"{where} must be an object", field=where)
            if item.get("field") == "status":
                out.append(_status_event(task_id, item, where, config))
        return out

    def fetch(self, event: Event, secrets: SourceSecrets, config: SourceConfig) -> Event:
        if not event.needs_fetch:
            return event
        if not secrets.api_token:
            raise VendorRefused("this source has no ClickUp API token configured")
        with api_client(config, API_BASE, {"Authorization": secrets.api_token}) as client:
            task = get_json(client, f"/api/v2/task/{event.external_id}")
        if not isinstance(task, Mapping):
            raise InvalidValue("the task answer must be a JSON object", field="response")
        fields: dict[str, Any] = {
            "title": need(task, "name", where="response"),
            "url": pick(task, "url"),
            "labels": [t["name"] for t in pick(task, "tags") or [] if pick(t, "name")],
            "project_name": pick(task, "list.name"),
            "key": pick(task, "custom_id"),
            **mapped_fields(task, config),
        }
        return replace(event, fields={**event.fields, **fields}, needs_fetch=False)


def _status_event(task_id: str, item: Mapping[str, Any], where: str, config: SourceConfig) -> Event:
    after_type = _status_type(item.get("after"))
    before_type = _status_type(item.get("before"))
    if after_type in DONE_TYPES:
        kind = WORK_COMPLETED
    elif before_type in DONE_TYPES:
        kind = WORK_REOPENED
    else:
        kind = WORK_CHANGED
    at = from_millis(need(item, "date", where=where), field=f"{where}.date")
    fields: dict[str, Any] = {
        "project_ref": _str_or_none(item.get("parent_id")),
        "status": pick(item, "after.status"),
        "status_category": "done" if kind == WORK_COMPLETED else after_type,
        **mapped_fields(item, config),
    }
    return Event(
        type=kind,
        subject=Subject.TASK,
        external_id=task_id,
        occurred_at=at,
        dedupe_key=f"clickup:{need(item, 'id', where=where)}",
        fields=fields,
        raw=item,
        needs_fetch=kind == WORK_COMPLETED,
        version=at,
    )


def _status_type(state: Any) -> str | None:
    value = state.get("type") if isinstance(state, Mapping) else None
    return value if isinstance(value, str) else None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def polled_task_event(task: Any, config: SourceConfig, *, where: str) -> Event | None:
    """A task of a Filtered Team Tasks page → ``work.completed`` when its status type is
    ``closed``/``done`` (the fields the webhook event has after its fetch), else None."""
    if not isinstance(task, Mapping):
        raise InvalidValue(f"{where} is not an object", field=where)
    task_id = str(need(task, "id", where=where))
    updated_raw = need(task, "date_updated", where=where)
    updated = from_millis(updated_raw, field=f"{where}.date_updated")
    if _status_type(task.get("status")) not in DONE_TYPES:
        return None
    fields: dict[str, Any] = {
        "project_ref": _str_or_none(pick(task, "list.id")),
        "project_name": pick(task, "list.name"),
        "title": need(task, "name", where=where),
        "key": pick(task, "custom_id"),
        "status": pick(task, "status.status"),
        "status_category": "done",
        "labels": [t["name"] for t in pick(task, "tags") or [] if pick(t, "name")],
        "url": pick(task, "url"),
        **mapped_fields(task, config),
    }
    return Event(
        type=WORK_COMPLETED,
        subject=Subject.TASK,
        external_id=task_id,
        occurred_at=updated,
        dedupe_key=f"clickup:poll:{task_id}:{updated_raw}",
        fields=fields,
        raw=dict(task),
        version=updated,
    )


class ClickUpPoller:
    kind = "clickup"

    def poll(
        self, secrets: SourceSecrets, config: SourceConfig, cursor: str | None, *, now: datetime
    ) -> PollResult:
        if not secrets.api_token:
            raise VendorRefused("this source has no ClickUp API token configured")
        team = str(config.options.get("team_id") or "")
        if not team.isdigit():
            raise VendorRefused("this ClickUp source needs a numeric team_id (Workspace id)")
        start = poll_start(config, cursor, now)
        params: dict[str, Any] = {
            "date_updated_gt": int(start.timestamp() * 1000),
            "include_closed": "true",
            "order_by": "updated",
            "subtasks": "true",
        }
        events: list[Event] = []
        stamps = [start] if cursor else []
        path = f"/api/v2/team/{team}/task"
        with api_client(config, API_BASE, {"Authorization": secrets.api_token}) as client:
            for page in range(MAX_PAGES):
                body = get_json(client, path, **params, page=page)
                where = f"page{page}"
                tasks = need(body, "tasks", where=where)
                if not isinstance(tasks, list):
                    raise InvalidValue(f"{where}.tasks is not a list", field=f"{where}.tasks")
                for i, task in enumerate(tasks):
                    at = f"{where}.tasks.{i}"
                    event = polled_task_event(task, config, where=at)
                    events.extend([event] if event else [])
                    stamps.append(from_millis(task["date_updated"], field=f"{at}.date_updated"))
                if body.get("last_page") is True or len(tasks) < PAGE_SIZE:
                    break
            else:
                raise VendorRefused(f"ClickUp still had tasks after {MAX_PAGES} pages")
        return PollResult(events=events, cursor=utc_stamp(max(stamps)) if stamps else None)


CONNECTOR = ClickUpConnector()
POLLER = ClickUpPoller()

__all__ = ["CONNECTOR", "POLLER", "ClickUpConnector", "ClickUpPoller", "polled_task_event"]
