"""Many payments applied at once: the bank import's confident matches, a few statements per
batch instead of ~9 per payment.

:func:`apply_receipts` gives what calling :func:`~.payments.apply_receipt` for each command
in order, inside the same open unit of work, gives — the same payments, allocations, invoice
figures and statuses, client credit, webhooks and audit entries, in the same order — but
reads and writes in bulk:

* every client of the batch is locked in one statement, in id order, before any invoice (the
  ledger's lock order: client row first, then invoices);
* the idempotency keys are looked up in one query; a repeat — of a payment stored before or
  of one earlier in the batch — gives the first receipt with ``duplicate=True``;
* the named invoices (and their lines) are read and locked in one query, then the receipts
  are planned in memory, in order, so a second receipt for an invoice sees the balance the
  first one left;
* payments, allocations and overpayment credit go in with one multi-row INSERT each, the
  invoices with one executemany UPDATE, the audit with one multi-row INSERT.

A command that is refused (a bad amount, an unknown client, an invoice of another client, in
another currency, not issued …) gets the exception ``apply_receipt`` raises, in its place in
the results, and changes nothing; the others go on. A command without ``invoice_ids`` (the
client's oldest invoices first) goes through ``apply_receipt`` itself, after what the batch
planned before it is written, so it sees that too.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..domain.errors import DomainError
from ..domain.invoice import Invoice
from ..domain.money import Money
from ..domain.recurrence import require_aware
from .errors import Conflict, NotFound, ServiceError
from .ledger import AllocationKind, CreditMove
from .payments import (
    Allocation,
    Receipt,
    ReceivePayment,
    allocation_audit,
    apply_receipt,
    check_amount,
    emit_allocated,
    named_targets,
    overpayment_note,
    receipt_audit,
    replay,
    spread,
)
from .ports import UnitOfWork

Refused = DomainError | ServiceError  # what apply_receipt raises for a command it refuses
_PAYMENT = AllocationKind.PAYMENT


@dataclass(slots=True)
class _Planned:
    """One receipt planned in memory, written at the next flush."""

    at: int  # its place in the results
    cmd: ReceivePayment
    money: Money
    received: datetime
    parts: list[tuple[Invoice, Money, Invoice]]  # (invoice, part, as this part left it)
    left: Money


@dataclass(slots=True)
class _Batch:
    uow: UnitOfWork
    now: datetime
    actor: str
    results: list[Receipt | Refused | None]
    invoices: dict[int, Invoice] = field(default_factory=dict)  # read and locked once
    stored: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # keys seen before
    keys: dict[str, tuple[int, int]] = field(default_factory=dict)  # key → (client, result at)
    planned: list[_Planned] = field(default_factory=list)
    repeats: list[tuple[int, int]] = field(default_factory=list)  # (at, first's at), unwritten

    def take(self, at: int, cmd: ReceivePayment, clients: set[int]) -> None:
        """Decide one command with invoice ids: a refusal, a repeat or a planned receipt."""
        money = check_amount(cmd.amount, cmd.currency)
        received = require_aware(cmd.received_at, "received_at") if cmd.received_at else self.now
        if cmd.client_id not in clients:
            raise NotFound(f"client {cmd.client_id} does not exist", field="client_id")
        key = cmd.idempotency_key
        if key and key in self.keys:
            client_id, first = self.keys[key]
            if client_id != cmd.client_id:
                raise Conflict(
                    "this idempotency key was used for another client's payment; give each "
                    "payment its own key",
                    field="idempotency_key",
                )
            self._repeat(at, first)
            return
        if key and key in self.stored:
            self.results[at] = replay(self.uow, self.stored[key][0], cmd.client_id)
            return
        plan, left = spread(named_targets(cmd, self.invoices, money), money)
        parts = []
        for inv, part in plan:
            extra = inv.apply_payment(part, received)
            assert extra.is_zero()  # spread never goes above a balance
            # the webhook and the audit tell the invoice as this part left it, not as the
            # batch leaves it (a later receipt may pay it further)
            parts.append((inv, part, copy.copy(inv)))
        self.planned.append(_Planned(at, cmd, money, received, parts, left))
        if key:
            self.keys[key] = (cmd.client_id, at)

    def _repeat(self, at: int, first: int) -> None:
        done = self.results[first]
        if isinstance(done, Receipt):
            self.results[at] = _as_repeat(done)
        else:
            self.repeats.append((at, first))  # its payment id comes with the flush

    def single(self, at: int, cmd: ReceivePayment) -> None:
        """A command without invoice ids, through ``apply_receipt`` after a flush."""
        self.flush()
        receipt = apply_receipt(self.uow, cmd, now=self.now, actor=self.actor)
        self.results[at] = receipt
        touched = [a.invoice_id for a in receipt.allocations if a.invoice_id in self.invoices]
        if touched:  # read again what it changed
            self.invoices.update(self.uow.invoices.get_many(touched, for_update=True))
        if cmd.idempotency_key and not receipt.duplicate:
            self.keys[cmd.idempotency_key] = (cmd.client_id, at)

    def flush(self) -> None:
        """Write what was planned since the last flush, in the order it was planned."""
        if not self.planned:
            return
        uow, now, planned = self.uow, self.now, self.planned
        pids = uow.payments.add_many([self._payment_row(p) for p in planned])
        alloc_rows = [
            dict(
                invoice_id=inv.id,
                client_id=inv.client_id,
                kind=_PAYMENT,
                amount=part.amount,
                currency=part.currency,
                at=now,
                payment_id=pid,
            )
            for p, pid in zip(planned, pids, strict=True)
            for inv, part, _ in p.parts
        ]
        alloc_ids = iter(uow.ledger.add_allocations(alloc_rows))
        uow.ledger.add_credits(
            [
                dict(
                    client_id=p.cmd.client_id,
                    amount=p.left.amount,
                    currency=p.left.currency,
                    kind=CreditMove.OVERPAYMENT,
                    note=overpayment_note(pid),
                    at=now,
                    payment_id=pid,
                )
                for p, pid in zip(planned, pids, strict=True)
                if p.left.is_positive()
            ]
        )
        changed = {inv.id: inv for p in planned for inv, _, _ in p.parts}
        uow.invoices.save_many(list(changed.values()))
        audit: list[dict[str, Any]] = []
        for p, pid in zip(planned, pids, strict=True):
            for _, part, seen in p.parts:
                alloc_id = next(alloc_ids)
                emit_allocated(uow, now, seen, alloc_id, _PAYMENT, part, pid)
                audit.append(
                    allocation_audit(
                        seen, alloc_id, _PAYMENT, part, now=now, actor=self.actor, payment_id=pid
                    )
                )
            receipt = Receipt(
                pid,
                tuple(Allocation(inv.id or 0, part.amount) for inv, part, _ in p.parts),
                p.left.amount,
            )
            self.results[p.at] = receipt
            audit.append(receipt_audit(p.cmd, p.money, receipt, now=now, actor=self.actor))
        uow.audit.record_many(audit)
        for at, first in self.repeats:
            done = self.results[first]
            assert isinstance(done, Receipt)
            self.results[at] = _as_repeat(done)
        self.planned, self.repeats = [], []

    def _payment_row(self, p: _Planned) -> dict[str, Any]:
        cmd = p.cmd
        return dict(
            client_id=cmd.client_id,
            invoice_id=p.parts[0][0].id if p.parts else cmd.invoice_ids[0],
            amount=p.money.amount,
            applied=(p.money - p.left).amount,
            currency=p.money.currency,
            method=cmd.method,
            reference=cmd.reference,
            received_at=p.received,
            recorded_at=self.now,
            idempotency_key=cmd.idempotency_key,
        )


def _as_repeat(first: Receipt) -> Receipt:
    """What a repeat of ``first``'s key gets (what :func:`~.payments.replay` reads back)."""
    return replace(first, duplicate=True)


def apply_receipts(
    uow: UnitOfWork, cmds: Sequence[ReceivePayment], *, now: datetime, actor: str
) -> list[Receipt | Refused]:
    """Record and apply ``cmds`` in order inside an OPEN unit of work (no commit): for each,
    its receipt, or the exception ``apply_receipt`` would have raised for it (nothing of a
    refused command is written; the others go on)."""
    if not cmds:
        return []
    batch = _Batch(uow, now, actor, [None] * len(cmds))
    clients = uow.ledger.lock_clients([c.client_id for c in cmds])
    batch.stored = uow.payments.by_keys([c.idempotency_key for c in cmds if c.idempotency_key])
    batch.invoices = dict(
        uow.invoices.get_many([i for c in cmds for i in c.invoice_ids], for_update=True)
    )
    for at, cmd in enumerate(cmds):
        try:
            if cmd.invoice_ids:
                batch.take(at, cmd, clients)
            else:
                batch.single(at, cmd)
        except (DomainError, ServiceError) as refused:
            batch.results[at] = refused
    batch.flush()
    out = batch.results
    assert all(r is not None for r in out)
    return out  # type: ignore[return-value]


__all__ = ["Refused", "apply_receipts"]
