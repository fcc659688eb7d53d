"""Jira Cloud admin webhooks (with a secret): issues reaching Done and released versions →
``work.*`` events.

Documents followed:

* Jira Cloud platform "Webhooks", https://developer.atlassian.com/cloud/jira/platform/webhooks/
  (section "Secure admin webhooks"): an admin webhook registered with a secret is signed per
  WebSub ``method=signature``: ``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``
  (header without ``-256``). Confirmed by the Hookdeck "jira-webhooks" skill, trigger.dev's
  Jira provider doc, Nango's Jira doc and n8n PR #8822 — the Atlassian page itself was seen
  only through those. There is no signed timestamp: replays are stopped by dedupe only.
  Webhooks registered by Connect/OAuth apps carry a JWT instead and are not handled here.
* Headers: ``X-Atlassian-Webhook-Identifier`` identifies the delivery, "unique within the
  site and unchanged across retries" (jira.js ``WebhookHeaders`` typings);
  ``X-Atlassian-Webhook-Retry`` counts retries ("New Jira Cloud Webhook Retry Policy",
  community.developer.atlassian.com/t/30554).
* Payload: ``{timestamp (ms), webhookEvent, issue_event_type_name, user, issue{id, self, key,
  fields{summary, status{name, statusCategory{key}}, issuetype, project{key, name}, labels}},
  changelog{id, items[{field, fieldId, from, fromString, to, toString}]}}``; a version event
  is ``{timestamp, webhookEvent: "jira:version_released", version{self, id, name, released,
  releaseDate, projectId}}`` (jira.js ``VersionWebhookPayload``).

Completion is read from ``statusCategory.key == "done"`` (status names vary by workflow). A
status change *out of* Done is recognised when the changelog also clears the resolution, or
when the old status name is one of ``options["done_statuses"]`` (default Done, Closed,
Resolved) — the payload does not carry the old status' category. A version event carries
only ``projectId``, so ``project_ref`` is that numeric id unless the version names its
project key (``version.project``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ...domain.errors import InvalidValue
from ...domain.events import WORK_CHANGED, WORK_COMPLETED, WORK_REOPENED, Event, Subject
from ...services.connectors import (
    InboundRequest,
    SourceConfig,
    SourceSecrets,
    Verified,
)
from .base import (
    check_sha256_header,
    digest,
    from_millis,
    load_json,
    mapped_fields,
    need,
    pick,
    require_secret,
)

DELIVERY_HEADER = "x-atlassian-webhook-identifier"
ISSUE_EVENTS = ("jira:issue_updated", "jira:issue_created")
VERSION_EVENTS = {
    "jira:version_released": WORK_COMPLETED,
    "jira:version_unreleased": WORK_REOPENED,
    "jira:version_created": WORK_CHANGED,
    "jira:version_updated": WORK_CHANGED,
}
DEFAULT_DONE_STATUSES = ("Done", "Closed", "Resolved")


def browse_url(issue: Mapping[str, Any]) -> str | None:
    """``https://site.atlassian.net/browse/KEY`` from the issue's REST ``self`` link."""
    self_link, key = issue.get("self"), issue.get("key")
    if not self_link or not key:
        return str(self_link) if self_link else None
    parts = urlsplit(str(self_link))
    return f"{parts.scheme}://{parts.netloc}/browse/{key}"


class JiraConnector:
    kind = "jira"

    def verify(self, request: InboundRequest, secrets: SourceSecrets, *, now: datetime) -> Verified:
        secret = require_secret(secrets.signing_secret, "Jira webhook secret")
        check_sha256_header(request.body, request.headers, "X-Hub-Signature", secret)
        return Verified(delivery_id=request.header(DELIVERY_HEADER) or None)

    def parse(self, headers: Mapping[str, str], body: bytes, config: SourceConfig) -> list[Event]:
        payload = load_json(body)
        if not isinstance(payload, Mapping):
            raise InvalidValue("a Jira webhook body is a JSON object", field="body")
        kind = str(need(payload, "webhookEvent"))
        if kind in ISSUE_EVENTS:
            return [self._issue_event(payload, headers, config)]
        if kind in VERSION_EVENTS:
            return [self._version_event(payload, kind, headers, config)]
        return []

    def _issue_event(
        self, payload: Mapping[str, Any], headers: Mapping[str, str], config: SourceConfig
    ) -> Event:
        issue = need(payload, "issue")
        if not isinstance(issue, Mapping):
            raise InvalidValue("issue is not an object", field="body.issue")
        at = from_millis(need(payload, "timestamp"), field="body.timestamp")
        category = str(need(payload, "issue.fields.status.statusCategory.key"))
        items = pick(payload, "changelog.items") or []
        if not isinstance(items, list):
            raise InvalidValue("changelog.items is not a list", field="body.changelog.items")
        changes = {
            str(item.get("fieldId") or item.get("field")): item
            for item in items
            if isinstance(item, Mapping)
        }
        status_change = changes.get("status")
        if status_change is not None and category == "done":
            event_type = WORK_COMPLETED
        elif status_change is not None and self._was_done(status_change, changes, config):
            event_type = WORK_REOPENED
        else:
            event_type = WORK_CHANGED
        issue_type = pick(issue, "fields.issuetype")
        if not isinstance(issue_type, Mapping):
            issue_type = {}
        epic = issue_type.get("name") == "Epic" or issue_type.get("hierarchyLevel") == 1
        labels = pick(issue, "fields.labels") or []
        fields: dict[str, Any] = {
            **mapped_fields(issue, config),
            "project_ref": pick(issue, "fields.project.key"),
            "project_name": pick(issue, "fields.project.name"),
            "key": issue.get("key"),
            "title": pick(issue, "fields.summary"),
            "status": pick(issue, "fields.status.name"),
            "status_category": category,
            "labels": [str(label) for label in labels] if isinstance(labels, list) else [],
            "url": browse_url(issue),
        }
        issue_id = str(need(payload, "issue.id"))
        fallback = (
            f"changelog:{pick(payload, 'changelog.id')}"
            if pick(payload, "changelog.id")
            else digest(payload.get("webhookEvent"), issue_id, payload.get("timestamp"))
        )
        return Event(
            type=event_type,
            subject=Subject.MILESTONE if epic else Subject.TASK,
            external_id=issue_id,
            occurred_at=at,
            dedupe_key=self._dedupe(headers, fallback),
            fields=fields,
            raw=dict(payload),
            version=at,
        )

    @staticmethod
    def _was_done(
        status: Mapping[str, Any], changes: Mapping[str, Any], config: SourceConfig
    ) -> bool:
        resolution = changes.get("resolution")
        if isinstance(resolution, Mapping) and resolution.get("from") and not resolution.get("to"):
            return True
        done = config.options.get("done_statuses", DEFAULT_DONE_STATUSES)
        names = {str(name).casefold() for name in done}
        return str(status.get("fromString") or "").casefold() in names

    def _version_event(
        self,
        payload: Mapping[str, Any],
        kind: str,
        headers: Mapping[str, str],
        config: SourceConfig,
    ) -> Event:
        version = need(payload, "version")
        if not isinstance(version, Mapping):
            raise InvalidValue("version is not an object", field="body.version")
        at = from_millis(need(payload, "timestamp"), field="body.timestamp")
        version_id = str(need(payload, "version.id"))
        project = version.get("project") or version.get("projectId")
        fields: dict[str, Any] = {
            **mapped_fields(version, config),
            "project_ref": None if project is None else str(project),
            "title": version.get("name"),
            "status": "released" if version.get("released") else "unreleased",
            "status_category": "done" if version.get("released") else "indeterminate",
            "release_date": version.get("releaseDate"),
            "url": version.get("self"),
        }
        fallback = digest(kind, version_id, payload.get("timestamp"))
        return Event(
            type=VERSION_EVENTS[kind],
            subject=Subject.MILESTONE,
            external_id=version_id,
            occurred_at=at,
            dedupe_key=self._dedupe(headers, fallback),
            fields=fields,
            raw=dict(payload),
            version=at,
        )

    @staticmethod
    def _dedupe(headers: Mapping[str, str], fallback: str) -> str:
        delivery = headers.get(DELIVERY_HEADER)
        return f"jira:{delivery}" if delivery else f"jira:{fallback}"

    def fetch(self, event: Event, secrets: SourceSecrets, config: SourceConfig) -> Event:
        return event


CONNECTOR = JiraConnector()

__all__ = ["CONNECTOR", "JiraConnector", "browse_url"]
