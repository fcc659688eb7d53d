"""Open Financial Exchange statements (OFX 1.x SGML and 2.x XML), read with ``ofxtools``
— maintained, and stricter than ``ofxparse`` (last release 2021). Bank and credit-card
statements (``STMTRS``/``CCSTMTRS``); each ``STMTTRN`` becomes one transaction with its
``FITID`` as the bank reference (OFX 2.3 §11.4.3: unique per account).

ofxtools validates each aggregate when it converts it but does not say where; we convert
transaction by transaction so a broken one is reported with its line in the file.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

from ofxtools.models.base import Aggregate
from ofxtools.Parser import OFXTree

from ...domain.statements import StatementTransaction
from . import StatementError, creditor_reference_in, too_fine

_STMTTRN = re.compile(rb"<STMTTRN>", re.IGNORECASE)


def parse(data: bytes) -> list[StatementTransaction]:
    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(data))
    except Exception as exc:  # ofxtools raises several unrelated classes here
        raise StatementError(f"not a readable OFX file: {exc}", field="line 1") from None
    root = tree._root
    starts, line, at = [], 1, 0
    for m in _STMTTRN.finditer(data):  # the line each transaction starts on, in one pass
        line += data.count(b"\n", at, m.start())
        at = m.start()
        starts.append(line)
    out: list[StatementTransaction] = []
    for rs in [*root.iter("STMTRS"), *root.iter("CCSTMTRS")]:
        currency = (rs.findtext("CURDEF") or "").strip()
        account = (rs.findtext(".//ACCTID") or "").strip()
        bank = (rs.findtext(".//BANKID") or "").strip()
        for el in rs.iter("STMTTRN"):
            where = starts[len(out)] if len(out) < len(starts) else 0
            try:
                trn = Aggregate.from_etree(el)
            except Exception as exc:
                fields = {c.tag: c.text for c in el}
                raise StatementError(
                    f"transaction {fields.get('FITID')!r} is invalid: {_explain(exc, fields)}",
                    field=f"line {where}",
                ) from None
            tx = _transaction(f"{bank}/{account}" if bank else account, currency, trn)
            if (fault := too_fine(tx.amount, tx.currency)) is not None:
                raise StatementError(f"transaction {trn.fitid!r}: {fault}", field=f"line {where}")
            out.append(tx)
    return out


def _explain(exc: Exception, fields: dict[str, Any]) -> str:
    for tag, value in fields.items():
        if tag == "TRNAMT":
            try:
                Decimal(str(value))
            except ArithmeticError:
                return f"TRNAMT {value!r} is not a number"
    return str(exc) or type(exc).__name__


def _transaction(account: str, currency: str, trn: Any) -> StatementTransaction:
    memo = " ".join(str(trn.memo or "").split())
    iban = None
    if trn.bankacctto is not None:
        iban = trn.bankacctto.acctid
    return StatementTransaction(
        account=account,
        booking_date=trn.dtposted.date(),
        value_date=trn.dtavail.date() if trn.dtavail else None,
        amount=Decimal(trn.trnamt),
        currency=(trn.currency.cursym if trn.currency is not None else None) or currency,
        counterparty_name=(trn.name or (trn.payee.name if trn.payee is not None else None)),
        counterparty_iban=iban,
        remittance=memo,
        structured_ref=creditor_reference_in(memo),
        bank_ref=trn.fitid,
        end_to_end_id=trn.refnum,
    )


__all__ = ["parse"]
