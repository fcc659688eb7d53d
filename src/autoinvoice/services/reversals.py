"""Undoing money: reversing a payment, refunding client credit.

* :func:`reverse_payment` — a bank return, a chargeback, a payment recorded by mistake. Every
  allocation of the payment is undone (its invoices go back from paid to partially paid or to
  their open status) and the credit it made is withdrawn (see
  ``client_credit.withdraw_credit``); credit it made that was refunded already cannot be
  withdrawn, and is reported as ``unrecovered``. A payment is reversed once: the second attempt is
  refused with a ``Conflict`` naming when and why it was reversed.
* :func:`refund_credit` — money paid back to the client out of its credit, optionally naming
  the payment it came from (then at most the credit that payment made). Recorded, audited,
  and with an idempotency key recorded once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..domain.errors import InvalidValue
from ..domain.money import Money
from ..domain.recurrence import require_aware
from .client_credit import withdraw_credit
from .errors import Conflict
from .ledger import AllocationKind, CreditMove
from .payments import Allocation, allocate, check_amount, to_minor_units, unallocate
from .ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class Reversal:
    payment_id: int
    reopened: tuple[Allocation, ...]  # the payment's allocations, now undone
    credit_withdrawn: Decimal
    credit_taken_back_from: tuple[int, ...]  # invoices whose credit application was undone
    # credit the payment made that was refunded already: money the client now owes back
    unrecovered: Decimal = Decimal(0)
    # invoice id → the part of its credit notes that settles it again instead of the payment
    credit_notes_restored: dict[int, Decimal] = field(default_factory=dict)


def _reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise InvalidValue("say why (a bank return, a chargeback, a mistake …)", field="reason")
    return reason.strip()


def reverse_payment(
    payment_id: int, reason: str, *, uow: UnitOfWork, clock: Clock, actor: str
) -> Reversal:
    why, now = _reason(reason), clock.now()
    with uow:
        paid = uow.ledger.payment(payment_id, for_update=True)
        if paid.reversed_at is not None:
            raise Conflict(
                f"payment {payment_id} was already reversed on {paid.reversed_at:%Y-%m-%d} "
                f"({paid.reversal_reason}); it cannot be reversed twice",
                field="payment_id",
            )
        uow.ledger.lock_client(paid.client_id)
        allocs = uow.ledger.allocations(payment_id=payment_id, kind=AllocationKind.PAYMENT)
        for alloc in allocs:
            unallocate(uow, alloc, now=now, actor=actor, reason=f"payment reversed: {why}")
        made = Money(
            max(uow.ledger.credit_of_payment(payment_id), Decimal(0)), paid.currency
        ).rounded()
        taken, touched = Money.zero(paid.currency), list[int]()
        if made.is_positive():
            taken, touched = withdraw_credit(
                uow,
                paid.client_id,
                made,
                now=now,
                actor=actor,
                reason=f"payment {payment_id} reversed: {why}",
                payment_id=payment_id,
            )
        restored = _restore_credit_notes(
            uow, paid.client_id, {a.invoice_id for a in allocs}, now=now, actor=actor
        )
        uow.ledger.add_reversal(payment_id, reason=why, actor=actor, at=now)
        out = Reversal(
            payment_id,
            tuple(Allocation(a.invoice_id, to_minor_units(a.amount, a.currency)) for a in allocs),
            taken.amount,
            tuple(touched),
            (made - taken).amount,
            restored,
        )
        uow.audit.record(
            at=now,
            actor=actor,
            action="payment.reversed",
            subject_type="payment",
            subject_id=payment_id,
            detail={
                "reason": why,
                "reopened": {str(a.invoice_id): str(a.amount) for a in out.reopened},
                "credit_withdrawn": str(taken.amount),
                "unrecovered": str(out.unrecovered),
                "credit_taken_back_from": list(touched),
                "credit_notes_restored": {str(k): str(v) for k, v in restored.items()},
            },
        )
        uow.commit()
    return out


def _restore_credit_notes(
    uow: UnitOfWork, client_id: int, invoice_ids: set[int], *, now: datetime, actor: str
) -> dict[int, Decimal]:
    """Give back to each reopened invoice what its credit notes took off.

    A credit note issued while the invoice was paid could not settle it, so its amount became
    client credit (``credit_notes.issue_credit_note``). Once the payment is reversed the
    invoice is open again and the credit note's amount belongs on it: that part of the client
    credit (as much as is left — credit spent or refunded meanwhile stays owed) becomes the
    credit note's allocation on its invoice, as if the note had been issued with the invoice
    unpaid. Other client credit stays unapplied, as after any reversal."""
    out: dict[int, Decimal] = {}
    for invoice_id in sorted(invoice_ids):
        links = uow.ledger.credit_notes_of(invoice_id)
        if not links:
            continue
        inv = uow.invoices.get(invoice_id, for_update=True)
        notes = uow.invoices.get_many([link.credit_note_id for link in links])
        on_invoice = uow.ledger.allocations(invoice_id=invoice_id, kind=AllocationKind.CREDIT_NOTE)
        for cn_id, cn in sorted(notes.items()):
            settled = sum((a.amount for a in on_invoice if a.credit_note_id == cn_id), Decimal(0))
            credit = Money(
                uow.ledger.credit_balance(client_id, inv.currency), inv.currency
            ).rounded()
            amount = min(cn.gross - Money(settled, inv.currency), inv.balance, credit)
            if not amount.is_positive():
                continue
            uow.ledger.add_credit(
                client_id=client_id,
                amount=-amount.amount,
                currency=amount.currency,
                kind=CreditMove.CREDIT_NOTE,
                note=f"credit note {cn.number} settles invoice {inv.number} again: "
                "its payment was reversed",
                at=now,
                credit_note_id=cn_id,
            )
            allocate(
                uow, inv, amount, AllocationKind.CREDIT_NOTE, now=now, actor=actor,
                credit_note_id=cn_id,
            )  # fmt: skip
            out[invoice_id] = out.get(invoice_id, Decimal(0)) + amount.amount
    return out


@dataclass(frozen=True, slots=True)
class RefundCredit:
    client_id: int
    amount: Decimal | str
    currency: str
    reason: str
    method: str = "bank_transfer"
    reference: str | None = None
    payment_id: int | None = None  # the payment whose credit is paid back, if one
    refunded_at: datetime | None = None  # default now
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    refund_id: int
    amount: Decimal
    credit_left: Decimal
    duplicate: bool = False


def refund_credit(cmd: RefundCredit, *, uow: UnitOfWork, clock: Clock, actor: str) -> RefundOutcome:
    money = check_amount(cmd.amount, cmd.currency)
    why, now = _reason(cmd.reason), clock.now()
    at = require_aware(cmd.refunded_at, "refunded_at") if cmd.refunded_at else now
    with uow:
        uow.ledger.lock_client(cmd.client_id)
        if cmd.idempotency_key:
            seen = uow.ledger.refund_by_key(cmd.idempotency_key)
            if seen is not None:
                if seen.client_id != cmd.client_id:
                    raise Conflict(
                        "this idempotency key was used for another client's refund",
                        field="idempotency_key",
                    )
                left = Money(uow.ledger.credit_balance(cmd.client_id, seen.currency), seen.currency)
                return RefundOutcome(seen.id, seen.amount, left.rounded().amount, duplicate=True)
        available = uow.ledger.credit_balance(cmd.client_id, money.currency)
        if cmd.payment_id is not None:
            paid = uow.ledger.payment(cmd.payment_id)
            if paid.client_id != cmd.client_id or paid.currency != money.currency:
                raise InvalidValue(
                    f"payment {cmd.payment_id} is not a {money.currency} payment of client "
                    f"{cmd.client_id}",
                    field="payment_id",
                )
            available = min(available, uow.ledger.credit_of_payment(cmd.payment_id))
        if money.amount > available:
            raise InvalidValue(
                f"only {Money(available, money.currency).rounded().amount} {money.currency} "
                "of credit can be refunded"
                + (f" from payment {cmd.payment_id}" if cmd.payment_id else "")
                + "; money applied to invoices comes back by reversing the payment",
                field="amount",
            )
        refund_id = uow.ledger.add_refund(
            client_id=cmd.client_id,
            payment_id=cmd.payment_id,
            amount=money.amount,
            currency=money.currency,
            method=cmd.method,
            reference=cmd.reference,
            reason=why,
            refunded_at=at,
            recorded_at=now,
            idempotency_key=cmd.idempotency_key,
        )
        uow.ledger.add_credit(
            client_id=cmd.client_id,
            amount=-money.amount,
            currency=money.currency,
            kind=CreditMove.REFUND,
            note=f"refund {refund_id}: {why}",
            at=now,
            payment_id=cmd.payment_id,
            refund_id=refund_id,
        )
        left = Money(uow.ledger.credit_balance(cmd.client_id, money.currency), money.currency)
        uow.audit.record(
            at=now,
            actor=actor,
            action="client.refunded",
            subject_type="client",
            subject_id=cmd.client_id,
            detail={
                "refund_id": refund_id,
                "amount": str(money.amount),
                "currency": money.currency,
                "payment_id": cmd.payment_id,
                "method": cmd.method,
                "reference": cmd.reference,
                "reason": why,
                "credit_left": str(left.rounded().amount),
            },
        )
        uow.commit()
    return RefundOutcome(refund_id, money.amount, left.rounded().amount)


__all__ = ["RefundCredit", "RefundOutcome", "Reversal", "refund_credit", "reverse_payment"]
