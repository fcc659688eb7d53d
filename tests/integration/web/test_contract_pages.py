"""Contract pages: the list, one contract, and the form for each billing model."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from setup_support import audit_actions, demo, errors_on, signed_in
from web_support import add_user

from autoinvoice.bootstrap import App
from autoinvoice.domain.contracts import BillingModel, Contract
from autoinvoice.services import invoicing


def contracts(app: App) -> list[Contract]:
    with app.uow(read_only=True) as uow:
        return uow.contracts.list()


def first_client(app: App) -> str:
    with app.uow(read_only=True) as uow:
        return str(uow.clients.list()[0].id)


def test_the_list_shows_model_amounts_and_schedule(sqlite_url: str, tmp_path: Path) -> None:
    app = demo(sqlite_url, tmp_path)
    with signed_in(app) as (web, _):
        page = web.get("/contracts").text
    assert "Managed IT retainer" in page and "€4,500.00" in page
    assert "12 seats × €85.00" in page
    assert "Monthly on the 1st" in page
    assert "3 milestones" in page and "$46,000.00" in page
    assert "Senior engineer: €120.00/h" in page
    assert 'href="/contracts/new"' in page


def test_a_contract_page_shows_its_terms_milestones_rates_and_invoices(
    sqlite_url: str, tmp_path: Path
) -> None:
    app = demo(sqlite_url, tmp_path)
    app.clock.set(app.clock.now().replace(month=12, day=1, hour=6, minute=30))  # type: ignore[attr-defined]
    invoicing.fire_due_schedules(uow=app.uow(), clock=app.clock)
    by_model = {c.model: c for c in reversed(contracts(app))}  # the first of each model
    with signed_in(app) as (web, _):
        retainer = web.get(f"/contracts/{by_model[BillingModel.RETAINER].id}").text
        milestones = web.get(f"/contracts/{by_model[BillingModel.MILESTONE].id}").text
        rates = web.get(f"/contracts/{by_model[BillingModel.TIME_AND_MATERIALS].id}").text
        assert web.get("/contracts/999").status_code == 404
    assert "Monthly on the 1st, 06:00 Europe/Berlin" in retainer
    assert "INV-2026-000001" in retainer  # made from this contract
    assert "Discovery and architecture" in milestones and "Not yet" in milestones
    assert "$46,000.00" in milestones
    assert "Project manager" in rates and "€110.00" in rates


def test_a_retainer_with_seats_on_a_quarterly_schedule_is_stored(
    database_url: str, tmp_path: Path
) -> None:
    app = demo(database_url, tmp_path)
    data = {
        "client_id": first_client(app),
        "name": "Helpdesk seats",
        "description": "Helpdesk per seat",
        "model": "retainer",
        "pricing": "seats",
        "seats": "8",
        "seat_price": "49.50",
        "schedule": "quarterly",
        "tax_kind": "standard",
        "terms": "net:14",
    }
    with signed_in(app) as (web, token):
        r = web.post("/contracts/new", data={**data, "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303, r.text
        page = web.get(r.headers["location"]).text
    stored = next(c for c in contracts(app) if c.name == "Helpdesk seats")
    assert (stored.seats, stored.seat_price) == (8, Decimal("49.50"))
    assert stored.recurrence is not None
    assert stored.recurrence.rule == "FREQ=MONTHLY;BYMONTH=1,4,7,10;BYMONTHDAY=1"
    assert stored.recurrence.timezone == "Europe/Berlin"
    assert stored.terms.code == "net:14"
    assert "Quarterly on the 1st" in page and "€396.00" in page
    assert "contract.created" in audit_actions(app)


def test_milestones_and_rates_come_from_the_table_rows(database_url: str, tmp_path: Path) -> None:
    app = demo(database_url, tmp_path)
    client_id = first_client(app)
    milestones = {
        "client_id": client_id,
        "name": "Website relaunch",
        "model": "milestone",
        "milestone_name": ["Design", "Build", ""],
        "milestone_amount": ["5000", "12,500.00", ""],
    }
    rates = {
        "client_id": client_id,
        "name": "Support hours",
        "model": "time_and_materials",
        "rate_role": ["Engineer", "default"],
        "rate_hourly": ["95", "80"],
    }
    with signed_in(app) as (web, token):
        for data in (milestones, rates):
            r = web.post("/contracts/new", data={**data, "csrf_token": token})
            assert r.status_code == 200, r.text
    stored = {c.name: c for c in contracts(app)}
    relaunch = stored["Website relaunch"]
    assert [(m.name, m.amount) for m in relaunch.milestones] == [
        ("Design", Decimal("5000")),
        ("Build", Decimal("12500.00")),
    ]
    assert [(x.role, x.hourly) for x in stored["Support hours"].rates] == [
        ("Engineer", Decimal("95")),
        ("default", Decimal("80")),
    ]
    assert relaunch.currency == "EUR"  # the client's, when none is chosen


def test_a_wrong_contract_form_is_drawn_again_and_nothing_is_stored(
    database_url: str, tmp_path: Path
) -> None:
    app = demo(database_url, tmp_path)
    before = len(contracts(app))
    data = {
        "client_id": first_client(app),
        "name": "",
        "model": "milestone",
        "milestone_name": ["Design", ""],
        "milestone_amount": ["lots", "300"],
        "ends_on": "someday",
    }
    with signed_in(app) as (web, token):
        r = web.post("/contracts/new", data={**data, "csrf_token": token})
        assert r.status_code == 422
        assert errors_on(r.text) == {"name", "milestone-0", "milestone-1", "ends_on"}
        assert "Row 2: enter the phase name" in r.text
        assert 'value="Design"' in r.text
        retainer = {"client_id": first_client(app), "name": "R", "model": "retainer"}
        bad_rule = {**retainer, "amount": "10", "schedule": "custom", "rrule": "FREQ=SOMETIMES"}
        r = web.post("/contracts/new", data={**bad_rule, "csrf_token": token})
        assert r.status_code == 422 and "error-rrule" in r.text
        r = web.post("/contracts/new", data={**retainer, "amount": "-5", "csrf_token": token})
        assert r.status_code == 422 and "must be positive" in r.text
        r = web.post("/contracts/new", data={**retainer, "model": "deal", "csrf_token": token})
        assert r.status_code == 422 and "needs no contract" in r.text
        r = web.post("/contracts/new", data={**retainer, "client_id": "999", "csrf_token": token})
        assert r.status_code == 422 and "error-client_id" in r.text
    assert len(contracts(app)) == before


def test_more_rows_draws_the_form_again_without_storing(sqlite_url: str, tmp_path: Path) -> None:
    app = demo(sqlite_url, tmp_path)
    before = len(contracts(app))
    data = {
        "client_id": first_client(app),
        "name": "Phases",
        "model": "milestone",
        "milestone_name": ["A", "B", "C"],
        "milestone_amount": ["1", "2", "3"],
        "more": "milestones",
    }
    with signed_in(app) as (web, token):
        r = web.post("/contracts/new", data={**data, "csrf_token": token})
    assert r.status_code == 200
    assert r.text.count('name="milestone_name"') == 6
    assert len(contracts(app)) == before


def test_a_viewer_sees_contracts_but_cannot_add_one(sqlite_url: str, tmp_path: Path) -> None:
    app = demo(sqlite_url, tmp_path)
    add_user(app, "viewer@fjord.example", "only looking here", "viewer")
    before = len(contracts(app))
    with signed_in(app, "viewer@fjord.example", "only looking here") as (web, token):
        page = web.get("/contracts")
        assert page.status_code == 200 and "/contracts/new" not in page.text
        assert web.get(f"/contracts/{contracts(app)[0].id}").status_code == 200
        assert web.get("/contracts/new").status_code == 403
        data = {"client_id": first_client(app), "name": "R", "amount": "10", "csrf_token": token}
        assert web.post("/contracts/new", data=data).status_code == 403
    assert len(contracts(app)) == before


def test_the_contract_form_needs_the_csrf_token(sqlite_url: str, tmp_path: Path) -> None:
    app = demo(sqlite_url, tmp_path)
    before = len(contracts(app))
    with signed_in(app) as (web, _):
        data = {"client_id": first_client(app), "name": "R", "amount": "10"}
        assert web.post("/contracts/new", data=data).status_code == 403
    assert len(contracts(app)) == before
