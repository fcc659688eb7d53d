"""SQL repository for outgoing webhooks (``services/outgoing.py``'s ``OutgoingWebhooks``
port): subscribers, with their signing secret sealed, and the delivery log, one row per
(subscription, message id) — claimed with INSERT … ON CONFLICT DO NOTHING, so reporting a
fact twice adds nothing."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from ...domain.invoice import OPEN_STATUSES
from ...services.errors import NotFound
from ...services.outgoing import DeliveryRecord, SubscriptionRecord
from . import tables as t
from .repositories import _Repo
from .upsert import insert_ignore

_S, _D = t.webhook_subscriptions, t.webhook_deliveries
_CHUNK = 500  # message ids per IN (...) list


def _subscription(r: Any) -> SubscriptionRecord:
    return SubscriptionRecord(
        id=r.id,
        url=r.url,
        event_types=tuple(r.event_types or ()),
        description=r.description,
        enabled=bool(r.enabled),
        created_at=r.created_at,
        sealed_secret=r.secret_sealed,
    )


def _delivery(r: Any) -> DeliveryRecord:
    return DeliveryRecord(
        id=r.id,
        subscription_id=r.subscription_id,
        message_id=r.message_id,
        event_type=r.event_type,
        payload=dict(r.payload),
        status=r.status,
        attempts=r.attempts,
        last_status_code=r.last_status_code,
        last_error=r.last_error,
        created_at=r.created_at,
        delivered_at=r.delivered_at,
    )


class SqlOutgoingWebhooks(_Repo):
    def add_subscription(
        self,
        *,
        url: str,
        sealed_secret: str,
        event_types: Sequence[str],
        description: str,
        at: datetime,
    ) -> int:
        self._enabled = None
        return int(
            self.conn.execute(
                insert(_S).returning(_S.c.id),
                dict(
                    url=url,
                    secret_sealed=sealed_secret,
                    event_types=list(event_types),
                    description=description,
                    enabled=True,
                    created_at=at,
                ),
            ).scalar_one()
        )

    def subscription(self, subscription_id: int) -> SubscriptionRecord:
        row = self.conn.execute(select(_S).where(_S.c.id == subscription_id)).first()
        if row is None:
            raise NotFound(f"no webhook subscription {subscription_id}", field="id")
        return _subscription(row)

    def subscriptions(self) -> builtins.list[SubscriptionRecord]:
        return [_subscription(r) for r in self.conn.execute(select(_S).order_by(_S.c.id))]

    _enabled: builtins.list[SubscriptionRecord] | None = None  # read once a transaction

    def subscribers(self, event_type: str) -> builtins.list[SubscriptionRecord]:
        # a handful of rows, read once per transaction (a batch of deliveries asks for each
        # invoice); the JSON list is filtered here, the same on both databases
        if self._enabled is None:
            rows = self.conn.execute(select(_S).where(_S.c.enabled.is_(True)).order_by(_S.c.id))
            self._enabled = list(map(_subscription, rows))
        return [s for s in self._enabled if event_type in s.event_types]

    def set_enabled(self, subscription_id: int, enabled: bool) -> None:
        self._enabled = None
        self.conn.execute(update(_S).where(_S.c.id == subscription_id).values(enabled=enabled))

    def remove_subscription(self, subscription_id: int) -> None:
        self._enabled = None
        self.conn.execute(delete(_D).where(_D.c.subscription_id == subscription_id))
        if self.conn.execute(delete(_S).where(_S.c.id == subscription_id)).rowcount != 1:
            raise NotFound(f"no webhook subscription {subscription_id}", field="id")

    def add_delivery(
        self,
        *,
        subscription_id: int,
        message_id: str,
        event_type: str,
        payload: dict[str, Any],
        at: datetime,
    ) -> int | None:
        new = insert_ignore(
            self.conn,
            _D,
            ["subscription_id", "message_id"],
            returning="id",
            subscription_id=subscription_id,
            message_id=message_id,
            event_type=event_type,
            payload=payload,
            status="pending",
            attempts=0,
            last_status_code=None,
            last_error=None,
            created_at=at,
            delivered_at=None,
        )
        return None if new is None else int(new)

    def existing(self, message_ids: Sequence[str]) -> set[tuple[int, str]]:
        found: set[tuple[int, str]] = set()
        for i in range(0, len(message_ids), _CHUNK):
            chunk = list(message_ids[i : i + _CHUNK])
            rows = self.conn.execute(
                select(_D.c.subscription_id, _D.c.message_id).where(_D.c.message_id.in_(chunk))
            )
            found.update((r[0], r[1]) for r in rows)
        return found

    def delivery(self, delivery_id: int) -> DeliveryRecord:
        row = self.conn.execute(select(_D).where(_D.c.id == delivery_id)).first()
        if row is None:
            raise NotFound(f"no webhook delivery {delivery_id}", field="id")
        return _delivery(row)

    def deliveries(
        self, subscription_id: int | None = None, limit: int = 100
    ) -> builtins.list[DeliveryRecord]:
        q = select(_D).order_by(_D.c.id.desc()).limit(limit)
        if subscription_id is not None:
            q = q.where(_D.c.subscription_id == subscription_id)
        return [_delivery(r) for r in self.conn.execute(q)]

    def record_attempt(
        self,
        delivery_id: int,
        *,
        status: str,
        status_code: int | None,
        error: str | None,
        at: datetime,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "attempts": _D.c.attempts + 1,
            "last_status_code": status_code,
            "last_error": None if error is None else error[:2000],
        }
        if status == "delivered":
            values["delivered_at"] = at
        self.conn.execute(update(_D).where(_D.c.id == delivery_id).values(**values))

    def past_due(self, before: date, after_id: int, limit: int) -> builtins.list[int]:
        inv = t.invoices
        rows = self.conn.execute(
            select(inv.c.id)
            .where(
                inv.c.status.in_([s.value for s in OPEN_STATUSES]),
                inv.c.due_date < before,
                inv.c.id > after_id,
            )
            .order_by(inv.c.id)
            .limit(limit)
        )
        return [r[0] for r in rows]
