"""SQL behind the email templates edited in the web app (``services/user_templates.py``):
one row per saved version; the newest row of a name is in force."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ...services.user_templates import PARTS, UserTemplate
from . import tables as t

_T = t.user_templates
_COLUMNS = {"subject": "subject", "text": "text_body", "html": "html_body"}


def _record(r: Any) -> UserTemplate:
    return UserTemplate(
        name=r.name,
        version=r.version,
        subject=r.subject,
        text=r.text_body,
        html=r.html_body,
        saved_by=r.saved_by,
        saved_at=r.saved_at,
    )


class SqlUserTemplates:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def current(self, name: str) -> UserTemplate | None:
        r = self.conn.execute(
            select(_T).where(_T.c.name == name).order_by(_T.c.version.desc()).limit(1)
        ).first()
        return None if r is None or _record(r).is_reset else _record(r)

    def history(self, name: str, limit: int = 20) -> list[UserTemplate]:
        rows = self.conn.execute(
            select(_T).where(_T.c.name == name).order_by(_T.c.version.desc()).limit(limit)
        )
        return [_record(r) for r in rows]

    def add(
        self,
        name: str,
        *,
        subject: str | None,
        text: str | None,
        html: str | None,
        saved_by: str,
        at: datetime,
    ) -> UserTemplate:
        last = self.conn.execute(
            select(func.max(_T.c.version)).where(_T.c.name == name)
        ).scalar_one_or_none()
        row = {
            "name": name,
            "version": (last or 0) + 1,
            "subject": subject,
            "text_body": text,
            "html_body": html,
            "saved_by": saved_by,
            "saved_at": at,
        }
        self.conn.execute(_T.insert().values(**row))
        return UserTemplate(
            name=name,
            version=row["version"],  # type: ignore[arg-type]
            subject=subject,
            text=text,
            html=html,
            saved_by=saved_by,
            saved_at=at,
        )

    def sources(self) -> dict[str, str]:
        newest = (
            select(_T.c.name, func.max(_T.c.version).label("version"))
            .group_by(_T.c.name)
            .subquery()
        )
        rows = self.conn.execute(
            select(_T).join(
                newest, (newest.c.name == _T.c.name) & (newest.c.version == _T.c.version)
            )
        )
        out: dict[str, str] = {}
        for r in rows:
            for field, suffix, _ in PARTS:
                source = r._mapping[_COLUMNS[field]]
                if source is not None:
                    out[f"{r.name}{suffix}"] = source
        return out
