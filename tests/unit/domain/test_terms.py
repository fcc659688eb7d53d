"""Payment terms: due on receipt, net N, end of month + N; schedules sum to the total."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.money import Money, sum_money
from autoinvoice.domain.terms import PaymentTerms, TermsKind


def test_due_on_receipt_falls_due_on_the_issue_date():
    assert PaymentTerms.parse("receipt").due_date(date(2026, 1, 31)) == date(2026, 1, 31)


@pytest.mark.parametrize(
    ("code", "issued", "due"),
    [
        ("net:30", date(2026, 1, 31), date(2026, 3, 2)),
        ("net:30", date(2026, 2, 1), date(2026, 3, 3)),  # February 2026 has 28 days
        ("net:30", date(2028, 2, 1), date(2028, 3, 2)),  # 2028 is a leap year
        ("net:14", date(2026, 12, 20), date(2027, 1, 3)),  # across the year end
        ("net:0", date(2026, 5, 5), date(2026, 5, 5)),
    ],
)
def test_net_terms_fall_due_n_days_after_issue(code, issued, due):
    assert PaymentTerms.parse(code).due_date(issued) == due


@pytest.mark.parametrize(
    ("code", "issued", "due"),
    [
        ("eom:15", date(2026, 1, 20), date(2026, 2, 15)),
        ("eom:15", date(2026, 1, 1), date(2026, 2, 15)),
        ("eom:15", date(2026, 1, 31), date(2026, 2, 15)),  # issued on the month end itself
        ("eom:0", date(2026, 2, 10), date(2026, 2, 28)),
        ("eom:0", date(2028, 2, 10), date(2028, 2, 29)),  # leap February ends on the 29th
        ("eom:1", date(2028, 2, 29), date(2028, 3, 1)),
        ("eom:30", date(2026, 2, 1), date(2026, 3, 30)),
        ("eom:30", date(2028, 2, 1), date(2028, 3, 30)),
        ("eom:15", date(2026, 12, 3), date(2027, 1, 15)),  # across the year end
        ("eom:10", date(2026, 4, 30), date(2026, 5, 10)),  # 30-day month
    ],
)
def test_end_of_month_terms_count_from_the_last_day_of_the_issue_month(code, issued, due):
    assert PaymentTerms.parse(code).due_date(issued) == due


@pytest.mark.parametrize(
    ("code", "kind", "days"),
    [
        ("receipt", TermsKind.DUE_ON_RECEIPT, 0),
        ("net:30", TermsKind.NET, 30),
        ("EOM:15", TermsKind.END_OF_MONTH, 15),
        (" net:7 ", TermsKind.NET, 7),
    ],
)
def test_parse_reads_kind_and_days(code, kind, days):
    assert PaymentTerms.parse(code) == PaymentTerms(kind, days)


@pytest.mark.parametrize("code", ["receipt", "net:30", "eom:15", "net:0"])
def test_code_round_trips_through_parse(code):
    assert PaymentTerms.parse(code).code == code
    assert PaymentTerms.parse(PaymentTerms.parse(code).code) == PaymentTerms.parse(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "bogus",
        "net:abc",
        "net:-5",
        "net:366",
        "net:1.5",
        "receipt:5",
        "30",
        "net:30:1",
        None,
    ],
)
def test_unparseable_terms_raise_invalid_value_naming_terms(code):
    with pytest.raises(InvalidValue) as exc:
        PaymentTerms.parse(code)  # type: ignore[arg-type]
    assert exc.value.field == "terms"


def test_a_kind_without_days_parses_as_zero_days():
    # Documented behaviour, not an endorsement: "net" and "eom:" read as net 0 / eom 0.
    assert PaymentTerms.parse("net") == PaymentTerms(TermsKind.NET, 0)
    assert PaymentTerms.parse("eom:") == PaymentTerms(TermsKind.END_OF_MONTH, 0)


@pytest.mark.parametrize("days", [-1, 366, "30", Decimal("30")])
def test_constructing_terms_with_bad_days_raises_invalid_terms(days):
    with pytest.raises(InvalidValue) as exc:
        PaymentTerms(TermsKind.NET, days)
    assert exc.value.field == "terms"


def test_the_longest_allowed_term_is_a_year():
    assert PaymentTerms(TermsKind.NET, 365).due_date(date(2026, 1, 1)) == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("receipt", "Due on receipt"),
        ("net:30", "Net 30 days"),
        ("eom:15", "End of month + 15 days"),
    ],
)
def test_describe_reads_as_words(code, text):
    assert PaymentTerms.parse(code).describe() == text


def test_terms_built_from_a_stored_kind_string_behave_like_the_enum():
    assert PaymentTerms("net", 30).due_date(date(2026, 1, 10)) == date(2026, 2, 9)  # type: ignore[arg-type]


def test_the_schedule_is_one_instalment_on_the_due_date():
    total = Money.of("119.00", "EUR")
    assert PaymentTerms.parse("eom:15").schedule(total, date(2026, 1, 20)) == [
        (date(2026, 2, 15), total)
    ]


terms_st = st.one_of(
    st.just(PaymentTerms.parse("receipt")),
    st.builds(
        PaymentTerms, st.sampled_from([TermsKind.NET, TermsKind.END_OF_MONTH]), st.integers(0, 365)
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    terms=terms_st,
    cents=st.integers(0, 10**9),
    currency=st.sampled_from(["EUR", "JPY", "KWD", "INR"]),
    issued=st.dates(date(2000, 1, 1), date(2099, 12, 31)),
)
def test_the_schedule_always_sums_to_the_total_and_never_falls_due_before_issue(
    terms, cents, currency, issued
):
    total = Money(Decimal(cents).scaleb(-Money.zero(currency).minor_units), currency)
    schedule = terms.schedule(total, issued)
    assert sum_money([amount for _, amount in schedule], currency) == total
    assert all(due >= issued for due, _ in schedule)
    assert schedule[-1][0] == terms.due_date(issued)
