"""Schedule rules: at each RRULE occurrence, bill the contracts a rule applies to — their
unbilled time up to the occurrence, or their completed milestones — once per contract and
occurrence; a rule that requires a milestone waits (and alerts) until it is complete, and a
firing that failed for want of data is tried again on every tick."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..domain.contracts import BillingModel, Contract
from ..domain.triggers import Build, RuleKind, TriggerRule
from .ports import Clock, RuleRecord, UnitOfWork
from .triggering import Outcome, alert_rule, bill_time, fire, plan_milestones


# -- schedule rules -------------------------------------------------------------------------
def _scheduled_contracts(uow: UnitOfWork, rule: TriggerRule) -> list[Contract]:
    model = {
        Build.TIME: BillingModel.TIME_AND_MATERIALS,
        Build.MILESTONES: BillingModel.MILESTONE,
        Build.RETAINER: BillingModel.RETAINER,
    }[rule.build]
    return [
        c
        for c in uow.contracts.list()
        if c.id is not None and c.model is model and c.active and rule.applies_to(c.id, c.model)
    ]


def _schedule_plan(
    rec: RuleRecord,
    contract: Contract,
    occurrence: datetime,
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    firing_id: int | None,
) -> Outcome:
    rule = rec.rule
    assert contract.id is not None
    subject, period = f"contract:{contract.id}", occurrence.isoformat()
    if rule.build is Build.TIME:
        out = bill_time(rec, [contract], subject, uow, now, actor, up_to=occurrence, period=period)
        return out[0]
    names = [m.name for m in contract.milestones]
    if rule.requires_milestone:
        wanted = rule.requires_milestone.casefold()
        names = [n for n in names if n.casefold() == wanted]
        done = uow.milestones.states(contract.id).get(names[0] if names else "", (None, None))
        if not names or done[0] is None:
            reason = (
                f"milestone {rule.requires_milestone!r} of contract {contract.name!r} is not "
                "complete: the invoice waits until it is"
            )
            if firing_id is None:
                firing_id = uow.rule_firings.claim(rec.id, subject, period, now, None)
                if firing_id is None:
                    return Outcome(rule.name, "duplicate")
                uow.rule_firings.settle(firing_id, "waiting", detail=reason)
                alert_rule(
                    uow, now, actor, "rule.waiting", rec, {"subject": subject, "reason": reason}
                )
            return Outcome(rule.name, "waiting", detail=reason)
    return fire(
        rec,
        subject,
        period,
        lambda: plan_milestones(contract, names, set(), uow=uow),
        uow=uow,
        now=now,
        actor=actor,
        firing_id=firing_id,
    )


def fire_due_rules(*, uow: UnitOfWork, clock: Clock, actor: str = "scheduler") -> list[Outcome]:
    """Fire every schedule-rule occurrence that is due, once per contract and occurrence,
    and retry the firings that wait for a milestone. One transaction per occurrence."""
    now = clock.now()
    out: list[Outcome] = []
    with uow:
        # waiting for a milestone, or failed for want of data (a rate, a link): tried again
        waiting = uow.rule_firings.waiting() + uow.rule_firings.list(outcome="failed")
        records = {r.id: r for r in uow.rules.list(enabled_only=True)}
    for w in waiting:
        rec = records.get(w["rule_id"])
        if rec is None or rec.rule.kind is not RuleKind.SCHEDULE:
            continue
        with uow:
            contract = uow.contracts.get(int(w["subject"].split(":")[1]))
            occurrence = datetime.fromisoformat(w["period"])
            firing_id = w["id"] if w["outcome"] == "waiting" else None  # failed: reclaimed
            out.append(_schedule_plan(rec, contract, occurrence, uow, now, actor, firing_id))
            uow.commit()
    for rec in records.values():
        rule = rec.rule
        if rule.kind is not RuleKind.SCHEDULE or rule.recurrence is None:
            continue
        nxt = rec.next_run_at
        if nxt is None:  # a new or changed rule: from the moment it was saved, caught up
            nxt = rule.recurrence.next_after(rec.updated_at - timedelta(seconds=1))
            with uow:
                uow.rules.set_next_run(rec.id, nxt)
                uow.commit()
        while nxt is not None and nxt <= now:
            with uow:
                for contract in _scheduled_contracts(uow, rule):
                    if contract.covers(rule.recurrence.local_date(nxt)):
                        out.append(_schedule_plan(rec, contract, nxt, uow, now, actor, None))
                nxt = rule.recurrence.next_after(nxt)
                uow.rules.set_next_run(rec.id, nxt)
                uow.commit()
    return out


__all__ = ["fire_due_rules"]
