"""Trigger rules at work: which rule fires on what, how its invoice is built, and the guards
that stop a wrong one.

Every firing claims a ``(rule, subject, period)`` row first — a database constraint — so a
delivery that arrives twice, an event replayed, or two workers racing produce one invoice:

=============================  ===============================  ==========================
rule                           subject                          period
=============================  ===============================  ==========================
event, build ``deal``          ``deal:<source>:<deal id>``      ``once``
event/schedule ``milestones``  ``contract:<id>:milestones``     the milestone names billed
schedule ``time``              ``contract:<id>``                the occurrence (ISO)
threshold (or event) ``time``  ``contract:<id>``/``client:<id>`` ``upto:<last entry row>``
=============================  ===============================  ==========================

Guards: a source whose last successful sync is older than its allowed age is stale — an
invoice built from its data is kept as a draft for review; a client whose billing data is
incomplete holds the invoice (it cannot be issued); a schedule that requires a milestone
waits (and says why) until the milestone is complete. Rules in shadow mode record what they
would have issued and touch nothing else.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..domain.assembly import DealLine, assemble_deal, assemble_milestones, assemble_time
from ..domain.contracts import BillingModel, Contract, TimeEntry
from ..domain.errors import DomainError, InvalidValue, MissingData
from ..domain.events import Event, Subject
from ..domain.invoice import Invoice
from ..domain.money import to_decimal
from ..domain.tax import TaxKind
from ..domain.triggers import Action, Build, RuleKind, parse_rules
from .errors import Conflict
from .invoicing import _attach, _issued, _number, needs_attention
from .ports import ClientRecord, Clock, RuleRecord, SourceRecord, UnbilledEntry, UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """An invoice a rule would create, and what it consumes when it is created."""

    invoice: Invoice
    client: ClientRecord
    contract_id: int | None = None
    entries: list[int] = field(default_factory=list)
    milestones: tuple[int, list[str]] | None = None
    source_ids: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Outcome:
    rule: str
    outcome: str  # issued | draft | held | shadow | waiting | failed | skipped | duplicate
    invoice_id: int | None = None
    number: str | None = None
    detail: str | None = None
    gross: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Mapped:
    """What an event's references map to (None when unmapped)."""

    client_id: int | None = None
    contract_id: int | None = None


# -- rule management ------------------------------------------------------------------------
def load_rules(
    document: Any, *, uow: UnitOfWork, clock: Clock, actor: str
) -> list[tuple[str, int, bool]]:
    """Store every rule of a YAML/JSON document (all or none); a changed rule becomes a new
    version in its history. Returns (name, version, changed) per rule."""
    rules = parse_rules(document)
    now = clock.now()
    out = []
    with uow:
        for rule in rules:
            for cid in rule.contract_ids:
                uow.contracts.get(cid)  # NotFound names the bad id
            rule_id, version, changed = uow.rules.save(rule, now, actor)
            if changed:
                uow.audit.record(
                    at=now,
                    actor=actor,
                    action="rule.saved",
                    subject_type="rule",
                    subject_id=rule_id,
                    detail={"name": rule.name, "version": version},
                )
            out.append((rule.name, version, changed))
        uow.commit()
    return out


# -- building -------------------------------------------------------------------------------
def _decimal(value: Any, where: str) -> Decimal:
    return to_decimal(value if not isinstance(value, float) else str(value), field=where)


def _contract_for(uow: UnitOfWork, contract_id: int | None, model: BillingModel) -> Contract:
    if contract_id is None:
        raise MissingData(
            f"the event maps to no contract; link its project to a {model.value} contract",
            field="project_ref",
        )
    contract = uow.contracts.get(contract_id)
    if contract.model is not model:
        raise InvalidValue(
            f"contract {contract.name!r} is {contract.model.value}, not {model.value}",
            field="contract",
        )
    return contract


def plan_deal(event: Event, mapped: Mapped, source_id: int, *, uow: UnitOfWork) -> Plan:
    f = event.fields
    if mapped.client_id is None:
        raise MissingData(
            f"deal {f.get('name') or event.external_id!r}: its company "
            f"{f.get('client_name') or f.get('client_ref')!r} maps to no client",
            field="client_ref",
        )
    client = uow.clients.get(mapped.client_id)
    contract = uow.contracts.get(mapped.contract_id) if mapped.contract_id else None
    products = [
        DealLine(
            str(p.get("name") or f.get("name") or "Product"),
            _decimal(p.get("quantity", 1), "products.quantity"),
            _decimal(p.get("unit_price"), "products.unit_price"),
        )
        for p in f.get("products") or []
    ]
    amount = f.get("amount")
    inv = assemble_deal(
        uow.entities.get(client.entity_id).party,
        client.party,
        currency=str(f.get("currency") or client.currency),
        terms=contract.terms if contract else client.terms,
        title=str(f.get("name") or f"Deal {event.external_id}"),
        amount=_decimal(amount, "amount") if amount not in (None, "") else None,
        products=products,
        tax_kind=contract.tax_kind if contract else TaxKind.STANDARD,
    )
    return Plan(inv, client, contract.id if contract else None, source_ids={source_id})


def milestone_names(contract: Contract, event: Event) -> list[str]:
    """The contract milestones an event completes: all of them for a completed project,
    else the one whose name equals the event's milestone/title (case-insensitive)."""
    if event.subject is Subject.PROJECT:
        return [m.name for m in contract.milestones]
    wanted = str(event.fields.get("milestone") or event.fields.get("title") or "").casefold()
    return [m.name for m in contract.milestones if m.name.casefold() == wanted.strip()]


def plan_milestones(
    contract: Contract, names: Sequence[str], source_ids: set[int], *, uow: UnitOfWork
) -> Plan | None:
    """Bill the named milestones that are complete and not billed yet (None: nothing to)."""
    assert contract.id is not None and contract.client_id is not None
    states = uow.milestones.states(contract.id)
    todo = [n for n in names if states.get(n, (None, None))[0] and states[n][1] is None]
    if not todo:
        return None
    client = uow.clients.get(contract.client_id)
    entity = uow.entities.get(client.entity_id)
    inv = assemble_milestones(contract, entity.party, client.party, todo)
    return Plan(inv, client, contract.id, milestones=(contract.id, todo), source_ids=source_ids)


def plan_time(
    contracts: Sequence[Contract], entries: Sequence[UnbilledEntry], *, uow: UnitOfWork
) -> Plan | None:
    """Unbilled entries grouped by person and task at each contract's rates; several
    contracts of one client (same currency) become one invoice."""
    if not entries:
        return None
    by_contract = {c.id: c for c in contracts}
    first = by_contract[entries[0].contract_id]
    assert first.client_id is not None
    client = uow.clients.get(first.client_id)
    entity = uow.entities.get(client.entity_id)
    lines = []
    for cid in dict.fromkeys(e.contract_id for e in entries):
        contract = by_contract[cid]
        if contract.currency != first.currency:
            raise InvalidValue(
                f"contracts {first.name!r} and {contract.name!r} bill in different currencies",
                field="contract",
            )
        mine = [
            TimeEntry(
                e.entry.person,
                contract.role_for(e.entry.person, e.entry.role or None),
                e.entry.task,
                e.entry.hours,
                e.entry.day,
            )
            for e in entries
            if e.contract_id == cid
        ]
        lines.extend(assemble_time(contract, entity.party, client.party, mine).lines)
    inv = Invoice(
        seller=entity.party, buyer=client.party, currency=first.currency, terms=first.terms
    )
    for line in lines:
        inv.add_line(line)
    return Plan(
        inv,
        client,
        first.id if len(by_contract) == 1 else None,
        entries=[e.id for e in entries],
        source_ids={e.source_id for e in entries},
    )


def unbilled_amount(contracts: Sequence[Contract], entries: Sequence[UnbilledEntry]) -> Decimal:
    by_contract = {c.id: c for c in contracts}
    total = Decimal(0)
    for e in entries:
        c = by_contract[e.contract_id]
        total += e.entry.hours * c.rate_for(c.role_for(e.entry.person, e.entry.role or None)).hourly
    return total


# -- firing ---------------------------------------------------------------------------------
def fire(
    record: RuleRecord,
    subject: str,
    period: str,
    build: Callable[[], Plan | None],
    *,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    event_id: int | None = None,
    firing_id: int | None = None,
) -> Outcome:
    """Claim (rule, subject, period) and act on the plan, in the caller's transaction.

    A plan that cannot be built (data missing) is recorded as ``failed`` with the reason
    and alerted; ``build`` returning None means there was nothing to bill (``skipped``)."""
    rule = record.rule
    retry = False
    if firing_id is None:
        firing_id = uow.rule_firings.claim(record.id, subject, period, now, event_id)
        if firing_id is None:  # fired before; only a failed firing is tried again
            firing_id = uow.rule_firings.reclaim(record.id, subject, period, now)
            retry = True
        if firing_id is None:
            return Outcome(rule.name, "duplicate")
    try:
        plan = build()
    except DomainError as exc:
        uow.rule_firings.settle(firing_id, "failed", detail=str(exc))
        if not retry:  # alerted when it first failed, not again on every retry
            alert_rule(
                uow, now, actor, "rule.failed", record, {"subject": subject, "reason": str(exc)}
            )
        return Outcome(rule.name, "failed", detail=str(exc))
    if event_id is not None:  # an earlier attempt on this event failed: it is resolved now
        uow.rule_firings.resolve(record.id, event_id, firing_id)
    if plan is None:
        uow.rule_firings.settle(firing_id, "skipped", detail="nothing to bill")
        return Outcome(rule.name, "skipped", detail="nothing to bill")
    totals = plan.invoice.totals()
    figures: dict[str, Any] = {
        "client_id": plan.client.id,
        "currency": plan.invoice.currency,
        "net_total": totals.net.amount,
        "gross_total": totals.gross.amount,
    }
    if rule.shadow:
        lines = [
            {
                "description": ln.description,
                "quantity": str(ln.quantity),
                "unit_price": str(ln.unit_price),
            }
            for ln in plan.invoice.lines
        ]
        # what it consumed, so its next shadow invoice starts after it (as a live one would)
        consumed = f"entries:{','.join(map(str, plan.entries))}" if plan.entries else None
        uow.rule_firings.settle(firing_id, "shadow", lines=lines, detail=consumed, **figures)
        return Outcome(
            rule.name, "shadow", gross=totals.gross.amount, currency=plan.invoice.currency
        )
    return _create(record, plan, firing_id, figures, subject, period, uow=uow, now=now, actor=actor)


def _stale_sources(uow: UnitOfWork, ids: set[int], now: datetime) -> list[SourceRecord]:
    return [s for s in (uow.sources.get(i) for i in sorted(ids)) if s.is_stale(now)]


def _create(
    record: RuleRecord,
    plan: Plan,
    firing_id: int,
    figures: dict[str, Any],
    subject: str,
    period: str,
    *,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
) -> Outcome:
    rule = record.rule
    inv = plan.invoice
    entity = uow.entities.get(plan.client.entity_id)
    _attach(
        inv,
        plan.client,
        uow.numbering.default_series(plan.client.entity_id).id,
        now=now,
        contract_id=plan.contract_id,
        source_key=f"rule:{record.id}:{subject}:{period}"[:200],
    )
    stale = _stale_sources(uow, plan.source_ids, now)
    hold = None
    if stale:
        hold = "; ".join(
            f"source {s.name!r} is stale (last successful sync "
            f"{s.last_success_at.isoformat() if s.last_success_at else 'never'}): check its "
            "data, then issue"
            for s in stale
        )
    outcome, seq = "draft", None
    held_because: DomainError | None = None
    if hold:
        inv.hold_reason, outcome = hold, "held"
    elif rule.action is Action.ISSUE:
        try:
            seq = _number(inv, entity, uow=uow, now=now)
            outcome = "issued"
        except DomainError as exc:  # e.g. the client has no billing address yet
            inv.hold_reason, outcome, held_because = str(exc), "held", exc
    inv_id = uow.invoices.add(inv, seq=seq)
    if plan.entries and not uow.time_entries.mark_billed(plan.entries, inv_id):
        raise Conflict("time entries were billed by another invoice meanwhile; retrying")
    if plan.milestones and not uow.milestones.mark_billed(*plan.milestones, inv_id):
        raise Conflict("milestones were billed by another invoice meanwhile; retrying")
    uow.rule_firings.settle(
        firing_id, outcome, invoice_id=inv_id, detail=inv.hold_reason, **figures
    )
    if outcome == "issued":
        _issued(inv, uow=uow, now=now, actor=actor)
    elif held_because is not None:  # failed its checks: the owner is told
        needs_attention(uow, inv_id, held_because, now=now, actor=actor, detail={"rule": rule.name})
    else:  # a plain draft, or held for a stale source (that source's alert tells the owner)
        uow.audit.record(
            at=now,
            actor=actor,
            action="invoice.needs_attention" if outcome == "held" else "invoice.drafted",
            subject_type="invoice",
            subject_id=inv_id,
            detail={"rule": rule.name, "reason": inv.hold_reason},
        )
    return Outcome(
        rule.name,
        outcome,
        inv_id,
        inv.number,
        inv.hold_reason,
        figures["gross_total"],
        inv.currency,
    )


def alert_rule(
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    action: str,
    record: RuleRecord,
    detail: dict[str, Any],
) -> None:
    log.warning("%s %s: %s", action, record.rule.name, detail)
    uow.audit.record(
        at=now,
        actor=actor,
        action=action,
        subject_type="rule",
        subject_id=record.id,
        detail={"rule": record.rule.name, **detail},
    )


# -- event and threshold rules --------------------------------------------------------------
def rules_for_event(
    rules: Sequence[RuleRecord],
    event: Event,
    event_id: int,
    source: SourceRecord,
    mapped: Mapped,
    *,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
) -> list[Outcome]:
    """Fire every event rule that matches (caller's transaction). A rule that cannot act
    (no contract, the wrong kind of contract) records a failed firing and the others still
    run; a rule limited to some contracts (``applies_to``) fires only for those."""
    out: list[Outcome] = []
    contract = uow.contracts.get(mapped.contract_id) if mapped.contract_id else None
    for rec in rules:
        rule = rec.rule
        if not rule.matches(event, source.kind, source.name):
            continue
        if (rule.contract_ids or rule.contract_model) and (
            contract is None or not rule.applies_to(contract.id or 0, contract.model)
        ):
            continue
        try:
            out.extend(_event_rule(rec, event, event_id, source, mapped, uow, now, actor))
        except DomainError as exc:
            subject = f"work:{source.id}:{event.external_id}"
            out.append(_failed_firing(rec, subject, exc, uow, now, actor, event_id))
    return out


def _event_rule(
    rec: RuleRecord,
    event: Event,
    event_id: int,
    source: SourceRecord,
    mapped: Mapped,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
) -> list[Outcome]:
    rule = rec.rule
    if rule.build is Build.DEAL:
        subject = f"deal:{source.id}:{event.external_id}"
        other = None if rule.shadow else uow.rule_firings.billed_by_other_rule(rec.id, subject)
        if other is not None:  # a deal is billed once, whichever rules match it
            return [Outcome(rule.name, "duplicate", detail=f"already billed by rule {other!r}")]
        return [
            fire(
                rec,
                subject,
                "once",
                lambda: plan_deal(event, mapped, source.id, uow=uow),
                uow=uow,
                now=now,
                actor=actor,
                event_id=event_id,
            )
        ]
    if rule.build is Build.MILESTONES:
        return [_event_milestones(rec, event, event_id, source, mapped, uow, now, actor)]
    contract = _contract_for(uow, mapped.contract_id, BillingModel.TIME_AND_MATERIALS)
    return bill_time(rec, [contract], f"contract:{contract.id}", uow, now, actor)


def _event_milestones(
    rec: RuleRecord,
    event: Event,
    event_id: int,
    source: SourceRecord,
    mapped: Mapped,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
) -> Outcome:
    try:
        contract = _contract_for(uow, mapped.contract_id, BillingModel.MILESTONE)
        names = milestone_names(contract, event)
    except DomainError as exc:
        return _failed_firing(
            rec, f"work:{source.id}:{event.external_id}", exc, uow, now, actor, event_id
        )
    if not names:
        missing = MissingData(
            f"contract {contract.name!r} has no milestone named "
            f"{event.fields.get('title')!r}; milestones: "
            f"{', '.join(m.name for m in contract.milestones)}",
            field="title",
        )
        return _failed_firing(
            rec, f"work:{source.id}:{event.external_id}", missing, uow, now, actor, event_id
        )
    states = uow.milestones.states(contract.id or 0)
    todo = [n for n in names if states.get(n, (None, None))[1] is None]  # contract order
    return fire(
        rec,
        f"contract:{contract.id}:milestones",
        _names_key(todo),
        lambda: plan_milestones(contract, todo, {source.id}, uow=uow),
        uow=uow,
        now=now,
        actor=actor,
        event_id=event_id,
    )


def _names_key(names: Sequence[str]) -> str:
    """A period key for a set of milestone names: readable when short, a digest when the
    names would not fit (two long names must never share a key)."""
    joined = "+".join(sorted(names)) or "none"
    if len(joined) <= 64:
        return joined
    return "sha256:" + hashlib.sha256(joined.encode()).hexdigest()[:57]


def _failed_firing(
    rec: RuleRecord,
    subject: str,
    exc: DomainError,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    event_id: int,
) -> Outcome:
    """Record a firing that could not even find what to bill (claimed, then failed), so it
    shows beside the others and is retried when the event is replayed."""

    def build() -> Plan | None:
        raise exc

    return fire(rec, subject, "once", build, uow=uow, now=now, actor=actor, event_id=event_id)


def bill_time(
    rec: RuleRecord,
    contracts: Sequence[Contract],
    subject: str,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    *,
    up_to: datetime | None = None,
    period: str | None = None,
) -> list[Outcome]:
    ids = [c.id for c in contracts if c.id is not None]
    up_to_day = None
    if up_to is not None and rec.rule.recurrence is not None:
        up_to_day = rec.rule.recurrence.local_date(up_to) - timedelta(days=1)
    entries = uow.time_entries.unbilled(ids, up_to_day)
    if rec.rule.shadow:  # a shadow rule bills nothing: skip what its own shadows consumed
        taken = _shadow_consumed(uow, rec.id)
        entries = [e for e in entries if e.id not in taken]
    if not entries and period is None:
        return []
    return [
        fire(
            rec,
            subject,
            period or f"upto:{max(e.id for e in entries)}",
            lambda: plan_time(contracts, entries, uow=uow),
            uow=uow,
            now=now,
            actor=actor,
        )
    ]


def _shadow_consumed(uow: UnitOfWork, rule_id: int) -> set[int]:
    taken: set[int] = set()
    for f in uow.rule_firings.list(rule_id, "shadow", limit=100_000):
        detail = f["detail"] or ""
        if detail.startswith("entries:"):
            taken.update(int(i) for i in detail[len("entries:") :].split(",") if i)
    return taken


def check_thresholds(
    rules: Sequence[RuleRecord], contract: Contract, *, uow: UnitOfWork, now: datetime, actor: str
) -> list[Outcome]:
    """After time was logged on ``contract``: fire each threshold rule it now crosses."""
    out: list[Outcome] = []
    for rec in rules:
        rule = rec.rule
        if rule.kind is not RuleKind.THRESHOLD or not rule.enabled or contract.id is None:
            continue
        if not rule.applies_to(contract.id, contract.model):
            continue
        if rule.per == "client":
            contracts = [
                c
                for c in uow.contracts.list(contract.client_id)
                if c.model is BillingModel.TIME_AND_MATERIALS
                and c.currency == contract.currency
                and c.id is not None
                and rule.applies_to(c.id, c.model)
            ]
            subject = f"client:{contract.client_id}"
        else:
            contracts, subject = [contract], f"contract:{contract.id}"
        entries = uow.time_entries.unbilled([c.id for c in contracts if c.id is not None])
        if rule.shadow:
            taken = _shadow_consumed(uow, rec.id)
            entries = [e for e in entries if e.id not in taken]
        hours = sum((e.entry.hours for e in entries), Decimal(0))
        if rule.threshold_hours is not None and hours < rule.threshold_hours:
            continue
        if rule.threshold_amount is not None:
            try:
                amount: Decimal | None = unbilled_amount(contracts, entries)
            except DomainError:
                amount = None  # an entry has no rate: building the invoice fails, visibly
            if amount is not None and amount < rule.threshold_amount:
                continue
        out.extend(bill_time(rec, contracts, subject, uow, now, actor))
    return out


__all__ = [
    "Mapped",
    "Outcome",
    "Plan",
    "check_thresholds",
    "fire",
    "load_rules",
    "milestone_names",
    "plan_deal",
    "plan_milestones",
    "plan_time",
    "rules_for_event",
]
