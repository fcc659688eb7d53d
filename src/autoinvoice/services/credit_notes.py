"""Credit notes: the only way to correct an issued invoice (it is immutable).

A credit note is its own document (UNCL 1001 type 381) with its own gapless numbers: the
issuing entity's ``credit_notes`` series, made on first use from the invoice series with
``CN`` for ``INV`` (``CN-2026-000001``) — separate series are what EN 16931 / Peppol users
expect, and a credit note never takes a number from the invoice sequence. It names the invoice
it corrects (BG-3: BT-25 number, BT-26 date; stored in ``credit_notes``), takes the corrected
invoice's parties, currency and taxes, and passes the same pre-flight and EN 16931 checks.

Its amount settles the corrected invoice — an allocation of kind ``credit_note`` up to the
open balance — and whatever is above that balance (the invoice was paid already) becomes
client credit. The credit note is then settled itself (used up at once), so it is never
open, due or reminded. Together the credit notes of an invoice cannot exceed its total.

What is credited: the whole invoice; chosen lines (all or part of their quantity); or a net
price reduction ``amount`` on one line, for an invoice with one tax treatment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from ..domain.errors import InvalidTransition, InvalidValue
from ..domain.invoice import OPEN_STATUSES, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from ..domain.money import Money, to_decimal
from .invoicing import _issued, _number
from .ledger import AllocationKind, CreditMove
from .payments import allocate, check_amount
from .ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class CreditLine:
    position: int  # the corrected invoice's line, from 1
    quantity: Decimal | str | None = None  # default: the whole line


@dataclass(frozen=True, slots=True)
class IssueCreditNote:
    invoice_id: int
    reason: str
    lines: tuple[CreditLine, ...] = ()  # neither lines nor amount: the whole invoice
    amount: Decimal | str | None = None  # a net price reduction, before tax


@dataclass(frozen=True, slots=True)
class CreditNoteIssued:
    credit_note_id: int
    number: str
    gross: Decimal
    applied: Decimal  # to the corrected invoice's balance
    credited: Decimal  # the rest, kept as client credit


def _lines(inv: Invoice, cmd: IssueCreditNote, reason: str) -> list[InvoiceLine]:
    if cmd.lines and cmd.amount is not None:
        raise InvalidValue("credit either lines or an amount, not both", field="amount")
    if cmd.amount is not None:
        net = check_amount(cmd.amount, inv.currency).amount
        taxes = {ln.tax for ln in inv.lines}
        if len(taxes) != 1:
            raise InvalidValue(
                f"invoice {inv.number} has lines with different taxes; credit its lines instead",
                field="amount",
            )
        text = f"Price reduction on invoice {inv.number}: {reason}"
        return [InvoiceLine(text, Decimal(1), net, taxes.pop(), "unit")]
    if not cmd.lines:
        return list(inv.lines)
    out = []
    for k, want in enumerate(cmd.lines):
        if not 1 <= want.position <= len(inv.lines):
            raise InvalidValue(
                f"invoice {inv.number} has lines 1 to {len(inv.lines)}",
                field=f"lines[{k}].position",
            )
        line = inv.lines[want.position - 1]
        qty = line.quantity
        if want.quantity is not None:
            qty = to_decimal(want.quantity, field=f"lines[{k}].quantity")
            if not 0 < qty <= line.quantity:
                raise InvalidValue(
                    f"credit more than 0 and at most the {line.quantity} invoiced",
                    field=f"lines[{k}].quantity",
                )
        out.append(dataclasses.replace(line, quantity=qty))
    return out


def _credit_note(inv: Invoice, lines: list[InvoiceLine], reason: str, series_id: int) -> Invoice:
    return Invoice(
        seller=inv.seller,
        buyer=inv.buyer,
        currency=inv.currency,
        terms=inv.terms,
        lines=lines,
        kind=InvoiceKind.CREDIT_NOTE,
        rounding=inv.rounding,
        buyer_reference=inv.buyer_reference,
        notes=(f"Corrects invoice {inv.number} of {inv.issue_date}: {reason}",),
        corrects=(inv.number or "", inv.issue_date),
        entity_id=inv.entity_id,
        client_id=inv.client_id,
        series_id=series_id,
    )


def _already_credited(uow: UnitOfWork, invoice_id: int) -> Decimal:
    ids = [link.credit_note_id for link in uow.ledger.credit_notes_of(invoice_id)]
    return sum((cn.gross.amount for cn in uow.invoices.get_many(ids).values()), Decimal(0))


def issue_credit_note(
    cmd: IssueCreditNote, *, uow: UnitOfWork, clock: Clock, actor: str
) -> CreditNoteIssued:
    reason = (cmd.reason or "").strip()
    if not reason:
        raise InvalidValue("say what the credit note corrects", field="reason")
    now = clock.now()
    with uow:
        # the client's lock first, then the invoice's: the order every ledger change keeps
        uow.ledger.lock_client(uow.invoices.get(cmd.invoice_id).client_id or 0)
        inv = uow.invoices.get(cmd.invoice_id, for_update=True)
        if inv.kind is not InvoiceKind.INVOICE:
            raise InvalidValue(f"{inv.number} is a credit note itself", field="invoice_id")
        if inv.status not in OPEN_STATUSES and inv.status is not InvoiceStatus.PAID:
            raise InvalidTransition(
                inv.status.value, "credited", "only issued invoices are corrected by credit notes"
            )
        assert inv.client_id is not None and inv.entity_id is not None and inv.id is not None
        entity = uow.entities.get(inv.entity_id)
        invoice_series = uow.numbering.get_series(inv.series_id or 0)
        series = uow.numbering.get_series(
            uow.ledger.credit_note_series(inv.entity_id, invoice_series.series)
        )
        cn = _credit_note(inv, _lines(inv, cmd, reason), reason, series.id)
        cn.created_at = now
        gross = cn.gross
        room = inv.gross.amount - _already_credited(uow, inv.id)
        if gross.amount > room:
            raise InvalidValue(
                f"{gross.amount} {gross.currency} is more than the {room} of invoice "
                f"{inv.number} not yet credited",
                field="amount" if cmd.amount is not None else "lines",
            )
        seq = _number(cn, entity, uow=uow, now=now, series=series)
        cn_id = uow.invoices.add(cn, seq=seq)
        uow.ledger.link_credit_note(cn_id, inv.id, reason=reason, at=now)
        _issued(cn, uow=uow, now=now, actor=actor)
        applied = Money.zero(inv.currency)
        if inv.status in OPEN_STATUSES:
            applied = min(gross, inv.balance)
            if applied.is_positive():
                allocate(
                    uow,
                    inv,
                    applied,
                    AllocationKind.CREDIT_NOTE,
                    now=now,
                    actor=actor,
                    credit_note_id=cn_id,
                )
        rest = gross - applied
        if rest.is_positive():
            uow.ledger.add_credit(
                client_id=inv.client_id,
                amount=rest.amount,
                currency=rest.currency,
                kind=CreditMove.CREDIT_NOTE,
                note=f"credit note {cn.number} above the balance of invoice {inv.number}",
                at=now,
                credit_note_id=cn_id,
            )
        cn.settle_credit_note(now)
        uow.invoices.save(cn)
        uow.audit.record(
            at=now,
            actor=actor,
            action="invoice.credited",
            subject_type="invoice",
            subject_id=inv.id,
            detail={
                "credit_note_id": cn_id,
                "credit_note": cn.number,
                "gross": str(gross.amount),
                "applied": str(applied.amount),
                "credited": str(rest.amount),
                "reason": reason,
            },
        )
        uow.commit()
    return CreditNoteIssued(cn_id, cn.number or "", gross.amount, applied.amount, rest.amount)


__all__ = ["CreditLine", "CreditNoteIssued", "IssueCreditNote", "issue_credit_note"]
