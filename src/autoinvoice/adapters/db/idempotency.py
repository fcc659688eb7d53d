"""Idempotency-Key records of the REST API (``services/idempotency.py`` states the rules).

The claim is ``INSERT … ON CONFLICT DO NOTHING`` on the unique ``(caller, key)``: on
PostgreSQL a second process inserting the same key waits for the first one's transaction
and then inserts nothing, so exactly one request runs. Expired rows are swept a few at a
time with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL), so two sweeping processes never wait on
each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from ...services.idempotency import Headers, StoredRequest
from . import tables as t
from .upsert import insert_ignore

_T = t.api_idempotency_keys


def _headers(raw: Any) -> Headers:
    if not isinstance(raw, list):
        return ()
    return tuple((str(name), str(value)) for name, value in raw)


class SqlIdempotencyKeys:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert(
        self,
        caller: str,
        key: str,
        *,
        fingerprint: str,
        request: str,
        now: datetime,
        expires_at: datetime,
    ) -> int | None:
        row_id: int | None = insert_ignore(
            self.conn,
            _T,
            ["caller", "key"],
            returning="id",
            caller=caller,
            key=key,
            fingerprint=fingerprint,
            request=request[:300],
            created_at=now,
            expires_at=expires_at,
        )
        return row_id

    def get(self, caller: str, key: str) -> StoredRequest | None:
        row = (
            self.conn.execute(select(_T).where(_T.c.caller == caller, _T.c.key == key))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return StoredRequest(
            id=row["id"],
            fingerprint=row["fingerprint"],
            request=row["request"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            status=row["status"],
            headers=_headers(row["headers"]),
            body=row["body"],
        )

    def take_over(self, row_id: int, created_at: datetime, now: datetime) -> bool:
        done = self.conn.execute(
            update(_T)
            .where(_T.c.id == row_id, _T.c.status.is_(None), _T.c.created_at == created_at)
            .values(created_at=now)
        )
        return done.rowcount == 1

    def remove(self, row_id: int) -> None:
        self.conn.execute(delete(_T).where(_T.c.id == row_id))

    def store_answer(
        self, row_id: int, status: int, headers: Headers, body: bytes | None, now: datetime
    ) -> None:
        self.conn.execute(
            update(_T)
            .where(_T.c.id == row_id)
            .values(
                status=status,
                headers=[list(pair) for pair in headers],
                body=body,
                completed_at=now,
            )
        )

    def purge(self, before: datetime, limit: int) -> int:
        expired = (
            select(_T.c.id)
            .where(_T.c.expires_at <= before)
            .order_by(_T.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(self.conn.execute(expired).scalars())
        if not ids:
            return 0
        self.conn.execute(delete(_T).where(_T.c.id.in_(ids)))
        return len(ids)


__all__ = ["SqlIdempotencyKeys"]
