"""'Test this rule' on both databases: one rule, saved or not, runs through the sandbox and
shows the invoices it would create — and the live database does not change at all."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.adapters.db import tables as t
from autoinvoice.bootstrap import App
from autoinvoice.domain.contracts import BillingModel, Contract, Rate
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import Event, Subject
from autoinvoice.domain.terms import PaymentTerms
from autoinvoice.entrypoints.rule_trial import preview_document, try_rule
from autoinvoice.services import ingest, sources
from autoinvoice.services.rule_tests import (
    check_rule,
    default_period,
    record_test,
    save_rule,
    set_enabled,
)
from autoinvoice.services.setup import add_contract
from builders import make_app, make_client, make_entity

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
LIVE_TABLES = (
    t.invoices,
    t.invoice_lines,
    t.rule_firings,
    t.jobs,
    t.outbound_messages,
    t.series_counters,
    t.time_entries,
    t.events,
    t.rules,
)
MONTHLY_TIME = {
    "name": "monthly-time",
    "schedule": {"rrule": "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=7", "timezone": "Europe/Berlin"},
    "applies_to": {"model": "time_and_materials"},
    "build": "time",
}
WON_DEALS = {"name": "won-deals", "when": {"source": "crm", "event": "deal.won"}, "build": "deal"}


def _source(app: App, kind: str, name: str) -> None:
    sources.add_source(
        sources.NewSource(kind=kind, name=name),
        uow=app.uow(),
        clock=app.clock,
        box=app.box,
        actor="test",
        kinds=app.source_kinds,
    )


def _link(app: App, source: str, ref_type: str, ref: str, **ids: int | None) -> None:
    ingest.link_ref(source, ref_type, ref, uow=app.uow(), clock=app.clock, actor="test", **ids)  # type: ignore[arg-type]


def _record(app: App, source: str, event: Event) -> None:
    with app.uow() as uow:
        src = uow.sources.by_name(source)
        ingest.apply_event(event, src, None, uow=uow, now=event.occurred_at, actor="test")
        uow.commit()


def _time(n: int, hours: str, day: str) -> Event:
    return Event(
        type="time_entry.logged",
        subject=Subject.TIME_ENTRY,
        external_id=f"te-{n}",
        occurred_at=datetime.fromisoformat(f"{day}T17:00:00+01:00"),
        dedupe_key=f"te-evt-{n}",
        fields={
            "entry_id": f"te-{n}",
            "person": "Jonas Weber",
            "hours": hours,
            "day": day,
            "project_ref": "ACME-WEB",
            "task": "Frontend",
        },
    )


def _deal() -> Event:
    return Event(
        type="deal.won",
        subject=Subject.DEAL,
        external_id="D-77",
        occurred_at=datetime(2026, 11, 15, 10, tzinfo=UTC),
        dedupe_key="deal-77-won",
        fields={"name": "Warehouse scanners", "amount": "5000.00", "client_ref": "COMP-1"},
    )


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[App]:
    """A client with a T&M contract at €100/h, 11 unbilled hours logged and a deal won in
    November, no rules; the clock at 20 November."""
    app = make_app(database_url, tmp_path, clock=ManualClock(NOW))
    client = make_client(app, make_entity(app))
    contract = add_contract(
        Contract(
            name="ACME web platform",
            model=BillingModel.TIME_AND_MATERIALS,
            currency="EUR",
            terms=PaymentTerms.parse("net:14"),
            client_id=client,
            rates=(Rate("default", Decimal("100.00")),),
        ),
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )
    _source(app, "csv", "timesheets")
    _source(app, "csv", "crm")
    _link(app, "timesheets", "project", "ACME-WEB", client_id=None, contract_id=contract)
    _link(app, "crm", "client", "COMP-1", client_id=client, contract_id=None)
    _record(app, "timesheets", _time(1, "6", "2026-11-10"))
    _record(app, "timesheets", _time(2, "5", "2026-11-17"))
    _record(app, "crm", _deal())
    yield app
    app.engine.dispose()


def _snapshot(app: App) -> dict[str, Any]:
    with app.engine.connect() as c:
        counts = {
            tb.name: c.execute(select(func.count()).select_from(tb)).scalar_one()
            for tb in LIVE_TABLES
        }
        counts["counters"] = [tuple(r) for r in c.execute(select(t.series_counters))]
        counts["unbilled"] = c.execute(
            select(func.count())
            .select_from(t.time_entries)
            .where(t.time_entries.c.invoice_id.is_(None))
        ).scalar_one()
    return counts


def _check(app: App, raw: Any) -> Any:
    return check_rule(raw, uow=app.uow(), kinds=app.source_kinds)


def test_a_schedule_rule_shows_the_invoice_it_would_issue_and_changes_nothing_live(
    live: App,
) -> None:
    before = _snapshot(live)
    rule = _check(live, MONTHLY_TIME).rule  # not saved
    start, end = default_period(rule.kind, live.clock.now())
    assert (start, end) == (NOW, NOW + timedelta(days=31))
    result = try_rule(live, rule, start, end)
    [inv] = result.invoices
    assert (inv.client, inv.outcome, inv.currency) == (
        "Hanseatic Logistics AG",
        "would issue",
        "EUR",
    )
    assert inv.date.isoformat() == "2026-12-01"
    assert (inv.net, inv.tax, inv.gross) == ("1100.00", "209.00", "1309.00")  # 11 h × 100 + 19 %
    assert [(ln.description, ln.quantity) for ln in inv.lines] == [
        ("Frontend — Jonas Weber (default)", "11")
    ]
    doc = preview_document(live, result.token or "", 1)
    assert doc["number"] is None  # rendered as a DRAFT
    record_test(result, uow=live.uow(), clock=live.clock, actor="user:owner@example.com")
    assert _snapshot(live) == before
    with live.uow(read_only=True) as uow:
        [entry] = [a for a in uow.audit.recent(50) if a["action"] == "rules.tested"]
    assert entry["detail"]["invoices"] == 1 and entry["detail"]["name"] == "monthly-time"


def test_an_event_rule_replays_the_recorded_events_of_the_last_30_days(live: App) -> None:
    other = {"name": "a-any-deal", "when": {"event": "deal.won"}, "build": "deal"}
    save_rule(other, uow=live.uow(), clock=live.clock, actor="test", kinds=live.source_kinds)
    before = _snapshot(live)
    rule = _check(live, WON_DEALS).rule
    result = try_rule(live, rule, *default_period(rule.kind, live.clock.now()))
    assert (result.events, result.matched) == (3, 1)
    [inv] = result.invoices
    assert (inv.gross, inv.lines[0].description) == ("5950.00", "Warehouse scanners")
    assert result.skipped == []  # the other rule stays quiet in the sandbox
    assert _snapshot(live) == before


def test_a_saved_rule_shows_what_it_billed_already_as_skipped(live: App) -> None:
    save_rule(WON_DEALS, uow=live.uow(), clock=live.clock, actor="test", kinds=live.source_kinds)
    live.clock.set(NOW + timedelta(hours=1))  # type: ignore[attr-defined]
    later = replace(_deal(), external_id="D-78", dedupe_key="deal-78-won", occurred_at=NOW)
    _record(live, "crm", later)
    with live.uow(read_only=True) as uow:
        assert [f["outcome"] for f in uow.rule_firings.list()] == ["issued"]  # fired live
    before = _snapshot(live)
    rule = _check(live, WON_DEALS).rule
    result = try_rule(live, rule, *default_period(rule.kind, live.clock.now()))
    assert (result.events, result.matched) == (4, 2)
    [inv] = result.invoices  # D-77 was won before the rule existed
    assert inv.gross == "5950.00"
    [skip] = result.skipped
    assert (skip.outcome, skip.reason) == ("duplicate", "already billed")
    assert _snapshot(live) == before


def test_a_threshold_rule_is_checked_against_the_hours_not_billed_yet(live: App) -> None:
    before = _snapshot(live)
    raw = {"name": "ten-hours", "threshold": {"hours": 10}, "build": "time", "shadow": True}
    rule = _check(live, raw).rule
    result = try_rule(live, rule, *default_period(rule.kind, live.clock.now()))
    [inv] = result.invoices
    assert (inv.gross, inv.date.isoformat(), inv.outcome) == (
        "1309.00",
        "2026-11-20",
        "would issue",
    )
    assert result.notes == ["The rule is in shadow mode; the test shows what it would do live."]
    high = _check(live, {**raw, "threshold": {"hours": 12}}).rule
    assert try_rule(live, high, *default_period(rule.kind, live.clock.now())).invoices == []
    assert _snapshot(live) == before


def test_checking_names_the_field_at_fault_inside_the_rule(live: App) -> None:
    with pytest.raises(InvalidValue) as caught:
        _check(live, {**WON_DEALS, "when": {"source": "crmx", "event": "deal.won"}})
    assert caught.value.field == "when.source"
    assert caught.value.message == "no source named 'crmx' — connected sources: crm, timesheets"
    with pytest.raises(InvalidValue) as caught:
        _check(live, {**MONTHLY_TIME, "schedule": {"rrule": "FREQ=MONTHY"}})
    assert caught.value.field == "schedule.rrule" and "RRULE" in caught.value.message
    with pytest.raises(InvalidValue) as caught:
        _check(live, {**MONTHLY_TIME, "applies_to": {"contracts": [999]}})
    assert caught.value.field == "applies_to.contracts.0"
    assert caught.value.message == "there is no contract with id 999"
    with pytest.raises(InvalidValue) as caught:
        _check(live, {**WON_DEALS, "build": "retainer"})
    assert caught.value.field == "when.event"
    # a product that is known but not connected yet is allowed, with a warning
    checked = _check(live, {**WON_DEALS, "when": {"source": "hubspot", "event": "deal.won"}})
    assert checked.warnings == ["no hubspot source is connected yet: the rule fires once one is"]


def test_saving_and_disabling_make_new_versions(live: App) -> None:
    kw: dict[str, Any] = dict(uow=live.uow(), clock=live.clock, actor="test")
    assert save_rule(WON_DEALS, kinds=live.source_kinds, **kw) == ("won-deals", 1, True)
    assert save_rule(WON_DEALS, kinds=live.source_kinds, **kw) == ("won-deals", 1, False)
    assert set_enabled("won-deals", False, **kw) == ("won-deals", 2, True)
    with live.uow(read_only=True) as uow:
        assert uow.rules.get("won-deals").rule.enabled is False
        assert [h["version"] for h in uow.rules.history("won-deals")] == [1, 2]


def test_a_test_run_is_bounded_to_a_year(live: App) -> None:
    rule = _check(live, MONTHLY_TIME).rule
    with pytest.raises(InvalidValue, match="at most one year"):
        try_rule(live, rule, NOW, NOW + timedelta(days=400))
