"""Actions on many invoices at once — the invoices list's bulk actions: send again, remind
now, void.

Each invoice is its own transaction, so one that is refused (or fails) never stops the
others, and the report says per invoice what happened: ``"3 queued, 1 skipped: INV-… is a
draft"``. Repeating a batch is harmless: the form's token (``key``) keys the outbox jobs
of *send* and *remind*, so a double submit queues nothing more, and an invoice voided
already is skipped.

* :func:`send_again` queues the delivery email once more (an issued, sent, viewed or
  partly paid invoice) under its own Message-ID, so it goes out although the first did.
* Remind uses :func:`reminders.remind_now` (the next dunning step, now).
* Void uses :func:`invoicing.void_invoice` (issued, sent or viewed; no payments).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ..domain.errors import DomainError, InvalidValue
from ..domain.invoice import InvoiceStatus
from . import invoicing, reminders
from .errors import Conflict, ServiceError
from .invoicing import DELIVER
from .ports import Clock, UnitOfWork

log = logging.getLogger(__name__)

SENDABLE = (
    InvoiceStatus.ISSUED,
    InvoiceStatus.SENT,
    InvoiceStatus.VIEWED,
    InvoiceStatus.PARTIALLY_PAID,
)
VOIDABLE = (InvoiceStatus.ISSUED, InvoiceStatus.SENT, InvoiceStatus.VIEWED)
MAX_BATCH = 200  # a page of the list holds 50; more is not a person clicking
_NOUN = {"draft": "a draft", "void": "void", "paid": "paid"}


class BatchAction(StrEnum):
    SEND = "send"
    REMIND = "remind"
    VOID = "void"


_DONE = {BatchAction.SEND: "queued", BatchAction.REMIND: "queued", BatchAction.VOID: "voided"}


@dataclass(frozen=True, slots=True)
class Outcome:
    invoice_id: int
    label: str  # the number, or "draft #12"
    done: bool
    note: str  # what happened, or why not


@dataclass
class BatchReport:
    action: BatchAction
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def done(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.done]

    @property
    def skipped(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.done]

    def summary(self) -> str:
        """One line for the flash: counts, then each skipped invoice and why.

        >>> r = BatchReport(BatchAction.SEND, [Outcome(1, "INV-1", True, "queued"),
        ...     Outcome(2, "draft #2", False, "draft #2 is a draft")])
        >>> r.summary()
        '1 queued, 1 skipped: draft #2 is a draft.'
        """
        parts = [f"{len(self.done)} {_DONE[self.action]}"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped: " + "; ".join(o.note for o in self.skipped))
        return ", ".join(parts) + "."


def copy_id(invoice_id: int, key: str) -> str:
    """The short, safe name of one repeated sending (part of its Message-ID and job key)."""
    return hashlib.sha256(f"{invoice_id}:{key}".encode()).hexdigest()[:16]


def send_again(invoice_id: int, *, key: str, uow: UnitOfWork, clock: Clock, actor: str) -> bool:
    """Queue the invoice's email once more; False when ``key`` queued it already."""
    now = clock.now()
    with uow:
        inv = uow.invoices.get(invoice_id, for_update=True)
        label = inv.number or f"draft #{invoice_id}"
        if inv.status not in SENDABLE:
            noun = _NOUN.get(inv.status.value, inv.status.value.replace("_", " "))
            raise Conflict(f"{label} is {noun}", field="invoice_id")
        copy = copy_id(invoice_id, key)
        new = uow.outbox.enqueue(
            DELIVER, {"invoice_id": invoice_id, "copy": copy}, f"{DELIVER}:{invoice_id}:{copy}",
            now, now,
        )  # fmt: skip
        if new:
            uow.audit.record(
                at=now,
                actor=actor,
                action="invoice.send_again",
                subject_type="invoice",
                subject_id=invoice_id,
                detail={"number": inv.number, "copy": copy},
            )
        uow.commit()
    return new


def _void(invoice_id: int, reason: str, *, uow: UnitOfWork, clock: Clock, actor: str) -> None:
    with uow:
        inv = uow.invoices.get(invoice_id)
    label = inv.number or f"draft #{invoice_id}"
    if inv.status is InvoiceStatus.VOID:
        raise Conflict(f"{label} is void already", field="invoice_id")
    if inv.amount_paid:
        raise Conflict(f"{label} has payments (reverse them or issue a credit note)")
    if inv.status not in VOIDABLE:
        noun = _NOUN.get(inv.status.value, inv.status.value.replace("_", " "))
        raise Conflict(f"{label} is {noun}", field="invoice_id")
    invoicing.void_invoice(invoice_id, reason, uow=uow, clock=clock, actor=actor)


def _one(
    action: BatchAction,
    invoice_id: int,
    *,
    reason: str,
    key: str,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
) -> str:
    """Act on one invoice; returns the note for the report (raises when refused)."""
    if action is BatchAction.SEND:
        queued = send_again(invoice_id, key=key, uow=uow, clock=clock, actor=actor)
        return "email queued" if queued else "queued already"
    if action is BatchAction.REMIND:
        tone = reminders.remind_now(invoice_id, key=key, uow=uow, clock=clock, actor=actor)
        return f"{tone} reminder queued" if tone else "queued already"
    _void(invoice_id, reason, uow=uow, clock=clock, actor=actor)
    return "voided"


def run_batch(
    action: BatchAction,
    invoice_ids: Sequence[int],
    *,
    key: str,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
    reason: str = "",
) -> BatchReport:
    """Apply ``action`` to each invoice (in the order given, each once), one transaction
    each. Refuses the whole batch only for what no invoice could pass: nothing chosen, too
    many, a void without a reason, a missing token."""
    ids = list(dict.fromkeys(invoice_ids))
    if not ids:
        raise InvalidValue("choose at least one invoice", field="invoice_ids")
    if len(ids) > MAX_BATCH:
        raise InvalidValue(f"choose at most {MAX_BATCH} invoices at once", field="invoice_ids")
    if not key.strip():
        raise InvalidValue("the form's token is missing; reload the page", field="key")
    reason = reason.strip()
    if action is BatchAction.VOID and not reason:
        raise InvalidValue("say why the invoices are voided", field="reason")
    with uow:
        labels = {i: inv.number or f"draft #{i}" for i, inv in uow.invoices.get_many(ids).items()}
    report = BatchReport(action)
    for invoice_id in ids:
        label = labels.get(invoice_id, f"invoice {invoice_id}")
        if invoice_id not in labels:
            report.outcomes.append(Outcome(invoice_id, label, False, f"{label} does not exist"))
            continue
        try:
            note = _one(
                action, invoice_id, reason=reason, key=key, uow=uow, clock=clock, actor=actor
            )
        except (DomainError, ServiceError) as exc:
            message = exc.message if label in exc.message else f"{label}: {exc.message}"
            report.outcomes.append(Outcome(invoice_id, label, False, message))
        except Exception:  # one invoice's failure never stops the others; it is logged
            log.exception("bulk %s failed for invoice %s", action.value, invoice_id)
            report.outcomes.append(
                Outcome(invoice_id, label, False, f"{label} failed (see the server log)")
            )
        else:
            report.outcomes.append(Outcome(invoice_id, label, True, note))
    return report


__all__ = ["BatchAction", "BatchReport", "Outcome", "copy_id", "run_batch", "send_again"]
