"""Read queries of the REST API's resource lists (``services.resources.Resources``):
events, payments and API keys, each filtered and paged by id (newest first).

Every list takes ``after_id`` (the last id of the previous page) and ``limit``; the caller
asks for one row more than it shows to know whether another page follows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, select

from ...services.errors import NotFound
from ...services.ledger import PaymentRecord
from ...services.resources import ApiKeyRow, EventRow
from . import tables as t
from .ledger import _PAYMENTS, _payment

_E, _P, _A = t.events, t.payments, t.payment_allocations


def _event(r: Any, *, payload: bool) -> EventRow:
    return EventRow(
        id=r.id,
        source_id=r.source_id,
        source_name=r.source_name,
        inbound_id=r.inbound_id,
        type=r.type,
        subject=r.subject,
        external_id=r.external_id,
        occurred_at=r.occurred_at,
        status=r.status,
        detail=r.detail,
        recorded_at=r.recorded_at,
        fields=dict(r.fields or {}) if payload else None,
        raw=r.raw if payload else None,
    )


def _key(r: Any) -> ApiKeyRow:
    return ApiKeyRow(
        id=r.id,
        user_id=r.user_id,
        user_email=r.email,
        name=r.name,
        prefix=r.prefix,
        scopes=tuple(s for s in r.scopes.split(",") if s),
        created_at=r.created_at,
        revoked_at=r.revoked_at,
    )


class SqlResources:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- events ---------------------------------------------------------------------------
    def _events(self, *, payload: bool) -> Any:
        cols = [c for c in _E.c if payload or c.name not in ("fields", "raw")]
        return select(*cols, t.sources.c.name.label("source_name")).join(
            t.sources, t.sources.c.id == _E.c.source_id
        )

    def events(
        self,
        *,
        source: str | None = None,
        type: str | None = None,
        status: str | None = None,
        subject: str | None = None,
        external_id: str | None = None,
        after_id: int | None = None,
        limit: int = 50,
    ) -> list[EventRow]:
        q = self._events(payload=False).order_by(_E.c.id.desc()).limit(limit)
        for col, value in (
            (t.sources.c.name, source),
            (_E.c.type, type),
            (_E.c.status, status),
            (_E.c.subject, subject),
            (_E.c.external_id, external_id),
        ):
            if value is not None:
                q = q.where(col == value)
        if after_id is not None:
            q = q.where(_E.c.id < after_id)
        return [_event(r, payload=False) for r in self.conn.execute(q)]

    def event(self, event_id: int) -> EventRow:
        r = self.conn.execute(self._events(payload=True).where(_E.c.id == event_id)).first()
        if r is None:
            raise NotFound(f"event {event_id} does not exist", field="event_id")
        return _event(r, payload=True)

    # -- payments -------------------------------------------------------------------------
    def payments(
        self,
        *,
        client_id: int | None = None,
        invoice_id: int | None = None,
        received_from: datetime | None = None,
        received_before: datetime | None = None,
        after_id: int | None = None,
        limit: int = 50,
    ) -> list[PaymentRecord]:
        q = _PAYMENTS.order_by(_P.c.id.desc()).limit(limit)
        if client_id is not None:
            q = q.where(_P.c.client_id == client_id)
        if invoice_id is not None:  # applied to it (live or reversed), or recorded against it
            applied = exists().where(_A.c.payment_id == _P.c.id, _A.c.invoice_id == invoice_id)
            q = q.where((_P.c.invoice_id == invoice_id) | applied)
        if received_from is not None:
            q = q.where(_P.c.received_at >= received_from)
        if received_before is not None:
            q = q.where(_P.c.received_at < received_before)
        if after_id is not None:
            q = q.where(_P.c.id < after_id)
        return [_payment(r) for r in self.conn.execute(q)]

    # -- users and API keys ---------------------------------------------------------------
    def api_keys(self, *, user_id: int | None = None) -> list[ApiKeyRow]:
        k = t.api_keys
        q = select(k, t.users.c.email).join(t.users, t.users.c.id == k.c.user_id)
        if user_id is not None:
            q = q.where(k.c.user_id == user_id)
        return [_key(r) for r in self.conn.execute(q.order_by(k.c.id.desc()))]

    def api_key(self, key_id: int) -> ApiKeyRow:
        k = t.api_keys
        q = select(k, t.users.c.email).join(t.users, t.users.c.id == k.c.user_id)
        r = self.conn.execute(q.where(k.c.id == key_id)).first()
        if r is None:
            raise NotFound(f"API key {key_id} does not exist", field="key_id")
        return _key(r)


__all__ = ["SqlResources"]
