"""Schedule rules: an RFC 5545 recurrence in a time zone bills the contracts it applies to at
each occurrence — exactly once — and a rule that requires a milestone waits for it.

Time entries come in through a CSV source as canonical events (what ``import time`` makes of
a spreadsheet); milestones are completed by a generic canonical ``work.completed`` event.
The scheduler is driven by hand: ``tick`` after moving the clock past an occurrence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from autoinvoice.domain.events import Event, Subject
from autoinvoice.entrypoints.scheduler import tick
from autoinvoice.services.ingest import ingest_events
from builders import make_retainer
from trigger_world import World

BERLIN = ZoneInfo("Europe/Berlin")
MONTHLY = {
    "rrule": "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=7",
    "timezone": "Europe/Berlin",
    "start": "2026-01-01T07:00",
}


def _berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def _entry(n: int, person: str, hours: str, day: str, task: str) -> Event:
    return Event(
        type="time_entry.logged",
        subject=Subject.TIME_ENTRY,
        external_id=f"te-{n}",
        occurred_at=datetime.fromisoformat(f"{day}T17:00:00+01:00"),
        dedupe_key=f"csv:te-{n}",
        fields={
            "entry_id": f"te-{n}",
            "person": person,
            "hours": hours,
            "day": day,
            "project_ref": "ACME-WEB",
            "task": task,
        },
    )


def _ingest(world: World, source: str, *events: Event) -> list[Any]:
    return ingest_events(source, list(events), uow=world.app.uow(), clock=world.clock, actor="test")


def _lines(inv: Any) -> list[tuple[str, Decimal, Decimal, date | None, date | None]]:
    return [
        (ln.description, ln.quantity, ln.unit_price, ln.period_start, ln.period_end)
        for ln in inv.lines
    ]


def _time_contract(world: World) -> int:
    cid = world.contract(
        "time_and_materials",
        name="ACME web platform",
        rates=[("Lead", "160.00"), ("default", "120.00")],
    )
    world.source("csv", "timesheets", options={"roles": {"Anna Berg": "Lead"}})
    world.link("timesheets", project="ACME-WEB", contract=cid)
    world.rules(
        {
            "name": "monthly-time",
            "schedule": MONTHLY,
            "applies_to": {"model": "time_and_materials"},
            "build": "time",
        }
    )
    return cid


def test_a_monthly_schedule_bills_the_time_logged_before_the_occurrence_exactly_once(
    world: World,
) -> None:
    _time_contract(world)
    outcomes = _ingest(
        world,
        "timesheets",
        _entry(1, "Anna Berg", "3.5", "2026-11-18", "API design"),
        _entry(2, "Jonas Weber", "4", "2026-11-19", "Frontend"),
    )
    assert outcomes == []  # a schedule rule does not fire on logged time
    world.clock.set(_berlin(2026, 11, 30, 18, 0))
    _ingest(world, "timesheets", _entry(3, "Anna Berg", "2.25", "2026-11-30", "API design"))
    world.clock.set(_berlin(2026, 12, 1, 6, 30))  # the first of the month, before 07:00
    _ingest(world, "timesheets", _entry(4, "Jonas Weber", "1.5", "2026-12-01", "Frontend"))
    assert tick(world.app).rules == []
    assert world.invoices() == []

    world.clock.set(_berlin(2026, 12, 1, 7, 5))
    report = tick(world.app)
    assert [(o.rule, o.outcome) for o in report.rules] == [("monthly-time", "issued")]
    world.work()
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"
    assert _lines(inv) == [  # December's entry waits for the next occurrence
        (
            "API design — Anna Berg (Lead)",
            Decimal("5.75"),
            Decimal("160.00"),
            date(2026, 11, 18),
            date(2026, 11, 30),
        ),
        (
            "Frontend — Jonas Weber (default)",
            Decimal("4"),
            Decimal("120.00"),
            date(2026, 11, 19),
            date(2026, 11, 19),
        ),
    ]
    totals = inv.totals()
    assert (totals.net.amount, totals.gross.amount) == (Decimal("1400.00"), Decimal("1666.00"))
    [mail] = world.smtp.wait_for(1)
    assert "INV-2026-000001" in mail.message.get("Subject", "")
    [firing] = world.firings()
    assert (firing["rule"], firing["outcome"]) == ("monthly-time", "issued")
    assert firing["period"] == _berlin(2026, 12, 1, 7, 0).isoformat()

    world.clock.advance(timedelta(minutes=10))
    assert tick(world.app).rules == []  # the occurrence has fired: nothing new
    world.clock.set(_berlin(2026, 12, 15, 18, 0))
    _ingest(world, "timesheets", _entry(5, "Anna Berg", "1", "2026-12-15", "Code review"))
    assert tick(world.app).rules == []
    assert len(world.invoices()) == 1

    world.clock.set(_berlin(2027, 1, 1, 7, 1))
    assert [o.outcome for o in tick(world.app).rules] == ["issued"]
    world.work()
    first, second = world.invoices()
    assert first.number == "INV-2026-000001"
    assert second.number == "INV-2027-000001"  # the series restarts with the year
    assert _lines(second) == [
        (
            "Code review — Anna Berg (Lead)",
            Decimal("1"),
            Decimal("160.00"),
            date(2026, 12, 15),
            date(2026, 12, 15),
        ),
        (
            "Frontend — Jonas Weber (default)",
            Decimal("1.5"),
            Decimal("120.00"),
            date(2026, 12, 1),
            date(2026, 12, 1),
        ),
    ]
    assert second.totals().net.amount == Decimal("340.00")
    assert second.totals().gross.amount == Decimal("404.60")
    world.smtp.wait_for(2)
    assert tick(world.app).rules == []


def test_the_scheduler_catches_up_an_occurrence_it_was_not_running_for(world: World) -> None:
    """The rule was loaded on 20 November; the scheduler's first tick comes after 1 December
    07:00 (it was down): the December occurrence still bills, once."""
    _time_contract(world)
    _ingest(world, "timesheets", _entry(1, "Jonas Weber", "2", "2026-11-24", "Frontend"))
    world.clock.set(_berlin(2026, 12, 1, 9, 0))
    assert [o.outcome for o in tick(world.app).rules] == ["issued"]
    [inv] = world.invoices()
    assert inv.totals().net.amount == Decimal("240.00")
    assert tick(world.app).rules == []


def _milestone_setup(world: World) -> int:
    cid = world.contract(
        "milestone",
        name="Website relaunch",
        milestones=[("Design", "3000.00"), ("Build", "7500.00"), ("Launch", "1500.00")],
    )
    world.source("generic", "pm")
    world.link("pm", project="WEB-2026", contract=cid)
    world.rules(
        {
            "name": "build-phase",
            "schedule": MONTHLY,
            "applies_to": {"contracts": [cid]},
            "requires_milestone": "Build",
            "build": "milestones",
        }
    )
    return cid


def _completed(title: str, at: datetime) -> Event:
    return Event(
        type="work.completed",
        subject=Subject.MILESTONE,
        external_id=f"ms-{title.lower()}",
        occurred_at=at,
        dedupe_key=f"pm:done:{title.lower()}",
        fields={"title": title, "project_ref": "WEB-2026", "status": "Done"},
    )


def test_a_slipped_milestone_holds_the_scheduled_invoice_until_it_is_complete(
    world: World,
) -> None:
    _milestone_setup(world)
    tick(world.app)
    world.clock.set(_berlin(2026, 12, 1, 7, 30))
    report = tick(world.app)
    assert [(o.rule, o.outcome) for o in report.rules] == [("build-phase", "waiting")]
    assert world.invoices() == []
    [firing] = world.firings()
    assert firing["outcome"] == "waiting"
    assert "milestone 'Build'" in firing["detail"] and "not complete" in firing["detail"]
    [alert] = world.audit("rule.waiting")
    assert alert["detail"]["rule"] == "build-phase"
    assert (
        "milestone 'Build' of contract 'Website relaunch' is not complete"
        in (alert["detail"]["reason"])
    )

    world.clock.advance(timedelta(hours=1))
    tick(world.app)  # still waiting: no second alert, no invoice
    assert len(world.audit("rule.waiting")) == 1
    assert world.invoices() == []

    world.clock.set(_berlin(2026, 12, 9, 16, 0))
    assert _ingest(world, "pm", _completed("Build", world.clock.now())) == []
    assert world.invoices() == []  # nothing is billed before the next tick
    world.clock.advance(timedelta(minutes=1))
    report = tick(world.app)
    assert [(o.rule, o.outcome) for o in report.rules] == [("build-phase", "issued")]
    world.work()
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"
    assert [(ln.description, ln.quantity, ln.unit_price) for ln in inv.lines] == [
        ("Website relaunch — milestone: Build", Decimal("1"), Decimal("7500.00"))
    ]
    assert inv.totals().net.amount == Decimal("7500.00")
    assert inv.totals().gross.amount == Decimal("8925.00")
    [firing] = world.firings()
    assert (firing["outcome"], firing["invoice_id"]) == ("issued", inv.id)
    [mail] = world.smtp.wait_for(1)
    assert "INV-2026-000001" in mail.message.get("Subject", "")
    assert tick(world.app).rules == []
    world.clock.set(_berlin(2027, 1, 1, 7, 30))
    # the next occurrence finds Build billed already: nothing more to bill
    assert [o.outcome for o in tick(world.app).rules] == ["skipped"]
    assert len(world.invoices()) == 1


def test_a_retainer_contract_still_bills_on_its_own_schedule_through_the_tick(
    world: World,
) -> None:
    make_retainer(world.app, world.client_id)
    world.clock.set(_berlin(2026, 12, 1, 5, 59))
    assert tick(world.app).schedules.issued == []
    world.clock.set(_berlin(2026, 12, 1, 6, 1))
    report = tick(world.app)
    assert report.schedules.issued == ["INV-2026-000001"]
    assert report.rules == []
    world.work()
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"
    assert [(ln.quantity, ln.unit_price) for ln in inv.lines] == [
        (Decimal("1"), Decimal("4500.00"))
    ]
    assert inv.totals().gross.amount == Decimal("5355.00")
    [mail] = world.smtp.wait_for(1)
    assert "INV-2026-000001" in mail.message.get("Subject", "")
    world.clock.advance(timedelta(hours=1))
    assert tick(world.app).schedules.issued == []
    assert len(world.invoices()) == 1
