"""Money: an exact ``Decimal`` amount tied to an ISO 4217 currency.

Rules:

* No float ever: the constructor rejects ``float`` so a binary fraction can never sneak in.
* Minor units come from CLDR through babel (JPY 0, EUR 2, KWD 3).
* Rounding happens only in :func:`quantize`, and every call names its rounding mode.
  EN 16931 rounds document-level amounts half-up to the currency's minor unit.
* Arithmetic between two currencies raises :class:`CurrencyMismatch`.

>>> Money.of("10.005", "EUR").rounded()
Money(amount=Decimal('10.01'), currency='EUR')
>>> Money.of("1", "JPY").minor_units
0
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel.numbers import format_currency, get_currency_precision, list_currencies

from .errors import CurrencyMismatch, InvalidValue, UnknownCurrency

HALF_UP = ROUND_HALF_UP


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: str, *, field: str = "currency") -> str:
    """Return the upper-cased ISO 4217 code, or raise ``UnknownCurrency`` naming ``field``."""
    if not isinstance(code, str) or code.upper() not in _known_currencies():
        raise UnknownCurrency(f"{code!r} is not an ISO 4217 currency code", field=field)
    return code.upper()


@cache
def minor_units(currency: str) -> int:
    return int(get_currency_precision(check_currency(currency)))


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Turn ``value`` into a finite Decimal; floats are refused (they are not exact)."""
    if isinstance(value, bool | float):
        raise InvalidValue(
            f"{value!r} is a float or bool; pass a Decimal, int or string", field=field
        )
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int | str):
        try:
            d = Decimal(str(value).strip())
        except InvalidOperation:
            raise InvalidValue(f"{value!r} is not a number", field=field) from None
    else:
        raise InvalidValue(f"{value!r} is not a number", field=field)
    if not d.is_finite():
        raise InvalidValue(f"{value!r} is not a finite number", field=field)
    return d


def quantize(amount: Decimal, currency: str, rounding: str) -> Decimal:
    """Round ``amount`` to the minor unit of ``currency`` with the named ``rounding`` mode."""
    exp = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exp, rounding=rounding)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        object.__setattr__(self, "currency", check_currency(self.currency))

    @classmethod
    def of(cls, amount: object, currency: str) -> Money:
        return cls(to_decimal(amount), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(quantize(Decimal(0), currency, HALF_UP), currency)

    @property
    def minor_units(self) -> int:
        return minor_units(self.currency)

    def rounded(self, rounding: str = HALF_UP) -> Money:
        return Money(quantize(self.amount, self.currency, rounding), self.currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot combine {self.currency} with {other.currency}", field="currency"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(self.amount * to_decimal(factor, field="factor"), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_positive(self) -> bool:
        return self.amount > 0

    def format(self, locale: str = "en") -> str:
        """Locale-aware text, e.g. ``1.234,50 €`` for de_DE (babel/CLDR)."""
        # quantize first: babel would round half-even and disagree with rounded()
        return format_currency(
            quantize(self.amount, self.currency, HALF_UP), self.currency, locale=locale
        )

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def sum_money(items: list[Money] | tuple[Money, ...], currency: str) -> Money:
    total = Money.zero(currency)
    for m in items:
        total = total + m
    return total


__all__ = [
    "HALF_UP",
    "Money",
    "check_currency",
    "minor_units",
    "quantize",
    "sum_money",
    "to_decimal",
]
