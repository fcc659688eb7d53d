"""SQL storage of intake-form links (table ``intake_links``, migration 0004).

Only the sha256 of a link's token is stored, so a copy of the database opens no form.
Submitting is a conditional update (``submitted_at IS NULL``): of two submits racing, one
wins and the other sees ``False``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ...services.ports import IntakeLinkRecord
from . import tables as t


class SqlIntakeLinks:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self, client_id: int, token_hash: str, created_at: datetime, expires_at: datetime
    ) -> int:
        return int(
            self.conn.execute(
                insert(t.intake_links)
                .values(
                    client_id=client_id,
                    token_hash=token_hash,
                    created_at=created_at,
                    expires_at=expires_at,
                )
                .returning(t.intake_links.c.id)
            ).scalar_one()
        )

    def by_hash(self, token_hash: str, *, for_update: bool = False) -> IntakeLinkRecord | None:
        q = select(t.intake_links).where(t.intake_links.c.token_hash == token_hash)
        if for_update:
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return None if row is None else _record(row)

    def mark_submitted(self, link_id: int, at: datetime) -> bool:
        c = t.intake_links.c
        done = self.conn.execute(
            update(t.intake_links)
            .where(c.id == link_id, c.submitted_at.is_(None), c.revoked_at.is_(None))
            .values(submitted_at=at)
        )
        return done.rowcount == 1

    def revoke_open(self, client_id: int, at: datetime) -> int:
        c = t.intake_links.c
        done = self.conn.execute(
            update(t.intake_links)
            .where(c.client_id == client_id, c.submitted_at.is_(None), c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(done.rowcount)


def _record(r: Any) -> IntakeLinkRecord:
    return IntakeLinkRecord(
        id=r.id,
        client_id=r.client_id,
        created_at=r.created_at,
        expires_at=r.expires_at,
        submitted_at=r.submitted_at,
        revoked_at=r.revoked_at,
    )


__all__ = ["SqlIntakeLinks"]
