"""Use cases from contract to issued invoice: draft, issue, void, and the schedule tick.

Each function is one transaction (or, for the tick, one transaction per occurrence, so one
bad contract cannot stop the others). Issuing allocates the number, freezes the invoice and
writes the delivery job in the same transaction: either all of it is stored or none is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..domain.assembly import assemble_retainer
from ..domain.contracts import Contract
from ..domain.errors import DomainError, InvalidTransition
from ..domain.invoice import Invoice, InvoiceStatus
from ..domain.recurrence import zone
from .ports import Clock, UnitOfWork

DELIVER = "deliver_invoice"


def _attach(invoice: Invoice, *, uow: UnitOfWork, client_id: int, now: datetime,
            contract_id: int | None = None, source_key: str | None = None) -> None:
    client = uow.clients.get(client_id)
    invoice.client_id = client_id
    invoice.entity_id = client.entity_id
    invoice.contract_id = contract_id
    invoice.series_id = invoice.series_id or uow.numbering.default_series(client.entity_id).id
    invoice.source_key = source_key
    invoice.created_at = now


def save_draft(invoice: Invoice, *, uow: UnitOfWork, client_id: int, now: datetime,
               actor: str, contract_id: int | None = None,
               source_key: str | None = None) -> int:
    """Store a new draft (inside the caller's transaction). Drafts take no number."""
    _attach(invoice, uow=uow, client_id=client_id, now=now, contract_id=contract_id,
            source_key=source_key)
    inv_id = uow.invoices.add(invoice)
    uow.audit.record(at=now, actor=actor, action="invoice.drafted", subject_type="invoice",
                     subject_id=inv_id, detail={"source": source_key})
    return inv_id


def issue(invoice: Invoice, *, uow: UnitOfWork, now: datetime, actor: str) -> str:
    """Number and freeze ``invoice`` and enqueue its delivery (caller's transaction).

    Checks run before the number is taken; a failure raises and consumes nothing."""
    if invoice.status is not InvoiceStatus.DRAFT:
        raise InvalidTransition(invoice.status.value, "issued", "it is already issued")
    invoice.check_issuable()
    assert invoice.id is not None and invoice.series_id is not None
    entity = uow.entities.get(invoice.entity_id or 0)
    series = uow.numbering.get_series(invoice.series_id)
    issue_date = now.astimezone(zone(entity.timezone)).date()
    seq = uow.numbering.allocate(series.id, series.series.period_key(issue_date))
    invoice.issue(series.series.render(seq, issue_date), issue_date, now)
    invoice.hold_reason = None
    uow.invoices.save(invoice)
    uow.invoices.set_seq(invoice.id, seq)
    uow.outbox.enqueue(DELIVER, {"invoice_id": invoice.id}, f"{DELIVER}:{invoice.id}", now, now)
    uow.audit.record(at=now, actor=actor, action="invoice.issued", subject_type="invoice",
                     subject_id=invoice.id, detail={"number": invoice.number,
                                                    "gross": str(invoice.gross.amount),
                                                    "currency": invoice.currency})
    return invoice.number or ""


def issue_invoice(invoice_id: int, *, uow: UnitOfWork, clock: Clock, actor: str) -> str:
    with uow:
        inv = uow.invoices.get(invoice_id, for_update=True)
        number = issue(inv, uow=uow, now=clock.now(), actor=actor)
        uow.commit()
    return number


def void_invoice(invoice_id: int, reason: str, *, uow: UnitOfWork, clock: Clock,
                 actor: str) -> None:
    now = clock.now()
    with uow:
        inv = uow.invoices.get(invoice_id, for_update=True)
        inv.void(now, reason)
        uow.invoices.save(inv)
        uow.audit.record(at=now, actor=actor, action="invoice.voided", subject_type="invoice",
                         subject_id=invoice_id, detail={"reason": reason})
        uow.commit()


def delete_draft(invoice_id: int, *, uow: UnitOfWork, clock: Clock, actor: str) -> None:
    with uow:
        uow.invoices.delete_draft(invoice_id)
        uow.audit.record(at=clock.now(), actor=actor, action="invoice.draft_deleted",
                         subject_type="invoice", subject_id=invoice_id)
        uow.commit()


# -- the schedule tick ----------------------------------------------------------------------
@dataclass
class TickReport:
    issued: list[str] = field(default_factory=list)
    held: list[tuple[int, str]] = field(default_factory=list)
    skipped: int = 0


def fire_due_schedules(*, uow: UnitOfWork, clock: Clock, limit: int = 500,
                       actor: str = "scheduler") -> TickReport:
    """Fire every retainer occurrence that is due, each exactly once, catching up on any
    missed while the service was down. Safe with several schedulers running: the
    (contract, occurrence) firing row is claimed with an insert that only one can win."""
    now = clock.now()
    report = TickReport()
    while True:
        with uow:
            due = uow.contracts.due(now, limit)
        for contract, next_run in due:
            assert contract.recurrence is not None
            for occurrence in [next_run, *contract.recurrence.between(next_run, now)]:
                _fire(contract, occurrence, uow=uow, now=now, actor=actor, report=report)
        if len(due) < limit:
            return report


def _fire(contract: Contract, occurrence: datetime, *, uow: UnitOfWork, now: datetime,
          actor: str, report: TickReport) -> None:
    assert contract.id is not None and contract.client_id is not None
    rec = contract.recurrence
    assert rec is not None
    with uow:
        following = rec.next_after(occurrence)
        if following and contract.ends_on and rec.local_date(following) > contract.ends_on:
            following = None  # the contract has ended: stop scheduling it
        uow.contracts.advance(contract.id, occurrence, following)
        firing = uow.firings.claim(contract.id, occurrence, now)
        if firing is None:
            report.skipped += 1
            uow.commit()
            return
        if not contract.covers(rec.local_date(occurrence)):
            uow.firings.settle(firing, "skipped", None, "outside the contract's term")
            report.skipped += 1
            uow.commit()
            return
        client = uow.clients.get(contract.client_id)
        entity = uow.entities.get(client.entity_id)
        key = f"contract:{contract.id}:{occurrence.isoformat()}"
        try:
            draft = assemble_retainer(contract, entity.party, client.party, occurrence)
        except DomainError as exc:
            uow.firings.settle(firing, "failed", None, str(exc))
            uow.audit.record(at=now, actor=actor, action="invoice.needs_attention",
                             subject_type="contract", subject_id=contract.id,
                             detail={"reason": str(exc), "field": exc.field})
            report.held.append((contract.id, str(exc)))
            uow.commit()
            return
        inv_id = save_draft(draft, uow=uow, client_id=client.id, now=now, actor=actor,
                            contract_id=contract.id, source_key=key)
        try:
            number = issue(draft, uow=uow, now=now, actor=actor)
        except DomainError as exc:
            draft.hold_reason = str(exc)
            uow.invoices.save(draft)
            uow.firings.settle(firing, "held", inv_id, str(exc))
            uow.audit.record(at=now, actor=actor, action="invoice.needs_attention",
                             subject_type="invoice", subject_id=inv_id,
                             detail={"reason": str(exc), "field": exc.field})
            report.held.append((contract.id, str(exc)))
            uow.commit()
            return
        uow.firings.settle(firing, "issued", inv_id, number)
        report.issued.append(number)
        uow.commit()
