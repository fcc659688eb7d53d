"""Asana webhooks: task completed / reopened, read back over the REST API; a poller over
the Events API.

Vendor documents followed:

* Handshake — https://developers.asana.com/reference/createwebhook : while the
  ``POST /webhooks`` that creates a webhook is in flight, Asana POSTs to the target with an
  ``X-Hook-Secret`` header; the target answers ``200``/``204`` echoing the same header and
  stores the value, which is the HMAC key of every later delivery. (Whether a handshake is
  allowed at this moment is the intake's decision; this module only answers it.)
* Signature — https://developers.asana.com/docs/webhooks-guide (also
  ``hookdeck/webhook-skills`` asana-webhooks): ``X-Hook-Signature`` = lower-case hex
  ``HMAC-SHA256(key = stored X-Hook-Secret, msg = raw body)``. No timestamp is signed, so
  replays are caught by dedupe only.
* Payload — ``{"events": [...]}`` of *compact* events (``user``, ``created_at``, ``action``,
  ``resource{gid, resource_type, resource_subtype}``, ``parent``, ``change{field, action}``);
  a boolean change such as ``completed`` carries no value (``new_value`` is only present
  for resource values — Asana OpenAPI ``EventResponseChange``). ``{"events": []}`` is a
  heartbeat.
* Delivery — "designed for at-most-once delivery", resent for up to 24 h when no 2xx
  arrives within 10 s; events carry **no id**, so the dedupe key is a digest of
  ``resource.gid, action, change.field, created_at, user.gid`` (our choice).
* Read-back — ``GET /api/1.0/tasks/{gid}?opt_fields=…`` with ``Authorization: Bearer
  <personal access token>``, answered as ``{"data": {...}}``.

Mapping: a task event whose ``change.field`` is ``completed`` becomes an event that needs a
fetch (its type is settled by the fetch: ``work.completed`` when the task is completed,
``work.reopened`` otherwise; ``version`` = the task's ``modified_at``). Any other change to a
task (``changed``/``added``/``removed``/``undeleted``) is ``work.changed`` without a fetch.
Tasks whose ``resource_subtype`` is ``milestone`` are milestones. Deleted tasks and
non-task resources give no event.

Polling (:class:`AsanaPoller`, ``POLLER``) — the Events API, the fallback Asana recommends:

* https://developers.asana.com/reference/events : event streams "rely on the same
  infrastructure as webhooks" and are "designed for at most once delivery … we recommend
  building a fallback polling system"; events stay retrievable for 24 hours. "Establish an
  initial sync token by making a request with no sync token. The response will be a 412
  Precondition Failed error - the same as if the sync token had expired." Sync tokens
  "always expire after 24 hours, but may expire sooner".
* ``GET /api/1.0/events?resource=<gid>&sync=<token>`` (``Asana/python-asana``
  ``docs/EventsApi.md``): answers ``{data: [...], sync, has_more}``; "Asana limits a single
  sync token to 100 events … ``has_more: true`` … indicating that there are more events to
  pull" — we pull again with the new token until ``has_more`` is false. A 412 includes "a
  fresh sync token in the response" — at the top level, as ``body["sync"]``
  (``Asana/python-asana`` ``asana/error.py`` ``InvalidTokenError``, and the SDKs'
  ``EventsPageIterator``). Auth: ``Authorization: Bearer <personal access token>``.

The cursor is the **sync token**, not a time (``options.since`` does not apply: the stream
cannot go back). The resource is ``options.project_gid``; events on its tasks bubble up.
First poll: 412 → no events, the fresh token is the cursor. A 412 later means the token
expired (more than 24 h between polls, or Asana dropped it): the poll answers no further
events and the fresh token as the new cursor — changes in the gap are **lost** to polling
(the webhook or a manual import has to cover them). Each event is read exactly as a webhook
event (``_event``: same types and the same ``dedupe_key``, so an event that arrives both
ways is processed once); completion changes are fetched (``AsanaConnector.fetch``) into
``work.completed``/``work.reopened``. Not confirmed: whether the Events API's compact
``resource`` carries ``resource_subtype`` as webhook events do (without it a milestone is
reported as a task).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx

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
    VendorUnavailable,
    Verified,
)
from .base import (
    api_client,
    digest,
    from_iso,
    get_json,
    hex_hmac,
    load_json,
    mapped_fields,
    need,
    pick,
    require_header,
    require_secret,
    same,
)

API_BASE = "https://app.asana.com"
TASK_FIELDS = (
    "name,completed,completed_at,modified_at,projects.name,projects.gid,"
    "memberships.section.name,tags.name,permalink_url"
)
_CHANGE_ACTIONS = frozenset({"changed", "added", "removed", "undeleted"})
EVENTS_PATH = "/api/1.0/events"
MAX_PAGES = 100  # 100 events a batch: 10 000 events in one poll


class AsanaConnector:
    kind = "asana"

    def verify(
        self, request: InboundRequest, secrets: SourceSecrets, *, now: datetime
    ) -> Verified | Handshake:
        hook_secret = request.header("X-Hook-Secret")
        if hook_secret:
            return Handshake(
                status=200,
                headers={"X-Hook-Secret": hook_secret},
                new_signing_secret=hook_secret,
            )
        signature = require_header(request.headers, "X-Hook-Signature")
        secret = require_secret(secrets.signing_secret, "Asana hook secret (from the handshake)")
        if not same(hex_hmac(secret, request.body), signature.strip().lower()):
            raise SignatureRejected("the X-Hook-Signature does not match the body")
        return Verified(delivery_id=None)

    def parse(self, headers: Mapping[str, str], body: bytes, config: SourceConfig) -> list[Event]:
        data = load_json(body)
        if not isinstance(data, Mapping):
            raise InvalidValue("the body must be a JSON object", field="body")
        events = need(data, "events")
        if not isinstance(events, list):
            raise InvalidValue("body.events must be a list", field="body.events")
        out: list[Event] = []
        for i, item in enumerate(events):
            event = _event(item, f"body.events.{i}", config)
            if event is not None:
                out.append(event)
        return out

    def fetch(self, event: Event, secrets: SourceSecrets, config: SourceConfig) -> Event:
        if not event.needs_fetch:
            return event
        if not secrets.api_token:
            raise VendorRefused("this source has no Asana API token configured")
        auth = {"Authorization": f"Bearer {secrets.api_token}"}
        with api_client(config, API_BASE, auth) as client:
            answer = get_json(client, f"/api/1.0/tasks/{event.external_id}", opt_fields=TASK_FIELDS)
        task = need(answer, "data", where="response")
        completed = need(task, "completed", where="response.data")
        if not isinstance(completed, bool):
            raise InvalidValue(
                "response.data.completed must be true or false", field="response.data.completed"
            )
        modified = pick(task, "modified_at")
        version = (
            from_iso(modified, field="response.data.modified_at") if modified else event.version
        )
        projects = pick(task, "projects") or []
        first = projects[0] if projects and isinstance(projects[0], Mapping) else {}
        fields: dict[str, Any] = {
            "title": pick(task, "name"),
            "project_ref": _str_or_none(first.get("gid")),
            "project_name": first.get("name"),
            "status": pick(task, "memberships.0.section.name"),
            "status_category": "done" if completed else "open",
            "labels": [t["name"] for t in pick(task, "tags") or [] if pick(t, "name")],
            "url": pick(task, "permalink_url"),
            "completed_at": pick(task, "completed_at"),
            **mapped_fields(task, config),
        }
        return replace(
            event,
            type=WORK_COMPLETED if completed else WORK_REOPENED,
            fields={**event.fields, **fields},
            needs_fetch=False,
            version=version,
        )


def _event(item: Any, where: str, config: SourceConfig) -> Event | None:
    if not isinstance(item, Mapping):
        raise InvalidValue(f"{where} must be an object", field=where)
    if pick(item, "resource.resource_type") != "task":
        return None
    action = need(item, "action", where=where)
    if not isinstance(action, str) or action not in _CHANGE_ACTIONS:
        return None
    gid = str(need(item, "resource.gid", where=where))
    created_at = from_iso(need(item, "created_at", where=where), field=f"{where}.created_at")
    field = pick(item, "change.field")
    subject = (
        Subject.MILESTONE
        if pick(item, "resource.resource_subtype") == "milestone"
        else Subject.TASK
    )
    completion = action == "changed" and field == "completed"
    return Event(
        # A completion change carries no value: the fetch settles completed vs reopened.
        type=WORK_CHANGED,
        subject=subject,
        external_id=gid,
        occurred_at=created_at,
        dedupe_key="asana:"
        + digest(gid, action, field, item.get("created_at"), pick(item, "user.gid")),
        fields=mapped_fields(item, config),
        raw=item,
        needs_fetch=completion,
        version=created_at,
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def events_page(client: httpx.Client, project: str, sync: str | None) -> tuple[int, Any]:
    """GET one batch of events: ``(200, body)``, or ``(412, body)`` when the sync token is
    missing, invalid or expired. Network, 429 and 5xx → VendorUnavailable; other 4xx →
    VendorRefused (messages never carry the token)."""
    params = {"resource": project, **({"sync": sync} if sync else {})}
    try:
        resp = client.get(EVENTS_PATH, params=params)
    except httpx.HTTPError as exc:
        raise VendorUnavailable(f"{client.base_url.host}: {type(exc).__name__}") from None
    if resp.status_code == 429 or resp.status_code >= 500:
        raise VendorUnavailable(f"GET {EVENTS_PATH} answered {resp.status_code}")
    if resp.status_code >= 400 and resp.status_code != 412:
        raise VendorRefused(f"GET {EVENTS_PATH} answered {resp.status_code}: {resp.text[:200]}")
    try:
        return resp.status_code, resp.json()
    except ValueError:
        raise VendorRefused(f"GET {EVENTS_PATH} did not answer JSON") from None


class AsanaPoller:
    kind = "asana"

    def poll(
        self, secrets: SourceSecrets, config: SourceConfig, cursor: str | None, *, now: datetime
    ) -> PollResult:
        if not secrets.api_token:
            raise VendorRefused("this source has no Asana API token configured")
        project = config.options.get("project_gid")
        if not project:
            raise VendorRefused("this Asana source has no project_gid option configured")
        found: list[Event] = []
        sync = cursor
        auth = {"Authorization": f"Bearer {secrets.api_token}"}
        with api_client(config, API_BASE, auth) as client:
            for page in range(1, MAX_PAGES + 1):
                status, body = events_page(client, str(project), sync)
                where = f"page{page}"
                fresh = need(body, "sync", where=where)
                if not isinstance(fresh, str):
                    raise InvalidValue(f"{where}.sync is not a string", field=f"{where}.sync")
                if status == 412:
                    # first poll, or the token expired: start from now; what happened while
                    # it was expired is not in the stream any more
                    sync = fresh
                    break
                items = need(body, "data", where=where)
                if not isinstance(items, list):
                    raise InvalidValue(f"{where}.data is not a list", field=f"{where}.data")
                for i, item in enumerate(items):
                    event = _event(item, f"{where}.data.{i}", config)
                    if event is not None:
                        found.append(event)
                sync = fresh
                if body.get("has_more") is not True:
                    break
            else:
                raise VendorRefused(f"Asana still had more events after {MAX_PAGES} batches")
        events = [CONNECTOR.fetch(event, secrets, config) for event in found]
        return PollResult(events=events, cursor=sync)


CONNECTOR = AsanaConnector()
POLLER = AsanaPoller()

__all__ = ["CONNECTOR", "POLLER", "AsanaConnector", "AsanaPoller", "events_page"]
