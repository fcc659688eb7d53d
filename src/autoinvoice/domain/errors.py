"""Errors raised by the domain core.

Tree::

    DomainError                      code="domain_error"
    ├── InvalidValue                 code="invalid_value"      a value breaks a rule
    │   ├── UnknownCurrency          code="unknown_currency"
    │   └── InvalidDate              code="invalid_date"
    ├── CurrencyMismatch             code="currency_mismatch"
    ├── InvalidTransition            code="invalid_transition" state machine refuses a move
    ├── InvoiceImmutable             code="invoice_immutable"  an issued invoice was asked to change
    └── MissingData                  code="missing_data"       a record lacks needed data

Every error carries a stable ``code``, a human ``message`` and, where one applies, the
``field`` at fault, so the web layer can turn it into problem+json without guessing.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidValue(DomainError):
    code = "invalid_value"


class UnknownCurrency(InvalidValue):
    code = "unknown_currency"


class InvalidDate(InvalidValue):
    code = "invalid_date"


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"


class InvalidTransition(DomainError):
    code = "invalid_transition"

    def __init__(self, current: str, target: str, reason: str = "") -> None:
        msg = f"cannot move an invoice from {current!r} to {target!r}"
        super().__init__(f"{msg}: {reason}" if reason else msg, field="status")
        self.current = current
        self.target = target


class InvoiceImmutable(DomainError):
    code = "invoice_immutable"


class MissingData(DomainError):
    code = "missing_data"


__all__ = [
    "CurrencyMismatch",
    "DomainError",
    "InvalidDate",
    "InvalidTransition",
    "InvalidValue",
    "InvoiceImmutable",
    "MissingData",
    "UnknownCurrency",
]
