"""Contracts and assembly: retainer, seats, milestones and time & materials into drafts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from autoinvoice.domain.assembly import assemble_milestones, assemble_retainer, assemble_time
from autoinvoice.domain.contracts import BillingModel, Contract, Milestone, Rate, TimeEntry
from autoinvoice.domain.errors import InvalidValue, MissingData
from autoinvoice.domain.invoice import InvoiceStatus
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.recurrence import Recurrence
from autoinvoice.domain.tax import NOTE_REVERSE_CHARGE, TaxCategory, TaxKind
from autoinvoice.domain.terms import PaymentTerms

D = Decimal
MONTHLY = Recurrence("FREQ=MONTHLY;BYMONTHDAY=1", "Europe/Berlin", datetime(2026, 1, 1, 6))  # noqa: DTZ001
MARCH_OCCURRENCE = datetime(2026, 3, 1, 5, tzinfo=UTC)  # 06:00 Berlin


def make_party(**overrides) -> Party:
    values = {
        "emails": ("ap@example.com",),
        "name": "Kunde GmbH",
        "country": "DE",
        "address": Address(("Torstraße 1",), "Berlin", "10119", "DE"),
    }
    return Party(**(values | overrides))


SELLER = make_party(name="Seller GmbH", tax_id="DE136695976")
BUYER = make_party()


def make_contract(**overrides) -> Contract:
    values = {
        "name": "Managed services",
        "model": BillingModel.RETAINER,
        "currency": "EUR",
        "terms": PaymentTerms.parse("net:14"),
        "amount": D("2500.00"),
        "recurrence": MONTHLY,
    }
    return Contract(**(values | overrides))


def milestone_contract(**overrides) -> Contract:
    values = {
        "name": "Website",
        "model": BillingModel.MILESTONE,
        "amount": None,
        "recurrence": None,
        "milestones": (
            Milestone("Design", D("4000")),
            Milestone("Build", D("9000.50")),
            Milestone("Launch", D("1500")),
        ),
    }
    return make_contract(**(values | overrides))


def tm_contract(**overrides) -> Contract:
    values = {
        "name": "Support",
        "model": BillingModel.TIME_AND_MATERIALS,
        "amount": None,
        "recurrence": None,
        "rates": (Rate("developer", D("95.00")), Rate("architect", D("140.00"))),
    }
    return make_contract(**(values | overrides))


def entry(person: str, role: str, task: str, hours: str, day: int) -> TimeEntry:
    return TimeEntry(person, role, task, D(hours), date(2026, 3, day))


# -- retainers -----------------------------------------------------------------------------


def test_a_retainer_becomes_one_line_for_its_service_period():
    inv = assemble_retainer(make_contract(), SELLER, BUYER, MARCH_OCCURRENCE)
    assert inv.status is InvoiceStatus.DRAFT
    assert (inv.currency, inv.terms) == ("EUR", PaymentTerms.parse("net:14"))
    [line] = inv.lines
    assert line.description == "Managed services, 01 Mar 2026 – 31 Mar 2026"
    assert (line.quantity, line.unit_price, line.unit) == (D(1), D("2500.00"), "month")
    assert (line.period_start, line.period_end) == (date(2026, 3, 1), date(2026, 3, 31))
    assert line.tax.category is TaxCategory.STANDARD and line.tax.rate == D("19")
    assert inv.totals().gross.amount == D("2975.00")


def test_a_retainer_line_uses_the_contract_description_when_there_is_one():
    contract = make_contract(description="Cloud operations")
    [line] = assemble_retainer(contract, SELLER, BUYER, MARCH_OCCURRENCE).lines
    assert line.description.startswith("Cloud operations, ")


def test_the_retainer_period_follows_the_local_month_of_the_occurrence():
    # the February occurrence is 31 Jan 23:00Z when the schedule runs at midnight Berlin
    rec = Recurrence("FREQ=MONTHLY;BYMONTHDAY=1", "Europe/Berlin", datetime(2026, 1, 1))  # noqa: DTZ001
    occurrence = datetime(2026, 1, 31, 23, tzinfo=UTC)
    [line] = assemble_retainer(make_contract(recurrence=rec), SELLER, BUYER, occurrence).lines
    assert (line.period_start, line.period_end) == (date(2026, 2, 1), date(2026, 2, 28))


def test_a_seat_retainer_bills_seats_times_the_seat_price():
    contract = make_contract(amount=None, seats=12, seat_price=D("49.90"))
    inv = assemble_retainer(contract, SELLER, BUYER, MARCH_OCCURRENCE)
    [line] = inv.lines
    assert line.description == "Managed services: 12 seats, 01 Mar 2026 – 31 Mar 2026"
    assert (line.quantity, line.unit_price, line.unit) == (D(12), D("49.90"), "seat")
    assert line.net("EUR") == D("598.80")


def test_a_retainer_to_an_eu_business_abroad_is_reverse_charged_with_its_note():
    buyer = make_party(
        country="FR",
        tax_id="FR40303265045",
        address=Address(("1 rue de Rivoli",), "Paris", "75001", "FR"),
    )
    inv = assemble_retainer(make_contract(), SELLER, buyer, MARCH_OCCURRENCE)
    assert inv.lines[0].tax.category is TaxCategory.REVERSE_CHARGE
    assert inv.totals().tax.is_zero()
    assert inv.legal_notes() == [NOTE_REVERSE_CHARGE]


def test_a_reduced_rate_contract_puts_the_reduced_rate_on_its_line():
    inv = assemble_retainer(
        make_contract(tax_kind=TaxKind.REDUCED), SELLER, BUYER, MARCH_OCCURRENCE
    )
    assert inv.lines[0].tax.rate == D("7")


def test_assembling_a_retainer_from_another_model_raises_invalid_contract():
    with pytest.raises(InvalidValue) as exc:
        assemble_retainer(milestone_contract(), SELLER, BUYER, MARCH_OCCURRENCE)
    assert exc.value.field == "contract"


def test_an_assembled_retainer_can_be_issued():
    inv = assemble_retainer(make_contract(), SELLER, BUYER, MARCH_OCCURRENCE)
    inv.issue("INV-2026-000001", date(2026, 3, 1), MARCH_OCCURRENCE)
    assert inv.due_date == date(2026, 3, 15)


# -- milestones ----------------------------------------------------------------------------


def test_each_completed_milestone_is_its_own_line_in_the_order_named():
    inv = assemble_milestones(milestone_contract(), SELLER, BUYER, ["Build", "Design"])
    assert [(ln.description, ln.unit_price, ln.unit) for ln in inv.lines] == [
        ("Website — milestone: Build", D("9000.50"), "phase"),
        ("Website — milestone: Design", D("4000"), "phase"),
    ]
    assert all(ln.quantity == 1 for ln in inv.lines)
    assert inv.totals().net.amount == D("13000.50")


def test_an_unknown_milestone_raises_missing_milestone():
    with pytest.raises(MissingData) as exc:
        assemble_milestones(milestone_contract(), SELLER, BUYER, ["Design", "Hosting"])
    assert exc.value.field == "milestone"


def test_billing_no_milestone_raises_missing_milestones():
    with pytest.raises(MissingData) as exc:
        assemble_milestones(milestone_contract(), SELLER, BUYER, [])
    assert exc.value.field == "milestones"


def test_assembling_milestones_from_a_retainer_raises_invalid_contract():
    with pytest.raises(InvalidValue) as exc:
        assemble_milestones(make_contract(), SELLER, BUYER, ["Design"])
    assert exc.value.field == "contract"


# -- time and materials --------------------------------------------------------------------


def test_time_is_grouped_by_person_role_and_task_at_the_roles_rate():
    entries = [
        entry("Ana", "developer", "API", "3.5", 2),
        entry("Ben", "architect", "Review", "1", 4),
        entry("Ana", "developer", "API", "4.25", 9),
        entry("Ana", "developer", "Bugfix", "0.5", 3),
        entry("Ana", "architect", "API", "2", 5),
    ]
    inv = assemble_time(tm_contract(), SELLER, BUYER, entries)
    rows = [
        (ln.description, ln.quantity, ln.unit_price, ln.unit, ln.period_start, ln.period_end)
        for ln in inv.lines
    ]
    assert rows == [
        ("API — Ana (architect)", D("2"), D("140.00"), "h", date(2026, 3, 5), date(2026, 3, 5)),
        ("API — Ana (developer)", D("7.75"), D("95.00"), "h", date(2026, 3, 2), date(2026, 3, 9)),
        ("Bugfix — Ana (developer)", D("0.5"), D("95.00"), "h", date(2026, 3, 3), date(2026, 3, 3)),
        ("Review — Ben (architect)", D("1"), D("140.00"), "h", date(2026, 3, 4), date(2026, 3, 4)),
    ]
    # 280.00 + 736.25 + 47.50 + 140.00
    assert inv.totals().net.amount == D("1203.75")


def test_time_for_a_role_without_a_rate_raises_missing_role():
    with pytest.raises(MissingData) as exc:
        assemble_time(tm_contract(), SELLER, BUYER, [entry("Cy", "designer", "UI", "2", 2)])
    assert exc.value.field == "role"


def test_assembling_time_without_entries_raises_missing_entries():
    with pytest.raises(MissingData) as exc:
        assemble_time(tm_contract(), SELLER, BUYER, [])
    assert exc.value.field == "entries"


def test_assembling_time_from_a_retainer_raises_invalid_contract():
    with pytest.raises(InvalidValue) as exc:
        assemble_time(make_contract(), SELLER, BUYER, [entry("Ana", "developer", "API", "1", 2)])
    assert exc.value.field == "contract"


# -- contract invariants -------------------------------------------------------------------


def test_a_retainer_without_a_schedule_raises_missing_recurrence():
    with pytest.raises(MissingData) as exc:
        make_contract(recurrence=None)
    assert exc.value.field == "recurrence"


@pytest.mark.parametrize("seats_and_price", [{}, {"seats": 3}, {"seat_price": D("10")}])
def test_a_retainer_without_an_amount_or_seats_and_price_raises_missing_amount(seats_and_price):
    with pytest.raises(MissingData) as exc:
        make_contract(amount=None, **seats_and_price)
    assert exc.value.field == "amount"


@pytest.mark.parametrize("amount", [D("0"), D("-1"), "0"])
def test_a_retainer_amount_must_be_positive(amount):
    with pytest.raises(InvalidValue) as exc:
        make_contract(amount=amount)
    assert exc.value.field == "amount"


def test_a_float_retainer_amount_is_refused():
    with pytest.raises(InvalidValue) as exc:
        make_contract(amount=2500.0)
    assert exc.value.field == "amount"


@pytest.mark.parametrize("seats", [0, -2])
def test_seats_must_be_positive(seats):
    with pytest.raises(InvalidValue) as exc:
        make_contract(amount=None, seats=seats, seat_price=D("10"))
    assert exc.value.field == "seats"


@pytest.mark.parametrize("price", [D("0"), D("-49.90")])
def test_a_seat_price_must_be_positive(price):
    with pytest.raises(InvalidValue) as exc:
        make_contract(amount=None, seats=3, seat_price=price)
    assert exc.value.field == "seat_price"


def test_a_milestone_contract_without_milestones_raises_missing_milestones():
    with pytest.raises(MissingData) as exc:
        milestone_contract(milestones=())
    assert exc.value.field == "milestones"


def test_a_time_and_materials_contract_without_rates_raises_missing_rates():
    with pytest.raises(MissingData) as exc:
        tm_contract(rates=())
    assert exc.value.field == "rates"


def test_a_contract_ending_before_it_starts_raises_invalid_ends_on():
    with pytest.raises(InvalidValue) as exc:
        make_contract(starts_on=date(2026, 3, 1), ends_on=date(2026, 2, 28))
    assert exc.value.field == "ends_on"


def test_a_contract_needs_a_name():
    with pytest.raises(InvalidValue) as exc:
        make_contract(name=" ")
    assert exc.value.field == "name"


@pytest.mark.parametrize("amount", [D("0"), D("-5")])
def test_a_milestone_amount_must_be_positive(amount):
    with pytest.raises(InvalidValue) as exc:
        Milestone("Design", amount)
    assert exc.value.field == "milestones.amount"


def test_an_hourly_rate_cannot_be_negative_but_may_be_zero():
    assert Rate("intern", D("0")).hourly == 0
    with pytest.raises(InvalidValue) as exc:
        Rate("intern", D("-1"))
    assert exc.value.field == "rates.hourly"


@pytest.mark.parametrize("hours", [D("0"), D("-0.25")])
def test_logged_hours_must_be_positive(hours):
    with pytest.raises(InvalidValue) as exc:
        TimeEntry("Ana", "developer", "API", hours, date(2026, 3, 2))
    assert exc.value.field == "hours"


def test_a_contract_covers_the_days_from_its_start_to_its_end_inclusive():
    contract = make_contract(starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    assert not contract.covers(date(2025, 12, 31))
    assert contract.covers(date(2026, 1, 1))
    assert contract.covers(date(2026, 12, 31))
    assert not contract.covers(date(2027, 1, 1))


def test_an_inactive_contract_covers_no_day():
    assert not make_contract(active=False).covers(date(2026, 6, 1))
