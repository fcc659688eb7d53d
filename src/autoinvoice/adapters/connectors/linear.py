"""Linear: data-change webhooks for issues and projects → ``work.*`` events.

Documents followed:

* Official SDK ``linear/linear: packages/sdk/src/webhooks/client.ts``: the signature header is
  ``linear-signature`` = hex ``HMAC-SHA256(signing secret, raw body)``, compared in constant
  time; the body field ``webhookTimestamp`` (Unix ms) must be within one minute of now
  (``Math.abs(now - timestamp) > 1000 * 60`` → invalid). The SDK skips the timestamp check
  when the field is absent; we require it (every entity payload carries it).
* https://linear.app/developers/webhooks: payload ``{action: create|update|remove, type,
  actor, createdAt, data, url, updatedFrom (previous values of changed fields),
  organizationId, webhookTimestamp, webhookId}``; failed deliveries are retried (1 min, 1 h,
  6 h). Headers ``Linear-Delivery`` (a UUID per delivery) and ``Linear-Event`` are known only
  from secondary sources (Hookdeck skill, propstack docs); whether ``Linear-Delivery`` stays
  the same across retries is not documented, so the dedupe key is built from the body.
* Shapes from the SDK schema ``packages/sdk/src/schema.graphql``: ``IssueWebhookPayload``
  (``identifier``, ``title``, ``url``, ``updatedAt``, ``state{id,name,type,color}``,
  ``team{id,key,name}``, ``project{id,name,url}``, ``labels[{id,name,color,parentId}]``) and
  ``ProjectWebhookPayload`` (``name``, ``slugId``, ``url``, ``status{id,name,type,color}``,
  ``statusId``, ``completedAt``, ``teamIds``). ``ProjectStatusType`` includes ``completed``.
  ``ProjectMilestone`` is not among the SDK's webhook payload types nor in the documented list
  of data-change models, so milestones are not handled.

An issue counts as completed when ``data.state.type == "completed"`` and ``updatedFrom`` has
``stateId``; it is reopened when the state changed away from completed (``updatedFrom`` still
holds the old ``completedAt``). Projects likewise with ``status.type`` / ``statusId``. For
issues ``project_ref`` is the team key; for projects (which carry only team ids) it is the
Linear project id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...domain.errors import InvalidValue
from ...domain.events import WORK_CHANGED, WORK_COMPLETED, WORK_REOPENED, Event, Subject
from ...services.connectors import (
    InboundRequest,
    SignatureRejected,
    SourceConfig,
    SourceSecrets,
    Verified,
)
from .base import (
    digest,
    from_iso,
    hex_hmac,
    load_json,
    mapped_fields,
    need,
    pick,
    require_header,
    require_secret,
    same,
)

MAX_SKEW_MS = 60_000


def _transition(is_completed: bool, updated_from: Mapping[str, Any], key: str) -> str:
    if key not in updated_from:
        return WORK_CHANGED
    if is_completed:
        return WORK_COMPLETED
    return WORK_REOPENED if updated_from.get("completedAt") else WORK_CHANGED


class LinearConnector:
    kind = "linear"

    def verify(self, request: InboundRequest, secrets: SourceSecrets, *, now: datetime) -> Verified:
        secret = require_secret(secrets.signing_secret, "Linear signing secret")
        signature = require_header(request.headers, "Linear-Signature").strip()
        if not same(hex_hmac(secret, request.body), signature.lower()):
            raise SignatureRejected("the Linear-Signature does not match")
        try:
            stamp = load_json(request.body).get("webhookTimestamp")
        except (InvalidValue, AttributeError):
            stamp = None
        if isinstance(stamp, bool) or not isinstance(stamp, int | float):
            raise SignatureRejected("the body carries no webhookTimestamp")
        if abs(now.timestamp() * 1000 - stamp) > MAX_SKEW_MS:
            raise SignatureRejected("webhookTimestamp is more than 60 seconds from now")
        return Verified(delivery_id=request.header("Linear-Delivery") or None)

    def parse(self, headers: Mapping[str, str], body: bytes, config: SourceConfig) -> list[Event]:
        payload = load_json(body)
        if not isinstance(payload, Mapping):
            raise InvalidValue("a Linear webhook body is a JSON object", field="body")
        kind = need(payload, "type")
        action = need(payload, "action")
        if kind not in ("Issue", "Project") or action not in ("create", "update"):
            return []
        data = need(payload, "data")
        if not isinstance(data, Mapping):
            raise InvalidValue("data is not an object", field="body.data")
        updated_from = payload.get("updatedFrom") or {}
        if not isinstance(updated_from, Mapping):
            raise InvalidValue("updatedFrom is not an object", field="body.updatedFrom")
        updated_at = need(payload, "data.updatedAt")
        version = from_iso(updated_at, field="body.data.updatedAt")
        created = payload.get("createdAt")
        occurred = from_iso(created, field="body.createdAt") if created else version
        entity_id = str(need(payload, "data.id"))
        if kind == "Issue":
            event_type, subject, fields = self._issue(data, updated_from)
        else:
            event_type, subject, fields = self._project(data, updated_from)
        identity = (payload.get("webhookId"), kind, action, entity_id, updated_at)
        return [
            Event(
                type=event_type,
                subject=subject,
                external_id=entity_id,
                occurred_at=occurred,
                dedupe_key=f"linear:{digest(*identity)}",
                fields={**mapped_fields(data, config), **fields},
                raw=dict(payload),
                version=version,
            )
        ]

    @staticmethod
    def _issue(
        data: Mapping[str, Any], updated_from: Mapping[str, Any]
    ) -> tuple[str, Subject, dict[str, Any]]:
        state_type = str(need(data, "state.type", where="body.data"))
        labels = data.get("labels") or []
        fields: dict[str, Any] = {
            "project_ref": pick(data, "team.key"),
            "project_name": pick(data, "project.name") or pick(data, "team.name"),
            "linear_project_id": pick(data, "project.id"),
            "key": data.get("identifier"),
            "title": data.get("title"),
            "status": pick(data, "state.name"),
            "status_category": state_type,
            "labels": [
                str(label["name"])
                for label in labels
                if isinstance(label, Mapping) and label.get("name")
            ],
            "url": data.get("url"),
        }
        event_type = _transition(state_type == "completed", updated_from, "stateId")
        return event_type, Subject.TASK, fields

    @staticmethod
    def _project(
        data: Mapping[str, Any], updated_from: Mapping[str, Any]
    ) -> tuple[str, Subject, dict[str, Any]]:
        status_type = pick(data, "status.type") or data.get("state")
        if status_type is None:
            raise InvalidValue("body.data.status.type is missing", field="body.data.status.type")
        fields: dict[str, Any] = {
            "project_ref": str(need(data, "id", where="body.data")),
            "project_name": data.get("name"),
            "title": data.get("name"),
            "key": data.get("slugId"),
            "status": pick(data, "status.name") or status_type,
            "status_category": str(status_type),
            "team_ids": list(data.get("teamIds") or []),
            "url": data.get("url"),
        }
        key = "statusId" if "statusId" in updated_from else "state"
        event_type = _transition(status_type == "completed", updated_from, key)
        return event_type, Subject.PROJECT, fields

    def fetch(self, event: Event, secrets: SourceSecrets, config: SourceConfig) -> Event:
        return event


CONNECTOR = LinearConnector()

__all__ = ["CONNECTOR", "LinearConnector"]
