"""Linear: data-change webhooks for issues and projects → ``work.*`` events; a poller for
completed issues.

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

Polling (:class:`LinearPoller`, ``POLLER``) — issues completed since the cursor:

* One GraphQL endpoint, ``POST https://api.linear.app/graphql`` (``api_base`` overrides the
  root). Auth — the official SDK ``linear/linear: packages/sdk/src/client.ts``: an API key
  is sent as ``Authorization: <apiKey>`` and only OAuth access tokens as ``Bearer …``
  (also https://linear.app/developers/graphql, secondary guides: "no Bearer"); the
  configured ``api_token`` is sent as it is, so an OAuth token is stored with its
  ``Bearer`` prefix.
* Pagination — https://linear.app/developers/pagination : Relay style ``first``/``after``;
  "pass the value of ``pageInfo.endCursor`` as ``after`` … as long as
  ``pageInfo.hasNextPage`` return true"; default 50 results; ``orderBy: updatedAt``
  orders by update time (the direction is not documented, so every page is read).
* Filtering — https://linear.app/developers/filtering : date comparators ``gt``/``gte``…
  (``IssueFilter.updatedAt: DateComparator``), ``state: {type: {eq: "completed"}}``
  (``WorkflowState.type``), ``team: {key: {eq: …}}`` for ``options.team``.
* Errors — ``packages/sdk/src/error.ts``: GraphQL errors carry ``extensions.type``
  (``ratelimited``, ``internal error``, ``lock timeout``, ``authentication error`` …) and
  may arrive with HTTP 200 or 4xx; HTTP 429 is rate limiting. Temporary types →
  VendorUnavailable, the rest → VendorRefused.

Each node becomes the ``work.completed`` the webhook gives (``LinearConnector._issue`` on
the node, its ``labels.nodes`` flattened to the webhook's list): ``project_ref`` = team
key, ``key`` = identifier, title, labels, url; ``dedupe_key`` =
``linear:poll:{id}:{updatedAt}``, ``version`` = ``updatedAt``. ``field_map`` paths read
the node, which holds only the queried fields. The cursor is the greatest ``updatedAt``
seen (in whole seconds, so the newest issue may be read again under the same key).
Reopened issues are not polled; the webhook reports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from ...domain.errors import InvalidValue
from ...domain.events import WORK_CHANGED, WORK_COMPLETED, WORK_REOPENED, Event, Subject
from ...services.connectors import (
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

MAX_SKEW_MS = 60_000
API_BASE = "https://api.linear.app"
GRAPHQL_PATH = "/graphql"
PAGE_SIZE = 50
MAX_PAGES = 200
_TEMPORARY = frozenset({"ratelimited", "internal error", "network error", "lock timeout"})


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


ISSUES_QUERY = """
query CompletedIssues($filter: IssueFilter, $first: Int, $after: String) {
  issues(filter: $filter, first: $first, after: $after, orderBy: updatedAt) {
    nodes {
      id identifier title url updatedAt completedAt
      state { id name type }
      team { id key name }
      project { id name }
      labels { nodes { id name } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def issue_filter(config: SourceConfig, since: datetime) -> dict[str, Any]:
    """Completed issues updated after ``since`` (of ``options.team``, a team key, if set)."""
    found: dict[str, Any] = {
        "updatedAt": {"gt": utc_stamp(since)},
        "state": {"type": {"eq": "completed"}},
    }
    team = config.options.get("team")
    if team:
        found["team"] = {"key": {"eq": str(team)}}
    return found


def polled_issue_event(node: Any, config: SourceConfig, *, where: str) -> Event:
    """One issue node of the ``issues`` query → the ``work.completed`` its webhook gives."""
    if not isinstance(node, Mapping):
        raise InvalidValue(f"{where} is not an object", field=where)
    issue_id = str(need(node, "id", where=where))
    updated_raw = need(node, "updatedAt", where=where)
    updated = from_iso(updated_raw, field=f"{where}.updatedAt")
    need(node, "state.type", where=where)
    labels = pick(node, "labels.nodes") or []
    if not isinstance(labels, list):
        raise InvalidValue(f"{where}.labels.nodes is not a list", field=f"{where}.labels.nodes")
    data = {**node, "labels": labels}  # the webhook's shape: labels as a plain list
    # as a webhook whose updatedFrom holds stateId: a state change into ``completed``
    event_type, subject, fields = LinearConnector._issue(data, {"stateId": None})
    return Event(
        type=event_type,
        subject=subject,
        external_id=issue_id,
        occurred_at=updated,
        dedupe_key=f"linear:poll:{issue_id}:{updated_raw}",
        fields={**mapped_fields(data, config), **fields},
        raw=dict(node),
        version=updated,
    )


def graphql(client: httpx.Client, body: Mapping[str, Any]) -> Any:
    """POST a GraphQL request. Network trouble, 429, 5xx and GraphQL errors of a temporary
    type (``ratelimited``, ``internal error`` …) → VendorUnavailable; other errors and 4xx
    → VendorRefused. Messages carry Linear's error text, never the key."""
    try:
        resp = client.post(GRAPHQL_PATH, json=body)
    except httpx.HTTPError as exc:
        raise VendorUnavailable(f"{client.base_url.host}: {type(exc).__name__}") from None
    if resp.status_code == 429 or resp.status_code >= 500:
        raise VendorUnavailable(f"POST {GRAPHQL_PATH} answered {resp.status_code}")
    try:
        answer = resp.json()
    except ValueError:
        answer = None
    errors = answer.get("errors") if isinstance(answer, Mapping) else None
    if isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], Mapping) else {}
        message = str(first.get("message") or "an error")[:200]
        kinds = {
            str(pick(e, "extensions.type") or pick(e, "extensions.code") or "").lower()
            for e in errors
        }
        if kinds & _TEMPORARY:
            raise VendorUnavailable(f"Linear answered {resp.status_code}: {message}")
        raise VendorRefused(f"Linear answered {resp.status_code}: {message}")
    if resp.status_code >= 400:
        raise VendorRefused(f"POST {GRAPHQL_PATH} answered {resp.status_code}: {resp.text[:200]}")
    if answer is None:
        raise VendorRefused(f"POST {GRAPHQL_PATH} did not answer JSON")
    return answer


class LinearPoller:
    kind = "linear"

    def poll(
        self, secrets: SourceSecrets, config: SourceConfig, cursor: str | None, *, now: datetime
    ) -> PollResult:
        if not secrets.api_token:
            raise VendorRefused("this Linear source has no API key configured")
        start = poll_start(config, cursor, now)
        variables: dict[str, Any] = {"filter": issue_filter(config, start), "first": PAGE_SIZE}
        events: list[Event] = []
        stamps = [start] if cursor else []
        seen: set[str] = set()
        # a personal API key goes in Authorization as is (an OAuth token as "Bearer …")
        with api_client(config, API_BASE, {"Authorization": secrets.api_token}) as client:
            for page in range(1, MAX_PAGES + 1):
                answer = graphql(client, {"query": ISSUES_QUERY, "variables": variables})
                where = f"page{page}"
                nodes = need(answer, "data.issues.nodes", where=where)
                if not isinstance(nodes, list):
                    raise InvalidValue(
                        f"{where}.data.issues.nodes is not a list",
                        field=f"{where}.data.issues.nodes",
                    )
                for i, node in enumerate(nodes):
                    event = polled_issue_event(node, config, where=f"{where}.data.issues.nodes.{i}")
                    events.append(event)
                    stamps.append(event.stamp)
                after = pick(answer, "data.issues.pageInfo.endCursor")
                more = pick(answer, "data.issues.pageInfo.hasNextPage") is True
                if not more or not after or str(after) in seen:
                    break
                seen.add(str(after))
                variables["after"] = str(after)
            else:
                raise VendorRefused(f"Linear still had a next page after {MAX_PAGES} pages")
        return PollResult(events=events, cursor=utc_stamp(max(stamps)) if stamps else None)


CONNECTOR = LinearConnector()
POLLER = LinearPoller()

__all__ = [
    "CONNECTOR",
    "ISSUES_QUERY",
    "POLLER",
    "LinearConnector",
    "LinearPoller",
    "graphql",
    "issue_filter",
    "polled_issue_event",
]
