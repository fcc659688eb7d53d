"""Editing one trigger rule and testing it before it goes live.

* :func:`check_rule` reads one rule (the mapping ``autoinvoice rules load`` reads under
  ``rules:``) and checks it against this installation: every error names the field path
  relative to the rule (``when.source``, ``schedule.rrule``, ``applies_to.contracts.0``) —
  a source that is not connected, a contract id that does not exist, a bad RRULE;
  what is allowed but probably not meant (no source of that kind connected yet, a
  schedule with no occurrence left) comes back as warnings.
* :func:`save_rule` and :func:`set_enabled` store a new version through
  :func:`.triggering.load_rules` (audited ``rule.saved``).
* The test cycle itself runs in a sandbox (``entrypoints/simulate.py``); this module holds
  what it reports (:class:`RuleTestResult`), the period it runs over by default and its
  bounds, and :func:`record_test`, which audits each run as ``rules.tested`` — the set-up
  guide reads that action to mark "test cycle" done.

>>> from datetime import UTC, datetime
>>> default_period(RuleKind.SCHEDULE, datetime(2026, 11, 20, 9, tzinfo=UTC))[1].isoformat()
'2026-12-21T09:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..domain.errors import InvalidValue
from ..domain.triggers import RuleKind, TriggerRule, parse_rule
from .errors import NotFound
from .ports import Clock, UnitOfWork
from .triggering import load_rules

MAX_PERIOD = timedelta(days=366)  # a test run covers at most a year
MAX_EVENTS = 2000  # recorded events replayed in one run, oldest first
MAX_INVOICES = 200  # previews listed; a run that would create more says so
EVENT_LOOKBACK = timedelta(days=30)
SCHEDULE_LOOKAHEAD = timedelta(days=31)
TESTED = "rules.tested"
KEY_ORDER = (
    "name",
    "description",
    "when",
    "schedule",
    "threshold",
    "applies_to",
    "requires_milestone",
    "build",
    "action",
    "shadow",
    "enabled",
)


@dataclass(frozen=True)
class Checked:
    rule: TriggerRule
    warnings: list[str] = field(default_factory=list)


def _relative(exc: InvalidValue, name: str | None) -> InvalidValue:
    """``rules.won.when.event`` → ``when.event``: the editor shows one rule."""
    where = exc.field or ""
    for prefix in ([f"rules.{name}"] if name else []) + ["rule"]:
        if where == prefix:
            return InvalidValue(exc.message, field=None)
        if where.startswith(prefix + "."):
            return InvalidValue(exc.message, field=where[len(prefix) + 1 :])
    return exc


def plain(value: Any) -> Any:
    """YAML dates and times as ISO text, so a definition stores as JSON."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def ordered(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a rule in the order the examples write them (JSON columns may not keep it)."""
    first = {k: definition[k] for k in KEY_ORDER if k in definition}
    return {**first, **{k: v for k, v in definition.items() if k not in first}}


def check_rule(raw: Any, *, uow: UnitOfWork, kinds: Sequence[str]) -> Checked:
    """Parse one rule and check what it names exists here (read-only)."""
    if isinstance(raw, Mapping) and isinstance(raw.get("rules"), list):
        if len(raw["rules"]) != 1:
            raise InvalidValue("the editor takes one rule; load more with the CLI or API")
        raw = raw["rules"][0]
    if not isinstance(raw, Mapping):
        raise InvalidValue("a rule is a mapping of fields (name: …, build: …)")
    name = raw.get("name") if isinstance(raw.get("name"), str) else None
    try:
        rule = parse_rule(plain(raw))
    except InvalidValue as exc:
        raise _relative(exc, name.strip() if name else None) from None
    warnings: list[str] = []
    with uow:
        sources = uow.sources.list()
        if rule.source:
            names = sorted(s.name for s in sources)
            if rule.source not in names and rule.source not in {s.kind for s in sources}:
                if rule.source not in kinds:
                    raise InvalidValue(
                        f"no source named {rule.source!r} — connected sources: "
                        f"{', '.join(names) or 'none yet'}",
                        field="when.source",
                    )
                warnings.append(
                    f"no {rule.source} source is connected yet: the rule fires once one is"
                )
        for i, cid in enumerate(rule.contract_ids):
            try:
                uow.contracts.get(cid)
            except NotFound:
                raise InvalidValue(
                    f"there is no contract with id {cid}", field=f"applies_to.contracts.{i}"
                ) from None
        if rule.requires_milestone:
            wanted = rule.requires_milestone.casefold()
            if not any(
                m.name.casefold() == wanted for c in uow.contracts.list() for m in c.milestones
            ):
                warnings.append(
                    f"no contract has a milestone named {rule.requires_milestone!r}: "
                    "the rule will wait"
                )
    return Checked(rule, warnings)


def schedule_warnings(rule: TriggerRule, now: datetime) -> list[str]:
    if rule.recurrence is not None and rule.recurrence.next_after(now) is None:
        return ["the schedule has no occurrence after today: it will never fire again"]
    return []


def save_rule(
    raw: Any, *, uow: UnitOfWork, clock: Clock, actor: str, kinds: Sequence[str]
) -> tuple[str, int, bool]:
    """Check and store one rule; a changed rule becomes a new version (name, version, changed)."""
    checked = check_rule(raw, uow=uow, kinds=kinds)
    definition = plain(dict(checked.rule.raw))
    [saved] = load_rules({"rules": [definition]}, uow=uow, clock=clock, actor=actor)
    return saved


def set_enabled(
    name: str, enabled: bool, *, uow: UnitOfWork, clock: Clock, actor: str
) -> tuple[str, int, bool]:
    """Switch a stored rule on or off: a new version whose only change is ``enabled``."""
    with uow:
        record = uow.rules.get(name)
    definition = {**record.rule.to_dict(), "enabled": enabled}
    [saved] = load_rules({"rules": [definition]}, uow=uow, clock=clock, actor=actor)
    return saved


def default_period(kind: RuleKind, now: datetime) -> tuple[datetime, datetime]:
    """Event rules replay what was recorded in the last 30 days; schedules and thresholds
    run over the next 31 days."""
    if kind is RuleKind.EVENT:
        return now - EVENT_LOOKBACK, now
    return now, now + SCHEDULE_LOOKAHEAD


def check_period(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidValue("the period must end after it starts", field="end")
    if end - start > MAX_PERIOD:
        raise InvalidValue("a test run covers at most one year", field="end")


@dataclass
class PreviewLine:
    description: str
    quantity: str
    unit_price: str
    net: str
    tax: str


@dataclass
class PreviewInvoice:
    """An invoice the rule would create, as the sandbox made it (no number of its own)."""

    n: int
    client: str
    date: date
    outcome: str  # would issue | draft | held
    currency: str
    lines: list[PreviewLine]
    net: str
    tax: str
    gross: str
    checks: list[dict[str, str]]  # pre-flight findings: message, fix, field
    reason: str | None  # why it is held


@dataclass
class Skip:
    at: datetime | None
    subject: str
    outcome: str  # skipped | failed | waiting | duplicate | shadow | error
    reason: str


@dataclass
class RuleTestResult:
    rule: str
    start: datetime
    end: datetime
    events: int  # recorded events replayed
    matched: int  # of which the rule matched
    invoices: list[PreviewInvoice]
    skipped: list[Skip]
    truncated: bool = False  # more than MAX_INVOICES / MAX_EVENTS
    token: str | None = None  # where the previews' documents are kept for a while
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "events": self.events,
            "matched": self.matched,
            "invoices": len(self.invoices),
            "needs_attention": sum(1 for i in self.invoices if i.checks or i.reason),
            "skipped": len(self.skipped),
        }


def record_test(result: RuleTestResult, *, uow: UnitOfWork, clock: Clock, actor: str) -> None:
    """Audit one test run (``rules.tested``): the rule, the period and what it found."""
    with uow:
        try:
            subject: str | int = uow.rules.get(result.rule).id
        except NotFound:
            subject = result.rule  # an unsaved rule is named
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action=TESTED,
            subject_type="rule",
            subject_id=subject,
            detail={
                "name": result.rule,
                "from": result.start.isoformat(),
                "to": result.end.isoformat(),
                **result.counts(),
            },
        )
        uow.commit()


__all__ = [
    "MAX_EVENTS",
    "MAX_INVOICES",
    "MAX_PERIOD",
    "TESTED",
    "Checked",
    "PreviewInvoice",
    "PreviewLine",
    "RuleTestResult",
    "Skip",
    "check_period",
    "check_rule",
    "default_period",
    "ordered",
    "plain",
    "record_test",
    "save_rule",
    "schedule_warnings",
    "set_enabled",
]
