"""Payment terms: when an invoice falls due.

Three kinds, the ones IT service businesses put on invoices:

* ``due on receipt`` — due on the issue date;
* ``net N`` — N days after the issue date;
* ``end of month + N`` — N days after the last day of the issue month (``EOM+15``).

Terms are data (a short code such as ``net:30``) so a client or contract can store them,
and :meth:`PaymentTerms.schedule` always sums to the invoice total.

>>> from datetime import date
>>> PaymentTerms.parse("eom:15").due_date(date(2026, 1, 20))
datetime.date(2026, 2, 15)
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from .errors import InvalidValue
from .money import Money


class TermsKind(StrEnum):
    DUE_ON_RECEIPT = "receipt"
    NET = "net"
    END_OF_MONTH = "eom"


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    kind: TermsKind
    days: int = 0

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", TermsKind(self.kind))
        except ValueError:
            raise InvalidValue(
                f"{self.kind!r} is not a kind of payment terms", field="terms"
            ) from None
        if not isinstance(self.days, int) or self.days < 0 or self.days > 365:
            raise InvalidValue(f"{self.days!r} days is not between 0 and 365", field="terms")
        if self.kind is TermsKind.DUE_ON_RECEIPT and self.days:
            raise InvalidValue("'due on receipt' takes no days", field="terms")

    @classmethod
    def parse(cls, code: str) -> PaymentTerms:
        """Parse ``receipt``, ``net:30`` or ``eom:15``."""
        kind, _, days = (code or "").strip().lower().partition(":")
        try:
            return cls(TermsKind(kind), int(days) if days else 0)
        except ValueError:
            raise InvalidValue(
                f"{code!r} is not payment terms; use 'receipt', 'net:N' or 'eom:N'", field="terms"
            ) from None

    @property
    def code(self) -> str:
        return (
            self.kind.value if self.kind is TermsKind.DUE_ON_RECEIPT else f"{self.kind}:{self.days}"
        )

    def due_date(self, issue_date: date) -> date:
        if self.kind is TermsKind.DUE_ON_RECEIPT:
            return issue_date
        if self.kind is TermsKind.NET:
            return issue_date + timedelta(days=self.days)
        last = calendar.monthrange(issue_date.year, issue_date.month)[1]
        return issue_date.replace(day=last) + timedelta(days=self.days)

    def describe(self) -> str:
        if self.kind is TermsKind.DUE_ON_RECEIPT:
            return "Due on receipt"
        if self.kind is TermsKind.NET:
            return f"Net {self.days} days"
        return f"End of month + {self.days} days"

    def schedule(self, total: Money, issue_date: date) -> list[tuple[date, Money]]:
        """Instalments (due date, amount); one instalment for these kinds, summing to ``total``."""
        return [(self.due_date(issue_date), total)]


__all__ = ["PaymentTerms", "TermsKind"]
