"""The schedule tick on both databases: each retainer period is billed exactly once,
missed periods are caught up, and two schedulers never double-bill."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from autoinvoice.services.invoicing import fire_due_schedules
from builders import make_app, make_client, make_entity, make_retainer


@pytest.fixture
def app(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    a = make_app(database_url, tmp_path)
    yield a
    a.engine.dispose()


def _tick(app):  # type: ignore[no-untyped-def]
    return fire_due_schedules(uow=app.uow(), clock=app.clock)


def _invoices(app):  # type: ignore[no-untyped-def]
    with app.uow(read_only=True) as uow:
        return [uow.invoices.get(s.id) for s in reversed(uow.invoices.summaries())]


def test_a_monthly_retainer_fires_on_the_first_and_not_again_that_month(app) -> None:
    make_retainer(app, make_client(app, make_entity(app)))
    app.clock.set(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))  # 1 Dec 00:00 Berlin: not yet 06:00
    assert _tick(app).issued == []
    app.clock.set(datetime(2026, 12, 1, 5, 0, tzinfo=UTC))  # 06:00 Berlin
    assert _tick(app).issued == ["INV-2026-000001"]
    app.clock.set(datetime(2026, 12, 20, 5, 0, tzinfo=UTC))
    assert _tick(app).issued == []
    [inv] = _invoices(app)
    line = inv.lines[0]
    assert (line.period_start, line.period_end) == (date(2026, 12, 1), date(2026, 12, 31))
    assert inv.gross.amount == Decimal("5355.00")


def test_periods_missed_while_the_service_was_down_are_each_billed_once(app) -> None:
    make_retainer(app, make_client(app, make_entity(app)))
    app.clock.set(datetime(2027, 3, 2, 12, 0, tzinfo=UTC))
    report = _tick(app)
    assert len(report.issued) == 4  # Dec, Jan, Feb, Mar
    periods = [inv.lines[0].period_start for inv in _invoices(app)]
    assert periods == [date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)]
    assert _tick(app).issued == []


def test_two_schedulers_running_at_once_bill_each_period_once(app) -> None:
    entity = make_entity(app)
    for i in range(6):
        make_retainer(app, make_client(app, entity, name=f"Client {i} GmbH"))
    app.clock.set(datetime(2027, 1, 1, 7, 0, tzinfo=UTC))  # Dec and Jan due for each
    reports, errors = [], []

    def run() -> None:
        try:
            reports.append(fire_due_schedules(uow=app.uow(), clock=app.clock))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    issued = [n for r in reports for n in r.issued]
    assert len(issued) == len(set(issued)) == 12
    keys = [(inv.contract_id, inv.lines[0].period_start) for inv in _invoices(app)]
    assert len(keys) == len(set(keys)) == 12


def test_a_retainer_whose_client_lacks_an_address_is_held_without_taking_a_number(app) -> None:
    entity = make_entity(app)
    make_retainer(app, make_client(app, entity, address=None, name="No Address Ltd"))
    make_retainer(app, make_client(app, entity))
    app.clock.set(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    report = _tick(app)
    assert report.issued == ["INV-2026-000001"]
    assert len(report.held) == 1 and "no billing address" in report.held[0][1]
    held = [inv for inv in _invoices(app) if inv.number is None]
    assert len(held) == 1 and held[0].hold_reason
    with app.uow(read_only=True) as uow:
        assert any(a["action"] == "invoice.needs_attention" for a in uow.audit.recent())
    assert _tick(app).issued == []  # held once, not re-created every tick


def test_a_cross_border_retainer_without_the_clients_vat_id_fails_loudly(app) -> None:
    entity = make_entity(app)
    from autoinvoice.domain.parties import Address

    make_retainer(
        app,
        make_client(
            app,
            entity,
            country="FR",
            tax_id=None,
            address=Address(("1 rue X",), "Lyon", "69002", "FR"),
        ),
    )
    app.clock.set(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    report = _tick(app)
    assert report.issued == [] and "VAT identification number" in report.held[0][1]


def test_a_contract_that_has_ended_stops_billing(app) -> None:
    make_retainer(app, make_client(app, make_entity(app)), ends_on=date(2026, 12, 31))
    app.clock.set(datetime(2027, 3, 1, 6, 0, tzinfo=UTC))
    report = _tick(app)
    assert report.issued == ["INV-2027-000001"] and report.skipped == 3  # Dec billed late
    [inv] = _invoices(app)
    assert inv.lines[0].period_start == date(2026, 12, 1)
    with app.uow(read_only=True) as uow:
        assert uow.contracts.due(datetime(2030, 1, 1, tzinfo=UTC), 10) == []


def _set_client(app, client_id: int, **values) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from autoinvoice.adapters.db import tables as t

    with app.uow() as uow:  # no client-editing use case yet: the data is fixed by hand
        uow.connection.execute(
            update(t.clients).where(t.clients.c.id == client_id).values(**values)
        )
        uow.commit()


def test_a_held_draft_issues_once_the_client_data_is_fixed(app) -> None:
    from autoinvoice.services.invoicing import issue_invoice

    client = make_client(app, make_entity(app), address=None)
    make_retainer(app, client)
    app.clock.set(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    assert _tick(app).issued == []
    [held] = _invoices(app)
    _set_client(
        app,
        client,
        address={
            "lines": ["Am Sandtorkai 50"],
            "city": "Hamburg",
            "postal_code": "20457",
            "country": "DE",
        },
    )
    assert issue_invoice(held.id, uow=app.uow(), clock=app.clock, actor="t") == "INV-2026-000001"
    [issued] = _invoices(app)
    assert issued.buyer.address is not None and issued.buyer.address.city == "Hamburg"


def test_deleting_a_held_draft_makes_its_period_due_again(app) -> None:
    from autoinvoice.services.invoicing import delete_draft

    client = make_client(app, make_entity(app), address=None)
    make_retainer(app, client)
    app.clock.set(datetime(2027, 1, 2, 6, 0, tzinfo=UTC))
    assert len(_tick(app).held) == 2  # Dec and Jan, both held
    held = _invoices(app)
    _set_client(
        app,
        client,
        address={
            "lines": ["Am Sandtorkai 50"],
            "city": "Hamburg",
            "postal_code": "20457",
            "country": "DE",
        },
    )
    delete_draft(held[0].id, uow=app.uow(), clock=app.clock, actor="t")
    report = _tick(app)
    assert report.issued == ["INV-2027-000001"]
    periods = sorted((i.lines[0].period_start, i.number) for i in _invoices(app))
    assert periods == [(date(2026, 12, 1), "INV-2027-000001"), (date(2027, 1, 1), None)]


def test_a_failed_period_bills_on_a_later_tick_once_the_vat_id_is_there(app) -> None:
    from autoinvoice.domain.parties import Address

    client = make_client(
        app,
        make_entity(app),
        country="FR",
        tax_id=None,
        address=Address(("1 rue X",), "Lyon", "69002", "FR"),
    )
    make_retainer(app, client)
    app.clock.set(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    assert _tick(app).issued == []
    assert _tick(app).issued == []  # still missing: no invoice, no second alert
    _set_client(app, client, tax_id="FR40303265045")
    assert _tick(app).issued == ["INV-2026-000001"]
    assert _tick(app).issued == []
    with app.uow(read_only=True) as uow:
        alerts = [a for a in uow.audit.recent() if a["action"] == "invoice.needs_attention"]
    assert len(alerts) == 1
    [inv] = _invoices(app)
    assert inv.lines[0].tax.category.value == "AE"


def test_an_unexpected_error_on_one_contract_does_not_stop_the_others(app, monkeypatch) -> None:
    from autoinvoice.services import invoicing

    entity = make_entity(app)
    broken = make_retainer(app, make_client(app, entity, name="Broken AG"))
    make_retainer(app, make_client(app, entity))
    real = invoicing.assemble_retainer

    def flaky(contract, *args):  # type: ignore[no-untyped-def]
        if contract.id == broken:
            raise RuntimeError("disk on fire")
        return real(contract, *args)

    monkeypatch.setattr(invoicing, "assemble_retainer", flaky)
    app.clock.set(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    report = _tick(app)
    assert report.issued == ["INV-2026-000001"]
    assert "disk on fire" in report.held[0][1]
    monkeypatch.setattr(invoicing, "assemble_retainer", real)
    assert _tick(app).issued == ["INV-2026-000002"]  # retried on the next tick
