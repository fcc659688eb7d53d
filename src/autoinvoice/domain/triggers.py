"""Trigger rules: what fires an invoice, and how it is built.

A rule is one of three kinds:

* **event** — matches canonical events (:mod:`.events`): a source (kind or name), an event
  type, and conditions on the mapped fields (pipeline = default, status = Done, labels
  contain billable);
* **schedule** — an RFC 5545 RRULE in a time zone; at each occurrence it bills the
  contracts it applies to (retainer period, or their unbilled time), optionally only once a
  named milestone is complete (a slipped deliverable holds the invoice, with an alert);
* **threshold** — unbilled hours ≥ N, or unbilled amount ≥ X, per contract (project) or per
  client; checked whenever time is logged.

and names how the invoice is built (``deal``, ``milestones``, ``time``, ``retainer``), what
to do with it (``issue`` and send, or ``draft`` for approval) and whether it runs in
``shadow`` mode (records what it would have issued, issues nothing).

The YAML/JSON shape, as :func:`parse_rule` reads it::

    name: won-deals
    when: {source: hubspot, event: deal.won,
           conditions: [{field: pipeline, op: eq, value: default}]}
    build: deal
    action: issue

    name: monthly-time
    schedule: {rrule: "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=7", timezone: Europe/Berlin,
               start: "2026-01-01T07:00"}
    applies_to: {model: time_and_materials}        # or {contracts: [3, 4]}
    build: time

    name: design-phase-on-date
    schedule: {rrule: "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1;COUNT=1", start: "2027-03-01"}
    requires_milestone: Design                     # waits (and alerts) until it is done
    build: milestones

    name: forty-hours
    threshold: {hours: 40, per: contract}           # or {amount: "5000", per: client}
    build: time

>>> r = parse_rule({"name": "won", "when": {"event": "deal.won",
...     "conditions": [{"field": "pipeline", "eq": "default"}]}, "build": "deal"})
>>> r.kind, r.conditions[0].op
(<RuleKind.EVENT: 'event'>, 'eq')
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from .contracts import BillingModel
from .errors import InvalidValue
from .events import EVENT_TYPES, Event, Subject
from .recurrence import Recurrence, zone


class RuleKind(StrEnum):
    EVENT = "event"
    SCHEDULE = "schedule"
    THRESHOLD = "threshold"


class Build(StrEnum):
    DEAL = "deal"
    MILESTONES = "milestones"
    TIME = "time"
    RETAINER = "retainer"


class Action(StrEnum):
    ISSUE = "issue"
    DRAFT = "draft"


OPERATORS = ("eq", "ne", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "exists")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        n = Decimal(str(value))
    except InvalidOperation:
        return None
    return n if n.is_finite() else None  # "NaN", "inf" are text here, not numbers


def _norm(value: Any) -> Any:
    """Compare text case-insensitively and numbers as decimals ("10.0" == 10)."""
    n = _number(value)
    if n is not None and not isinstance(value, str | bool):
        return n
    if isinstance(value, str):
        n = _number(value)
        return n if n is not None and value.strip() else value.strip().casefold()
    return value


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: Any = None

    def holds(self, fields: Mapping[str, Any]) -> bool:
        present = self.field in fields and fields[self.field] is not None
        if self.op == "exists":
            return present == bool(self.value if self.value is not None else True)
        if not present:
            return self.op in ("ne", "not_in")
        actual = fields[self.field]
        if self.op == "contains":
            items = actual if isinstance(actual, list | tuple) else [actual]
            hashable = [i for i in items if not isinstance(i, dict | list)]
            return _norm(self.value) in {_norm(i) for i in hashable} or (
                isinstance(actual, str) and str(self.value).casefold() in actual.casefold()
            )
        if self.op in ("in", "not_in"):
            allowed = {_norm(v) for v in self.value}
            items = actual if isinstance(actual, list | tuple) else [actual]
            inside = any(_norm(i) in allowed for i in items if not isinstance(i, dict | list))
            return inside if self.op == "in" else not inside
        if self.op in ("eq", "ne"):
            equal = _norm(actual) == _norm(self.value)
            return equal if self.op == "eq" else not equal
        a, b = _number(actual), _number(self.value)
        if a is None or b is None:
            return False
        return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[self.op]

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value}


@dataclass(frozen=True, slots=True)
class TriggerRule:
    name: str
    kind: RuleKind
    build: Build
    action: Action = Action.ISSUE
    shadow: bool = False
    enabled: bool = True
    description: str = ""
    # event rules
    source: str | None = None  # a source kind ("hubspot") or a source's name
    event_type: str | None = None
    subject: Subject | None = None
    conditions: tuple[Condition, ...] = ()
    # schedule rules
    recurrence: Recurrence | None = None
    # threshold rules
    threshold_hours: Decimal | None = None
    threshold_amount: Decimal | None = None
    per: str = "contract"  # contract | client
    # which contracts a schedule or threshold rule applies to (empty: all that fit the build)
    contract_ids: tuple[int, ...] = ()
    contract_model: BillingModel | None = None
    requires_milestone: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def matches(self, event: Event, source_kind: str, source_name: str) -> bool:
        """True when this (event) rule fires on ``event`` from the given source."""
        if self.kind is not RuleKind.EVENT or not self.enabled:
            return False
        if self.source and self.source not in (source_kind, source_name):
            return False
        if self.event_type and event.type != self.event_type:
            return False
        if self.subject and event.subject is not self.subject:
            return False
        return all(c.holds(event.fields) for c in self.conditions)

    def applies_to(self, contract_id: int, model: BillingModel) -> bool:
        if self.contract_ids and contract_id not in self.contract_ids:
            return False
        return self.contract_model is None or model is self.contract_model

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw)


# -- parsing ------------------------------------------------------------------------------
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring = 2, 4, 4, 60


def _shown(value: Any) -> str:
    """``value`` for an error message, cut short: a rule's value may be a huge list."""
    return _SHORT.repr(value)


def _enum(cls: Any, value: Any, where: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise InvalidValue(f"{_shown(value)} is not one of: {allowed}", field=where) from None


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):  # "false" is a string, and bool("false") is True
        raise InvalidValue(f"{_shown(value)} is not true or false", field=where)
    return value


def _decimal(value: Any, where: str) -> Decimal:
    n = _number(value)
    if n is None or not n.is_finite() or n <= 0:
        raise InvalidValue(f"{_shown(value)} is not a positive number", field=where)
    return n


def _condition(raw: Any, where: str) -> Condition:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("field"), str):
        raise InvalidValue("a condition needs a 'field' name", field=where)
    ops = [k for k in raw if k in OPERATORS]
    if "op" in raw:
        op, value = raw["op"], raw.get("value")
    elif len(ops) == 1:
        op, value = ops[0], raw[ops[0]]
    else:
        raise InvalidValue(
            f"a condition needs exactly one operator ({', '.join(OPERATORS)})", field=where
        )
    if op not in OPERATORS:
        raise InvalidValue(f"unknown operator {op!r}; use one of {OPERATORS}", field=f"{where}.op")
    if op in ("in", "not_in") and not isinstance(value, list):
        raise InvalidValue(f"'{op}' needs a list of values", field=f"{where}.value")
    if op in ("gt", "gte", "lt", "lte") and _number(value) is None:
        raise InvalidValue(f"'{op}' needs a number, not {_shown(value)}", field=f"{where}.value")
    return Condition(raw["field"], op, value)


def _schedule(raw: Any, where: str) -> Recurrence:
    if not isinstance(raw, Mapping) or "rrule" not in raw:
        raise InvalidValue("a schedule needs an 'rrule'", field=where)
    tz = str(raw.get("timezone", "UTC"))
    zone(tz, field=f"{where}.timezone")
    start = raw.get("start", "2026-01-01T00:00")
    try:
        dtstart = (
            start if isinstance(start, datetime) else datetime.fromisoformat(str(start))
        ).replace(tzinfo=None)
    except ValueError:
        raise InvalidValue(f"{start!r} is not an ISO date-time", field=f"{where}.start") from None
    try:
        return Recurrence(str(raw["rrule"]), tz, dtstart)
    except InvalidValue as exc:
        raise InvalidValue(exc.message, field=f"{where}.rrule") from None


_KEYS = {
    "name",
    "description",
    "when",
    "schedule",
    "threshold",
    "build",
    "action",
    "shadow",
    "enabled",
    "applies_to",
    "requires_milestone",
}


def parse_rule(raw: Any, where: str = "rule") -> TriggerRule:
    """Read one rule from its YAML/JSON form; every error names the field at fault."""
    if not isinstance(raw, Mapping):
        raise InvalidValue("a rule must be a mapping", field=where)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidValue("a rule needs a name", field=f"{where}.name")
    where = f"rules.{name}"
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise InvalidValue(f"unknown keys {unknown}; allowed: {sorted(_KEYS)}", field=where)
    kinds = [k for k in ("when", "schedule", "threshold") if k in raw]
    if len(kinds) != 1:
        raise InvalidValue(
            "a rule needs exactly one of 'when' (events), 'schedule' or 'threshold'", field=where
        )
    if "build" not in raw:
        raise InvalidValue("a rule must say how to build the invoice", field=f"{where}.build")
    common: dict[str, Any] = {
        "name": name.strip(),
        "build": _enum(Build, raw["build"], f"{where}.build"),
        "action": _enum(Action, raw.get("action", "issue"), f"{where}.action"),
        "shadow": _bool(raw.get("shadow", False), f"{where}.shadow"),
        "enabled": _bool(raw.get("enabled", True), f"{where}.enabled"),
        "description": str(raw.get("description", "")),
        "raw": dict(raw),
    }
    applies = raw.get("applies_to") or {}
    if not isinstance(applies, Mapping):
        raise InvalidValue("applies_to must be a mapping", field=f"{where}.applies_to")
    ids = applies.get("contracts", [])
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise InvalidValue("a list of contract ids", field=f"{where}.applies_to.contracts")
    common["contract_ids"] = tuple(ids)
    if applies.get("model") is not None:
        common["contract_model"] = _enum(
            BillingModel, applies["model"], f"{where}.applies_to.model"
        )
    if raw.get("requires_milestone") is not None:
        common["requires_milestone"] = str(raw["requires_milestone"])
    kind = kinds[0]
    if kind == "when":
        return _event_rule(raw["when"], f"{where}.when", common)
    if kind == "schedule":
        if common["build"] not in (Build.TIME, Build.MILESTONES):
            raise InvalidValue(
                "a schedule rule bills contracts' unbilled time or completed milestones: "
                "build must be time or milestones (retainers bill on their contract's own "
                "schedule)",
                field=f"{where}.build",
            )
        if common.get("requires_milestone") and common["build"] is not Build.MILESTONES:
            raise InvalidValue(
                "requires_milestone guards a schedule that bills milestones (build: milestones)",
                field=f"{where}.requires_milestone",
            )
        return TriggerRule(
            kind=RuleKind.SCHEDULE,
            recurrence=_schedule(raw["schedule"], f"{where}.schedule"),
            **common,
        )
    return _threshold_rule(raw["threshold"], f"{where}.threshold", common)


def _event_rule(when: Any, where: str, common: dict[str, Any]) -> TriggerRule:
    if not isinstance(when, Mapping):
        raise InvalidValue("'when' must be a mapping", field=where)
    event_type = when.get("event")
    if event_type not in EVENT_TYPES:
        raise InvalidValue(
            f"{event_type!r} is not an event type; use one of {sorted(EVENT_TYPES)}",
            field=f"{where}.event",
        )
    conds = when.get("conditions", [])
    if not isinstance(conds, list):
        raise InvalidValue("conditions must be a list", field=f"{where}.conditions")
    subject = _enum(Subject, when["subject"], f"{where}.subject") if "subject" in when else None
    fits = {
        Build.DEAL: event_type.startswith("deal."),
        Build.MILESTONES: event_type.startswith("work."),
        Build.TIME: event_type.startswith(("time_entry.", "work.")),
        Build.RETAINER: False,
    }[common["build"]]
    if not fits:
        raise InvalidValue(
            f"an invoice built as {common['build'].value!r} cannot come from {event_type!r}",
            field=f"{where}.event",
        )
    return TriggerRule(
        kind=RuleKind.EVENT,
        source=str(when["source"]) if when.get("source") else None,
        event_type=event_type,
        subject=subject,
        conditions=tuple(_condition(c, f"{where}.conditions.{i}") for i, c in enumerate(conds)),
        **common,
    )


def _threshold_rule(raw: Any, where: str, common: dict[str, Any]) -> TriggerRule:
    if not isinstance(raw, Mapping):
        raise InvalidValue("'threshold' must be a mapping", field=where)
    if ("hours" in raw) == ("amount" in raw):
        raise InvalidValue("a threshold needs one of 'hours' or 'amount'", field=where)
    per = raw.get("per", "contract")
    if per not in ("contract", "client"):
        raise InvalidValue("per must be 'contract' or 'client'", field=f"{where}.per")
    if common["build"] is not Build.TIME:
        raise InvalidValue("a threshold rule bills time: build: time", field=f"{where}.build")
    return TriggerRule(
        kind=RuleKind.THRESHOLD,
        threshold_hours=_decimal(raw["hours"], f"{where}.hours") if "hours" in raw else None,
        threshold_amount=_decimal(raw["amount"], f"{where}.amount") if "amount" in raw else None,
        per=per,
        **common,
    )


def parse_rules(document: Any) -> list[TriggerRule]:
    """Read a rules document: ``{rules: [...]}`` or a bare list. Names must be unique."""
    items = document.get("rules") if isinstance(document, Mapping) else document
    if not isinstance(items, list):
        raise InvalidValue("expected a list of rules under 'rules:'", field="rules")
    rules = [parse_rule(item, f"rules.{i}") for i, item in enumerate(items)]
    seen: set[str] = set()
    for r in rules:
        if r.name in seen:
            raise InvalidValue(f"two rules are named {r.name!r}", field=f"rules.{r.name}")
        seen.add(r.name)
    return rules


__all__ = [
    "OPERATORS",
    "Action",
    "Build",
    "Condition",
    "RuleKind",
    "TriggerRule",
    "parse_rule",
    "parse_rules",
]
