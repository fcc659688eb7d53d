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

Polling (:class:`GitHubPoller`, ``POLLER``) — closed milestones of ``options.repository``:

* https://docs.github.com/en/rest/issues/milestones ("List milestones"):
  ``GET /repos/{owner}/{repo}/milestones`` with ``state`` open|closed|all, ``sort``
  "Either due_on or completeness", ``direction``, ``per_page`` (max 100), ``page``; header
  ``accept: application/vnd.github+json`` recommended; fine-grained tokens need "Issues" or
  "Pull requests" read permission. There is **no** sort by update time, so the poll reads
  every page of closed milestones and keeps those with ``updated_at`` at or after the start
  (it cannot stop early at the cursor).
* https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api : a
  paginated answer carries a ``link`` header with ``rel="next"``; it is omitted when all
  results fit one page. We ask for page N+1 while the page was full and (when a ``link``
  header is present) it names a next page.
* Requests carry ``Authorization: Bearer <token>`` and ``X-GitHub-Api-Version: 2022-11-28``.

Each closed milestone becomes the ``work.completed`` event the ``milestone``/``closed``
webhook gives (same fields; ``field_map`` read from ``{"milestone": …, "repository":
{full_name, name}}`` as from a webhook body); ``dedupe_key`` =
``github:poll:milestone:{id}:{updated_at}``, ``version`` = ``updated_at``. The cursor is the
greatest ``updated_at`` seen. Reopened milestones are not polled (state=closed); the
webhook reports them.
"""

from __future__ import annotations

import re
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
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    VendorUnavailable,
    Verified,
)
from .base import (
    api_client,
    check_sha256_header,
    digest,
    from_iso,
    load_json,
    mapped_fields,
    need,
    pick,
    poll_start,
    require_secret,
    utc_stamp,
)

_MILESTONE_TYPES = {"closed": WORK_COMPLETED, "opened": WORK_REOPENED}
_MILESTONE_CHANGES = frozenset({"created", "edited"})
_ISSUE_SKIPPED = frozenset({"deleted", "transferred"})
API_BASE = "https://api.github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 100
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_NEXT = re.compile(r'<[^>]*>\s*;\s*rel="?next"?')


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


def milestone_event(
    milestone: Mapping[str, Any], repository: str, config: SourceConfig, *, where: str
) -> Event:
    """A closed milestone read over the API → the ``work.completed`` its webhook gives."""
    if not isinstance(milestone, Mapping):
        raise InvalidValue(f"{where} is not an object", field=where)
    milestone_id = need(milestone, "id", where=where)
    updated = need(milestone, "updated_at", where=where)
    from_iso(updated, field=f"{where}.updated_at")
    need(milestone, "title", where=where)
    need(milestone, "number", where=where)
    envelope = {
        "action": "closed",
        "milestone": milestone,
        "repository": {"full_name": repository, "name": repository.split("/", 1)[1]},
    }
    [event] = _milestone(envelope, "closed", repository, None, config)
    return replace(
        event,
        dedupe_key=f"github:poll:milestone:{milestone_id}:{updated}",
        raw=dict(milestone),
    )


def _get_page(client: httpx.Client, path: str, params: dict[str, Any]) -> tuple[Any, str]:
    """GET one page: its JSON and its ``link`` header. Errors as ``base.get_json``."""
    try:
        resp = client.get(path, params=params)
    except httpx.HTTPError as exc:
        raise VendorUnavailable(f"{client.base_url.host}: {type(exc).__name__}") from None
    if resp.status_code == 429 or resp.status_code >= 500:
        raise VendorUnavailable(f"GET {path} answered {resp.status_code}")
    if resp.status_code >= 400:
        raise VendorRefused(f"GET {path} answered {resp.status_code}: {resp.text[:200]}")
    try:
        return resp.json(), resp.headers.get("link", "")
    except ValueError:
        raise VendorRefused(f"GET {path} did not answer JSON") from None


class GitHubPoller:
    kind = "github"

    def poll(
        self, secrets: SourceSecrets, config: SourceConfig, cursor: str | None, *, now: datetime
    ) -> PollResult:
        if not secrets.api_token:
            raise VendorRefused("this GitHub source has no API token configured")
        repository = str(config.options.get("repository") or "")
        if not _REPOSITORY.fullmatch(repository):
            raise VendorRefused("this GitHub source needs a repository option like owner/name")
        start = poll_start(config, cursor, now)
        headers = {
            "Authorization": f"Bearer {secrets.api_token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }
        path = f"/repos/{repository}/milestones"
        events: list[Event] = []
        stamps = [start] if cursor else []
        with api_client(config, API_BASE, headers) as client:
            for page in range(1, MAX_PAGES + 1):
                params = {"state": "closed", "per_page": PER_PAGE, "page": page}
                body, link = _get_page(client, path, params)
                if not isinstance(body, list):
                    raise InvalidValue(f"page{page} is not a JSON array", field=f"page{page}")
                for i, milestone in enumerate(body):
                    event = milestone_event(milestone, repository, config, where=f"page{page}.{i}")
                    if event.stamp >= start:
                        events.append(event)
                        stamps.append(event.stamp)
                if len(body) < PER_PAGE or (link and not _NEXT.search(link)):
                    break
            else:
                raise VendorRefused(f"GitHub still had milestones after {MAX_PAGES} pages")
        return PollResult(events=events, cursor=utc_stamp(max(stamps)) if stamps else None)


CONNECTOR = GitHubConnector()
POLLER = GitHubPoller()

__all__ = ["CONNECTOR", "POLLER", "GitHubConnector", "GitHubPoller", "milestone_event"]
