"""Horizontal bar charts drawn as SVG by the page templates — geometry here, markup in
``templates/_bar_chart.html``.

Why server-side SVG and no chart library: the admin pages send a Content-Security-Policy
that allows no script, the charts are two simple bar charts, and SVG with ``<title>`` per
bar is readable by screen readers and scales to a phone's width without JavaScript.
Horizontal bars keep their labels legible at 320 px, where vertical bars' labels collide.

Amounts become coordinates here (floats are fine for pixels; the figures printed beside
the bars are the exact ones, formatted from ``Decimal``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_compact_currency

from ...domain.money import Money

WIDTH = 360  # the SVG's own coordinate space; it scales to its box
ROW = 30
LABEL_W = 104
VALUE_W = 78
BAR_X = LABEL_W + 6
BAR_MAX = WIDTH - BAR_X - VALUE_W


@dataclass(frozen=True, slots=True)
class Bar:
    y: int
    width: float
    label: str
    sublabel: str
    value: str  # compact, beside the bar
    title: str  # exact, for the tooltip and screen readers
    color: str


@dataclass(frozen=True, slots=True)
class BarChart:
    id: str
    title: str
    description: str
    height: int
    bars: list[Bar]
    bar_x: int = BAR_X
    value_x: int = WIDTH - 2
    width: int = WIDTH
    bar_max: int = BAR_MAX


def compact(amount: Decimal, currency: str, locale: str = "en") -> str:
    """A short amount for a chart's axis or label.

    >>> compact(Decimal("91560508.46"), "EUR"), compact(Decimal("950"), "GBP")
    ('€91.6M', '£950')
    """
    return format_compact_currency(amount, currency, locale=locale, fraction_digits=1)


def bar_chart(
    chart_id: str,
    title: str,
    currency: str,
    rows: Sequence[tuple[str, str, Decimal, str]],
    *,
    notes: Sequence[str] = (),
    locale: str = "en",
) -> BarChart:
    """A chart of (label, sublabel, amount, colour) rows; bar lengths are relative to the
    largest amount. ``notes`` (e.g. invoice counts) go into each bar's title."""
    top = max((r[2] for r in rows), default=Decimal(0))
    bars = []
    for k, (label, sub, amount, color) in enumerate(rows):
        exact = Money.of(amount, currency).format(locale)
        note = f" ({notes[k]})" if k < len(notes) and notes[k] else ""
        length = float(amount / top) * BAR_MAX if top > 0 and amount > 0 else 0.0
        bars.append(
            Bar(
                y=k * ROW,
                width=round(max(length, 2.0 if amount > 0 else 0.0), 1),
                label=label,
                sublabel=sub,
                value=compact(amount, currency, locale),
                title=f"{label}{' ' + sub if sub else ''}: {exact}{note}",
                color=color,
            )
        )
    description = "; ".join(b.title for b in bars)
    return BarChart(chart_id, title, description, len(bars) * ROW, bars)
