"""A bank statement line, whatever format it came in (camt.053/054, MT940, OFX, CSV).

Every parser in ``adapters/bank/`` turns its format into :class:`StatementTransaction`
values; matching (:mod:`.matching`) and storage work on these alone.

The *transaction key* makes re-imports harmless: the bank's own id of the entry
(camt ``AcctSvcrRef``, MT940 bank reference, OFX ``FITID``) when it gives one, else a hash
of what the line says (account, booking date, amount, counterparty, remittance) and its
occurrence index among identical lines of that day — so two identical transfers on one day
stay two, and the same statement imported twice (or an overlapping one) adds nothing.

>>> tx = StatementTransaction(
...     account="DE89370400440532013000", booking_date=date(2026, 11, 20),
...     amount=Decimal("1190.00"), currency="EUR", bank_ref="AZ-1")
>>> tx.key, tx.is_credit
('DE89370400440532013000:ref:AZ-1', True)
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class StatementTransaction:
    """One booked entry. ``amount`` is signed: positive money in, negative money out."""

    account: str  # our account (IBAN or bank account id) the statement is for
    booking_date: date
    amount: Decimal
    currency: str
    value_date: date | None = None
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    remittance: str = ""  # unstructured remittance information, joined
    structured_ref: str | None = None  # ISO 11649 creditor reference (RF…) when given
    bank_ref: str | None = None  # the bank's id of the entry: AcctSvcrRef / MT940 // / FITID
    end_to_end_id: str | None = None
    occurrence: int = 0  # index among identical lines of one day (set by with_keys)

    @property
    def is_credit(self) -> bool:
        return self.amount > 0

    @property
    def key(self) -> str:
        """Stable per account; see the module docstring."""
        if self.bank_ref and self.bank_ref.upper() not in ("NONREF", "NOTPROVIDED"):
            return f"{self.account}:ref:{self.bank_ref}"
        return f"{self.account}:h:{self._content_hash()}:{self.occurrence}"

    def _content_hash(self) -> str:
        parts = [
            self.account,
            self.booking_date.isoformat(),
            _amount_text(self.amount),
            self.currency,
            (self.counterparty_iban or "").replace(" ", "").upper(),
            (self.counterparty_name or "").strip().upper(),
            " ".join(self.remittance.split()).upper(),
            self.structured_ref or "",
            self.end_to_end_id or "",
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _amount_text(amount: Decimal) -> str:
    """The amount as the hash reads it: two decimals (the keys lines have always had), or
    every decimal when there are more (KWD, BHD: 1.231 and 1.234 are two payments)."""
    cents = f"{amount:.2f}"
    return cents if Decimal(cents) == amount else str(amount.normalize())


def with_keys(transactions: Iterable[StatementTransaction]) -> list[StatementTransaction]:
    """Number identical lines of a day (0, 1, …) so each gets its own stable key."""
    seen: Counter[str] = Counter()
    out = []
    for tx in transactions:
        h = tx._content_hash()
        out.append(replace(tx, occurrence=seen[h]))
        seen[h] += 1
    return out


__all__ = ["StatementTransaction", "with_keys"]
