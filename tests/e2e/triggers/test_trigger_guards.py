"""What a second pair of eyes found, pinned: a deal is billed once whatever rules match it;
a deleted draft gives back what it billed; rules limited to contracts stay limited; one
failing rule does not stop the others; changes of billable/role count; long milestone names
never collide; shadow rules do not count the same hours twice; a new link applies what
waited for it."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from autoinvoice.domain.events import Event, Subject
from autoinvoice.services.ingest import ingest_events
from autoinvoice.services.invoicing import delete_draft
from trigger_world import World

RATES = [("default", "100.00")]


def _time(n: int, hours: str, *, project: str = "SUP", billable: bool = True, v: int = 0) -> Event:
    at = datetime.fromisoformat("2026-11-19T17:00:00+00:00") + timedelta(minutes=v)
    return Event(
        type="time_entry.logged",
        subject=Subject.TIME_ENTRY,
        external_id=f"te-{n}",
        occurred_at=at,
        dedupe_key=f"te-{n}:{v}",
        version=at,
        fields={
            "person": "Ada",
            "hours": hours,
            "day": "2026-11-19",
            "task": "Support",
            "project_ref": project,
            "billable": billable,
        },
    )


def _deal(n: int = 1) -> Event:
    return Event(
        type="deal.won",
        subject=Subject.DEAL,
        external_id=f"D-{n}",
        occurred_at=datetime.fromisoformat("2026-11-19T12:00:00+00:00"),
        dedupe_key=f"deal-{n}",
        fields={"client_ref": "ACME", "amount": "1000.00", "name": f"Deal {n}"},
    )


def _work(title: str, project: str = "WEB") -> Event:
    return Event(
        type="work.completed",
        subject=Subject.MILESTONE,
        external_id=f"{project}:{title[:40]}",
        occurred_at=datetime.fromisoformat("2026-11-19T12:00:00+00:00"),
        dedupe_key=f"work-{project}-{title}",
        fields={"title": title, "project_ref": project},
    )


def _in(world: World, *events: Event) -> list[Any]:
    return ingest_events("csv", list(events), uow=world.app.uow(), clock=world.clock, actor="t")


def _outcomes(world: World) -> list[str]:
    return [f["outcome"] for f in world.firings()]


def test_a_deal_matched_by_two_rules_is_billed_once(world: World) -> None:
    world.source("csv", "csv")
    world.link("csv", company="ACME", client=world.client_id)
    world.rules({"name": "won-deals", "when": {"event": "deal.won"}, "build": "deal"})
    world.rules({"name": "renamed-won-deals", "when": {"event": "deal.won"}, "build": "deal"})
    _in(world, _deal())
    assert len(world.invoices()) == 1


def test_deleting_a_rules_draft_makes_its_hours_billable_again(world: World) -> None:
    world.source("csv", "csv")
    contract = world.contract("time_and_materials", rates=RATES)
    world.link("csv", project="SUP", contract=contract)
    world.rules({"name": "5h", "threshold": {"hours": 5}, "build": "time", "action": "draft"})
    _in(world, _time(1, "6"))
    [draft] = world.invoices()
    delete_draft(draft.id, uow=world.app.uow(), clock=world.clock, actor="t")
    assert world.invoices() == []
    _in(world, _time(2, "1"))  # the next entry crosses the threshold again, with both
    [again] = world.invoices()
    assert again.totals().net.amount == Decimal("700.00")


def test_an_event_rule_limited_to_a_contract_ignores_the_others(world: World) -> None:
    world.source("csv", "csv")
    a = world.contract("milestone", name="A", milestones=[("Launch", "5000.00")])
    b = world.contract("milestone", name="B", milestones=[("Launch", "5000.00")])
    world.link("csv", project="A", contract=a)
    world.link("csv", project="B", contract=b)
    world.rules(
        {
            "name": "only-a",
            "when": {"event": "work.completed"},
            "build": "milestones",
            "applies_to": {"contracts": [a]},
        }
    )
    _in(world, _work("Launch", project="B"))
    assert world.invoices() == []
    _in(world, _work("Launch", project="A"))
    [inv] = world.invoices()
    assert inv.contract_id == a


def test_a_rule_that_cannot_act_does_not_stop_the_next_one(world: World) -> None:
    world.source("csv", "csv")
    c = world.contract("milestone", milestones=[("Launch", "5000.00")])
    world.link("csv", project="WEB", contract=c)
    world.rules({"name": "a-time-on-done", "when": {"event": "work.completed"}, "build": "time"})
    world.rules(
        {"name": "b-milestones", "when": {"event": "work.completed"}, "build": "milestones"}
    )
    _in(world, _work("Launch"))
    assert len(world.invoices()) == 1
    assert sorted(_outcomes(world)) == ["failed", "issued"]


def test_an_entry_made_billable_later_is_billed(world: World) -> None:
    world.source("csv", "csv")
    contract = world.contract("time_and_materials", rates=RATES)
    world.link("csv", project="SUP", contract=contract)
    world.rules({"name": "5h", "threshold": {"hours": 5}, "build": "time"})
    _in(world, _time(1, "12", billable=False))
    assert world.invoices() == []
    _in(world, _time(1, "12", billable=True, v=1))
    [inv] = world.invoices()
    assert inv.totals().net.amount == Decimal("1200.00")


def test_two_long_milestone_names_sharing_a_prefix_are_both_billed(world: World) -> None:
    world.source("csv", "csv")
    prefix = "Phase 1 — discovery, requirements, architecture and the first prototype: "
    names = [prefix + "UX research", prefix + "UX testing"]
    c = world.contract("milestone", milestones=[(names[0], "1000.00"), (names[1], "2000.00")])
    world.link("csv", project="WEB", contract=c)
    world.rules({"name": "ms", "when": {"event": "work.completed"}, "build": "milestones"})
    _in(world, _work(names[0]))
    _in(world, _work(names[1]))
    assert sorted(i.totals().net.amount for i in world.invoices()) == [
        Decimal("1000.00"),
        Decimal("2000.00"),
    ]


def test_a_shadow_threshold_counts_each_hour_once(world: World) -> None:
    world.source("csv", "csv")
    contract = world.contract("time_and_materials", rates=RATES)
    world.link("csv", project="SUP", contract=contract)
    world.rules({"name": "5h", "threshold": {"hours": 5}, "build": "time", "shadow": True})
    _in(world, _time(1, "6"))
    _in(world, _time(2, "1"))
    _in(world, _time(3, "5"))
    assert world.invoices() == []
    shadows = [f for f in world.firings() if f["outcome"] == "shadow"]
    assert [Decimal(f["net_total"]) for f in shadows] == [Decimal("600.00"), Decimal("600.00")]


def test_linking_a_project_applies_the_hours_that_waited_for_it(world: World) -> None:
    world.source("csv", "csv")
    contract = world.contract("time_and_materials", rates=RATES)
    world.rules({"name": "5h", "threshold": {"hours": 5}, "build": "time"})
    _in(world, _time(1, "8"))  # imported before anyone linked project SUP
    assert world.invoices() == []
    world.link("csv", project="SUP", contract=contract)
    [inv] = world.invoices()
    assert inv.totals().net.amount == Decimal("800.00")


def test_a_scheduled_invoice_that_failed_bills_once_its_data_is_fixed(world: World) -> None:
    from sqlalchemy import update

    from autoinvoice.adapters.db import tables as t
    from autoinvoice.entrypoints.scheduler import tick

    world.source("csv", "csv")
    contract = world.contract(
        "time_and_materials", rates=[("senior", "150.00"), ("junior", "90.00")]
    )
    world.link("csv", project="SUP", contract=contract)
    world.rules(
        {
            "name": "monthly",
            "schedule": {
                "rrule": "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=7",
                "timezone": "UTC",
                "start": "2026-01-01T07:00",
            },
            "applies_to": {"model": "time_and_materials"},
            "build": "time",
        }
    )
    _in(world, _time(1, "3"))  # Ada has no role and there is no default rate
    world.clock.set(datetime.fromisoformat("2026-12-01T08:00:00+00:00"))
    tick(world.app)
    tick(world.app)
    assert world.invoices() == []
    assert _outcomes(world) == ["failed"]
    assert len(world.audit("rule.failed")) == 1  # alerted once, not on every tick
    with world.app.engine.begin() as c:  # the owner adds a default rate
        c.execute(
            update(t.contracts).values(
                rates=[
                    {"role": "senior", "hourly": "150.00"},
                    {"role": "default", "hourly": "120.00"},
                ]
            )
        )
    tick(world.app)
    [inv] = world.invoices()
    assert inv.totals().net.amount == Decimal("360.00")
    assert _outcomes(world) == ["issued"]


def test_the_same_request_twice_in_one_group_commit_is_stored_once(world: World) -> None:
    from autoinvoice.services.ingest import accepted, store_requests

    src = world.source("github", "gh", secrets={"signing_secret": "s"})
    now = world.clock.now()
    batch = [
        accepted(src.id, "d-1", {}, b'{"a": 1}', now),
        accepted(src.id, "d-2", {}, b'{"a": 2}', now),
        accepted(src.id, "d-1", {}, b'{"a": 1}', now),
    ]
    assert store_requests(batch, uow=world.app.uow()) == [True, True, False]
    assert store_requests(batch[:1], uow=world.app.uow()) == [False]
    with world.app.uow(read_only=True) as uow:
        assert len(uow.inbound.recent(src.id)) == 2
        assert uow.outbox.counts().get("pending") == 2


def test_a_redelivered_entry_with_more_decimals_than_stored_is_not_an_edit(world: World) -> None:
    world.source("csv", "csv")
    contract = world.contract("time_and_materials", rates=RATES)
    world.link("csv", project="SUP", contract=contract)
    world.rules({"name": "0.3h", "threshold": {"hours": "0.3"}, "build": "time"})
    _in(world, _time(1, "0.3333333333"))
    [inv] = world.invoices()
    assert inv.lines[0].quantity == Decimal("0.333333")  # the stored scale, on both databases
    _in(world, _time(1, "0.3333333333", v=1))  # the same entry again, a newer version
    assert world.audit("time_entry.edited_after_billing") == []
