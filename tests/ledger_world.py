"""Helpers for the payments-ledger tests: issued invoices of a chosen size, and the ledger's
invariants read back from storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from autoinvoice.domain.invoice import OPEN_STATUSES, InvoiceKind, InvoiceStatus
from autoinvoice.services.invoicing import issue_invoice
from autoinvoice.services.ledger import CreditMove
from autoinvoice.services.payments import Receipt, ReceivePayment, receive_payment
from builders import draft_for


def issued(app: Any, client_id: int, net: str = "100.00", *, days_later: int = 0) -> int:
    """Issue an invoice of ``net`` + 19 % VAT (100.00 → 119.00), ``days_later`` days after
    the app clock's time (its due date moves with it); the clock is put back."""
    start = app.clock.now()
    app.clock.set(start + timedelta(days=days_later))
    try:
        inv_id = draft_for(app, client_id, lines=[("Managed IT services, November 2026", "1", net)])
        issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="test")
    finally:
        app.clock.set(start)
    return inv_id


def receive(app: Any, client_id: int, amount: str, **kw: Any) -> Receipt:
    """A payment in EUR from the client, in its own transaction."""
    cmd = ReceivePayment(client_id=client_id, amount=amount, currency="EUR", **kw)
    return receive_payment(cmd, uow=app.uow(), clock=app.clock, actor="test")


def invoice(app: Any, inv_id: int) -> Any:
    with app.uow(read_only=True) as uow:
        return uow.invoices.get(inv_id)


def credit(app: Any, client_id: int, currency: str = "EUR") -> Decimal:
    with app.uow(read_only=True) as uow:
        return uow.ledger.credit_balance(client_id, currency)


@dataclass
class Breach:
    what: str
    detail: str


def check_ledger(app: Any, client_id: int, currency: str = "EUR") -> list[Breach]:
    """Every invariant of the ledger for one client, as a list of breaches (empty: sound)."""
    out: list[Breach] = []
    with app.uow(read_only=True) as uow:
        summaries = uow.invoices.summaries(client_id=client_id, limit=10_000)
        for s in summaries:
            if s.status == "draft":
                continue
            inv = uow.invoices.get(s.id)
            live = sum((a.amount for a in uow.ledger.allocations(invoice_id=s.id)), Decimal(0))
            gross = inv.gross.amount
            if inv.kind is InvoiceKind.CREDIT_NOTE:
                live = gross  # used up when issued: on its invoice and as client credit
            if inv.amount_paid != live:
                out.append(Breach("amount_paid", f"{s.id}: {inv.amount_paid} != {live}"))
            if inv.amount_paid < 0 or inv.amount_paid > gross:
                out.append(Breach("range", f"{s.id}: paid {inv.amount_paid} of {gross}"))
            if s.paid != inv.amount_paid.quantize(Decimal("0.01")):
                out.append(Breach("summary", f"{s.id}: {s.paid}"))
            balance = inv.balance.amount
            if inv.kind is InvoiceKind.CREDIT_NOTE:  # used up at once: on the invoice, as credit
                ok = inv.status is InvoiceStatus.PAID and balance == 0
            elif inv.status is InvoiceStatus.VOID or gross == 0:
                ok = inv.amount_paid == 0
            elif inv.amount_paid == gross:
                ok = inv.status is InvoiceStatus.PAID and balance == 0
            elif inv.amount_paid == 0:
                ok = inv.status in OPEN_STATUSES - {InvoiceStatus.PARTIALLY_PAID}
            else:
                ok = inv.status is InvoiceStatus.PARTIALLY_PAID and balance > 0
            if not ok:
                out.append(Breach("status", f"{s.id}: {inv.status} paid {inv.amount_paid}/{gross}"))
        totals = uow.ledger.credit_totals(client_id, currency)
        balance = uow.ledger.credit_balance(client_id, currency)
        applied = sum(
            (a.amount for a in uow.ledger.allocations(client_id=client_id) if a.kind == "credit"),
            Decimal(0),
        )
        refunded = sum((r.amount for r in uow.ledger.refunds(client_id)), Decimal(0))
    credited = totals.get(CreditMove.OVERPAYMENT, Decimal(0)) + totals.get(
        CreditMove.CREDIT_NOTE, Decimal(0)
    )
    withdrawn = -totals.get(CreditMove.REVERSAL, Decimal(0))
    if balance != credited - withdrawn - applied - refunded:
        out.append(
            Breach(
                "credit",
                f"{balance} != {credited} - {withdrawn} - {applied} - {refunded} ({totals})",
            )
        )
    if -totals.get(CreditMove.REFUND, Decimal(0)) != refunded:
        out.append(Breach("refunds", f"{totals} vs {refunded}"))
    if balance < 0:
        out.append(Breach("negative credit", str(balance)))
    return out
