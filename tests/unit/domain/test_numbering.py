"""Invoice number series: rendering patterns and yearly reset period keys."""

from __future__ import annotations

from datetime import date

import pytest

from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.numbering import DEFAULT_PATTERN, NumberSeries

MARCH_2026 = date(2026, 3, 1)


def test_the_default_pattern_renders_year_and_six_digit_sequence():
    assert DEFAULT_PATTERN == "INV-{yyyy}-{seq:06d}"
    assert NumberSeries().render(123, MARCH_2026) == "INV-2026-000123"


@pytest.mark.parametrize(
    ("pattern", "seq", "issued", "number"),
    [
        ("{yy}{mm}-{seq:04d}", 7, MARCH_2026, "2603-0007"),
        ("RE{yyyy}{mm}{seq:03d}", 42, date(2026, 11, 30), "RE202611042"),
        ("{seq}", 1, MARCH_2026, "1"),
        ("INV-{yyyy}-{seq:06d}", 1234567, MARCH_2026, "INV-2026-1234567"),  # never truncated
        ("{yy}-{seq:02d}", 5, date(2009, 1, 1), "09-05"),  # two-digit year keeps its zero
    ],
)
def test_render_fills_the_placeholders(pattern, seq, issued, number):
    assert NumberSeries(pattern).render(seq, issued) == number


def test_distinct_sequence_numbers_render_to_distinct_invoice_numbers():
    series = NumberSeries("INV-{yyyy}-{seq:06d}")
    numbers = {series.render(n, MARCH_2026) for n in range(1, 1001)}
    assert len(numbers) == 1000


def test_a_yearly_series_keys_its_counter_by_the_issue_year():
    series = NumberSeries(yearly_reset=True)
    assert series.period_key(date(2026, 12, 31)) == "2026"
    assert series.period_key(date(2027, 1, 1)) == "2027"


def test_a_running_series_uses_one_period_for_ever():
    series = NumberSeries(yearly_reset=False)
    assert series.period_key(date(2026, 12, 31)) == series.period_key(date(2027, 1, 1)) == "all"


@pytest.mark.parametrize("pattern", ["INV-{yyyy}", "", "INV-{sq}", "{SEQ}"])
def test_a_pattern_without_seq_raises_invalid_pattern(pattern):
    with pytest.raises(InvalidValue) as exc:
        NumberSeries(pattern)
    assert exc.value.field == "pattern"


@pytest.mark.parametrize(
    "pattern",
    [
        "INV-{client}-{seq}",
        "{year}-{seq}",
        "{seq:xyz}",
        "{0}-{seq}",
        "{seq!z}",
        "{sequence}",
        "INV-{seq",
        "INV-}{seq}",
    ],
)
def test_a_pattern_with_an_unknown_placeholder_or_bad_format_raises_invalid_pattern(pattern):
    with pytest.raises(InvalidValue) as exc:
        NumberSeries(pattern)
    assert exc.value.field == "pattern"


@pytest.mark.parametrize("pattern", ["{seq[0]}", "{seq.real.x}"])
def test_a_pattern_indexing_into_seq_raises_invalid_pattern(pattern):
    with pytest.raises(InvalidValue) as exc:
        NumberSeries(pattern)
    assert exc.value.field == "pattern"


def test_a_pattern_with_an_escaped_seq_literal_is_refused():
    with pytest.raises(InvalidValue) as exc:
        NumberSeries("INV-{{seq}}")
    assert exc.value.field == "pattern"


@pytest.mark.parametrize("seq", [0, -1])
def test_sequence_numbers_below_one_are_refused_naming_seq(seq):
    with pytest.raises(InvalidValue) as exc:
        NumberSeries().render(seq, MARCH_2026)
    assert exc.value.field == "seq"


@pytest.mark.parametrize("pattern", ["INV-{seq:05d}", "{mm}-{seq}"])
def test_a_yearly_reset_without_a_year_in_the_pattern_is_refused(pattern):
    # without the year, 1 January would hand out INV-00001 a second time
    with pytest.raises(InvalidValue) as err:
        NumberSeries(pattern, yearly_reset=True)
    assert err.value.field == "pattern"
