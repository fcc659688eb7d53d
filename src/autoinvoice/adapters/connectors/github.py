"""GitHub webhooks: milestone closed / opened, issue closed / reopened.

Vendor documents followed:

* Signature — https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries :
  ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(key = webhook secret, msg = raw body)>``,
  compared in constant time (the legacy SHA-1 ``X-Hub-Signature`` is ignored). The page's
  test vector (secret ``It's a Secret to Everybody``, body ``Hello, World!`` →
  ``sha256=757107ea…043e17``) is in our tests. No timestamp is signed.
* Headers — ``github/docs:content/webhooks/webhook-events-and-payloads.md``:
  ``X-GitHub-Event`` names the event, ``X-GitHub-Delivery`` is "a globally unique identifier
  (GUID) to identify the event"; the REST hook-delivery schema calls it "shared with all
  deliveries for all webhooks that subscribe to this event", and redeliveries reuse it
  (github/docs#32822), so it is the dedupe key.
* Payloads — ``octokit/webhooks:payload-examples/api.github.com/milestone/closed.payload.json``,
  ``…/issues/reopened.payload.json``, ``…/ping/payload.json``; milestone actions per
  ``octokit/webhooks:payload-schemas/api.github.com/milestone/*.schema.json`` — a reopened
  milestone arrives as action ``opened`` (``state: open``, ``closed_at: null``).

Mapping (``project_ref`` = ``repository.full_name``):

* ``milestone`` ``closed`` → ``work.completed``; ``opened`` → ``work.reopened``;
  ``created``/``edited`` → ``work.changed``; subject milestone, ``key`` = milestone number.
* ``issues`` ``closed`` with ``state_reason`` ``completed`` (or none, as before 2022) →
  ``work.completed``; ``reopened`` → ``work.reopened``; other issue actions (and closes as
  ``not_planned``/``duplicate``) → ``work.changed``; subject task, with labels.
* ``ping`` and every other event → nothing.

``version`` is the subject's ``updated_at`` (falling back to ``closed_at``); GitHub sends no
event time of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...domain.errors import InvalidValue
from ...domain.events import WORK_CHANGED, WORK_COMPLETED, WORK_REOPENED, Event, Subject
from ...services.connectors import (
    Handshake,
    InboundRequest,
    SourceConfig,
    SourceSecrets,
    Verified,
)
from .base import (
    check_sha256_header,
    digest,
    from_iso,
    load_json,
    mapped_fields,
    need,
    pick,
    require_secret,
)

_MILESTONE_TYPES = {"closed": WORK_COMPLETED, "opened": WORK_REOPENED}
_MILESTONE_CHANGES = frozenset({"created", "edited"})
_ISSUE_SKIPPED = frozenset({"deleted", "transferred"})


class GitHubConnector:
    kind = "github"

    def verify(
        self, request: InboundRequest, secrets: SourceSecrets, *, now: datetime
    ) -> Verified | Handshake:
        secret = require_secret(secrets.signing_secret, "GitHub webhook secret")
        check_sha256_header(request.body, request.headers, "X-Hub-Signature-256", secret)
        return Verified(delivery_id=request.header("X-GitHub-Delivery") or None)

    def parse(self, headers: Mapping[str, str], body: bytes, config: SourceConfig) -> list[Event]:
        name = _header(headers, "X-GitHub-Event")
        if not name:
            raise InvalidValue(
                "the X-GitHub-Event header is missing", field="headers.x-github-event"
            )
        if name not in ("milestone", "issues"):
            return []
        data = load_json(body)
        if not isinstance(data, Mapping):
            raise InvalidValue("the body must be a JSON object", field="body")
        action = need(data, "action")
        if not isinstance(action, str):
            raise InvalidValue("body.action must be a string", field="body.action")
        repo = str(need(data, "repository.full_name"))
        delivery = _header(headers, "X-GitHub-Delivery")
        if name == "milestone":
            return _milestone(data, action, repo, delivery, config)
        return _issue(data, action, repo, delivery, config)

    def fetch(self, event: Event, secrets: SourceSecrets, config: SourceConfig) -> Event:
        # Webhook payloads carry the whole milestone / issue: nothing to read back.
        return event


def _milestone(
    data: Mapping[str, Any], action: str, repo: str, delivery: str | None, config: SourceConfig
) -> list[Event]:
    if action in _MILESTONE_TYPES:
        kind = _MILESTONE_TYPES[action]
    elif action in _MILESTONE_CHANGES:
        kind = WORK_CHANGED
    else:
        return []
    milestone = need(data, "milestone")
    state = pick(milestone, "state")
    fields = {
        "project_ref": repo,
        "project_name": pick(data, "repository.name"),
        "title": need(milestone, "title", where="body.milestone"),
        "key": str(need(milestone, "number", where="body.milestone")),
        "status": state,
        "status_category": "done" if state == "closed" else "open",
        "url": pick(milestone, "html_url"),
    }
    return [_event(data, "milestone", Subject.MILESTONE, kind, fields, delivery, config)]


def _issue(
    data: Mapping[str, Any], action: str, repo: str, delivery: str | None, config: SourceConfig
) -> list[Event]:
    if action in _ISSUE_SKIPPED:
        return []
    issue = need(data, "issue")
    reason = pick(issue, "state_reason")
    if action == "closed" and reason in (None, "completed"):
        kind = WORK_COMPLETED
    elif action == "reopened":
        kind = WORK_REOPENED
    else:
        kind = WORK_CHANGED
    labels = pick(issue, "labels") or []
    state = pick(issue, "state")
    fields = {
        "project_ref": repo,
        "project_name": pick(data, "repository.name"),
        "title": need(issue, "title", where="body.issue"),
        "key": f"{repo}#{need(issue, 'number', where='body.issue')}",
        "status": state,
        "status_category": "done" if kind == WORK_COMPLETED else state,
        "labels": [label["name"] for label in labels if pick(label, "name")],
        "url": pick(issue, "html_url"),
    }
    return [_event(data, "issue", Subject.TASK, kind, fields, delivery, config)]


def _event(
    data: Mapping[str, Any],
    part: str,
    subject: Subject,
    kind: str,
    fields: dict[str, Any],
    delivery: str | None,
    config: SourceConfig,
) -> Event:
    record = data[part]
    stamp_raw = pick(record, "updated_at") or pick(record, "closed_at")
    if stamp_raw is None:
        raise InvalidValue(f"body.{part}.updated_at is missing", field=f"body.{part}.updated_at")
    stamp = from_iso(stamp_raw, field=f"body.{part}.updated_at")
    subject_id = str(need(record, "id", where=f"body.{part}"))
    key = delivery or digest(part, data.get("action"), subject_id, stamp_raw)
    return Event(
        type=kind,
        subject=subject,
        external_id=subject_id,
        occurred_at=stamp,
        dedupe_key=f"github:{key}",
        fields={**fields, **mapped_fields(data, config)},
        raw=data,
        version=stamp,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name.lower())
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value or None


CONNECTOR = GitHubConnector()

__all__ = ["CONNECTOR", "GitHubConnector"]
