"""Column types that keep money exact and datetimes aware on both databases.

* :class:`ExactDecimal` — ``NUMERIC(precision, scale)`` on PostgreSQL; on SQLite, which has no
  decimal type (its NUMERIC affinity turns values into REAL), the canonical decimal string.
  Values come back as ``Decimal`` either way; floats are refused on the way in.
* :class:`AwareDateTime` — stores UTC; refuses naive datetimes; returns aware UTC values
  (SQLite keeps no offset, so it is re-attached on load).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class ExactDecimal(TypeDecorator[Decimal]):
    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 24, scale: int = 6) -> None:
        super().__init__()
        self.precision, self.scale = precision, scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(48))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("floats are not stored as money; pass a Decimal")
        value = Decimal(value)
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        d = value if isinstance(value, Decimal) else Decimal(str(value))
        # NUMERIC(24, 6) pads to six places; give back the same digits SQLite keeps
        return d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize()


class AwareDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
