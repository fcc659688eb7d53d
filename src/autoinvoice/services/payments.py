"""Receiving payments: one payment across one or several invoices, the rest as client credit.

A payment is received from a client in one currency — by hand, through the API, from the
payment provider or from a bank statement. It is applied, as *allocations*, to the invoices
named (in that order) or else to the client's open invoices in that currency, oldest due date
first; whatever is left is kept as client credit, never dropped. ``invoices.amount_paid`` is
always the sum of the invoice's live allocations (``services/ledger.py``), and each
allocation moves the invoice to partially paid or paid, emits ``invoice.payment_received``
(and ``invoice.paid``) and is audited.

With an ``idempotency_key`` (a provider's payment id, a bank transaction id, an API
Idempotency-Key) the same payment is recorded once however often it arrives: the repeat
returns the first receipt with ``duplicate=True``.

:func:`apply_receipt` works inside the caller's open unit of work; ``receipt_batches.py``'s
``apply_receipts`` does the same for many receipts with a few statements per batch (the bank
import's matches); :func:`receive_payment` is the one-transaction use case;
:func:`record_payment` is the single-invoice form the payment provider and the CLI use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..domain.errors import InvalidTransition, InvalidValue
from ..domain.invoice import (
    OPEN_STATUSES,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    check_payment_amount,
)
from ..domain.money import Money, to_decimal
from ..domain.recurrence import require_aware
from .errors import Conflict, NotFound
from .ledger import AllocationKind, AllocationRecord, CreditMove
from .outgoing import EventType, emit
from .ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class ReceivePayment:
    client_id: int
    amount: Decimal | str
    currency: str
    received_at: datetime | None = None  # default now
    method: str = "manual"  # manual | api | bank | stripe | card | …
    reference: str | None = None  # remittance text / provider id
    idempotency_key: str | None = None  # same key → recorded once (returns duplicate=True)
    # apply in this order; empty → the client's open invoices in that currency, oldest due first
    invoice_ids: tuple[int, ...] = ()
    payer: str | None = None  # name / IBAN as the bank shows it (kept in the audit)


@dataclass(frozen=True, slots=True)
class Allocation:
    invoice_id: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Receipt:
    payment_id: int
    allocations: tuple[Allocation, ...]
    credited: Decimal  # the remainder kept as client credit
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class RecordPayment:
    invoice_id: int
    amount: Decimal | str
    currency: str | None = None  # defaults to the invoice's
    received_at: datetime | None = None  # defaults to now
    method: str = "manual"
    reference: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    payment_id: int
    invoice_status: str
    balance: Decimal
    credited: Decimal
    duplicate: bool = False


def check_amount(amount: Decimal | str, currency: str) -> Money:
    """A positive amount of ``currency`` with no more decimals than its minor units."""
    money = Money(to_decimal(amount, field="amount"), currency)
    check_payment_amount(money)
    return money.rounded()  # the same value, written to the minor unit ("100" → "100.00")


# -- allocating and undoing one allocation (shared by payments, credit and credit notes) ----
def allocate(
    uow: UnitOfWork,
    invoice: Invoice,
    amount: Money,
    kind: AllocationKind,
    *,
    now: datetime,
    actor: str,
    payment_id: int | None = None,
    credit_note_id: int | None = None,
    received_at: datetime | None = None,
) -> int:
    """Apply ``amount`` (at most the open balance) to ``invoice`` as one allocation: the row,
    the invoice's figures and status, the webhooks and the audit. Returns the allocation id."""
    assert invoice.id is not None and invoice.client_id is not None
    extra = invoice.apply_payment(amount, received_at or now)
    if extra.is_positive():  # callers never allocate above the balance
        raise InvalidValue(f"{amount.amount} is above the open balance", field="amount")
    alloc_id = uow.ledger.add_allocation(
        invoice_id=invoice.id,
        client_id=invoice.client_id,
        kind=kind,
        amount=amount.amount,
        currency=amount.currency,
        at=now,
        payment_id=payment_id,
        credit_note_id=credit_note_id,
    )
    uow.invoices.save(invoice)
    emit_allocated(uow, now, invoice, alloc_id, kind, amount, payment_id)
    uow.audit.record(
        **allocation_audit(
            invoice,
            alloc_id,
            kind,
            amount,
            now=now,
            actor=actor,
            payment_id=payment_id,
            credit_note_id=credit_note_id,
        )
    )
    return alloc_id


def emit_allocated(
    uow: UnitOfWork,
    now: datetime,
    invoice: Invoice,
    alloc_id: int,
    kind: AllocationKind,
    amount: Money,
    payment_id: int | None,
) -> None:
    """The webhooks of one allocation, told with the invoice as that allocation left it."""
    emit(
        uow,
        now,
        EventType.PAYMENT_RECEIVED,
        invoice,
        allocation_id=alloc_id,
        kind=kind.value,
        payment_id=payment_id or "",
        amount=amount.amount,
    )
    if invoice.status is InvoiceStatus.PAID:
        assert invoice.paid_at is not None
        emit(uow, now, EventType.PAID, invoice, paid_at=invoice.paid_at.isoformat())


def allocation_audit(
    invoice: Invoice,
    alloc_id: int,
    kind: AllocationKind,
    amount: Money,
    *,
    now: datetime,
    actor: str,
    payment_id: int | None = None,
    credit_note_id: int | None = None,
) -> dict[str, Any]:
    """The audit entry of one allocation (``uow.audit.record``'s arguments)."""
    return dict(
        at=now,
        actor=actor,
        action="invoice.payment_received",
        subject_type="invoice",
        subject_id=invoice.id,
        detail={
            "allocation_id": alloc_id,
            "kind": kind.value,
            "payment_id": payment_id,
            "credit_note_id": credit_note_id,
            "amount": str(amount.amount),
            "currency": amount.currency,
            "status": invoice.status.value,
        },
    )


def unallocate(
    uow: UnitOfWork, alloc: AllocationRecord, *, now: datetime, actor: str, reason: str
) -> None:
    """Undo one live allocation: the invoice's balance grows again and its status goes back;
    credit applied to it returns to the client's credit."""
    uow.ledger.reverse_allocation(alloc.id, now, reason)
    invoice = uow.invoices.get(alloc.invoice_id, for_update=True)
    invoice.unapply(Money(alloc.amount, alloc.currency))
    uow.invoices.save(invoice)
    if alloc.kind is AllocationKind.CREDIT:
        uow.ledger.add_credit(
            client_id=alloc.client_id,
            amount=alloc.amount,
            currency=alloc.currency,
            kind=CreditMove.UNAPPLIED,
            note=f"credit applied to invoice {invoice.number} taken back: {reason}",
            at=now,
            allocation_id=alloc.id,
        )
    uow.audit.record(
        at=now,
        actor=actor,
        action="invoice.allocation_reversed",
        subject_type="invoice",
        subject_id=alloc.invoice_id,
        detail={
            "allocation_id": alloc.id,
            "kind": alloc.kind.value,
            "amount": str(alloc.amount),
            "currency": alloc.currency,
            "reason": reason,
            "status": invoice.status.value,
        },
    )


# -- receiving ------------------------------------------------------------------------------
def _oldest_first(uow: UnitOfWork, client_id: int, money: Money) -> list[Invoice]:
    """The client's open invoices, oldest due first, as many as ``money`` reaches, locked."""
    ids: list[int] = []
    left = money.amount
    for inv_id, balance in uow.ledger.open_balances(client_id, money.currency):
        if left <= 0:
            break
        ids.append(inv_id)
        left -= balance
    # the client's lock (taken by the caller) orders every allocation to its invoices, so
    # these balances stay true; the rows are locked and read again all the same
    found = uow.invoices.get_many(ids, for_update=True)
    return [found[i] for i in ids if i in found]


def _targets(uow: UnitOfWork, cmd: ReceivePayment, money: Money) -> list[Invoice]:
    """The invoices to apply to, in order, locked; named ones are checked one by one."""
    if not cmd.invoice_ids:
        return _oldest_first(uow, cmd.client_id, money)
    return named_targets(cmd, uow.invoices.get_many(cmd.invoice_ids, for_update=True), money)


def named_targets(cmd: ReceivePayment, found: Mapping[int, Invoice], money: Money) -> list[Invoice]:
    """``cmd.invoice_ids`` out of ``found``, in order, each checked: it exists, is billed to
    the client, is an invoice (not a credit note) in the payment's currency, and is issued."""
    currency = money.currency
    if len(set(cmd.invoice_ids)) != len(cmd.invoice_ids):
        raise InvalidValue("an invoice is named twice", field="invoice_ids")
    out = []
    for pos, inv_id in enumerate(cmd.invoice_ids):
        inv = found.get(inv_id)
        where = f"invoice_ids[{pos}]"
        if inv is None:
            raise NotFound(f"invoice {inv_id} does not exist", field=where)
        if inv.client_id != cmd.client_id:
            raise InvalidValue(
                f"invoice {inv.number or inv_id} is not billed to client {cmd.client_id}",
                field=where,
            )
        if inv.kind is not InvoiceKind.INVOICE:
            raise InvalidValue(f"{inv.number} is a credit note, not an invoice", field=where)
        if inv.currency != currency:
            raise InvalidValue(
                f"payment is in {currency}, invoice {inv.number} in {inv.currency}",
                field="currency",
            )
        if inv.status not in OPEN_STATUSES and inv.status is not InvoiceStatus.PAID:
            raise InvalidTransition(
                inv.status.value, InvoiceStatus.PAID.value, "payments are for issued invoices"
            )
        out.append(inv)
    return out


def replay(uow: UnitOfWork, payment_id: int, client_id: int) -> Receipt:
    """The receipt of a payment recorded before, for a repeat of its idempotency key."""
    paid = uow.ledger.payment(payment_id)
    if paid.client_id != client_id:
        raise Conflict(
            "this idempotency key was used for another client's payment; give each payment "
            "its own key",
            field="idempotency_key",
        )
    allocs = uow.ledger.allocations(payment_id=payment_id, kind=AllocationKind.PAYMENT)
    parts = tuple(Allocation(a.invoice_id, to_minor_units(a.amount, a.currency)) for a in allocs)
    applied = sum((a.amount for a in parts), Decimal(0))
    left = to_minor_units(paid.amount, paid.currency) - applied
    return Receipt(payment_id, parts, left if paid.reversed_at is None else Decimal(0), True)


def to_minor_units(amount: Decimal, currency: str) -> Decimal:
    """A stored amount at the currency's minor units (storage may drop trailing zeros)."""
    return Money(amount, currency).rounded().amount


def apply_receipt(uow: UnitOfWork, cmd: ReceivePayment, *, now: datetime, actor: str) -> Receipt:
    """Record and apply one payment inside an OPEN unit of work; does not commit (the bank
    import batches many). Bad input raises before anything is written."""
    money = check_amount(cmd.amount, cmd.currency)
    received = require_aware(cmd.received_at, "received_at") if cmd.received_at else now
    uow.ledger.lock_client(cmd.client_id)  # one receipt at a time per client: no double spend
    if cmd.idempotency_key:
        seen = uow.payments.by_key(cmd.idempotency_key)
        if seen is not None:
            return replay(uow, seen[0], cmd.client_id)
    plan, left = spread(_targets(uow, cmd, money), money)
    first = plan[0][0].id if plan else (cmd.invoice_ids[0] if cmd.invoice_ids else None)
    pid = uow.payments.add(
        client_id=cmd.client_id,
        invoice_id=first,
        amount=money.amount,
        applied=(money - left).amount,
        currency=money.currency,
        method=cmd.method,
        reference=cmd.reference,
        received_at=received,
        recorded_at=now,
        idempotency_key=cmd.idempotency_key,
    )
    for inv, part in plan:
        kind = AllocationKind.PAYMENT
        allocate(uow, inv, part, kind, now=now, actor=actor, payment_id=pid, received_at=received)
    if left.is_positive():
        uow.ledger.add_credit(
            client_id=cmd.client_id,
            amount=left.amount,
            currency=left.currency,
            kind=CreditMove.OVERPAYMENT,
            note=overpayment_note(pid),
            at=now,
            payment_id=pid,
        )
    receipt = Receipt(pid, tuple(Allocation(i.id or 0, p.amount) for i, p in plan), left.amount)
    uow.audit.record(**receipt_audit(cmd, money, receipt, now=now, actor=actor))
    return receipt


def overpayment_note(payment_id: int) -> str:
    return f"payment {payment_id}: the part above the open invoices"


def receipt_audit(
    cmd: ReceivePayment, money: Money, receipt: Receipt, *, now: datetime, actor: str
) -> dict[str, Any]:
    """The audit entry of one recorded payment (``uow.audit.record``'s arguments)."""
    return dict(
        at=now,
        actor=actor,
        action="payment.received",
        subject_type="payment",
        subject_id=receipt.payment_id,
        detail={
            "client_id": cmd.client_id,
            "amount": str(money.amount),
            "currency": money.currency,
            "method": cmd.method,
            "reference": cmd.reference,
            "payer": cmd.payer,
            "allocations": {str(a.invoice_id): str(a.amount) for a in receipt.allocations},
            "credited": str(receipt.credited),
        },
    )


def spread(targets: list[Invoice], money: Money) -> tuple[list[tuple[Invoice, Money]], Money]:
    """Spread ``money`` over the open balances in order: (invoice, part) pairs and the rest."""
    plan: list[tuple[Invoice, Money]] = []
    left = money
    for inv in targets:
        if inv.status in OPEN_STATUSES and left.is_positive():
            part = min(left, inv.balance)
            if part.is_positive():
                plan.append((inv, part))
                left -= part
    return plan, left


def receive_payment(cmd: ReceivePayment, *, uow: UnitOfWork, clock: Clock, actor: str) -> Receipt:
    """Record one payment in its own transaction (see :func:`apply_receipt`)."""
    with uow:
        receipt = apply_receipt(uow, cmd, now=clock.now(), actor=actor)
        uow.commit()
    return receipt


def record_payment(
    cmd: RecordPayment, *, uow: UnitOfWork, clock: Clock, actor: str
) -> PaymentOutcome:
    """A payment for one invoice (the payment provider's, a form's). Money for an invoice
    already paid (a second transfer) is all kept as client credit; a key used before for
    another invoice's payment is refused rather than swallowed."""
    now = clock.now()
    with uow:
        inv = uow.invoices.get(cmd.invoice_id)
        if cmd.idempotency_key:
            seen = uow.payments.by_key(cmd.idempotency_key)
            if seen is not None and seen[1] not in (None, inv.id):
                raise Conflict(
                    f"the key {cmd.idempotency_key!r} was used for a payment on another "
                    "invoice; give each invoice's payment its own key",
                    field="idempotency_key",
                )
        assert inv.id is not None and inv.client_id is not None
        receipt = apply_receipt(
            uow,
            ReceivePayment(
                client_id=inv.client_id,
                amount=cmd.amount,
                currency=cmd.currency or inv.currency,
                received_at=cmd.received_at,
                method=cmd.method,
                reference=cmd.reference,
                idempotency_key=cmd.idempotency_key,
                invoice_ids=(inv.id,),
            ),
            now=now,
            actor=actor,
        )
        after = uow.invoices.get(inv.id)
        uow.commit()
    credited = Decimal(0) if receipt.duplicate else receipt.credited
    return PaymentOutcome(
        receipt.payment_id, after.status.value, after.balance.amount, credited, receipt.duplicate
    )


__all__ = [
    "Allocation",
    "PaymentOutcome",
    "Receipt",
    "ReceivePayment",
    "RecordPayment",
    "allocate",
    "apply_receipt",
    "check_amount",
    "receive_payment",
    "record_payment",
    "to_minor_units",
    "unallocate",
]
