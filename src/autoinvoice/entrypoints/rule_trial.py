"""'Test this rule': one (possibly unsaved) rule through the test cycle.

The rule runs in the simulation's sandbox (:mod:`.simulate`: a throw-away SQLite copy of
the configuration, with its own clock) together with the state it bills from — unbilled
time entries, milestone states, and what was billed already (deals and this rule's own
firings) — while every other rule and every contract's own retainer schedule stays quiet,
so what comes out is this rule's doing alone. Recorded events of the period are replayed;
a threshold rule is also checked once at the start, against the time not billed yet.

Nothing live changes: no invoice, number, firing, job or email is written to the real
database; only the audit entry ``rules.tested`` (:func:`..services.rule_tests.record_test`).

Each invoice it would create keeps its document for an hour under a random token
(``DATA_DIR/rule-tests/<token>/<n>.json``), so its PDF can be rendered — marked DRAFT, with
no number and no payment aids — when someone asks for it.

Bounds: a period of at most a year (:data:`MAX_PERIOD`), the first :data:`MAX_EVENTS`
recorded events, :data:`MAX_OCCURRENCES` schedule occurrences, :data:`MAX_INVOICES`
previews.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from ..adapters.db import tables as t
from ..bootstrap import App
from ..domain.contracts import BillingModel
from ..domain.errors import InvalidValue
from ..domain.triggers import RuleKind, TriggerRule, parse_rule
from ..services.documents import invoice_document
from ..services.einvoices import preflight
from ..services.errors import NotFound
from ..services.rule_tests import (
    MAX_EVENTS,
    MAX_INVOICES,
    PreviewInvoice,
    PreviewLine,
    RuleTestResult,
    Skip,
    check_period,
)
from ..services.triggering import Outcome, check_thresholds
from .simulate import _recorded_events, play, sandbox_for

MAX_OCCURRENCES = 400
PREVIEW_TTL = timedelta(hours=1)
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
BILLED = ("issued", "draft", "held", "shadow", "skipped")
SKIPPED_LABELS = {
    "skipped": "nothing to bill",
    "duplicate": "already billed",
    "waiting": "guard not met",
    "failed": "could not be built",
    "error": "event not processed",
}


def _occurrences(rule: TriggerRule, start: datetime, end: datetime) -> list[datetime]:
    """The schedule's occurrences in [start, end), one more than allowed at most."""
    rec = rule.recurrence
    out: list[datetime] = []
    at = rec.next_after(start - timedelta(seconds=1)) if rec is not None else None
    while rec is not None and at is not None and at < end and len(out) <= MAX_OCCURRENCES:
        out.append(at)
        at = rec.next_after(at)
    return out


def _prepare(live: App, sandbox: App, rule: TriggerRule, start: datetime) -> tuple[int, int]:
    """Copy the billing state into the sandbox, silence everything but ``rule`` (tested
    as if live: enabled, not shadow); returns its id there and the last copied firing."""
    before = start - timedelta(seconds=1)
    with live.engine.connect() as src, sandbox.engine.begin() as dst:
        te = t.time_entries.c
        unbilled = src.execute(
            select(t.time_entries).where(te.invoice_id.is_(None), te.deleted.is_(False))
        )
        rows = [dict(r._mapping) for r in unbilled]
        if rows:
            dst.execute(insert(t.time_entries), rows)
        rows = [dict(r._mapping) for r in src.execute(select(t.milestone_states))]
        if rows:
            dst.execute(insert(t.milestone_states), rows)
        live_id = src.execute(select(t.rules.c.id).where(t.rules.c.name == rule.name)).scalar()
        f = t.rule_firings.c
        billed = (f.subject.like("deal:%") & f.outcome.in_(("issued", "draft", "held"))) | (
            (f.rule_id == live_id) & f.outcome.in_(BILLED)
        )
        rows = [dict(r._mapping) for r in src.execute(select(t.rule_firings).where(billed))]
        for row in rows:
            row["invoice_id"] = None  # the invoices themselves are not copied
        if rows:
            dst.execute(insert(t.rule_firings), rows)
        copied = int(dst.execute(select(func.coalesce(func.max(f.id), 0))).scalar_one())
        dst.execute(update(t.rules).values(enabled=False))
        dst.execute(update(t.contracts).values(next_run_at=None))  # no retainer schedules
    live_rule = parse_rule({**dict(rule.raw), "enabled": True, "shadow": False})
    with sandbox.uow() as uow:
        rule_id, _, _ = uow.rules.save(live_rule, before, "simulation")
        uow.commit()
    with sandbox.engine.begin() as dst:
        dst.execute(
            update(t.rules)
            .where(t.rules.c.id == rule_id)
            .values(enabled=True, next_run_at=None, updated_at=before)
        )
    return rule_id, copied


def _thresholds_now(sandbox: App, rule_id: int, on: Any) -> None:
    now = sandbox.clock.now()
    with sandbox.uow() as uow:
        record = next(r for r in uow.rules.list() if r.id == rule_id)
        contracts = [c for c in uow.contracts.list() if c.model is BillingModel.TIME_AND_MATERIALS]
        for contract in contracts:
            for o in check_thresholds([record], contract, uow=uow, now=now, actor="simulation"):
                on(now, o)
        uow.commit()


def _subject_label(sandbox: App, subject: str) -> str:
    parts = subject.split(":")
    try:
        with sandbox.uow(read_only=True) as uow:
            if parts[0] == "contract" and len(parts) > 1:
                return f"contract {uow.contracts.get(int(parts[1])).name}"
            if parts[0] == "client":
                return f"client {uow.clients.get(int(parts[1])).party.name}"
    except (NotFound, ValueError):
        pass
    if parts[0] == "deal" and len(parts) > 2:
        return f"deal {parts[2]}"
    if parts[0] == "work" and len(parts) > 2:
        return f"work item {parts[2]}"
    return subject


def _previews(
    sandbox: App, rule_id: int, copied: int, store: Path | None
) -> tuple[list[PreviewInvoice], bool]:
    out: list[PreviewInvoice] = []
    with sandbox.uow(read_only=True) as uow:
        firings = uow.rule_firings.list(rule_id, limit=100_000)
        made = [f for f in firings if f["invoice_id"] and f["id"] > copied]
        for n, f in enumerate(made[:MAX_INVOICES], start=1):
            inv = uow.invoices.get(f["invoice_id"])
            entity = uow.entities.get(inv.entity_id or 0)
            client = uow.clients.get(inv.client_id or 0)
            contract = uow.contracts.get(inv.contract_id) if inv.contract_id else None
            day = inv.issue_date or f["fired_at"].date()
            outcome = "would issue" if inv.number else ("held" if inv.hold_reason else "draft")
            checks = [] if inv.number else preflight(inv, entity, contract, today=day)
            inv.number = None  # the sandbox's number is no one's: the preview is a DRAFT
            totals = inv.totals()
            c = inv.currency
            lines = [
                PreviewLine(
                    ln.description,
                    f"{ln.quantity.normalize():f}",
                    str(ln.unit_price),
                    str(ln.net(c)),
                    ln.tax.label,
                )
                for ln in inv.lines
            ]
            out.append(
                PreviewInvoice(
                    n=n,
                    client=inv.buyer.name,
                    date=day,
                    outcome=outcome,
                    currency=c,
                    lines=lines,
                    net=str(totals.net.amount),
                    tax=str(totals.tax.amount),
                    gross=str(totals.gross.amount),
                    checks=[{"message": x.message, "fix": x.fix, "field": x.field} for x in checks],
                    reason=inv.hold_reason,
                )
            )
            if store is not None:
                doc = invoice_document(inv, entity, client.language)
                (store / f"{n}.json").write_text(json.dumps(doc, default=str), encoding="utf-8")
    return out, len(made) > MAX_INVOICES


def _store(app: App) -> tuple[str, Path]:
    root = Path(app.settings.data_dir) / "rule-tests"
    root.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - PREVIEW_TTL.total_seconds()
    for old in root.iterdir():  # forget the previews of runs older than an hour
        if old.is_dir() and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
    token = secrets.token_urlsafe(24)
    path = root / token
    path.mkdir()
    return token, path


def preview_document(app: App, token: str, n: int) -> dict[str, Any]:
    """The stored document of preview ``n`` of run ``token`` (NotFound once expired)."""
    path = Path(app.settings.data_dir) / "rule-tests" / token / f"{n}.json"
    gone = NotFound("this preview has expired: run the test again", field="preview")
    if not TOKEN.match(token) or not path.is_file():
        raise gone
    if time.time() - path.stat().st_mtime > PREVIEW_TTL.total_seconds():
        raise gone
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def try_rule(
    app: App, rule: TriggerRule, start: datetime, end: datetime, *, keep_previews: bool = True
) -> RuleTestResult:
    """Run ``rule`` through the test cycle over [start, end); see the module docstring."""
    check_period(start, end)
    stops = _occurrences(rule, start, end)
    if len(stops) > MAX_OCCURRENCES:
        raise InvalidValue(
            f"the schedule fires more than {MAX_OCCURRENCES} times in this period: "
            "test a shorter one",
            field="end",
        )
    events = sorted(_recorded_events(app, start, end), key=lambda p: p[1].occurred_at)
    truncated = len(events) > MAX_EVENTS
    events = events[:MAX_EVENTS]
    with app.uow(read_only=True) as uow:
        kinds = {s.name: s.kind for s in uow.sources.list()}
    live = parse_rule({**dict(rule.raw), "enabled": True, "shadow": False})
    matched = sum(1 for name, e in events if live.matches(e, kinds.get(name, ""), name))
    notes = []
    if rule.shadow or not rule.enabled:
        mode = "in shadow mode" if rule.shadow else "disabled"
        notes.append(f"The rule is {mode}; the test shows what it would do live.")
    seen: list[tuple[datetime, Outcome]] = []
    token, store = _store(app) if keep_previews else (None, None)
    with sandbox_for(app, start) as (sandbox, clock):
        rule_id, copied = _prepare(app, sandbox, rule, start)
        if rule.kind is RuleKind.THRESHOLD:
            _thresholds_now(sandbox, rule_id, lambda at, o: seen.append((at, o)))
        problems = play(
            sandbox,
            clock,
            events,
            start,
            end,
            on_outcome=lambda at, o: seen.append((at, o)),
            stops=stops,
        )
        invoices, more = _previews(sandbox, rule_id, copied, store)
        skipped = _skipped(sandbox, rule_id, copied)
        skipped += [
            Skip(at, "", o.outcome, _reason(o.outcome, o.detail))
            for at, o in seen
            if o.rule == rule.name and o.outcome == "duplicate"
        ]
        skipped += [
            Skip(None, "", "error", _reason("error", p["detail"]))
            for p in problems
            if p["outcome"] == "error"
        ]
    return RuleTestResult(
        rule=rule.name,
        start=start,
        end=end,
        events=len(events),
        matched=matched,
        invoices=invoices,
        skipped=skipped[:MAX_INVOICES],
        truncated=truncated or more or len(skipped) > MAX_INVOICES,
        token=token,
        notes=notes,
    )


def _reason(outcome: str, detail: str | None) -> str:
    label = SKIPPED_LABELS.get(outcome, outcome)
    return f"{label}: {detail}" if detail and detail != label else label


def _skipped(sandbox: App, rule_id: int, copied: int) -> list[Skip]:
    """The rule's firings in the run that made no invoice: nothing to bill, a guard that
    waits, data missing."""
    with sandbox.uow(read_only=True) as uow:
        rows = uow.rule_firings.list(rule_id, limit=100_000)
    return [
        Skip(
            f["fired_at"],
            _subject_label(sandbox, f["subject"]),
            f["outcome"],
            _reason(f["outcome"], f["detail"]),
        )
        for f in rows
        if f["id"] > copied and not f["invoice_id"]
    ]


__all__ = ["MAX_OCCURRENCES", "preview_document", "try_rule"]
