"""Recurring schedules: RRULEs evaluated in the contract's time zone."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.recurrence import Recurrence, require_aware, zone

BERLIN = "Europe/Berlin"
MONTHLY_FIRST = "FREQ=MONTHLY;BYMONTHDAY=1"
LAST_BUSINESS_DAY = "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"
# naive on purpose: dtstart is a wall-clock time in the contract's zone
SIX_AM_JAN_1 = datetime(2026, 1, 1, 6)  # noqa: DTZ001


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def monthly(
    rule: str = MONTHLY_FIRST, tz: str = BERLIN, start: datetime = SIX_AM_JAN_1
) -> Recurrence:
    return Recurrence(rule, tz, start)


# -- time zones and DST --------------------------------------------------------------------


def test_monthly_on_the_first_keeps_the_berlin_wall_clock_across_the_dst_change():
    # 06:00 in Berlin is 05:00Z in winter (CET) and 04:00Z in summer (CEST).
    occ = monthly().between(utc(2026, 2, 15), utc(2026, 4, 2))
    assert occ == [utc(2026, 3, 1, 5), utc(2026, 4, 1, 4)]
    assert all(o.tzinfo is UTC for o in occ)


def test_occurrences_are_the_first_of_the_month_in_the_contract_zone():
    r = monthly()
    occ = r.between(utc(2025, 12, 31), utc(2026, 12, 31))
    assert [r.local_date(o) for o in occ] == [date(2026, m, 1) for m in range(1, 13)]


def test_the_same_rule_in_new_york_fires_at_new_york_wall_clock():
    occ = monthly(tz="America/New_York").between(utc(2026, 2, 15), utc(2026, 4, 2))
    # EST is UTC-5 until 8 March 2026, EDT UTC-4 after.
    assert occ == [utc(2026, 3, 1, 11), utc(2026, 4, 1, 10)]


def test_an_aware_dtstart_in_the_contract_zone_is_taken_as_its_wall_clock():
    start = datetime(2026, 1, 1, 6, tzinfo=ZoneInfo(BERLIN))
    r = Recurrence(MONTHLY_FIRST, BERLIN, start)
    assert r.dtstart == datetime(2026, 1, 1, 6)  # noqa: DTZ001
    assert r.between(utc(2026, 1, 1), utc(2026, 1, 2)) == [utc(2026, 1, 1, 5)]


def test_an_aware_dtstart_in_another_zone_is_converted_to_the_contract_zone():
    r = Recurrence(MONTHLY_FIRST, BERLIN, utc(2026, 1, 1, 5))
    assert r.between(utc(2026, 1, 1), utc(2026, 1, 2)) == [utc(2026, 1, 1, 5)]


# -- rules ---------------------------------------------------------------------------------


def test_last_business_day_of_each_month_in_2026():
    r = monthly(LAST_BUSINESS_DAY, start=datetime(2026, 1, 1, 9))  # noqa: DTZ001
    days = [r.local_date(o) for o in r.between(utc(2025, 12, 31), utc(2026, 12, 31, 23))]
    assert days == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 29),
        date(2026, 6, 30),
        date(2026, 7, 31),
        date(2026, 8, 31),
        date(2026, 9, 30),
        date(2026, 10, 30),
        date(2026, 11, 30),
        date(2026, 12, 31),
    ]
    for d in days:  # cross-check: a weekday with no weekday after it in its month
        last = date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])
        assert d.weekday() < 5
        assert all((d + timedelta(days=k)).weekday() >= 5 for k in range(1, (last - d).days + 1))


def test_quarterly_fires_every_third_month():
    r = monthly("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1")
    days = [r.local_date(o) for o in r.between(utc(2025, 12, 31), utc(2027, 1, 2))]
    assert days == [
        date(2026, 1, 1),
        date(2026, 4, 1),
        date(2026, 7, 1),
        date(2026, 10, 1),
        date(2027, 1, 1),
    ]


def test_an_rrule_prefix_is_accepted():
    assert monthly("RRULE:" + MONTHLY_FIRST).between(utc(2026, 2, 15), utc(2026, 3, 2)) == [
        utc(2026, 3, 1, 5)
    ]


def test_count_limits_the_occurrences():
    r = monthly(MONTHLY_FIRST + ";COUNT=2")
    assert len(r.between(utc(2025, 1, 1), utc(2030, 1, 1))) == 2
    assert r.next_after(utc(2026, 2, 1, 5)) is None


def test_an_impossible_date_yields_no_occurrences_rather_than_an_error():
    # Documented behaviour: 30 February never happens; dateutil returns nothing (after
    # scanning up to year 9999, ~0.2 s). Callers must treat "no next occurrence" as a
    # schedule that will never fire.
    r = monthly("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")
    assert r.between(utc(2026, 1, 1), utc(2036, 1, 1)) == []
    assert r.next_after(utc(2026, 1, 1)) is None


# -- between / next_after ------------------------------------------------------------------


def test_between_excludes_after_and_includes_until():
    r = monthly()
    march, april = utc(2026, 3, 1, 5), utc(2026, 4, 1, 4)
    assert r.between(march, april) == [april]


def test_between_just_before_an_occurrence_includes_it():
    r = monthly()
    march = utc(2026, 3, 1, 5)
    assert r.between(march - timedelta(seconds=1), march) == [march]


def test_between_accepts_bounds_in_any_zone():
    r = monthly()
    after = datetime(2026, 2, 28, 23, 0, tzinfo=ZoneInfo("America/New_York"))  # 04:00Z 1 Mar
    assert r.between(after, utc(2026, 3, 2)) == [utc(2026, 3, 1, 5)]


def test_next_after_skips_the_moment_itself():
    r = monthly()
    assert r.next_after(utc(2026, 3, 1, 5)) == utc(2026, 4, 1, 4)
    assert r.next_after(utc(2026, 3, 1, 4, 59)) == utc(2026, 3, 1, 5)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda r: r.between(datetime(2026, 1, 1), utc(2026, 2, 1)), "after"),  # noqa: DTZ001
        (lambda r: r.between(utc(2026, 1, 1), datetime(2026, 2, 1)), "until"),  # noqa: DTZ001
        (lambda r: r.next_after(datetime(2026, 1, 1)), "moment"),  # noqa: DTZ001
    ],
    ids=["after", "until", "moment"],
)
def test_naive_bounds_are_refused_naming_the_field(call, field):
    with pytest.raises(InvalidValue) as exc:
        call(monthly())
    assert exc.value.field == field


def test_require_aware_returns_an_aware_moment_unchanged():
    moment = utc(2026, 1, 1)
    assert require_aware(moment, "x") is moment


# -- service periods -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("occurrence", "period"),
    [
        (utc(2026, 1, 1, 5), (date(2026, 1, 1), date(2026, 1, 31))),
        (utc(2026, 2, 1, 5), (date(2026, 2, 1), date(2026, 2, 28))),
        (utc(2026, 4, 1, 4), (date(2026, 4, 1), date(2026, 4, 30))),
        (utc(2028, 2, 1, 5), (date(2028, 2, 1), date(2028, 2, 29))),
        (utc(2026, 12, 1, 5), (date(2026, 12, 1), date(2026, 12, 31))),
    ],
)
def test_the_period_of_a_monthly_occurrence_is_the_whole_month(occurrence, period):
    assert monthly().period(occurrence) == period


def test_the_period_uses_the_local_date_not_the_utc_date():
    # 00:30 Berlin on 1 March is still 28 February in UTC.
    r = monthly(start=datetime(2026, 1, 1, 0, 30))  # noqa: DTZ001
    occ = r.between(utc(2026, 2, 27), utc(2026, 3, 2))
    assert occ == [utc(2026, 2, 28, 23, 30)]
    assert r.period(occ[0]) == (date(2026, 3, 1), date(2026, 3, 31))


def test_the_period_of_the_last_occurrence_in_a_31_day_month_ends_on_the_month_end():
    r = monthly(MONTHLY_FIRST + ";COUNT=1", start=datetime(2026, 3, 1, 6))  # noqa: DTZ001
    assert r.period(utc(2026, 3, 1, 5)) == (date(2026, 3, 1), date(2026, 3, 31))


@pytest.mark.parametrize(
    ("start", "occurrence", "end"),
    [
        (datetime(2026, 2, 1, 6), utc(2026, 2, 1, 5), date(2026, 2, 28)),  # noqa: DTZ001
        (datetime(2026, 4, 1, 6), utc(2026, 4, 1, 4), date(2026, 4, 30)),  # noqa: DTZ001
    ],
    ids=["february", "april"],
)
def test_the_period_of_the_last_occurrence_runs_one_month(start, occurrence, end):
    r = monthly(MONTHLY_FIRST + ";COUNT=1", start=start)
    assert r.period(occurrence) == (start.date(), end)


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule", ["", "garbage", "FREQ=FOO", "FREQ=MONTHLY;BYDAY=XX", "FREQ=MONTHLY;COUNT=abc"]
)
def test_an_invalid_rrule_raises_invalid_value_naming_rrule(rule):
    with pytest.raises(InvalidValue) as exc:
        monthly(rule)
    assert exc.value.field == "rrule"


def test_a_rule_set_is_refused_naming_rrule():
    with pytest.raises(InvalidValue) as exc:
        monthly("RRULE:FREQ=MONTHLY\nRDATE:20260105T000000")
    assert exc.value.field == "rrule"


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "Europe/Berlinn", "../etc/passwd"])
def test_an_unknown_timezone_raises_invalid_value_naming_timezone(tz):
    with pytest.raises(InvalidValue) as exc:
        monthly(tz=tz)
    assert exc.value.field == "timezone"


def test_zone_names_the_field_it_is_given():
    with pytest.raises(InvalidValue) as exc:
        zone("Nowhere/Land", field="entity.timezone")
    assert exc.value.field == "entity.timezone"


def test_a_naive_until_in_the_rule_is_refused_because_dtstart_is_zoned():
    with pytest.raises(InvalidValue) as exc:
        monthly(MONTHLY_FIRST + ";UNTIL=20270101T000000")
    assert exc.value.field == "rrule"


def test_a_utc_until_in_the_rule_ends_the_schedule():
    r = monthly(MONTHLY_FIRST + ";UNTIL=20260301T000000Z")
    assert r.between(utc(2025, 12, 31), utc(2027, 1, 1)) == [utc(2026, 1, 1, 5), utc(2026, 2, 1, 5)]


def test_a_month_day_no_month_has_yields_no_occurrences():
    # Documented behaviour: dateutil accepts BYMONTHDAY=40 and the schedule never fires.
    assert monthly("FREQ=MONTHLY;BYMONTHDAY=40").between(utc(2026, 1, 1), utc(2027, 1, 1)) == []


@pytest.mark.parametrize("interval", ["0", "-1"])
def test_a_non_positive_interval_raises_invalid_value_naming_rrule(interval):
    # Only the constructor is called: evaluating INTERVAL=0 would hang the test run.
    with pytest.raises(InvalidValue) as exc:
        monthly(f"FREQ=MONTHLY;INTERVAL={interval};BYMONTHDAY=1")
    assert exc.value.field == "rrule"


def test_a_dtstart_line_inside_the_rule_is_refused_naming_rrule():
    with pytest.raises(InvalidValue) as exc:
        monthly("DTSTART:20200101T000000\nRRULE:FREQ=DAILY")
    assert exc.value.field == "rrule"
