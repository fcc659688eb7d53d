"""Recording payments against invoices.

A payment moves the invoice to partially paid or paid. Anything above the open balance is
kept as client credit (never dropped). With an ``idempotency_key`` (a provider's payment id,
a bank transaction id, an API Idempotency-Key) the same payment is recorded once however
often it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..domain.invoice import InvoiceStatus
from ..domain.money import Money, to_decimal
from ..domain.recurrence import require_aware
from .errors import Conflict
from .outgoing import EventType, emit
from .ports import Clock, UnitOfWork


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


def record_payment(
    cmd: RecordPayment, *, uow: UnitOfWork, clock: Clock, actor: str
) -> PaymentOutcome:
    now = clock.now()
    received = require_aware(cmd.received_at, "received_at") if cmd.received_at else now
    amount = to_decimal(cmd.amount, field="amount")
    with uow:
        inv = uow.invoices.get(cmd.invoice_id, for_update=True)
        if cmd.idempotency_key:
            existing = uow.payments.by_key(cmd.idempotency_key)
            if existing is not None:
                payment_id, on_invoice = existing
                if on_invoice != inv.id:  # never swallow a payment meant for this invoice
                    raise Conflict(
                        f"the key {cmd.idempotency_key!r} was used for a payment on another "
                        "invoice; give each invoice's payment its own key",
                        field="idempotency_key",
                    )
                return PaymentOutcome(
                    payment_id, inv.status.value, inv.balance.amount, Decimal(0), duplicate=True
                )
        money = Money(amount, cmd.currency or inv.currency)
        if inv.status is InvoiceStatus.PAID:
            # money for an invoice already paid (a second transfer): all of it is credit
            inv.check_payment(money)
            extra = money
        else:
            extra = inv.apply_payment(money, received)
        assert inv.client_id is not None
        pid = uow.payments.add(
            client_id=inv.client_id,
            invoice_id=inv.id,
            amount=money.amount,
            applied=(money - extra).amount,
            currency=money.currency,
            method=cmd.method,
            reference=cmd.reference,
            received_at=received,
            recorded_at=now,
            idempotency_key=cmd.idempotency_key,
        )
        if extra.is_positive():
            uow.credits.add(
                client_id=inv.client_id,
                amount=extra.amount,
                currency=extra.currency,
                payment_id=pid,
                note=f"overpayment of invoice {inv.number}",  # applied to a later invoice
                at=now,
            )
        uow.invoices.save(inv)
        emit(uow, now, EventType.PAYMENT_RECEIVED, inv, payment_id=pid, amount=money.amount)
        if inv.status is InvoiceStatus.PAID:
            emit(uow, now, EventType.PAID, inv)
        uow.audit.record(
            at=now,
            actor=actor,
            action="invoice.payment_received",
            subject_type="invoice",
            subject_id=inv.id,
            detail={
                "amount": str(money.amount),
                "currency": money.currency,
                "method": cmd.method,
                "credited": str(extra.amount),
                "status": inv.status.value,
            },
        )
        uow.commit()
        return PaymentOutcome(pid, inv.status.value, inv.balance.amount, extra.amount)
