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

Polling (:class:`JiraPoller`, ``POLLER``) — issues that reached Done:

* "Search for issues using JQL enhanced search (GET)", ``GET /rest/api/3/search/jql``
  (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/; the
  old ``/rest/api/3/search`` was retired in 2025, Adaptavist's deprecation note): query
  ``jql`` (must be bounded), ``fields`` (comma-separated; only ids come back without it),
  ``maxResults`` (default 50), ``nextPageToken``. The answer is ``{issues, nextPageToken,
  isLast}``; the token is absent on the last page (JRACLOUD-92184), which ends the loop.
  "Recent updates might not be immediately visible" — the cursor only moves to what was seen.
* Authentication: HTTP Basic ``<account e-mail>:<API token>`` (``secrets.basic_user`` and
  ``secrets.api_token``); the site (``https://<site>.atlassian.net``) is ``options.site``.
* JQL ``project in ("A", "B") AND statusCategory = Done AND updated >= "yyyy-MM-dd HH:mm"
  ORDER BY updated ASC``. JQL dates have minute precision and are read in the API user's
  profile time zone (not confirmed in the stored docs): with ``options.timezone`` set the
  cursor is written in that zone, else the window opens 14 hours earlier (the largest UTC
  offset) so nothing is missed. Issues read again carry the same ``dedupe_key``
  ``jira:poll:{issue id}:{fields.updated}``; ``version`` = ``fields.updated``.

Each issue becomes ``work.completed`` with the webhook's fields (``issue_fields``; an epic
is a milestone). An issue still Done but edited later (a comment, a label) comes again with
a newer ``updated`` — completing it again is harmless.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...domain.errors import InvalidValue
from ...domain.events import WORK_CHANGED, WORK_COMPLETED, WORK_REOPENED, Event, Subject
from ...services.connectors import (
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
    digest,
    from_iso,
    from_millis,
    get_json,
    load_json,
    mapped_fields,
    need,
    pick,
    poll_start,
    require_secret,
    utc_stamp,
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
SEARCH_PATH = "/rest/api/3/search/jql"
SEARCH_FIELDS = ("summary", "status", "labels", "project", "issuetype", "updated")
MAX_RESULTS = 100
MAX_PAGES = 500
UNKNOWN_ZONE_MARGIN = timedelta(hours=14)


def browse_url(issue: Mapping[str, Any]) -> str | None:
    """``https://site.atlassian.net/browse/KEY`` from the issue's REST ``self`` link."""
    self_link, key = issue.get("self"), issue.get("key")
    if not self_link or not key:
        return str(self_link) if self_link else None
    parts = urlsplit(str(self_link))
    return f"{parts.scheme}://{parts.netloc}/browse/{key}"


def issue_subject(issue: Mapping[str, Any]) -> Subject:
    """An epic is a milestone, anything else a task."""
    issue_type = pick(issue, "fields.issuetype")
    if not isinstance(issue_type, Mapping):
        issue_type = {}
    epic = issue_type.get("name") == "Epic" or issue_type.get("hierarchyLevel") == 1
    return Subject.MILESTONE if epic else Subject.TASK


def issue_fields(issue: Mapping[str, Any], category: str, config: SourceConfig) -> dict[str, Any]:
    """The canonical work fields of an issue (webhook ``issue`` or REST search result)."""
    labels = pick(issue, "fields.labels") or []
    return {
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
        fields = issue_fields(issue, category, config)
        issue_id = str(need(payload, "issue.id"))
        fallback = (
            f"changelog:{pick(payload, 'changelog.id')}"
            if pick(payload, "changelog.id")
            else digest(payload.get("webhookEvent"), issue_id, payload.get("timestamp"))
        )
        return Event(
            type=event_type,
            subject=issue_subject(issue),
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


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _zone(config: SourceConfig) -> ZoneInfo | None:
    name = config.options.get("timezone")
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(f"unknown time zone {name!r}", field="config.options.timezone") from None


def search_jql(config: SourceConfig, since: datetime) -> str:
    """The JQL of a poll: Done issues of the configured projects updated since ``since``."""
    zone = _zone(config)
    local = since.astimezone(zone) if zone else since.astimezone(UTC) - UNKNOWN_ZONE_MARGIN
    projects = config.options.get("projects") or []
    if isinstance(projects, str):
        projects = [projects]
    clauses = [f"project in ({', '.join(_quote(str(p)) for p in projects)})"] if projects else []
    clauses += ["statusCategory = Done", f"updated >= {_quote(local.strftime('%Y-%m-%d %H:%M'))}"]
    return " AND ".join(clauses) + " ORDER BY updated ASC"


def search_event(issue: Any, config: SourceConfig, *, where: str) -> Event:
    """One issue of a search answer → ``work.completed`` (``work.changed`` if not Done)."""
    if not isinstance(issue, Mapping):
        raise InvalidValue(f"{where} is not an object", field=where)
    issue_id = str(need(issue, "id", where=where))
    updated_raw = need(issue, "fields.updated", where=where)
    updated = from_iso(updated_raw, field=f"{where}.fields.updated")
    category = str(need(issue, "fields.status.statusCategory.key", where=where))
    return Event(
        type=WORK_COMPLETED if category == "done" else WORK_CHANGED,
        subject=issue_subject(issue),
        external_id=issue_id,
        occurred_at=updated,
        dedupe_key=f"jira:poll:{issue_id}:{updated_raw}",
        fields=issue_fields(issue, category, config),
        raw=dict(issue),
        version=updated,
    )


class JiraPoller:
    kind = "jira"

    def poll(
        self, secrets: SourceSecrets, config: SourceConfig, cursor: str | None, *, now: datetime
    ) -> PollResult:
        if not secrets.basic_user or not secrets.api_token:
            raise VendorRefused("this Jira source needs basic_user (e-mail) and api_token")
        site = config.api_base or config.options.get("site")
        if not site:
            raise VendorRefused("this Jira source has no site option (https://…atlassian.net)")
        start = poll_start(config, cursor, now)
        extra = [p.split(".")[1] for p in config.field_map.values() if p.startswith("fields.")]
        params: dict[str, Any] = {
            "jql": search_jql(config, start),
            "fields": ",".join(dict.fromkeys([*SEARCH_FIELDS, *extra])),
            "maxResults": MAX_RESULTS,
        }
        basic = base64.b64encode(f"{secrets.basic_user}:{secrets.api_token}".encode()).decode()
        events: list[Event] = []
        stamps = [start] if cursor else []
        seen: set[str] = set()
        with api_client(config, str(site), {"Authorization": f"Basic {basic}"}) as client:
            for page in range(1, MAX_PAGES + 1):
                body = get_json(client, SEARCH_PATH, **params)
                issues = need(body, "issues", where=f"page{page}")
                if not isinstance(issues, list):
                    raise InvalidValue("issues is not a list", field=f"page{page}.issues")
                for i, issue in enumerate(issues):
                    event = search_event(issue, config, where=f"page{page}.issues.{i}")
                    events.append(event)
                    stamps.append(event.stamp)
                token = pick(body, "nextPageToken")
                if not token or body.get("isLast") is True or token in seen:
                    break
                seen.add(str(token))
                params["nextPageToken"] = token
            else:
                raise VendorRefused(f"Jira still had a next page after {MAX_PAGES} pages")
        return PollResult(events=events, cursor=utc_stamp(max(stamps)) if stamps else None)


CONNECTOR = JiraConnector()
POLLER = JiraPoller()

__all__ = [
    "CONNECTOR",
    "POLLER",
    "JiraConnector",
    "JiraPoller",
    "browse_url",
    "issue_fields",
    "issue_subject",
    "search_jql",
]
