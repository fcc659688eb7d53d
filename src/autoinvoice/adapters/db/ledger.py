"""The payments ledger in SQL (``services.ledger.Ledger``): allocations, reversals, refunds,
client credit movements and credit-note links.

Amounts are summed in Python: SQLite keeps exact decimals as text, and ``SUM`` over text
would go through floats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ...domain.invoice import OPEN_STATUSES, InvoiceKind
from ...domain.numbering import NumberSeries
from ...services.errors import Conflict, NotFound
from ...services.ledger import (
    AllocationKind,
    AllocationRecord,
    CreditMove,
    CreditNoteLink,
    PaymentRecord,
    RefundRecord,
)
from . import tables as t
from .multirow import insert_ids
from .upsert import insert_ignore

CREDIT_NOTE_SERIES = "credit_notes"
_P, _R, _A = t.payments, t.payment_reversals, t.payment_allocations


def _allocation(r: Any) -> AllocationRecord:
    return AllocationRecord(
        id=r.id,
        invoice_id=r.invoice_id,
        client_id=r.client_id,
        kind=AllocationKind(r.kind),
        amount=r.amount,
        currency=r.currency,
        created_at=r.created_at,
        payment_id=r.payment_id,
        credit_note_id=r.credit_note_id,
        reversed_at=r.reversed_at,
        reversal_reason=r.reversal_reason,
    )


def _payment(r: Any) -> PaymentRecord:
    return PaymentRecord(
        id=r.id,
        client_id=r.client_id,
        amount=r.amount,
        currency=r.currency,
        method=r.method,
        reference=r.reference,
        received_at=r.received_at,
        recorded_at=r.recorded_at,
        idempotency_key=r.idempotency_key,
        reversed_at=r.reversed_at,
        reversal_reason=r.reason,
    )


def _refund(r: Any) -> RefundRecord:
    return RefundRecord(
        id=r.id,
        client_id=r.client_id,
        payment_id=r.payment_id,
        amount=r.amount,
        currency=r.currency,
        method=r.method,
        reference=r.reference,
        reason=r.reason,
        refunded_at=r.refunded_at,
    )


_PAYMENTS = select(_P, _R.c.reversed_at, _R.c.reason).outerjoin(_R, _R.c.payment_id == _P.c.id)
_ALLOCATION_KEYS = ("payment_id", "invoice_id", "credit_note_id", "kind")  # one row each
_CREDIT_MOVE_KEYS = ("allocation_id", "refund_id", "credit_note_id")


class SqlLedger:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lock_client(self, client_id: int) -> None:
        q = select(t.clients.c.id).where(t.clients.c.id == client_id).with_for_update()
        if self.conn.execute(q).scalar() is None:
            raise NotFound(f"client {client_id} does not exist", field="client_id")

    def lock_clients(self, client_ids: Sequence[int]) -> set[int]:
        wanted = sorted(set(client_ids))  # in id order, as every other client lock is taken
        if not wanted:
            return set()
        c = t.clients.c
        q = select(c.id).where(c.id.in_(wanted)).order_by(c.id).with_for_update()
        return set(self.conn.execute(q).scalars())

    def open_balances(self, client_id: int, currency: str) -> list[tuple[int, Decimal]]:
        i = t.invoices
        q = (
            select(i.c.id, i.c.gross_total, i.c.amount_paid)
            .where(
                i.c.client_id == client_id,
                i.c.currency == currency,
                i.c.kind == InvoiceKind.INVOICE.value,
                i.c.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .order_by(i.c.due_date, i.c.issue_date, i.c.id)
        )
        rows = self.conn.execute(q)
        return [
            (r.id, r.gross_total - r.amount_paid) for r in rows if r.gross_total > r.amount_paid
        ]

    # -- allocations ----------------------------------------------------------------------
    def add_allocation(
        self,
        *,
        invoice_id: int,
        client_id: int,
        kind: AllocationKind,
        amount: Decimal,
        currency: str,
        at: datetime,
        payment_id: int | None = None,
        credit_note_id: int | None = None,
    ) -> int:
        row = dict(
            invoice_id=invoice_id,
            client_id=client_id,
            kind=kind,
            amount=amount,
            currency=currency,
            at=at,
            payment_id=payment_id,
            credit_note_id=credit_note_id,
        )
        return self.add_allocations([row])[0]

    def add_allocations(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if not rows:
            return []
        params = [
            dict(
                invoice_id=r["invoice_id"],
                client_id=r["client_id"],
                kind=AllocationKind(r["kind"]).value,
                amount=r["amount"],
                currency=r["currency"],
                created_at=r["at"],
                payment_id=r.get("payment_id"),
                credit_note_id=r.get("credit_note_id"),
            )
            for r in rows
        ]
        return insert_ids(self.conn, _A, params, _ALLOCATION_KEYS)

    def allocations(
        self,
        *,
        invoice_id: int | None = None,
        payment_id: int | None = None,
        client_id: int | None = None,
        kind: AllocationKind | None = None,
        live_only: bool = True,
    ) -> list[AllocationRecord]:
        q = select(_A).order_by(_A.c.id)
        for col, value in (
            (_A.c.invoice_id, invoice_id),
            (_A.c.payment_id, payment_id),
            (_A.c.client_id, client_id),
            (_A.c.kind, kind.value if kind else None),
        ):
            if value is not None:
                q = q.where(col == value)
        if live_only:
            q = q.where(_A.c.reversed_at.is_(None))
        return [_allocation(r) for r in self.conn.execute(q)]

    def reverse_allocation(self, allocation_id: int, at: datetime, reason: str) -> None:
        done = self.conn.execute(
            update(_A)
            .where(_A.c.id == allocation_id, _A.c.reversed_at.is_(None))
            .values(reversed_at=at, reversal_reason=reason)
        )
        if not done.rowcount:
            raise Conflict(f"allocation {allocation_id} is already reversed", field="allocation")

    # -- payments -------------------------------------------------------------------------
    def payment(self, payment_id: int, *, for_update: bool = False) -> PaymentRecord:
        if for_update:  # the payment row itself: a second reversal waits, then sees the first
            self.conn.execute(select(_P.c.id).where(_P.c.id == payment_id).with_for_update())
        r = self.conn.execute(_PAYMENTS.where(_P.c.id == payment_id)).first()
        if r is None:
            raise NotFound(f"payment {payment_id} does not exist", field="payment_id")
        return _payment(r)

    def payments(
        self,
        *,
        client_id: int | None = None,
        after_id: int | None = None,
        limit: int = 50,
        method: str | None = None,
        received_from: datetime | None = None,
        received_before: datetime | None = None,
    ) -> list[PaymentRecord]:
        q = _PAYMENTS.order_by(_P.c.id.desc()).limit(limit)
        if client_id is not None:
            q = q.where(_P.c.client_id == client_id)
        if method:
            q = q.where(_P.c.method == method)
        if received_from is not None:
            q = q.where(_P.c.received_at >= received_from)
        if received_before is not None:
            q = q.where(_P.c.received_at < received_before)
        if after_id is not None:
            q = q.where(_P.c.id < after_id)
        return [_payment(r) for r in self.conn.execute(q)]

    def add_reversal(self, payment_id: int, *, reason: str, actor: str, at: datetime) -> None:
        done = insert_ignore(
            self.conn,
            _R,
            ["payment_id"],
            payment_id=payment_id,
            reason=reason,
            actor=actor,
            reversed_at=at,
        )
        if done is None:
            raise Conflict(f"payment {payment_id} is already reversed", field="payment_id")

    # -- client credit --------------------------------------------------------------------
    def add_credit(
        self,
        *,
        client_id: int,
        amount: Decimal,
        currency: str,
        kind: CreditMove,
        note: str,
        at: datetime,
        payment_id: int | None = None,
        allocation_id: int | None = None,
        refund_id: int | None = None,
        credit_note_id: int | None = None,
    ) -> int:
        row = dict(
            client_id=client_id,
            amount=amount,
            currency=currency,
            kind=kind,
            note=note,
            at=at,
            payment_id=payment_id,
            allocation_id=allocation_id,
            refund_id=refund_id,
            credit_note_id=credit_note_id,
        )
        return self.add_credits([row])[0]

    def add_credits(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if not rows:
            return []
        credits = [
            dict(
                client_id=r["client_id"],
                amount=r["amount"],
                currency=r["currency"],
                payment_id=r.get("payment_id"),
                note=r["note"],
                created_at=r["at"],
            )
            for r in rows
        ]
        ids = insert_ids(self.conn, t.client_credits, credits, ("payment_id",))
        moves = [
            dict(
                credit_id=i,
                kind=CreditMove(r["kind"]).value,
                **{k: r.get(k) for k in _CREDIT_MOVE_KEYS},
            )
            for i, r in zip(ids, rows, strict=True)
        ]
        self.conn.execute(insert(t.client_credit_moves), moves)
        return ids

    def credit_balance(self, client_id: int, currency: str) -> Decimal:
        return sum(self.credit_totals(client_id, currency).values(), Decimal(0))

    def credit_of_payment(self, payment_id: int) -> Decimal:
        rows = self.conn.execute(
            select(t.client_credits.c.amount).where(t.client_credits.c.payment_id == payment_id)
        )
        return sum((r[0] for r in rows), Decimal(0))

    def credit_totals(self, client_id: int, currency: str) -> dict[CreditMove, Decimal]:
        c, m = t.client_credits, t.client_credit_moves
        rows = self.conn.execute(
            select(c.c.amount, m.c.kind)
            .outerjoin(m, m.c.credit_id == c.c.id)
            .where(c.c.client_id == client_id, c.c.currency == currency)
        )
        out: dict[CreditMove, Decimal] = defaultdict(Decimal)
        for amount, kind in rows:  # rows from before the ledger are overpayments
            out[CreditMove(kind or CreditMove.OVERPAYMENT)] += amount
        return dict(out)

    # -- refunds --------------------------------------------------------------------------
    def add_refund(
        self,
        *,
        client_id: int,
        payment_id: int | None,
        amount: Decimal,
        currency: str,
        method: str,
        reference: str | None,
        reason: str,
        refunded_at: datetime,
        recorded_at: datetime,
        idempotency_key: str | None,
    ) -> int:
        return self.conn.execute(
            insert(t.refunds)
            .values(
                client_id=client_id,
                payment_id=payment_id,
                amount=amount,
                currency=currency,
                method=method,
                reference=reference,
                reason=reason,
                refunded_at=refunded_at,
                recorded_at=recorded_at,
                idempotency_key=idempotency_key,
            )
            .returning(t.refunds.c.id)
        ).scalar_one()

    def refund_by_key(self, idempotency_key: str) -> RefundRecord | None:
        r = self.conn.execute(
            select(t.refunds).where(t.refunds.c.idempotency_key == idempotency_key)
        ).first()
        return _refund(r) if r else None

    def refunds(self, client_id: int) -> list[RefundRecord]:
        q = select(t.refunds).where(t.refunds.c.client_id == client_id).order_by(t.refunds.c.id)
        return [_refund(r) for r in self.conn.execute(q)]

    # -- credit notes ---------------------------------------------------------------------
    def link_credit_note(
        self, credit_note_id: int, invoice_id: int, *, reason: str, at: datetime
    ) -> None:
        self.conn.execute(
            insert(t.credit_notes).values(
                id=credit_note_id, invoice_id=invoice_id, reason=reason, created_at=at
            )
        )

    def credit_notes_of(self, invoice_id: int) -> list[CreditNoteLink]:
        q = (
            select(t.credit_notes)
            .where(t.credit_notes.c.invoice_id == invoice_id)
            .order_by(t.credit_notes.c.id)
        )
        return [
            CreditNoteLink(r.id, r.invoice_id, r.reason, r.created_at) for r in self.conn.execute(q)
        ]

    def corrected_by(self, credit_note_ids: Sequence[int]) -> dict[int, int]:
        q = select(t.credit_notes.c.id, t.credit_notes.c.invoice_id).where(
            t.credit_notes.c.id.in_(list(credit_note_ids))
        )
        return {r.id: r.invoice_id for r in self.conn.execute(q)}

    def credit_note_series(self, entity_id: int, like: NumberSeries) -> int:
        s = t.number_series
        q = select(s.c.id).where(s.c.entity_id == entity_id, s.c.name == CREDIT_NOTE_SERIES)
        found = self.conn.execute(q).scalar()
        if found is None:
            pattern = like.pattern.replace("INV", "CN")
            if pattern == like.pattern:
                pattern = "CN-" + like.pattern
            insert_ignore(
                self.conn,
                s,
                ["entity_id", "name"],
                returning="id",
                entity_id=entity_id,
                name=CREDIT_NOTE_SERIES,
                pattern=NumberSeries(pattern, like.yearly_reset).pattern,
                yearly_reset=like.yearly_reset,
            )
            found = self.conn.execute(q).scalar_one()
        return int(found)


__all__ = ["CREDIT_NOTE_SERIES", "SqlLedger"]
