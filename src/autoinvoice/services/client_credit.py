"""Client credit: money a client has with us beyond its invoices, per currency.

Credit comes from overpayments and from credit notes larger than the invoice they correct.
It is spent on the client's next invoice in that currency — when the invoice is issued, in the
issuing transaction, as an allocation of kind ``credit`` — or on a named invoice with
:func:`apply_credit`; it is paid back with a refund (``reversals.py``). The balance never goes
below zero: spending takes the client's row lock, and a reversed payment whose credit was
already spent takes back the latest credit applications first (:func:`withdraw_credit`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ..domain.errors import InvalidTransition, InvalidValue
from ..domain.invoice import OPEN_STATUSES, Invoice, InvoiceKind, InvoiceStatus
from ..domain.money import Money
from .errors import Conflict
from .ledger import AllocationKind, CreditMove
from .payments import allocate, unallocate
from .ports import Clock, UnitOfWork


def apply_available_credit(
    uow: UnitOfWork, invoice: Invoice, *, now: datetime, actor: str
) -> Decimal:
    """Spend the client's credit in the invoice's currency on ``invoice`` (up to its balance),
    inside the caller's transaction. Returns the amount applied (zero when there was none)."""
    if (
        invoice.kind is not InvoiceKind.INVOICE
        or invoice.status not in OPEN_STATUSES
        or not invoice.balance.is_positive()
        or invoice.client_id is None
    ):
        return Decimal(0)
    uow.ledger.lock_client(invoice.client_id)
    balance = uow.ledger.credit_balance(invoice.client_id, invoice.currency)
    available = Money(balance, invoice.currency).rounded()
    if not available.is_positive():
        return Decimal(0)
    part = min(available, invoice.balance)
    alloc_id = allocate(uow, invoice, part, AllocationKind.CREDIT, now=now, actor=actor)
    uow.ledger.add_credit(
        client_id=invoice.client_id,
        amount=-part.amount,
        currency=part.currency,
        kind=CreditMove.APPLIED,
        note=f"applied to invoice {invoice.number}",
        at=now,
        allocation_id=alloc_id,
    )
    return part.amount


def apply_credit(
    client_id: int, invoice_id: int, *, uow: UnitOfWork, clock: Clock, actor: str
) -> Decimal:
    """Spend the client's credit on one of its open invoices now; returns the amount applied."""
    with uow:
        uow.ledger.lock_client(client_id)  # before the invoice's, as every ledger change
        invoice = uow.invoices.get(invoice_id, for_update=True)
        if invoice.client_id != client_id:
            raise InvalidValue(
                f"invoice {invoice.number or invoice_id} is not billed to client {client_id}",
                field="invoice_id",
            )
        if invoice.kind is not InvoiceKind.INVOICE or invoice.status not in OPEN_STATUSES:
            raise InvalidTransition(
                invoice.status.value, InvoiceStatus.PAID.value, "credit goes to open invoices"
            )
        applied = apply_available_credit(uow, invoice, now=clock.now(), actor=actor)
        if not applied:
            raise Conflict(
                f"client {client_id} has no credit in {invoice.currency}", field="client_id"
            )
        uow.commit()
    return applied


def withdraw_credit(
    uow: UnitOfWork,
    client_id: int,
    amount: Money,
    *,
    now: datetime,
    actor: str,
    reason: str,
    payment_id: int | None = None,
) -> tuple[Money, list[int]]:
    """Take ``amount`` out of the client's credit (a reversed payment's overpayment). Credit
    already spent is taken back from the latest credit applications first — those invoices
    open again, and get back whatever credit is left over. Credit already refunded cannot be
    taken back: the balance never goes below zero, and the part not recovered is the caller's
    to report. Returns (the amount withdrawn, the invoices touched)."""
    uow.ledger.lock_client(client_id)
    cur = amount.currency
    short = amount - Money(uow.ledger.credit_balance(client_id, cur), cur)
    touched: list[int] = []
    if short.is_positive():
        spent = [
            a
            for a in uow.ledger.allocations(client_id=client_id, kind=AllocationKind.CREDIT)
            if a.currency == cur
        ]
        for alloc in reversed(spent):
            if not short.is_positive():
                break
            unallocate(uow, alloc, now=now, actor=actor, reason=reason)
            short -= Money(alloc.amount, cur)
            touched.append(alloc.invoice_id)
    taken = min(amount, Money(uow.ledger.credit_balance(client_id, cur), cur))
    if taken.is_positive():
        uow.ledger.add_credit(
            client_id=client_id,
            amount=-taken.amount,
            currency=cur,
            kind=CreditMove.REVERSAL,
            note=reason,
            at=now,
            payment_id=payment_id,
        )
    for invoice_id in touched:  # what was taken back beyond the need goes back on
        apply_available_credit(uow, uow.invoices.get(invoice_id), now=now, actor=actor)
    return taken, touched


__all__ = ["apply_available_credit", "apply_credit", "withdraw_credit"]
