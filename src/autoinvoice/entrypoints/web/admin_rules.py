"""Rule pages: the list, the editor with validation as you type, a rule's history and
firings, and 'test this rule'.

* ``/rules`` — every rule: kind, what it matches in words, action, mode, version, next run
  and its last firings.
* ``/rules/new``, ``/rules/{name}/edit`` — one rule as YAML (the shape of
  ``examples/rules.yaml``, one rule), checked by ``POST /rules/validate`` (htmx, debounced)
  and again on save (``POST /rules/save``: a new version, audited ``rule.saved``).
* ``POST /rules/test`` — the rule, saved or not, through the test cycle in a sandbox
  (:mod:`..rule_trial`); the invoices it would create as previews, with their PDF at
  ``/rules/previews/{token}/{n}.pdf`` for an hour. Nothing live changes, so a viewer may
  run it too (CSRF still checked); each run is audited as ``rules.tested``.
* ``/rules/{name}`` — versions with who and when and the YAML diff between them, and the
  recent firings with their invoices.
"""

from __future__ import annotations

import difflib
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ...bootstrap import App
from ...domain.errors import DomainError, InvalidValue
from ...domain.events import EVENT_TYPES
from ...domain.triggers import OPERATORS, RuleKind, TriggerRule
from ...services import rule_tests
from ...services.errors import NotFound, ServiceError
from ...services.ports import RuleRecord, UserRecord
from .. import rules_yaml
from ..rule_trial import MAX_OCCURRENCES, preview_document, try_rule
from .deps import AppDep, Reader, Writer, actor, check_form_csrf
from .errors import status_for
from .pages import flash, render

router = APIRouter(include_in_schema=False)

STARTER = """\
name: monthly-time
description: Unbilled hours of every T&M contract, on the 1st at 07:00 Berlin time.
schedule:
  rrule: "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=7;BYMINUTE=0"
  timezone: Europe/Berlin
applies_to: {model: time_and_materials}
build: time
action: draft
"""
EVENTS_BY_PRODUCT = (
    ("CRM: hubspot, pipedrive", "deal.won, deal.changed, deal.lost"),
    (
        "Project tracker: jira, linear, asana, clickup, github",
        "work.completed, work.reopened, work.changed",
    ),
    ("Time tracker: toggl, clockify, harvest", "time_entry.logged, time_entry.deleted"),
    ("generic, csv", ", ".join(sorted(EVENT_TYPES))),
)
SCHEDULE_PRESETS = (
    ("Monthly on the 1st, 07:00", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=7;BYMINUTE=0"),
    ("Last business day of the month", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=9"),
    ("Quarterly, first day", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;BYHOUR=7"),
    ("Every Friday, 16:00", "FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=0"),
    ("Once, on 15 January", "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=15;BYHOUR=9;COUNT=1"),
)
DAYS = {"MO": "Mon", "TU": "Tue", "WE": "Wed", "TH": "Thu", "FR": "Fri", "SA": "Sat", "SU": "Sun"}
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
FREQ_WORDS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
OPERATOR_WORDS = {
    "eq": "=",
    "ne": "≠",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "exists": "is set",
}
MODEL_WORDS = {
    "time_and_materials": "T&M contracts",
    "milestone": "milestone contracts",
    "retainer": "retainer contracts",
    "deal": "deal contracts",
}


# -- words ------------------------------------------------------------------------------------
def rrule_words(rrule: str) -> str:
    """A short reading of common RRULEs ("every month on day 1 at 07:00"); the RRULE
    itself where it says more than this can."""
    parts = dict(p.split("=", 1) for p in rrule.upper().split(";") if "=" in p)
    unit = FREQ_WORDS.get(parts.get("FREQ", ""))
    if unit is None or parts.keys() - {
        "FREQ",
        "INTERVAL",
        "BYMONTHDAY",
        "BYDAY",
        "BYMONTH",
        "BYHOUR",
        "BYMINUTE",
        "COUNT",
        "BYSETPOS",
    }:
        return rrule
    every = int(parts.get("INTERVAL", "1") or 1)
    text = f"every {unit}" if every == 1 else f"every {every} {unit}s"
    if parts.get("BYSETPOS") == "-1" and parts.get("BYDAY") == "MO,TU,WE,TH,FR":
        text += " on its last business day"
    elif parts.get("BYSETPOS") == "-1" and "BYDAY" in parts:
        text += " on its last " + "/".join(DAYS.get(d, d) for d in parts["BYDAY"].split(","))
    elif "BYDAY" in parts:
        text += " on " + ", ".join(DAYS.get(d[-2:], d) for d in parts["BYDAY"].split(","))
    elif "BYSETPOS" in parts:
        return rrule
    months = parts.get("BYMONTH", "")
    if months.isdigit() and 1 <= int(months) <= 12 and "BYMONTHDAY" in parts:
        text += f" on {parts['BYMONTHDAY']} {MONTHS[int(months) - 1]}"
    elif months:
        text += f" in month {months}"
    if "BYMONTHDAY" in parts and not (months.isdigit() and 1 <= int(months) <= 12):
        text += f" on day {parts['BYMONTHDAY']}"
    hour, minute = parts.get("BYHOUR", "").split(",")[0], parts.get("BYMINUTE", "0").split(",")[0]
    if hour.isdigit() and minute.isdigit():
        text += f" at {int(hour):02d}:{int(minute):02d}"
    if "COUNT" in parts:
        text += ", once" if parts["COUNT"] == "1" else f", {parts['COUNT']} times"
    return text


def _value(v: Any) -> str:
    return ", ".join(map(str, v)) if isinstance(v, list) else str(v)


def rule_words(rule: TriggerRule) -> str:
    """What a rule matches, in words."""
    if rule.kind is RuleKind.EVENT:
        text = f"{rule.event_type} from {rule.source or 'any source'}"
        conds = [
            f"{c.field} {OPERATOR_WORDS.get(c.op, c.op)}"
            + ("" if c.op == "exists" else f" {_value(c.value)}")
            for c in rule.conditions
        ]
        return text + (f" where {' and '.join(conds)}" if conds else "")
    if rule.kind is RuleKind.SCHEDULE and rule.recurrence is not None:
        text = f"{rrule_words(rule.recurrence.rule)} ({rule.recurrence.timezone})"
        if rule.requires_milestone:
            text += f", once milestone {rule.requires_milestone!r} is complete"
    else:
        what = (
            f"{rule.threshold_hours.normalize():f} unbilled hours"
            if rule.threshold_hours is not None
            else f"{rule.threshold_amount} unbilled"
        )
        text = f"{what} per {rule.per}"
    if rule.contract_ids:
        text += "; contracts " + ", ".join(map(str, rule.contract_ids))
    elif rule.contract_model is not None:
        text += f"; {MODEL_WORDS.get(rule.contract_model.value, rule.contract_model.value)}"
    return text


def rule_yaml(definition: dict[str, Any]) -> str:
    return yaml.safe_dump(
        rule_tests.ordered(definition), sort_keys=False, allow_unicode=True, width=100
    )


# -- reading the editor -----------------------------------------------------------------------
def _load_yaml(text: str) -> Any:
    """The YAML document, or InvalidValue naming the line and column."""
    if len(text) > 20_000:
        raise InvalidValue("the rule is longer than 20,000 characters", field="yaml")
    try:
        return rules_yaml.load(text)  # no aliases: they unfold into huge documents
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "this is not valid YAML"
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None and (mark is None or start.line != mark.line):
            problem += f" ({context} that starts on line {start.line + 1})"
        raise InvalidValue(f"{where}{problem}", field="yaml") from None


def line_of(text: str, path: str) -> int | None:
    """The line (1-based) of ``path`` ("when.source", "applies_to.contracts.0") in the YAML
    text, or of its nearest parent that is there; None when the text does not parse or
    has none of it.

    >>> line_of("name: x\\nwhen:\\n  source: crmx\\n", "when.source")
    3
    """
    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    if isinstance(node, yaml.MappingNode) and any(k.value == "rules" for k, _ in node.value):
        node = next(v for k, v in node.value if k.value == "rules")
        node = node.value[0] if isinstance(node, yaml.SequenceNode) and node.value else node
    line: int | None = None  # nothing of the path is in the text
    for part in path.split(".") if path else []:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if str(k.value) == part]
            if not found:
                break
            key, node = found[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _check(app: App, text: str) -> rule_tests.Checked:
    checked = rule_tests.check_rule(_load_yaml(text), uow=app.uow(), kinds=app.source_kinds)
    checked.warnings.extend(rule_tests.schedule_warnings(checked.rule, app.clock.now()))
    return checked


def _error(exc: DomainError | ServiceError, text: str = "") -> dict[str, Any]:
    field = exc.field or ""
    if field == "yaml":
        return {"field": "", "message": exc.message, "line": None}
    return {"field": field, "message": exc.message, "line": line_of(text, field) if text else None}


def _summary(app: App, checked: rule_tests.Checked) -> dict[str, Any]:
    rule = checked.rule
    nxt = None
    if rule.recurrence is not None:
        nxt = rule.recurrence.next_after(app.clock.now())
    return {
        "name": rule.name,
        "kind": rule.kind.value,
        "words": rule_words(rule),
        "build": rule.build.value,
        "action": rule.action.value,
        "shadow": rule.shadow,
        "enabled": rule.enabled,
        "next_run": nxt,
        "tz": rule.recurrence.timezone if rule.recurrence else "UTC",
        "warnings": checked.warnings,
    }


def _reference(app: App) -> dict[str, Any]:
    with app.uow(read_only=True) as uow:
        sources = [(s.name, s.kind) for s in uow.sources.list()]
        contracts = [(c.id, c.name, c.model.value) for c in uow.contracts.list() if c.active]
    return {
        "sources": sources,
        "contracts": contracts,
        "events_by_product": EVENTS_BY_PRODUCT,
        "presets": SCHEDULE_PRESETS,
        "operators": OPERATORS,
        "max_occurrences": MAX_OCCURRENCES,
    }


def _editor(
    request: Request,
    app: App,
    user: UserRecord,
    text: str,
    *,
    original: str | None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    ctx: dict[str, Any] = {
        "nav": "rules",
        "text": text,
        "original": original,
        "check": None,
        "error": None,
        "result": None,
        "test_error": None,
        "period": {"start": "", "end": ""},
        **_reference(app),
        **extra,
    }
    if ctx["check"] is None and ctx["error"] is None:
        try:
            ctx["check"] = _summary(app, _check(app, text))
        except (DomainError, ServiceError) as exc:
            ctx["error"] = _error(exc, text)
    return render(request, "rule_edit.html", ctx, user=user, status_code=status_code)


# -- pages ------------------------------------------------------------------------------------
def _row(rec: RuleRecord, firings: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    rule = rec.rule
    nxt = rec.next_run_at
    if nxt is None and rule.recurrence is not None and rule.enabled:
        nxt = rule.recurrence.next_after(max(now, rec.updated_at))
    return {
        "name": rule.name,
        "description": rule.description,
        "kind": rule.kind.value,
        "words": rule_words(rule),
        "build": rule.build.value,
        "action": rule.action.value,
        "shadow": rule.shadow,
        "enabled": rule.enabled,
        "version": rec.version,
        "next_run": nxt if rule.kind is RuleKind.SCHEDULE and rule.enabled else None,
        "tz": rule.recurrence.timezone if rule.recurrence else "UTC",
        "firings": firings,
    }


@router.get("/rules")
def rules_page(request: Request, user: Reader, app: AppDep) -> Response:
    now = app.clock.now()
    with app.uow(read_only=True) as uow:
        rows = [
            _row(rec, uow.rule_firings.list(rec.id, limit=3, newest_first=True), now)
            for rec in uow.rules.list()
        ]
    return render(request, "rules.html", {"nav": "rules", "rules": rows}, user=user)


@router.get("/rules/new")
def new_rule(request: Request, user: Reader, app: AppDep) -> Response:
    return _editor(request, app, user, STARTER, original=None)


@router.get("/rules/previews/{token}/{n:int}.pdf")
def preview_pdf(token: str, n: int, _: Reader, app: AppDep) -> Response:
    """An invoice a test run would create, as a PDF marked DRAFT (kept for an hour)."""
    content = app.renderer.render(preview_document(app, token, n))
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="rule-test-preview-{n}.pdf"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/rules/{name}/edit")
def edit_rule(request: Request, name: str, user: Reader, app: AppDep) -> Response:
    with app.uow(read_only=True) as uow:
        rec = uow.rules.get(name)
    return _editor(request, app, user, rule_yaml(rec.rule.to_dict()), original=name)


@router.get("/rules/{name}")
def rule_history(request: Request, name: str, user: Reader, app: AppDep) -> Response:
    with app.uow(read_only=True) as uow:
        rec = uow.rules.get(name)
        versions = uow.rules.history(name)
        firings = uow.rule_firings.list(rec.id, limit=50, newest_first=True)
    previous = ""
    shown = []
    for v in versions:
        text = rule_yaml(v["definition"])
        diff = list(
            difflib.unified_diff(previous.splitlines(), text.splitlines(), lineterm="", n=1)
        )[2:]
        shown.append({**v, "yaml": text, "diff": diff if previous else []})
        previous = text
    return render(
        request,
        "rule_history.html",
        {
            "nav": "rules",
            "rule": _row(rec, [], app.clock.now()),
            "versions": list(reversed(shown)),
            "firings": firings,
        },
        user=user,
    )


@router.post("/rules/validate")
async def validate(request: Request, user: Reader, app: AppDep) -> Response:
    """The check beside the editor (htmx): what the rule does, or what is wrong and where."""
    await check_form_csrf(request)
    form = await request.form()
    text = str(form.get("yaml") or "")
    ctx: dict[str, Any] = {"check": None, "error": None}
    try:
        ctx["check"] = _summary(app, await run_in_threadpool(_check, app, text))
    except (DomainError, ServiceError) as exc:
        ctx["error"] = _error(exc, text)
    return render(request, "_rule_check.html", ctx, user=user)


@router.post("/rules/save")
def save(
    request: Request,
    user: Writer,
    app: AppDep,
    yaml_text: Annotated[str, Form(alias="yaml")] = "",
    original: Annotated[str, Form()] = "",
) -> Response:
    try:
        raw = _load_yaml(yaml_text)
        name, version, changed = rule_tests.save_rule(
            raw, uow=app.uow(), clock=app.clock, actor=actor(user), kinds=app.source_kinds
        )
    except (DomainError, ServiceError) as exc:
        return _editor(
            request,
            app,
            user,
            yaml_text,
            original=original or None,
            error=_error(exc, yaml_text),
            status_code=status_for(exc),
        )
    flash(
        request,
        f"Rule {name!r} saved as version {version}." if changed else f"Rule {name!r} is unchanged.",
    )
    return RedirectResponse(f"/rules/{name}/edit", status_code=303)


def _switch(request: Request, name: str, user: UserRecord, app: App, on: bool) -> Response:
    try:
        _, version, changed = rule_tests.set_enabled(
            name, on, uow=app.uow(), clock=app.clock, actor=actor(user)
        )
        word = "enabled" if on else "disabled"
        flash(
            request,
            f"Rule {name!r} {word} (version {version})."
            if changed
            else f"Rule {name!r} was already {word}.",
        )
    except NotFound:
        raise
    except (DomainError, ServiceError) as exc:
        flash(request, f"Rule {name!r} was not changed: {exc.message}")
    return RedirectResponse("/rules", status_code=303)


@router.post("/rules/{name}/enable")
def enable(request: Request, name: str, user: Writer, app: AppDep) -> Response:
    return _switch(request, name, user, app, True)


@router.post("/rules/{name}/disable")
def disable(request: Request, name: str, user: Writer, app: AppDep) -> Response:
    return _switch(request, name, user, app, False)


def _day(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidValue(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from None


def _period(app: App, rule: TriggerRule, start: str, end: str) -> tuple[datetime, datetime]:
    """The dates picked (from 00:00 UTC of the first to the end of the last), or the default
    period of the rule's kind."""
    default = rule_tests.default_period(rule.kind, app.clock.now())
    first, last = _day(start, "start"), _day(end, "end")
    begin = datetime.combine(first, time(0), UTC) if first else default[0]
    finish = datetime.combine(last, time(0), UTC) + timedelta(days=1) if last else default[1]
    return begin, finish


def _run(app: App, user: UserRecord, text: str, start: str, end: str) -> rule_tests.RuleTestResult:
    rule = _check(app, text).rule
    begin, finish = _period(app, rule, start, end)
    result = try_rule(app, rule, begin, finish)
    rule_tests.record_test(result, uow=app.uow(), clock=app.clock, actor=actor(user))
    return result


@router.post("/rules/test")
async def run_rule_test(request: Request, user: Reader, app: AppDep) -> Response:
    """Run the rule in the editor through the test cycle; a partial for htmx, else the
    editor again with the results below it. Viewers may: nothing live changes."""
    await check_form_csrf(request)
    form = await request.form()
    text, original = str(form.get("yaml") or ""), str(form.get("original") or "") or None
    start, end = str(form.get("start") or ""), str(form.get("end") or "")
    ctx: dict[str, Any] = {"result": None, "test_error": None, "tz": "UTC"}
    status = 200
    try:
        ctx["result"] = await run_in_threadpool(_run, app, user, text, start, end)
    except (DomainError, ServiceError) as exc:
        ctx["test_error"] = _error(exc, text)
        status = status_for(exc)
    if request.headers.get("HX-Request") == "true":
        return render(request, "_rule_test.html", ctx, user=user, status_code=200)
    return _editor(
        request,
        app,
        user,
        text,
        original=original,
        period={"start": start, "end": end},
        status_code=status,
        **ctx,
    )


__all__ = ["router", "rrule_words", "rule_words"]
