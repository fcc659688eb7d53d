"""SQL repository for installation settings (``services/installation_settings.py``'s
``Installation`` port): named JSON values, the numbering series with their counters, the
tax treatments in use, and the users and API keys the owner administers."""

from __future__ import annotations

import builtins
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from ...domain.numbering import NumberSeries
from ...services.installation_settings import KeyRow, SeriesRow, TaxInUse, UserRow
from ...services.ports import SeriesRecord
from . import tables as t
from .codec import tax_from_json
from .repositories import _Repo
from .upsert import insert_ignore

_S, _C, _U, _K = t.number_series, t.series_counters, t.users, t.api_keys
_TAX_SAMPLE = 20_000  # the most recent lines looked at for "rates in use"


class SqlInstallation(_Repo):
    def entity_ids(self) -> builtins.list[int]:
        q = select(t.issuing_entities.c.id).order_by(t.issuing_entities.c.id)
        return list(self.conn.execute(q).scalars())

    def sandbox_inboxes(self) -> dict[int, str]:
        e = t.issuing_entities
        q = select(e.c.id, e.c.sandbox_to).where(e.c.sandbox_to.is_not(None)).order_by(e.c.id)
        return {int(r.id): str(r.sandbox_to) for r in self.conn.execute(q) if r.sandbox_to}

    # -- named values ---------------------------------------------------------------------
    def get(self, name: str) -> dict[str, Any] | None:
        q = select(t.installation_settings.c.value).where(t.installation_settings.c.name == name)
        value = self.conn.execute(q).scalar()
        return dict(value) if value is not None else None

    def put(self, name: str, value: dict[str, Any], at: datetime, actor: str) -> None:
        s = t.installation_settings
        done = self.conn.execute(
            update(s).where(s.c.name == name).values(value=value, updated_at=at, updated_by=actor)
        )
        if not done.rowcount:
            inserted = insert_ignore(
                self.conn, s, ["name"], name=name, value=value, updated_at=at, updated_by=actor
            )
            if inserted is None:  # another transaction inserted it meanwhile: ours wins
                self.conn.execute(
                    update(s)
                    .where(s.c.name == name)
                    .values(value=value, updated_at=at, updated_by=actor)
                )

    def delete(self, name: str) -> None:
        s = t.installation_settings
        self.conn.execute(delete(s).where(s.c.name == name))

    # -- numbering series -------------------------------------------------------------------
    def series(self, entity_id: int | None = None) -> builtins.list[SeriesRow]:
        q = select(_S).order_by(_S.c.entity_id, _S.c.id)
        if entity_id is not None:
            q = q.where(_S.c.entity_id == entity_id)
        rows = self.conn.execute(q).all()
        counters: dict[int, dict[str, int]] = {}
        for c in self.conn.execute(select(_C)):
            counters.setdefault(c.series_id, {})[c.period] = c.next_value
        inv = t.invoices
        issued: dict[int, int] = {}
        q = (
            select(inv.c.series_id, func.count().label("n"))
            .where(inv.c.number.is_not(None))
            .group_by(inv.c.series_id)
        )
        for c in self.conn.execute(q):
            issued[int(c.series_id)] = int(c.n)
        return [
            SeriesRow(
                SeriesRecord(r.id, r.entity_id, r.name, NumberSeries(r.pattern, r.yearly_reset)),
                counters.get(r.id, {}),
                int(issued.get(r.id, 0)),
            )
            for r in rows
        ]

    def update_series(self, series_id: int, series: NumberSeries) -> None:
        self.conn.execute(
            update(_S)
            .where(_S.c.id == series_id)
            .values(pattern=series.pattern, yearly_reset=series.yearly_reset)
        )

    def seed_counter(self, series_id: int, period: str, next_value: int) -> None:
        insert_ignore(
            self.conn,
            _C,
            ["series_id", "period"],
            series_id=series_id,
            period=period,
            next_value=next_value,
        )
        self.conn.execute(
            update(_C)
            .where(_C.c.series_id == series_id, _C.c.period == period)
            .where(_C.c.next_value < next_value)
            .values(next_value=next_value)
        )

    def number_taken(self, entity_id: int, number: str) -> bool:
        inv = t.invoices
        q = select(inv.c.id).where(inv.c.entity_id == entity_id, inv.c.number == number)
        return self.conn.execute(q.limit(1)).first() is not None

    def taxes_in_use(self) -> builtins.list[TaxInUse]:
        lines = t.invoice_lines
        q = select(lines.c.tax).order_by(lines.c.id.desc()).limit(_TAX_SAMPLE)
        seen: Counter[tuple[str, str, str]] = Counter()
        for (raw,) in self.conn.execute(q):
            tax = tax_from_json(raw)
            seen[(tax.label, tax.category.value, format(tax.rate.normalize(), "f"))] += 1
        return [
            TaxInUse(label, category, rate, count)
            for (label, category, rate), count in seen.most_common()
        ]

    # -- users and keys ---------------------------------------------------------------------
    def users(self) -> builtins.list[UserRow]:
        q = select(_U).order_by(_U.c.email)
        return [
            UserRow(r.id, r.email, r.role, r.created_at, r.last_login_at)
            for r in self.conn.execute(q)
        ]

    def set_role(self, user_id: int, role: str) -> None:
        self.conn.execute(update(_U).where(_U.c.id == user_id).values(role=role))

    def remove_user(self, user_id: int, at: datetime) -> None:
        self.conn.execute(delete(_K).where(_K.c.user_id == user_id))
        self.conn.execute(delete(_U).where(_U.c.id == user_id))

    def keys(self) -> builtins.list[KeyRow]:
        q = select(_K, _U.c.email).join(_U, _U.c.id == _K.c.user_id).order_by(_K.c.id.desc())
        return [
            KeyRow(
                r.id,
                r.email,
                r.name,
                r.prefix,
                tuple(s for s in r.scopes.split(",") if s),
                r.created_at,
                r.revoked_at,
            )
            for r in self.conn.execute(q)
        ]


__all__ = ["SqlInstallation"]
