"""SWIFT MT940 customer statements, read with ``mt-940`` (WoLpH/mt940) — the maintained
Python parser (tags :20: :25: :28C: :60F: :61: :86: :62F:, and the structured German
``:86:`` sub-fields ``?20``–``?29`` remittance, ``?30`` BIC, ``?31`` IBAN, ``?32``/``?33``
name, with the SEPA keys ``EREF+`` ``SVWZ+`` …). We switch on every fix of
:class:`mt940.Options` (the next major release's defaults: ``?31`` as the IBAN, a reversal
of credit signed as a debit).

A line the library cannot read is reported by its line number in the file.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import mt940
from mt940 import processors
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from ...domain.statements import StatementTransaction
from . import StatementError, creditor_reference_in


def _line_of(text: str, fragment: str) -> int:
    at = text.find(fragment[:40]) if fragment else -1
    return text.count("\n", 0, at) + 1 if at >= 0 else 0


def parse(data: bytes) -> list[StatementTransaction]:
    text = data.decode("utf-8", errors="replace") if _utf8(data) else data.decode("latin-1")
    text = text.replace("\r\n", "\n")
    if ":20:" not in text or (":61:" not in text and ":62F:" not in text):
        raise StatementError("not an MT940 statement (no :20: … :62F: tags)", field="line 1")
    _check_statement_lines(text)
    txs = mt940.models.Transactions(
        processors={"post_transaction_details": [processors.transaction_details_post_processor]},
        options=mt940.Options.all(),
    )
    try:
        txs.parse(text)
    except (RuntimeError, ValueError) as exc:
        bad = str(exc.args[2]) if len(exc.args) > 2 else ""
        line = _line_of(text, bad)
        raise StatementError(f"cannot read {bad[:60]!r}", field=f"line {line}") from None
    account = str(txs.data.get("account_identification") or "")
    if not account:
        raise StatementError("the :25: account identification is missing", field="line 2")
    return [_transaction(_iban(account), t.data) for t in txs]


_BLZ_ACCOUNT = re.compile(r"^(\d{8})/(\d{1,10})$")


def _iban(account: str) -> str:
    """German banks put "BLZ/account" in :25:; as an IBAN it is the same account a camt.053
    of that bank names, so the same line imported in either format is one line."""
    m = _BLZ_ACCOUNT.match(account.strip())
    if m is None:
        return account.strip()
    try:
        return str(IBAN.generate("DE", bank_code=m.group(1), account_code=m.group(2)))
    except SchwiftyException:
        return account.strip()


_TAG = re.compile(r"^:(\d{2}[A-Z]?):(.*)$")
# SWIFT MT940 field 61, subfields 1-6: value date 6!n, [entry date 4!n], mark 2a, [funds
# code 1!a], amount 15d, transaction type 1!a3!c — stricter than the library's pattern,
# which lets a mangled amount run into the customer reference
_LINE_61 = re.compile(r"^\d{6}(\d{4})?R?[DC][A-Z]?\d[\d]*,\d{0,2}[NSF][A-Z0-9]{3}")


def _check_statement_lines(text: str) -> None:
    """The library takes a ``:61:`` line it cannot read as text of the tag before it; a
    statement line we cannot read must stop the import instead."""
    for number, line in enumerate(text.split("\n"), 1):
        m = _TAG.match(line)
        if m and m.group(1) == "61" and not _LINE_61.match(m.group(2)):
            raise StatementError(
                f"cannot read the :61: statement line {line[:60]!r}", field=f"line {number}"
            )


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _plain(d: date) -> date:
    return date(d.year, d.month, d.day)  # mt940.models.Date is a date subclass


def _transaction(account: str, d: dict[str, Any]) -> StatementTransaction:
    amount = d["amount"]
    remittance = " ".join(
        str(d[k]) for k in ("purpose", "additional_purpose") if d.get(k)
    ) or " ".join(str(d.get("transaction_details") or "").split())
    bank_ref = d.get("bank_reference") or None
    customer_ref = d.get("customer_reference")
    return StatementTransaction(
        account=account,
        booking_date=_plain(d.get("entry_date") or d["date"]),
        value_date=_plain(d["date"]),
        amount=Decimal(amount.amount),
        currency=str(amount.currency),
        counterparty_name=d.get("applicant_name") or None,
        counterparty_iban=d.get("applicant_iban") or d.get("gvc_applicant_iban") or None,
        remittance=remittance,
        structured_ref=creditor_reference_in(remittance),
        bank_ref=bank_ref or (customer_ref if customer_ref not in (None, "NONREF") else None),
        end_to_end_id=d.get("end_to_end_reference") or None,
    )


__all__ = ["parse"]
