"""The audit log page, with filters, and its CSV export.

Every entry, newest first. Filters — actor (a part of it), action (the actions recorded so
far, by their labels from ``pages.ACTION_LABELS``), subject type and id, dates from/to in
the organisation's time zone — combine and live in the URL; the cursor (``before``, an
entry id) pages on. Each entry links to its subject where a page exists.

The detail is shown compactly, and never a secret: writers of the log keep secrets out of
it, and this page hides — defensively, in case one does not — the value of any key named
like a secret, token, password or key hash (:func:`redact`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from ...bootstrap import App
from ...domain.recurrence import zone
from .deps import AppDep, Reader
from .list_filters import day_filter
from .pages import ACTION_LABELS, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
CSV_LIMIT = 10_000
HIDDEN = "•••"
_SECRET_KEY = re.compile(r"secret|token|password|passwd|api_?key|key_hash|credential", re.I)
# words that say what happened to a secret without being one
# a secret's *name* as services record it ("secrets": ["api_token", "webhook_secret"]);
# secret values are long random strings and never look like this
_SECRET_NAME = re.compile(r"[a-z][a-z_]{0,39}")
_HARMLESS = frozenset({"changed", "removed", "kept", "set", "unset", "unchanged", "rotated"})
SUBJECT_TYPES = {
    "invoice": "Invoice",
    "client": "Client",
    "contract": "Contract",
    "payment": "Payment",
    "source": "Source",
    "rule": "Rule",
    "template": "Template",
    "user": "User",
    "api_key": "API key",
    "settings": "Settings",
    "webhook_subscription": "Webhook subscription",
    "event": "Event",
}


def redact(value: Any, key: str = "") -> Any:
    """``value`` with the value of every key named like a secret hidden, at any depth.

    >>> redact({"name": "hubspot", "client_secret": "s3cr3t", "smtp": {"password": "kept"}})
    {'name': 'hubspot', 'client_secret': '•••', 'smtp': {'password': 'kept'}}
    """
    if key and _SECRET_KEY.search(key):
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, str) and value in _HARMLESS:
            return value
        if isinstance(value, list | tuple) and all(
            isinstance(v, str) and _SECRET_NAME.fullmatch(v) for v in value
        ):
            return list(value)  # which secrets were set ("api_token"), never their values
        return HIDDEN
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def action_label(action: str) -> str:
    """The human label of an action; an unlabelled one reads as its words."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    return action.replace(".", " · ").replace("_", " ").capitalize()


def _compact(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def detail_pairs(detail: Any) -> list[tuple[str, str]]:
    """The detail as short ``(key, value)`` pairs for the page (secrets hidden)."""
    if not isinstance(detail, Mapping):
        return [("", _compact(redact(detail)))] if detail else []
    clean = redact(detail)
    return [(str(k), _compact(v)) for k, v in clean.items() if v not in (None, "", [], {})]


@dataclass(frozen=True, slots=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    subject_type: str = ""
    subject_id: str = ""
    since: date | None = None
    until: date | None = None

    def params(self, **extra: object) -> dict[str, str]:
        values: dict[str, object] = {
            "actor": self.actor,
            "action": self.action,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            **extra,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def url(self, path: str = "/audit", **extra: object) -> str:
        query = urlencode(self.params(**extra))
        return path + (f"?{query}" if query else "")

    @property
    def narrowed(self) -> bool:
        return any(self.params().values())


def _parse(
    actor: str, action: str, subject_type: str, subject_id: str, since: str, until: str
) -> tuple[AuditFilters, list[str]]:
    notices: list[str] = []

    def day(text: str, what: str) -> date | None:
        return day_filter(text, what, notices)

    return (
        AuditFilters(
            actor.strip()[:100],
            action.strip()[:60],
            subject_type.strip()[:40],
            subject_id.strip()[:64],
            day(since, "“from”"),
            day(until, "“to”"),
        ),
        notices,
    )


def _links(app: App) -> Callable[[str, str | None], str | None]:
    """subject type and id → the page that shows it, where there is one."""
    with app.uow(read_only=True) as uow:
        sources = {str(s.id): s.name for s in uow.sources.list()}
        rules = {str(r.id): r.rule.name for r in uow.rules.list()}

    def link(subject_type: str, subject_id: str | None) -> str | None:
        if not subject_id:
            return None
        sid = quote(subject_id, safe="")
        if subject_type in ("invoice", "client", "contract") and subject_id.isdigit():
            return f"/{subject_type}s/{sid}"
        if subject_type == "payment" and subject_id.isdigit():
            return f"/payments#payment-{sid}"
        if subject_type == "source":
            name = sources.get(subject_id, subject_id if subject_id in sources.values() else None)
            return f"/sources/{quote(name, safe='')}" if name else None
        if subject_type == "rule":
            name = rules.get(subject_id, subject_id if subject_id in rules.values() else None)
            return f"/rules/{quote(name, safe='')}" if name else None
        return None

    return link


def _entries(
    app: App, f: AuditFilters, *, before: int | None, limit: int
) -> tuple[list[dict[str, Any]], list[str], str]:
    with app.uow(read_only=True) as uow:
        entity = uow.entities.first()
        tz_name = entity.timezone if entity else "UTC"
        tz = zone(tz_name)
        rows = uow.audit.search(
            actor=f.actor or None,
            action=f.action or None,
            subject_type=f.subject_type or None,
            subject_id=f.subject_id or None,
            since=datetime.combine(f.since, time(0), tz) if f.since else None,
            before=(
                datetime.combine(f.until + timedelta(days=1), time(0), tz) if f.until else None
            ),
            before_id=before,
            limit=limit,
        )
        actions = uow.audit.actions()
    return rows, actions, tz_name


@router.get("/audit")
def audit_page(
    request: Request,
    user: Reader,
    app: AppDep,
    actor: str = "",
    action: str = "",
    subject_type: str = "",
    subject_id: str = "",
    since: Annotated[str, Query(alias="from")] = "",
    until: Annotated[str, Query(alias="to")] = "",
    before: int | None = None,
) -> Response:
    f, notices = _parse(actor, action, subject_type, subject_id, since, until)
    rows, actions, tz = _entries(app, f, before=before, limit=PAGE_SIZE + 1)
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    if f.action and f.action not in actions:
        actions = sorted([*actions, f.action])
    choices = sorted(((a, action_label(a)) for a in actions), key=lambda c: c[1].lower())
    types = dict(SUBJECT_TYPES)
    if f.subject_type and f.subject_type not in types:
        types[f.subject_type] = f.subject_type
    link = _links(app)
    entries = [
        {
            **row,
            "label": action_label(row["action"]),
            "pairs": detail_pairs(row["detail"]),
            "link": link(row["subject_type"], row["subject_id"]),
            "subject_label": types.get(row["subject_type"], row["subject_type"].replace("_", " ")),
        }
        for row in rows
    ]
    return render(
        request,
        "audit.html",
        {
            "nav": "audit",
            "entries": entries,
            "f": f,
            "tz": tz,
            "actions": choices,
            "types": types,
            "notices": notices,
            "before": before,
            "next_before": rows[-1]["id"] if more and rows else None,
        },
        user=user,
    )


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a leading
    apostrophe (OWASP, "CSV Injection")."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_rows(rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["id", "at", "actor", "action", "label", "subject_type", "subject_id", "detail"])
    for r in rows:
        w.writerow(
            [
                r["id"],
                r["at"].isoformat(),
                _cell(r["actor"]),
                r["action"],
                action_label(r["action"]),
                r["subject_type"],
                _cell(r["subject_id"]),
                _cell(json.dumps(redact(r["detail"]), default=str, ensure_ascii=False)),
            ]
        )
    return out.getvalue()


@router.get("/audit.csv")
def audit_csv(
    _: Reader,
    app: AppDep,
    actor: str = "",
    action: str = "",
    subject_type: str = "",
    subject_id: str = "",
    since: Annotated[str, Query(alias="from")] = "",
    until: Annotated[str, Query(alias="to")] = "",
) -> Response:
    """The filtered entries (up to ``CSV_LIMIT``, newest first) as CSV."""
    f, _notices = _parse(actor, action, subject_type, subject_id, since, until)
    rows, _actions, tz = _entries(app, f, before=None, limit=CSV_LIMIT)
    stamp = app.clock.now().astimezone(zone(tz)).date().isoformat()
    return Response(
        _csv_rows(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="audit-log-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


__all__ = ["action_label", "detail_pairs", "redact", "router"]
