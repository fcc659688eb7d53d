"""SQL repositories for sources and what they send: sources (secrets sealed), raw webhook
requests, canonical events with their subjects' newest states, and links from a source's
records to our clients and contracts. Each class implements the port of the same name in
``services/ports.py``; "exactly once" rows are claimed with INSERT … ON CONFLICT DO NOTHING.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select, update

from ...domain.events import Event, Subject
from ...services.connectors import SourceConfig
from ...services.errors import Conflict, NotFound
from ...services.ports import (
    InboundRecord,
    LinkRecord,
    SourceRecord,
)
from . import tables as t
from .repositories import _Repo
from .upsert import insert_ignore, insert_ignore_many


def _config_json(config: SourceConfig) -> dict[str, Any]:
    return {
        "api_base": config.api_base,
        "options": dict(config.options),
        "field_map": dict(config.field_map),
    }


def _seconds(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds())


class SqlSources(_Repo):
    def _record(self, r: Any) -> SourceRecord:
        cfg = r.config or {}
        return SourceRecord(
            id=r.id,
            kind=r.kind,
            name=r.name,
            url_token=r.url_token,
            sealed_secrets=r.secrets,
            config=SourceConfig(
                name=r.name,
                api_base=cfg.get("api_base"),
                options=cfg.get("options") or {},
                field_map=cfg.get("field_map") or {},
            ),
            created_at=r.created_at,
            max_age=timedelta(seconds=r.max_age_seconds) if r.max_age_seconds else None,
            poll_interval=(
                timedelta(seconds=r.poll_interval_seconds) if r.poll_interval_seconds else None
            ),
            enabled=r.enabled,
            last_event_at=r.last_event_at,
            last_success_at=r.last_success_at,
            last_error_at=r.last_error_at,
            last_error=r.last_error,
            error_count=r.error_count,
            consecutive_errors=r.consecutive_errors,
            stale_alerted=r.stale_alerted,
            poll_cursor=r.poll_cursor,
            next_poll_at=r.next_poll_at,
        )

    def add(self, record: SourceRecord) -> int:
        if self.conn.execute(select(t.sources.c.id).where(t.sources.c.name == record.name)).first():
            raise Conflict(f"a source named {record.name!r} exists already", field="name")
        return int(
            self.conn.execute(
                insert(t.sources).returning(t.sources.c.id),
                dict(
                    kind=record.kind,
                    name=record.name,
                    url_token=record.url_token,
                    secrets=record.sealed_secrets,
                    config=_config_json(record.config),
                    max_age_seconds=_seconds(record.max_age),
                    poll_interval_seconds=_seconds(record.poll_interval),
                    enabled=record.enabled,
                    created_at=record.created_at,
                    error_count=0,
                    consecutive_errors=0,
                    stale_alerted=False,
                    next_poll_at=record.next_poll_at,
                ),
            ).scalar_one()
        )

    def _one(self, where: Any, what: str) -> SourceRecord:
        r = self.conn.execute(select(t.sources).where(where)).first()
        if r is None:
            raise NotFound(f"there is no source {what}", field="source")
        return self._record(r)

    def get(self, source_id: int) -> SourceRecord:
        return self._one(t.sources.c.id == source_id, f"with id {source_id}")

    def by_name(self, name: str) -> SourceRecord:
        return self._one(t.sources.c.name == name, f"named {name!r}")

    def by_token(self, kind: str, token: str) -> SourceRecord | None:
        r = self.conn.execute(
            select(t.sources).where(t.sources.c.url_token == token, t.sources.c.kind == kind)
        ).first()
        return None if r is None else self._record(r)

    def of_kind(self, kind: str) -> builtins.list[SourceRecord]:
        q = select(t.sources).where(t.sources.c.kind == kind).order_by(t.sources.c.id)
        return [self._record(r) for r in self.conn.execute(q)]

    def list(self) -> builtins.list[SourceRecord]:
        return [
            self._record(r) for r in self.conn.execute(select(t.sources).order_by(t.sources.c.id))
        ]

    def update(self, source_id: int, **values: Any) -> None:
        if "sealed_secrets" in values:
            values["secrets"] = values.pop("sealed_secrets")
        if isinstance(values.get("config"), SourceConfig):
            values["config"] = _config_json(values["config"])
        for key in ("max_age", "poll_interval"):
            if key in values:
                values[f"{key}_seconds"] = _seconds(values.pop(key))
        self.conn.execute(update(t.sources).where(t.sources.c.id == source_id).values(**values))

    def succeeded(self, source_id: int, at: datetime, *, event: bool) -> None:
        values: dict[str, Any] = {
            "last_success_at": at,
            "consecutive_errors": 0,
            "stale_alerted": False,
        }
        if event:
            values["last_event_at"] = at
        self.conn.execute(update(t.sources).where(t.sources.c.id == source_id).values(**values))

    def failed(self, source_id: int, at: datetime, error: str) -> int:
        c = t.sources.c
        return int(
            self.conn.execute(
                update(t.sources)
                .where(c.id == source_id)
                .values(
                    last_error_at=at,
                    last_error=error[:2000],
                    error_count=c.error_count + 1,
                    consecutive_errors=c.consecutive_errors + 1,
                )
                .returning(c.consecutive_errors)
            ).scalar_one()
        )

    def due_polls(self, now: datetime) -> builtins.list[SourceRecord]:
        c = t.sources.c
        q = select(t.sources).where(
            c.enabled.is_(True), c.poll_interval_seconds.is_not(None), c.next_poll_at <= now
        )
        return [self._record(r) for r in self.conn.execute(q)]


class SqlInbound(_Repo):
    def add(
        self,
        source_id: int,
        received_at: datetime,
        dedupe_key: str,
        headers: dict[str, str],
        body: bytes,
    ) -> int | None:
        return insert_ignore(
            self.conn,
            t.inbound_requests,
            ["source_id", "dedupe_key"],
            returning="id",
            source_id=source_id,
            received_at=received_at,
            dedupe_key=dedupe_key,
            headers=headers,
            body=body,
            status="pending",
            error=None,
            processed_at=None,
        )

    def add_many(
        self, rows: Sequence[tuple[int, datetime, str, dict[str, str], bytes]]
    ) -> builtins.list[int | None]:
        inserted = insert_ignore_many(
            self.conn,
            t.inbound_requests,
            ["source_id", "dedupe_key"],
            [
                dict(
                    source_id=source_id,
                    received_at=received_at,
                    dedupe_key=key,
                    headers=headers,
                    body=body,
                    status="pending",
                    error=None,
                    processed_at=None,
                )
                for source_id, received_at, key, headers, body in rows
            ],
            returning=("id", "source_id", "dedupe_key"),
        )
        ids = {(r.source_id, r.dedupe_key): r.id for r in inserted}
        out: builtins.list[int | None] = []
        for source_id, _, key, _, _ in rows:  # a key twice in one batch: the first wins
            out.append(ids.pop((source_id, key), None))
        return out

    def get(self, inbound_id: int) -> InboundRecord:
        r = self.conn.execute(
            select(t.inbound_requests).where(t.inbound_requests.c.id == inbound_id)
        ).first()
        if r is None:
            raise NotFound(f"there is no stored request {inbound_id}", field="inbound_id")
        return InboundRecord(r.id, r.source_id, r.received_at, r.headers, r.body, r.status, r.error)

    def finish(self, inbound_id: int, status: str, error: str | None, at: datetime) -> None:
        self.conn.execute(
            update(t.inbound_requests)
            .where(t.inbound_requests.c.id == inbound_id)
            .values(status=status, error=error, processed_at=at)
        )

    def recent(self, source_id: int, limit: int = 20) -> builtins.list[dict[str, Any]]:
        c = t.inbound_requests.c
        q = (
            select(c.id, c.received_at, c.status, c.error, func.length(c.body).label("size"))
            .where(c.source_id == source_id)
            .order_by(c.id.desc())
            .limit(limit)
        )
        return [dict(r._mapping) for r in self.conn.execute(q)]


def _event(r: Any) -> Event:
    return Event(
        type=r.type,
        subject=Subject(r.subject),
        external_id=r.external_id,
        occurred_at=r.occurred_at,
        dedupe_key=r.dedupe_key,
        fields=r.fields,
        raw=r.raw,
        version=r.version_at,
    )


class SqlEvents(_Repo):
    def add(self, source_id: int, inbound_id: int | None, event: Event, at: datetime) -> int | None:
        return insert_ignore(
            self.conn,
            t.events,
            ["source_id", "dedupe_key"],
            returning="id",
            source_id=source_id,
            inbound_id=inbound_id,
            type=event.type,
            subject=event.subject.value,
            external_id=event.external_id,
            occurred_at=event.occurred_at,
            version_at=event.stamp,
            dedupe_key=event.dedupe_key,
            fields=dict(event.fields),
            raw=dict(event.raw),
            status="recorded",
            detail=None,
            recorded_at=at,
        )

    def reopen(self, source_id: int, dedupe_key: str) -> int | None:
        c = t.events.c
        row = self.conn.execute(
            update(t.events)
            .where(
                c.source_id == source_id,
                c.dedupe_key == dedupe_key,
                c.status.in_(("unmapped", "error", "failed")),
            )
            .values(status="recorded")
            .returning(c.id)
        ).first()
        return None if row is None else int(row[0])

    def settle(self, event_id: int, status: str, detail: str | None = None) -> None:
        self.conn.execute(
            update(t.events).where(t.events.c.id == event_id).values(status=status, detail=detail)
        )

    def advance_subject(self, source_id: int, event: Event) -> bool:
        s = t.subject_states.c
        key = and_(
            s.source_id == source_id,
            s.subject == event.subject.value,
            s.external_id == event.external_id,
        )
        inserted = insert_ignore(
            self.conn,
            t.subject_states,
            ["source_id", "subject", "external_id"],
            source_id=source_id,
            subject=event.subject.value,
            external_id=event.external_id,
            version_at=event.stamp,
            event_type=event.type,
        )
        if inserted is not None:
            return True
        # a conditional update: only a state at least as new as the stored one moves it
        moved = self.conn.execute(
            update(t.subject_states)
            .where(key, s.version_at <= event.stamp)
            .values(version_at=event.stamp, event_type=event.type)
        ).rowcount
        return bool(moved)

    def get(self, event_id: int) -> tuple[int, Event, str]:
        r = self.conn.execute(select(t.events).where(t.events.c.id == event_id)).first()
        if r is None:
            raise NotFound(f"there is no event {event_id}", field="event_id")
        return r.source_id, _event(r), r.status

    def unfinished(self, source_id: int, limit: int = 10_000) -> builtins.list[Event]:
        c = t.events.c
        q = (
            select(t.events)
            .where(c.source_id == source_id, c.status.in_(("unmapped", "error", "failed")))
            .order_by(c.occurred_at, c.id)
            .limit(limit)
        )
        return [_event(r) for r in self.conn.execute(q)]

    def between(
        self, start: datetime, end: datetime, source_id: int | None = None
    ) -> builtins.list[tuple[int, int, Event, str]]:
        c = t.events.c
        q = (
            select(t.events)
            .where(c.occurred_at >= start, c.occurred_at < end)
            .order_by(c.occurred_at, c.id)
        )
        if source_id is not None:
            q = q.where(c.source_id == source_id)
        return [(r.id, r.source_id, _event(r), r.status) for r in self.conn.execute(q)]

    def of_requests(self, inbound_ids: Sequence[int]) -> builtins.list[dict[str, Any]]:
        if not inbound_ids:
            return []
        c = t.events.c
        q = (
            select(
                c.id,
                c.inbound_id,
                c.type,
                c.subject,
                c.external_id,
                c.occurred_at,
                c.status,
                c.detail,
                c.fields,
                c.raw,
            )
            .where(c.inbound_id.in_(list(inbound_ids)))
            .order_by(c.id)
        )
        return [dict(r._mapping) for r in self.conn.execute(q)]


class SqlLinks(_Repo):
    def _record(self, r: Any) -> LinkRecord:
        return LinkRecord(r.id, r.source_id, r.ref_type, r.external_ref, r.client_id, r.contract_id)

    def add(
        self,
        source_id: int,
        ref_type: str,
        external_ref: str,
        client_id: int,
        contract_id: int | None,
    ) -> int:
        existing = self.find(source_id, ref_type, external_ref)
        if existing is not None:
            self.conn.execute(
                update(t.source_links)
                .where(t.source_links.c.id == existing.id)
                .values(client_id=client_id, contract_id=contract_id)
            )
            return existing.id
        return int(
            self.conn.execute(
                insert(t.source_links).returning(t.source_links.c.id),
                dict(
                    source_id=source_id,
                    ref_type=ref_type,
                    external_ref=external_ref,
                    client_id=client_id,
                    contract_id=contract_id,
                ),
            ).scalar_one()
        )

    def find(self, source_id: int, ref_type: str, external_ref: str) -> LinkRecord | None:
        c = t.source_links.c
        r = self.conn.execute(
            select(t.source_links).where(
                c.source_id == source_id, c.ref_type == ref_type, c.external_ref == external_ref
            )
        ).first()
        return None if r is None else self._record(r)

    def list(self, source_id: int | None = None) -> builtins.list[LinkRecord]:
        q = select(t.source_links).order_by(t.source_links.c.id)
        if source_id is not None:
            q = q.where(t.source_links.c.source_id == source_id)
        return [self._record(r) for r in self.conn.execute(q)]


__all__ = ["SqlEvents", "SqlInbound", "SqlLinks", "SqlSources"]
