"""How numbers are written in the e-invoice XML (UBL and CII alike)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ...domain.money import HALF_UP, quantize


def plain(d: Decimal) -> str:
    """A quantity, price or rate as given, in plain notation (``1E+1`` → ``10``)."""
    return format(d, "f")


def amount_formatter(currency: str) -> Callable[[Decimal], str]:
    """Amounts are written to the currency's minor unit (EN 16931: at most 2 decimals)."""

    def fmt(amount: Decimal) -> str:
        return format(quantize(amount, currency, HALF_UP), "f")

    return fmt
