"""The payments ledger port: allocations, reversals, refunds, client credit, credit-note links.

The ledger is what makes a balance trustworthy: every amount that settles an invoice is an
*allocation* row — from a payment, from client credit, or from a credit note — and
``invoices.amount_paid`` is always the sum of the invoice's live (not reversed) allocations.
Client credit is a ledger of signed movements (``client_credits``) with, beside each, what
caused it (``client_credit_moves``); its balance per client and currency never goes below
zero. Undoing is done by marking rows reversed and writing counter-movements; no row is ever
deleted, so the history reads as it happened.

The SQL adapter is ``adapters/db/ledger.py``; the use cases are in ``payments.py``,
``client_credit.py`` and ``credit_notes.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from ..domain.numbering import NumberSeries


class AllocationKind(StrEnum):
    PAYMENT = "payment"
    CREDIT = "credit"  # client credit applied to an invoice
    CREDIT_NOTE = "credit_note"


class CreditMove(StrEnum):
    """Why client credit moved (``+`` adds to the balance, ``-`` takes from it)."""

    OVERPAYMENT = "overpayment"  # + the part of a payment above the open balances
    CREDIT_NOTE = "credit_note"  # + the part of a credit note above the invoice's balance
    APPLIED = "applied"  # - applied to an invoice (an allocation of kind credit)
    UNAPPLIED = "unapplied"  # + such an allocation undone
    REFUND = "refund"  # - paid back to the client
    REVERSAL = "reversal"  # - the credit a reversed payment had made


@dataclass(frozen=True, slots=True)
class AllocationRecord:
    id: int
    invoice_id: int
    client_id: int
    kind: AllocationKind
    amount: Decimal
    currency: str
    created_at: datetime
    payment_id: int | None = None
    credit_note_id: int | None = None
    reversed_at: datetime | None = None
    reversal_reason: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    id: int
    client_id: int
    amount: Decimal
    currency: str
    method: str
    reference: str | None
    received_at: datetime
    recorded_at: datetime
    idempotency_key: str | None
    reversed_at: datetime | None = None
    reversal_reason: str | None = None


@dataclass(frozen=True, slots=True)
class RefundRecord:
    id: int
    client_id: int
    payment_id: int | None
    amount: Decimal
    currency: str
    method: str
    reference: str | None
    reason: str
    refunded_at: datetime


@dataclass(frozen=True, slots=True)
class CreditNoteLink:
    credit_note_id: int
    invoice_id: int
    reason: str
    created_at: datetime


class Ledger(Protocol):
    """Rows of the payments ledger, inside the unit of work's transaction. Look-ups of one
    record raise ``NotFound``; nothing here commits."""

    def lock_client(self, client_id: int) -> None:
        """Hold the client's row lock to the end of the transaction, so two transactions never
        spend the same client credit (PostgreSQL ``FOR UPDATE``; SQLite has one writer)."""
        ...

    def lock_clients(self, client_ids: Sequence[int]) -> set[int]:
        """:meth:`lock_client` for many clients in one statement, in id order; the ids that
        exist (the caller refuses the others)."""
        ...

    def open_balances(self, client_id: int, currency: str) -> list[tuple[int, Decimal]]:
        """(id, open balance) of the client's open invoices (kind invoice) in ``currency``
        with a balance, oldest due date first (then issue date, then id)."""
        ...

    # -- allocations
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
    ) -> int: ...
    def add_allocations(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Many :meth:`add_allocation` calls (each row holds its keyword arguments) in one
        statement; the new ids in the rows' order."""
        ...

    def allocations(
        self,
        *,
        invoice_id: int | None = None,
        payment_id: int | None = None,
        client_id: int | None = None,
        kind: AllocationKind | None = None,
        live_only: bool = True,
    ) -> list[AllocationRecord]:
        """Matching allocations, oldest first."""
        ...

    def reverse_allocation(self, allocation_id: int, at: datetime, reason: str) -> None:
        """Mark a live allocation reversed (raises ``Conflict`` if it already is)."""
        ...

    # -- payments
    def payment(self, payment_id: int, *, for_update: bool = False) -> PaymentRecord: ...
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
        """Newest first; ``after_id`` pages on (ids below it); ``received_from`` inclusive,
        ``received_before`` exclusive."""
        ...

    def add_reversal(self, payment_id: int, *, reason: str, actor: str, at: datetime) -> None: ...

    # -- client credit
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
        """A signed movement of client credit (negative takes credit away)."""
        ...

    def add_credits(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Many :meth:`add_credit` calls (each row holds its keyword arguments) in two
        statements; the new ids in the rows' order."""
        ...

    def credit_balance(self, client_id: int, currency: str) -> Decimal: ...
    def credit_of_payment(self, payment_id: int) -> Decimal:
        """The net client credit movements that name this payment."""
        ...

    def credit_totals(self, client_id: int, currency: str) -> dict[CreditMove, Decimal]:
        """The sum of each kind of movement (for statements and the ledger's own checks)."""
        ...

    # -- refunds
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
    ) -> int: ...
    def refund_by_key(self, idempotency_key: str) -> RefundRecord | None: ...
    def refunds(self, client_id: int) -> list[RefundRecord]: ...

    # -- credit notes
    def link_credit_note(
        self, credit_note_id: int, invoice_id: int, *, reason: str, at: datetime
    ) -> None: ...
    def credit_notes_of(self, invoice_id: int) -> list[CreditNoteLink]: ...
    def corrected_by(self, credit_note_ids: Sequence[int]) -> dict[int, int]:
        """credit note id → the id of the invoice it corrects."""
        ...

    def credit_note_series(self, entity_id: int, like: NumberSeries) -> int:
        """The id of the entity's credit-note series (name ``credit_notes``), made on first
        use from ``like`` (its pattern with ``CN`` for ``INV``)."""
        ...


__all__ = [
    "AllocationKind",
    "AllocationRecord",
    "CreditMove",
    "CreditNoteLink",
    "Ledger",
    "PaymentRecord",
    "RefundRecord",
]
