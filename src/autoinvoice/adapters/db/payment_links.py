"""SQL repository for card payments through a provider: checkout sessions
(``payment_sessions``) and the provider events applied (``provider_events``). Implements
``PaymentLinks`` in ``services/payment_links.py``; both "exactly once" rows are claimed with
INSERT … ON CONFLICT DO NOTHING (unique idempotency key; unique provider + event id)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from ...services.payment_links import CheckoutSession, PaymentSessionRecord, ProviderEvent
from . import tables as t
from .repositories import _Repo
from .upsert import insert_ignore


def _session(r: Any) -> PaymentSessionRecord:
    return PaymentSessionRecord(
        id=r.id,
        invoice_id=r.invoice_id,
        provider=r.provider,
        session_id=r.session_id,
        url=r.url,
        amount=r.amount,
        currency=r.currency,
        status=r.status,
        idempotency_key=r.idempotency_key,
        created_at=r.created_at,
    )


class SqlPaymentLinks(_Repo):
    def sessions(self, invoice_id: int) -> list[PaymentSessionRecord]:
        rows = self.conn.execute(
            select(t.payment_sessions)
            .where(t.payment_sessions.c.invoice_id == invoice_id)
            .order_by(t.payment_sessions.c.id)
        )
        return [_session(r) for r in rows]

    def add_session(
        self,
        *,
        invoice_id: int,
        provider: str,
        session: CheckoutSession,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        at: datetime,
    ) -> bool:
        new = insert_ignore(
            self.conn,
            t.payment_sessions,
            ["idempotency_key"],
            returning="id",
            invoice_id=invoice_id,
            provider=provider,
            session_id=session.session_id,
            url=session.url,
            amount=amount,
            currency=currency,
            status="open",
            idempotency_key=idempotency_key,
            created_at=at,
        )
        return new is not None

    def session_by_key(self, idempotency_key: str) -> PaymentSessionRecord | None:
        r = self.conn.execute(
            select(t.payment_sessions).where(
                t.payment_sessions.c.idempotency_key == idempotency_key
            )
        ).first()
        return _session(r) if r else None

    def complete_session(self, provider: str, session_id: str) -> None:
        self.conn.execute(
            update(t.payment_sessions)
            .where(
                t.payment_sessions.c.provider == provider,
                t.payment_sessions.c.session_id == session_id,
            )
            .values(status="complete")
        )

    def event_outcome(self, provider: str, event_id: str) -> str | None:
        outcome: str | None = self.conn.execute(
            select(t.provider_events.c.outcome).where(
                t.provider_events.c.provider == provider,
                t.provider_events.c.event_id == event_id,
            )
        ).scalar()
        return outcome

    def add_event(
        self,
        *,
        provider: str,
        event: ProviderEvent,
        invoice_id: int | None,
        payment_id: int | None,
        outcome: str,
        at: datetime,
    ) -> bool:
        new = insert_ignore(
            self.conn,
            t.provider_events,
            ["provider", "event_id"],
            returning="id",
            provider=provider,
            event_id=event.event_id,
            type=event.type[:100],
            invoice_id=invoice_id,
            payment_id=payment_id,
            outcome=outcome,
            received_at=at,
        )
        return new is not None
