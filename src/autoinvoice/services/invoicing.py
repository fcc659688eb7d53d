"""Use cases from contract to issued invoice: draft, issue, void, and the schedule tick.

Each function is one transaction (or, for the tick, one transaction per occurrence, so one
bad contract cannot stop the others). Issuing allocates the number, freezes the invoice and
writes the delivery job in the same transaction: either all of it is stored or none is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from ..domain.assembly import assemble_retainer
from ..domain.contracts import Contract
from ..domain.errors import DomainError, InvalidTransition, InvalidValue
from ..domain.invoice import Invoice, InvoiceStatus
from ..domain.lint import NeedsAttention
from ..domain.parties import Party
from ..domain.recurrence import zone
from .alerts import alert as owner_alert
from .client_credit import apply_available_credit
from .einvoices import preflight
from .outgoing import EventType, emit
from .ports import ClientRecord, Clock, EntityRecord, SeriesRecord, UnitOfWork

log = logging.getLogger(__name__)

DELIVER = "deliver_invoice"


def _attach(
    invoice: Invoice,
    client: ClientRecord,
    series_id: int,
    *,
    now: datetime,
    contract_id: int | None = None,
    source_key: str | None = None,
) -> None:
    invoice.client_id = client.id
    invoice.entity_id = client.entity_id
    invoice.contract_id = contract_id
    invoice.series_id = invoice.series_id or series_id
    invoice.source_key = source_key
    invoice.created_at = now


def save_draft(
    invoice: Invoice,
    *,
    uow: UnitOfWork,
    client_id: int,
    now: datetime,
    actor: str,
    contract_id: int | None = None,
    source_key: str | None = None,
) -> int:
    """Store a new draft (inside the caller's transaction). Drafts take no number."""
    client = uow.clients.get(client_id)
    _attach(
        invoice,
        client,
        uow.numbering.default_series(client.entity_id).id,
        now=now,
        contract_id=contract_id,
        source_key=source_key,
    )
    inv_id = uow.invoices.add(invoice)
    uow.audit.record(
        at=now,
        actor=actor,
        action="invoice.drafted",
        subject_type="invoice",
        subject_id=inv_id,
        detail={"source": source_key},
    )
    return inv_id


def _number(
    invoice: Invoice,
    entity: EntityRecord,
    *,
    uow: UnitOfWork,
    now: datetime,
    series: SeriesRecord | None = None,
    contract: Contract | None = None,
) -> int:
    """Check, take the next number and freeze the invoice in memory; returns the sequence.

    Checks run before the number is taken, so a failure raises and consumes nothing; the
    number is only kept if the caller's transaction commits (gapless). The checks are the
    pre-flight lint and the EN 16931 rules (``NeedsAttention`` lists every finding), then
    the domain's own floor (``Invoice.check_issuable``)."""
    if invoice.status is not InvoiceStatus.DRAFT:
        raise InvalidTransition(invoice.status.value, "issued", "it is already issued")
    issue_date = now.astimezone(zone(entity.timezone)).date()
    if contract is None and invoice.contract_id:
        contract = uow.contracts.get(invoice.contract_id)
    findings = preflight(invoice, entity, contract, today=issue_date)
    if findings:
        raise NeedsAttention(findings)
    invoice.check_issuable()
    assert invoice.series_id is not None
    if series is None or series.id != invoice.series_id:
        series = uow.numbering.get_series(invoice.series_id)
    seq = uow.numbering.allocate(series.id, series.series.period_key(issue_date))
    invoice.issue(series.series.render(seq, issue_date), issue_date, now)
    invoice.hold_reason = None
    return seq


def _refresh_parties(invoice: Invoice, buyer: Party, seller: Party) -> None:
    """A draft carries the parties as they were when it was made; issue it with them as
    they are now (a held draft becomes issuable once the client's data is fixed). Line
    taxes were decided from the old tax details, so a change there needs a new draft."""
    if buyer.tax_profile != invoice.buyer.tax_profile or (
        seller.tax_profile != invoice.seller.tax_profile
    ):
        raise InvalidValue(
            "the tax details of the client or the issuing entity changed since this draft was "
            "made; delete it and let it be made again",
            field="lines",
        )
    invoice.buyer, invoice.seller = buyer, seller


def _issued(invoice: Invoice, *, uow: UnitOfWork, now: datetime, actor: str) -> None:
    """What follows issuing, in the same transaction: the delivery job, the webhooks and
    the audit — and the client's credit in the invoice's currency, applied to it."""
    uow.outbox.enqueue(DELIVER, {"invoice_id": invoice.id}, f"{DELIVER}:{invoice.id}", now, now)
    emit(uow, now, EventType.ISSUED, invoice)
    uow.audit.record(
        at=now,
        actor=actor,
        action="invoice.issued",
        subject_type="invoice",
        subject_id=invoice.id,
        detail={
            "number": invoice.number,
            "gross": str(invoice.gross.amount),
            "currency": invoice.currency,
            "source": invoice.source_key,
        },
    )
    apply_available_credit(uow, invoice, now=now, actor=actor)


def issue(invoice: Invoice, *, uow: UnitOfWork, now: datetime, actor: str) -> str:
    """Number and freeze a stored draft and enqueue its delivery (caller's transaction)."""
    assert invoice.id is not None
    entity = uow.entities.get(invoice.entity_id or 0)
    _refresh_parties(invoice, uow.clients.get(invoice.client_id or 0).party, entity.party)
    seq = _number(invoice, entity, uow=uow, now=now)
    uow.invoices.save(invoice, seq=seq)
    _issued(invoice, uow=uow, now=now, actor=actor)
    return invoice.number or ""


def issue_invoice(invoice_id: int, *, uow: UnitOfWork, clock: Clock, actor: str) -> str:
    """Issue a stored draft. A draft that fails its checks is marked "needs attention"
    (the owner is told) and the error, listing every finding, is raised."""
    try:
        with uow:
            inv = uow.invoices.get(invoice_id, for_update=True)
            number = issue(inv, uow=uow, now=clock.now(), actor=actor)
            uow.commit()
    except NeedsAttention as exc:
        with uow:
            held = uow.invoices.get(invoice_id, for_update=True)
            if held.status is InvoiceStatus.DRAFT and held.hold_reason != str(exc):
                held.hold_reason = str(exc)
                uow.invoices.save(held)
                needs_attention(
                    uow, invoice_id, exc, now=clock.now(), actor=actor, number=held.number
                )
            uow.commit()
        raise
    return number


def needs_attention(
    uow: UnitOfWork,
    invoice_id: int,
    exc: DomainError,
    *,
    now: datetime,
    actor: str,
    number: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Audit a held draft and tell the owner (once per distinct reason)."""
    findings = getattr(exc, "findings", None)
    lines = [f"- {f}" for f in findings] if findings else [f"- {exc}"]
    owner_alert(
        uow,
        now,
        actor,
        action="invoice.needs_attention",
        subject_type="invoice",
        subject_id=invoice_id,
        subject=f"Draft invoice {number or invoice_id} needs attention before it can be issued",
        body="It was not issued, because:\n"
        + "\n".join(lines)
        + "\n\nFix the data named, then issue it again.",
        detail={
            "reason": str(exc),
            "field": exc.field,
            "findings": [f.as_dict() for f in findings] if findings else [],
            **(detail or {}),
        },
        once_per=str(exc),
    )
    emit(uow, now, EventType.NEEDS_ATTENTION, invoice_id, reason=str(exc))


def void_invoice(
    invoice_id: int, reason: str, *, uow: UnitOfWork, clock: Clock, actor: str
) -> None:
    now = clock.now()
    with uow:
        inv = uow.invoices.get(invoice_id, for_update=True)
        inv.void(now, reason)
        uow.invoices.save(inv)
        uow.audit.record(
            at=now,
            actor=actor,
            action="invoice.voided",
            subject_type="invoice",
            subject_id=invoice_id,
            detail={"reason": reason},
        )
        uow.commit()


def delete_draft(invoice_id: int, *, uow: UnitOfWork, clock: Clock, actor: str) -> None:
    """Delete a draft. If a schedule made it (a held retainer), that period becomes due again,
    so deleting a held draft never silently drops a period's billing."""
    with uow:
        uow.invoices.delete_draft(invoice_id)
        released = uow.firings.release(invoice_id)
        if released:
            uow.contracts.rewind(*released)
        # a rule's draft: its time entries and milestones are unbilled again, and the rule
        # may fire for them anew
        uow.time_entries.release(invoice_id)
        uow.milestones.release(invoice_id)
        uow.rule_firings.release(invoice_id)
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="invoice.draft_deleted",
            subject_type="invoice",
            subject_id=invoice_id,
            detail={"period_due_again": released[1].isoformat()} if released else {},
        )
        uow.commit()


# -- the schedule tick ----------------------------------------------------------------------
@dataclass
class TickReport:
    issued: list[str] = field(default_factory=list)
    held: list[tuple[int, str]] = field(default_factory=list)
    skipped: int = 0


def fire_due_schedules(
    *, uow: UnitOfWork, clock: Clock, limit: int = 500, actor: str = "scheduler"
) -> TickReport:
    """Fire every retainer occurrence that is due, each exactly once, catching up on any
    missed while the service was down. Safe with several schedulers running: the
    (contract, occurrence) firing row is claimed with an insert that only one can win.

    Occurrences that failed earlier for want of client data are tried again on every tick
    (alerted once), so they bill as soon as the data is fixed. An unexpected error on one
    contract is recorded and alerted, and the others still bill."""
    now = clock.now()
    report = TickReport()
    with uow:
        failed = uow.firings.failed()
    for firing_id, contract_id, occurrence in failed:
        with uow:
            contract = uow.contracts.get(contract_id)
            ctx = _context_for(uow, [contract])[contract.client_id or 0]
        _guarded(
            contract,
            occurrence,
            ctx,
            uow=uow,
            now=now,
            actor=actor,
            report=report,
            retry_of=firing_id,
        )
    while True:
        with uow:
            due = uow.contracts.due(now, limit)
            contexts = _context_for(uow, [c for c, _ in due])
        for contract, next_run in due:
            assert contract.recurrence is not None and contract.client_id is not None
            for occurrence in [next_run, *contract.recurrence.between(next_run, now)]:
                if not _guarded(
                    contract,
                    occurrence,
                    contexts[contract.client_id],
                    uow=uow,
                    now=now,
                    actor=actor,
                    report=report,
                ):
                    break  # the rest of this contract waits for the next tick
        if len(due) < limit:
            return report


@dataclass(frozen=True)
class _FireContext:
    client: ClientRecord
    entity: EntityRecord
    series: SeriesRecord


def _context_for(uow: UnitOfWork, contracts: list[Contract]) -> dict[int, _FireContext]:
    clients = uow.clients.get_many([c.client_id or 0 for c in contracts])
    entities = {e: uow.entities.get(e) for e in {c.entity_id for c in clients.values()}}
    series = {e: uow.numbering.default_series(e) for e in entities}
    return {
        cid: _FireContext(c, entities[c.entity_id], series[c.entity_id])
        for cid, c in clients.items()
    }


def _guarded(
    contract: Contract,
    occurrence: datetime,
    ctx: _FireContext,
    *,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    report: TickReport,
    retry_of: int | None = None,
) -> bool:
    """Fire one occurrence; an unexpected error is alerted, not allowed to stop the tick.
    Returns False when the error happened (its transaction was rolled back)."""
    try:
        _fire(
            contract,
            occurrence,
            ctx,
            uow=uow,
            now=now,
            actor=actor,
            report=report,
            retry_of=retry_of,
        )
    except Exception as exc:
        log.exception("billing contract %s for %s failed", contract.id, occurrence)
        with uow:
            uow.audit.record(
                at=now,
                actor=actor,
                action="schedule.error",
                subject_type="contract",
                subject_id=contract.id,
                detail={
                    "occurrence": occurrence.isoformat(),
                    "error": f"{type(exc).__name__}: {exc}",
                },
            )
            uow.commit()
        report.held.append((contract.id or 0, f"{type(exc).__name__}: {exc}"))
        return False
    return True


def _fire(
    contract: Contract,
    occurrence: datetime,
    ctx: _FireContext,
    *,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    report: TickReport,
    retry_of: int | None,
) -> None:
    assert contract.id is not None
    rec = contract.recurrence
    assert rec is not None
    with uow:
        if retry_of is None:
            following = rec.next_after(occurrence)
            if following and contract.ends_on and rec.local_date(following) > contract.ends_on:
                following = None  # the contract has ended: stop scheduling it
            uow.contracts.advance(contract.id, occurrence, following)
            firing = uow.firings.claim(contract.id, occurrence, now)
            if firing is None:  # another scheduler fired it
                report.skipped += 1
                uow.commit()
                return
            if not contract.covers(rec.local_date(occurrence)):
                uow.firings.settle(firing, "skipped", None, "outside the contract's term")
                report.skipped += 1
                uow.commit()
                return
        else:
            firing = retry_of
        _bill(
            contract,
            occurrence,
            ctx,
            firing,
            uow=uow,
            now=now,
            actor=actor,
            report=report,
            alert=retry_of is None,
        )
        uow.commit()


def _bill(
    contract: Contract,
    occurrence: datetime,
    ctx: _FireContext,
    firing: int,
    *,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    report: TickReport,
    alert: bool,
) -> None:
    """Assemble, check, number and issue one period's invoice (caller's transaction)."""
    assert contract.id is not None
    try:
        inv = assemble_retainer(contract, ctx.entity.party, ctx.client.party, occurrence)
    except DomainError as exc:  # e.g. the client's VAT id is missing: retried every tick
        _needs_attention(
            uow,
            firing,
            "failed",
            None,
            exc,
            now=now,
            actor=actor,
            subject=("contract", contract.id),
            alert=alert,
        )
        report.held.append((contract.id, str(exc)))
        return
    _attach(
        inv,
        ctx.client,
        ctx.series.id,
        now=now,
        contract_id=contract.id,
        source_key=f"contract:{contract.id}:{occurrence.isoformat()}",
    )
    try:
        seq = _number(inv, ctx.entity, uow=uow, now=now, series=ctx.series, contract=contract)
    except DomainError as exc:  # held as a draft that needs attention; takes no number
        inv.hold_reason = str(exc)
        inv_id = uow.invoices.add(inv)
        _needs_attention(
            uow,
            firing,
            "held",
            inv_id,
            exc,
            now=now,
            actor=actor,
            subject=("invoice", inv_id),
            alert=True,
        )
        report.held.append((contract.id, str(exc)))
        return
    uow.invoices.add(inv, seq=seq)
    _issued(inv, uow=uow, now=now, actor=actor)
    # the firing row was claimed as "issued"; the invoice points back by its source_key
    report.issued.append(inv.number or "")


def _needs_attention(
    uow: UnitOfWork,
    firing: int,
    outcome: str,
    invoice_id: int | None,
    exc: DomainError,
    *,
    now: datetime,
    actor: str,
    subject: tuple[str, int],
    alert: bool,
) -> None:
    uow.firings.settle(firing, outcome, invoice_id, str(exc))
    if not alert:
        return
    if subject[0] == "invoice":
        needs_attention(uow, subject[1], exc, now=now, actor=actor)
    else:  # nothing could be drafted (e.g. a tax id is missing): retried on every tick
        owner_alert(
            uow,
            now,
            actor,
            action="invoice.needs_attention",
            subject_type=subject[0],
            subject_id=subject[1],
            subject=f"A scheduled invoice of contract {subject[1]} could not be made",
            body=f"{exc}\n\nIt is tried again on every tick until the data is fixed.",
            detail={"reason": str(exc), "field": exc.field},
            once_per=str(exc),
        )
