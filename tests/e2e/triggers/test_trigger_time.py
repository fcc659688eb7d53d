"""Time thresholds: once a contract's unbilled hours reach 10, they become an invoice — from
Toggl and Clockify webhooks, Harvest polling and a CSV import — and an hour once billed is
never billed again.

Toggl requests are signed as Toggl documents (``X-Webhook-Signature-256: sha256=<hex HMAC of
the body>``); Clockify sends its webhook token in ``Clockify-Signature`` and must post to the
source's token URL; Harvest is read from a local server answering like its v2 API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from autoinvoice.adapters.connectors.csvfile import ColumnMapping, parse_time_entries
from autoinvoice.adapters.db.tables import events as events_table
from autoinvoice.adapters.db.tables import time_entries
from autoinvoice.services import ingest, sources
from trigger_world import CONNECTORS, World, hex_sig, payload
from vendor_api import Recorded, VendorApi

TOGGL_SECRET = "tg-sub-secret-7Hq2LmZx9"
TOGGL_PROJECT = 193791204
MARIA, TOBIAS = 9547721, 9547722
PEOPLE = {"people": {str(MARIA): "Maria Jensen", str(TOBIAS): "Tobias Krüger"}}
ROLES = {"roles": {"Maria Jensen": "senior"}}
CLOCKIFY_TOKEN = "cfy-whk-Jx83Kd02PqLm55Zt"
HARVEST_TOKEN = "2180736.pt.Xk9vQ2mLrT4s8WzYb1NcHfEj"
THRESHOLD = {
    "name": "ten-hours",
    "threshold": {"hours": 10, "per": "contract"},
    "build": "time",
}
OWNER = "billing@nordlicht.example"
CLIENT_EMAIL = "ap@hanseatic.example"


def _day(d: int, hour: int) -> datetime:
    return datetime(2026, 11, d, hour, 0, tzinfo=UTC)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _contract(world: World) -> int:
    return world.contract("time_and_materials", rates=[("default", "120.00"), ("senior", "150.00")])


# -- Toggl ----------------------------------------------------------------------------------
def _toggl_setup(world: World, **kw: Any) -> int:
    world.source(
        "toggl",
        "toggl",
        secrets={"signing_secret": TOGGL_SECRET},
        options={**PEOPLE, **ROLES},
        **kw,
    )
    contract = _contract(world)
    world.link("toggl", project=str(TOGGL_PROJECT), contract=contract)
    world.rules(THRESHOLD)
    return contract


def _toggl_event(
    event_id: int,
    entry_id: int,
    user_id: int,
    description: str,
    hours: float,
    *,
    start: datetime,
    at: datetime,
    action: str = "created",
) -> bytes:
    """A recorded Toggl delivery with our entry in it (stopped, billable)."""
    data = payload("toggl", "time_entry_created_billable.json")
    seconds = int(hours * 3600)
    stop = start + timedelta(seconds=seconds)
    sent = at + timedelta(seconds=1)
    data.update(event_id=event_id, created_at=_iso(sent), timestamp=_iso(sent), creator_id=user_id)
    meta = data["metadata"]
    meta.update(
        action=action,
        event_user_id=str(user_id),
        model_owner_id=str(user_id),
        time_entry_id=str(entry_id),
        project_id=str(TOGGL_PROJECT),
        request_type="POST" if action == "created" else "PUT",
        path=f"/api/v9/workspaces/7435584/time_entries/{entry_id}",
        request_body=json.dumps(
            {
                "billable": True,
                "description": description,
                "duration": seconds,
                "project_id": TOGGL_PROJECT,
                "start": _iso(start),
                "workspace_id": 7435584,
            }
        ),
    )
    data["payload"].update(
        id=entry_id,
        at=at.isoformat(),
        description=description,
        duration=seconds,
        start=_iso(start),
        stop=_iso(stop),
        project_id=TOGGL_PROJECT,
        task_id=None,
        user_id=user_id,
        uid=user_id,
    )
    return json.dumps(data).encode()


def _toggl_post(world: World, body: bytes, secret: str = TOGGL_SECRET) -> Any:
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Signature-256": "sha256=" + hex_sig(secret, body),
    }
    return world.post("/webhooks/toggl", body, headers)


def _log(world: World, *entry: Any, **kw: Any) -> None:
    """Toggl reports a time entry (see ``_toggl_event``); the worker processes it."""
    r = _toggl_post(world, _toggl_event(*entry, **kw))
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "accepted"}
    world.work()


def test_toggl_hours_crossing_ten_become_one_invoice_by_person_and_task_at_their_rates(
    world: World,
) -> None:
    _toggl_setup(world)
    _log(world, 1, 4001, MARIA, "Architecture review", 4, start=_day(18, 8), at=_day(18, 12))
    _log(world, 2, 4002, MARIA, "Architecture review", 2, start=_day(19, 8), at=_day(19, 10))
    assert world.invoices() == []  # 6 h: below the threshold
    assert world.firings() == []
    _log(world, 3, 4003, TOBIAS, "Route planner API", 5, start=_day(19, 9), at=_day(19, 14))
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"
    lines = [(ln.description, ln.quantity, ln.unit_price, ln.net("EUR")) for ln in inv.lines]
    assert lines == [
        (
            "Architecture review — Maria Jensen (senior)",
            Decimal("6"),
            Decimal("150.00"),
            Decimal("900.00"),
        ),
        (
            "Route planner API — Tobias Krüger (default)",
            Decimal("5"),
            Decimal("120.00"),
            Decimal("600.00"),
        ),
    ]
    totals = inv.totals()
    assert totals.net.amount == Decimal("1500.00")
    assert totals.tax.amount == Decimal("285.00")
    assert totals.gross.amount == Decimal("1785.00")
    [firing] = world.firings()
    assert (firing["rule"], firing["outcome"]) == ("ten-hours", "issued")
    [mail] = world.smtp.wait_for(1)
    assert mail.rcpt_tos == (CLIENT_EMAIL,)
    assert "INV-2026-000001" in mail.message.get("Subject", "")


def test_toggl_validation_ping_is_answered_with_its_code_and_stores_nothing(
    world: World,
) -> None:
    _toggl_setup(world)
    ping = payload("toggl", "ping_validation.json")
    ping["created_at"] = ping["timestamp"] = _iso(world.clock.now())
    body = json.dumps(ping).encode()
    r = _toggl_post(world, body)
    assert r.status_code == 200, r.text
    assert r.json() == {"validation_code": "9d5e3c2a-6f41-4b0e-8a17-2c0f6b1d4e93"}
    assert _toggl_post(world, body, secret="not-the-secret").status_code == 401
    assert world.work() == 0
    assert world.invoices() == []


# -- Clockify -------------------------------------------------------------------------------
CLOCKIFY_PROJECT = "5f11849d4e759e12c40733d5"


def _clockify_entry(entry_id: str, person: str, task: str, start: datetime, minutes: int) -> bytes:
    """The recorded NEW_TIME_ENTRY body for our entry (ids are ObjectIds: creation second
    first)."""
    data = payload("clockify", "new_time_entry.json")
    data["id"] = entry_id
    data["description"] = task
    data["task"]["name"] = task
    data["user"]["name"] = person
    data["timeInterval"] = {
        "start": _iso(start),
        "end": _iso(start + timedelta(minutes=minutes)),
        "duration": f"PT{minutes // 60}H{minutes % 60}M",
    }
    return json.dumps(data).encode()


def _clockify_headers(token: str, event: str = "NEW_TIME_ENTRY") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Clockify-Signature": token,
        "Clockify-Webhook-Event-Type": event,
    }


def test_clockify_posts_only_to_its_token_url_with_its_webhook_token(world: World) -> None:
    source = world.source(
        "clockify", "clockify", secrets={"signing_secret": CLOCKIFY_TOKEN}, options=ROLES
    )
    world.link("clockify", project=CLOCKIFY_PROJECT, contract=_contract(world))
    world.rules(THRESHOLD)
    url = f"/webhooks/clockify/{source.url_token}"
    first = _clockify_entry(
        "6afdcb857db7a8637ffc0001", "Maria Jensen", "Data model", _day(18, 8), 450
    )
    no_token = world.post("/webhooks/clockify", first, _clockify_headers(CLOCKIFY_TOKEN))
    assert no_token.status_code == 401
    assert no_token.headers["content-type"].startswith("application/problem+json")
    wrong = world.post(url, first, _clockify_headers("cfy-whk-guessed"))
    assert wrong.status_code == 401
    unknown = world.post("/webhooks/clockify/not-a-token", first, _clockify_headers(CLOCKIFY_TOKEN))
    assert unknown.status_code == 401
    assert len(world.audit("webhook.rejected")) == 3
    assert world.work() == 0
    r = world.post(url, first, _clockify_headers(CLOCKIFY_TOKEN))
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "accepted"}
    world.work()
    assert world.invoices() == []  # 7.5 h
    second = _clockify_entry(
        "6afed6b57db7a8637ffc0002", "Tobias Krüger", "Data model", _day(19, 8), 150
    )
    assert world.post(url, second, _clockify_headers(CLOCKIFY_TOKEN)).json() == {
        "status": "accepted"
    }
    world.work()
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"
    assert [(ln.description, ln.quantity, ln.net("EUR")) for ln in inv.lines] == [
        ("Data model — Maria Jensen (senior)", Decimal("7.5"), Decimal("1125.00")),
        ("Data model — Tobias Krüger (default)", Decimal("2.5"), Decimal("300.00")),
    ]
    assert inv.totals().gross.amount == Decimal("1695.75")
    [mail] = world.smtp.wait_for(1)
    assert "INV-2026-000001" in mail.message.get("Subject", "")
    with world.app.uow(read_only=True) as uow:
        stored = [uow.inbound.get(r["id"]) for r in uow.inbound.recent(source.id)]
    assert [s.status for s in stored] == ["done", "done"]
    assert all("clockify-signature" not in s.headers for s in stored)  # a credential


# -- billed once, ordering ------------------------------------------------------------------
def _stored_entry(world: World, external_id: str) -> Any:
    c = time_entries.c
    with world.app.engine.connect() as conn:
        return conn.execute(select(time_entries).where(c.external_id == external_id)).one()


def test_a_billed_entry_edited_later_is_not_billed_again_and_the_owner_is_told(
    world: World,
) -> None:
    _toggl_setup(world)
    _log(world, 1, 4001, MARIA, "Architecture review", 6, start=_day(18, 8), at=_day(18, 15))
    _log(world, 2, 4002, TOBIAS, "Route planner API", 5, start=_day(19, 8), at=_day(19, 14))
    [inv] = world.invoices()
    world.smtp.wait_for(1)
    edit = dict(start=_day(19, 8), at=_day(20, 8), action="updated")
    _log(world, 3, 4002, TOBIAS, "Route planner API", 7, **edit)
    assert [i.id for i in world.invoices()] == [inv.id]  # nothing billed twice
    assert [f["outcome"] for f in world.firings()] == ["issued"]
    row = _stored_entry(world, "4002")
    assert (row.invoice_id, Decimal(row.hours), Decimal(row.billed_hours)) == (
        inv.id,
        Decimal("5"),
        Decimal("5"),
    )
    assert row.edited_after_billing is True
    # recorded on the event with what changed, and as the alert to the owner
    audits = world.audit("time_entry.edited_after_billing")
    [edited] = [a for a in audits if a["subject_type"] == "event"]
    [alerted] = [a for a in audits if a["subject_type"] == "source"]
    assert alerted["detail"] == {"message": "A billed time entry was changed in toggl"}
    assert edited["detail"]["entry"] == "4002"
    assert edited["detail"]["fields"]["hours"] == "7.0000"
    invoice_mail, alert = world.smtp.wait_for(2)
    assert alert.rcpt_tos == (OWNER,)
    assert alert.message["Subject"] == "[autoinvoice] A billed time entry was changed in toggl"
    assert "Time entry 4002 was edited after it was billed" in alert.message.get_content()
    assert invoice_mail.rcpt_tos == (CLIENT_EMAIL,)


def test_an_older_update_arriving_late_does_not_change_the_stored_hours(world: World) -> None:
    _toggl_setup(world)
    _log(world, 1, 4001, MARIA, "Architecture review", 4, start=_day(18, 8), at=_day(19, 9))
    _log(world, 2, 4002, TOBIAS, "Route planner API", 5, start=_day(19, 8), at=_day(19, 14))
    # an edit made on the 18th (8 h) reaches us after the state of the 19th (4 h)
    late = dict(start=_day(18, 8), at=_day(18, 17), action="updated")
    _log(world, 3, 4001, MARIA, "Architecture review", 8, **late)
    assert Decimal(_stored_entry(world, "4001").hours) == Decimal("4")
    assert world.invoices() == []  # 9 h; the stale 8 h would have made 13
    c = events_table.c
    with world.app.engine.connect() as conn:
        status = conn.execute(select(c.status).where(c.dedupe_key == "toggl:10713:3")).scalar_one()
    assert status == "superseded"


# -- Harvest (polled) -----------------------------------------------------------------------
def _harvest_pages() -> dict[str, Any]:
    page1 = payload("harvest", "harvest_time_entries_page1.json")
    page2 = payload("harvest", "harvest_time_entries_page2.json")
    # Tobias' long day: 8.67 h instead of 6.07, so the project reaches exactly 10.00 h
    page1["time_entries"][1]["hours"] = 8.67
    page1["time_entries"][1]["rounded_hours"] = 8.75
    return {"1": page1, "2": page2}


def _harvest_route(pages: dict[str, Any]) -> Any:
    def route(req: Recorded) -> tuple[int, Any]:
        return 200, pages[(req.query.get("page") or ["1"])[0]]

    return route


def _harvest_setup(world: World, api: VendorApi) -> None:
    world.source(
        "harvest",
        "harvest",
        secrets={"api_token": HARVEST_TOKEN},
        api_base=api.url,
        options={"account_id": "123", "since": "2024-03-01", **ROLES},
    )
    world.link("harvest", project="39764021", contract=_contract(world))
    world.rules(THRESHOLD)


def _poll(world: World) -> int:
    return ingest.poll_source(
        "harvest",
        uow=world.app.uow(),
        clock=world.app.clock,
        box=world.app.box,
        poller_for=world.app.poller_for,
        actor="test",
    )


def test_harvest_polling_bills_the_linked_project_once_and_keeps_its_cursor(
    world: World,
) -> None:
    with VendorApi({("GET", "/v2/time_entries"): _harvest_route(_harvest_pages())}) as api:
        _harvest_setup(world, api)
        assert _poll(world) == 4  # the running timer gives no event yet
        world.work()
        [inv] = world.invoices()
        assert inv.number == "INV-2026-000001"
        assert [(ln.description, ln.quantity, ln.net("EUR")) for ln in inv.lines] == [
            (
                "Project Management — Maria Jensen (senior)",
                Decimal("1.33"),
                Decimal("199.50"),
            ),
            ("Development — Tobias Krüger (default)", Decimal("8.67"), Decimal("1040.40")),
        ]
        totals = inv.totals()
        assert (totals.net.amount, totals.gross.amount) == (Decimal("1239.90"), Decimal("1475.48"))
        [mail] = world.smtp.wait_for(1)
        assert "INV-2026-000001" in mail.message.get("Subject", "")
        with world.app.uow(read_only=True) as uow:
            assert uow.sources.by_name("harvest").poll_cursor == "2024-03-06T09:15:00Z"

        assert _poll(world) == 4  # the same entries again: recognised, not billed again
        world.work()
        first = api.requests[0]
        assert first.headers["authorization"] == f"Bearer {HARVEST_TOKEN}"
        assert first.headers["harvest-account-id"] == "123"
        assert first.query["updated_since"] == ["2024-03-01T00:00:00Z"]
        assert api.requests[2].query["updated_since"] == ["2024-03-06T09:15:00Z"]
    assert [i.number for i in world.invoices()] == ["INV-2026-000001"]
    assert [f["outcome"] for f in world.firings()] == ["issued"]
    assert len(world.smtp.messages) == 1


# -- stale sources --------------------------------------------------------------------------
def test_a_stale_source_makes_a_held_draft_and_alerts_the_owner_once(world: World) -> None:
    _toggl_setup(world, max_age=timedelta(hours=1))
    _log(world, 1, 4001, MARIA, "Architecture review", 6, start=_day(19, 8), at=_day(19, 15))
    world.clock.advance(timedelta(hours=2))  # nothing heard from Toggl for two hours
    _log(world, 2, 4002, TOBIAS, "Route planner API", 5, start=_day(19, 9), at=_day(19, 14))
    [inv] = world.invoices()
    assert inv.status == "draft"
    assert inv.number is None
    assert inv.hold_reason is not None and "stale" in inv.hold_reason
    assert inv.totals().net.amount == Decimal("1500.00")
    [firing] = world.firings()
    assert firing["outcome"] == "held"
    assert firing["gross_total"] == Decimal("1785.00")
    assert len(world.audit("invoice.needs_attention")) == 1
    assert world.audit("invoice.issued") == []
    assert world.smtp.messages == []  # nothing went to the client

    world.clock.advance(timedelta(hours=2))
    health = dict(uow=world.app.uow(), clock=world.app.clock)
    assert sources.check_source_health(**health) == ["toggl"]
    assert sources.check_source_health(**health) == []
    world.work()
    [stale] = world.audit("source.stale")
    assert stale["detail"]["message"] == "Source 'toggl' is stale"
    [alert] = world.smtp.wait_for(1)
    assert alert.rcpt_tos == (OWNER,)
    assert alert.message["Subject"] == "[autoinvoice] Source 'toggl' is stale"
    assert len(world.smtp.messages) == 1


# -- CSV import -----------------------------------------------------------------------------
CLOCKIFY_REPORT = ColumnMapping(
    columns={
        "person": "User",
        "project_ref": "Project",
        "client_name": "Client",
        "task": "Task",
        "description": "Description",
        "billable": "Billable",
        "day": "Start Date",
        "hours": "Duration (decimal)",
    },
    date_format="%m/%d/%Y",
)


def test_a_csv_import_that_crosses_the_threshold_is_invoiced(world: World) -> None:
    world.source("csv", "timesheets", options=ROLES)
    world.link("timesheets", project="Fleet Portal Relaunch", contract=_contract(world))
    world.rules(THRESHOLD)
    text = (CONNECTORS / "csvfile" / "clockify_detailed_report.csv").read_text()
    # the export of the whole week: Tobias went on developing the next day
    text += (
        '"Fleet Portal Relaunch","Nordwind Logistik","Route planner: clustering tests",'
        '"Development","Tobias Krüger","Delivery","tobias@example.com","","Yes","03/05/2024",'
        '"09:00:00 AM","03/05/2024","11:36:00 AM","02:36:00","2.60","110.00","286.00"\n'
    )
    events = parse_time_entries(text, CLOCKIFY_REPORT, source_name="timesheets.csv")
    outcomes = ingest.ingest_events(
        "timesheets", events, uow=world.app.uow(), clock=world.app.clock, actor="test"
    )
    assert [(o.rule, o.outcome, o.number) for o in outcomes] == [
        ("ten-hours", "issued", "INV-2026-000001")
    ]
    world.work()
    [inv] = world.invoices()
    assert [(ln.description, ln.quantity, ln.net("EUR")) for ln in inv.lines] == [
        ("Project Management — Maria Jensen (senior)", Decimal("1.33"), Decimal("199.50")),
        ("Development — Tobias Krüger (default)", Decimal("8.67"), Decimal("1040.40")),
    ]
    assert inv.totals().gross.amount == Decimal("1475.48")
    [mail] = world.smtp.wait_for(1)
    assert "INV-2026-000001" in mail.message.get("Subject", "")
    # importing the same file again bills nothing
    again = ingest.ingest_events(
        "timesheets", events, uow=world.app.uow(), clock=world.app.clock, actor="test"
    )
    assert again == []
    assert len(world.invoices()) == 1
