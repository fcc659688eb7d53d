"""Asana webhooks: task completed / reopened, read back over the REST API.

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


CONNECTOR = AsanaConnector()

__all__ = ["CONNECTOR", "AsanaConnector"]
