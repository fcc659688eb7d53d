"""ISO 20022 cash management statements: camt.053 (statement), camt.054 (debit/credit
notification) and camt.052 (account report), message versions .001.02 to .001.13.

Why lxml and not a parser library: the Python camt parsers on PyPI either cover camt.053
alone (``pycamt``: one version family, values as loose strings, no position of a fault),
are young 0.0.x releases, or are commercial (``fintech``). The message is plain XML with
one namespace per version, so we read it with lxml by namespace and report the element at
fault as an XPath with its line. The official XSDs are not shipped by any installed package
(and nothing may download at run time), so validation here is of the elements we use:
``Amt`` (a decimal with an ISO 4217 ``Ccy``), ``CdtDbtInd`` (``CRDT``/``DBIT``) and
``BookgDt`` on each booked entry.

Elements read (ISO 20022 camt.053.001.08 names; earlier versions differ only in where the
party name sits — ``Dbtr/Nm`` up to .001.07, ``Dbtr/Pty/Nm`` from .001.08 — and in the
entry status — text ``BOOK`` up to .001.02…06, ``Sts/Cd`` later):

* ``Stmt|Ntfctn|Rpt / Acct / Id / IBAN|Othr/Id`` — our account
* ``Ntry``: ``Amt@Ccy``, ``CdtDbtInd``, ``RvslInd``, ``Sts``, ``BookgDt``, ``ValDt``,
  ``AcctSvcrRef``
* ``Ntry / NtryDtls / TxDtls`` (one per underlying transfer of a batch): ``Refs/EndToEndId``,
  ``Refs/AcctSvcrRef``, ``Amt`` or ``AmtDtls/TxAmt/Amt``, ``RltdPties`` (the debtor for a
  credit, the creditor for a debit), ``RmtInf/Ustrd``, ``RmtInf/Strd/CdtrRefInf/Ref``.

Only booked entries (status ``BOOK``) are returned; pending and informational ones are not
money on the account yet.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree  # type: ignore[import-untyped]

from ...domain.errors import InvalidValue
from ...domain.money import check_currency
from ...domain.statements import StatementTransaction
from . import StatementError, too_fine

_NS_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.05"
_CONTAINERS = {"camt.053": "Stmt", "camt.054": "Ntfctn", "camt.052": "Rpt"}

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False
)


def _path(el: etree._Element) -> str:
    """``/Document/BkToCstmrStmt/Stmt[1]/Ntry[2]/Amt`` — local names, 1-based positions."""
    steps = []
    node: etree._Element | None = el
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None and len(parent.findall(node.tag)) > 1:
            name += f"[{parent.findall(node.tag).index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))


def _fail(el: etree._Element, message: str) -> StatementError:
    return StatementError(f"line {el.sourceline}: {message}", field=_path(el))


class _Reader:
    def __init__(self, ns: str) -> None:
        self.ns = ns

    def q(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{p}" for p in path.split("/"))

    def find(self, el: etree._Element, path: str) -> etree._Element | None:
        return el.find(self.q(path))

    def text(self, el: etree._Element, *paths: str) -> str | None:
        for p in paths:
            found = el.find(self.q(p))
            if found is not None and found.text and found.text.strip():
                return " ".join(found.text.split())
        return None

    def date(self, el: etree._Element, path: str, *, required: bool) -> date | None:
        holder = self.find(el, path)
        if holder is None:
            if required:
                raise _fail(el, f"{path} is missing")
            return None
        value = self.text(holder, "Dt", "DtTm")
        try:
            return date.fromisoformat(value[:10]) if value else None
        except ValueError:
            raise _fail(holder, f"{value!r} is not a date (YYYY-MM-DD)") from None

    def amount(self, amt: etree._Element) -> tuple[Decimal, str]:
        try:
            value = Decimal((amt.text or "").strip())
        except InvalidOperation:
            raise _fail(amt, f"amount {amt.text!r} is not a number") from None
        if not value.is_finite() or value < 0:
            raise _fail(amt, f"amount {amt.text!r} must be a non-negative number")
        ccy = amt.get("Ccy") or ""
        try:
            currency = check_currency(ccy)
        except InvalidValue:
            raise _fail(amt, f"Ccy {ccy!r} is not an ISO 4217 currency") from None
        if (fault := too_fine(value, currency)) is not None:
            raise _fail(amt, fault)
        return value, currency


def parse(data: bytes) -> list[StatementTransaction]:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise StatementError(
            f"not well-formed XML: {exc.msg}", field=f"line {exc.lineno}"
        ) from None
    ns = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "Document" or not ns.startswith(_NS_PREFIX):
        raise _fail(root, f"not an ISO 20022 camt.052/053/054 document (namespace {ns!r})")
    kind = ns.removeprefix("urn:iso:std:iso:20022:tech:xsd:")[:8]
    r = _Reader(ns)
    message = root[0] if len(root) else None
    if message is None:
        raise _fail(root, "the document is empty")
    out: list[StatementTransaction] = []
    for container in message.findall(r.q(_CONTAINERS[kind])):
        acct = r.find(container, "Acct")
        if acct is None:
            raise _fail(container, "Acct is missing")
        account = r.text(acct, "Id/IBAN", "Id/Othr/Id")
        if not account:
            raise _fail(acct, "Acct/Id has no IBAN or Othr/Id")
        for entry in container.findall(r.q("Ntry")):
            out.extend(_entry(r, entry, account))
    return out


def _entry(r: _Reader, entry: etree._Element, account: str) -> list[StatementTransaction]:
    status = r.text(entry, "Sts/Cd", "Sts")
    if status and status != "BOOK":
        return []
    amt = r.find(entry, "Amt")
    if amt is None:
        raise _fail(entry, "Amt is missing")
    amount, currency = r.amount(amt)
    sign = _sign(r, entry)
    booking = r.date(entry, "BookgDt", required=True)
    assert booking is not None
    value_date = r.date(entry, "ValDt", required=False)
    entry_ref = r.text(entry, "AcctSvcrRef", "NtryRef")
    details = entry.findall(r.q("NtryDtls/TxDtls"))
    if not details:
        details = [None]
    txs = []
    for i, tx in enumerate(details):
        tx_amount = amount
        ref = entry_ref
        fields: dict[str, str | None] = {}
        if tx is not None:
            tx_amt = r.find(tx, "Amt")
            if tx_amt is None:  # before .001.03 the amount sat only in AmtDtls
                tx_amt = r.find(tx, "AmtDtls/TxAmt/Amt")
            if len(details) > 1:  # a batch: each transfer is its own line, with its amount
                if tx_amt is None:
                    raise _fail(tx, "a transfer of a batch entry has no Amt of its own")
                tx_amount, tx_currency = r.amount(tx_amt)
                if tx_currency != currency:
                    raise _fail(tx_amt, f"{tx_currency} in an entry booked in {currency}")
            tx_ref = r.text(tx, "Refs/AcctSvcrRef")
            if tx_ref:
                ref = tx_ref
            elif ref and len(details) > 1:
                ref = f"{ref}/{i + 1}"
            fields = _details(r, tx, debit=sign < 0)
        txs.append(
            StatementTransaction(
                account=account,
                booking_date=booking,
                value_date=value_date,
                amount=sign * tx_amount,
                currency=currency,
                counterparty_name=fields.get("name"),
                counterparty_iban=fields.get("iban"),
                remittance=fields.get("remittance") or r.text(entry, "AddtlNtryInf") or "",
                structured_ref=fields.get("structured"),
                bank_ref=ref,
                end_to_end_id=fields.get("e2e"),
            )
        )
    return txs


def _sign(r: _Reader, entry: etree._Element) -> int:
    indicator = r.text(entry, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        where = r.find(entry, "CdtDbtInd")
        raise _fail(
            where if where is not None else entry, f"CdtDbtInd {indicator!r} is not CRDT or DBIT"
        )
    # RvslInd only says the entry undoes an earlier one; CdtDbtInd is already the way the
    # money moves now (ISO 20022 ReportEntry: "If the CreditDebitIndicator is DBIT and
    # ReversalIndicator is Yes, the original operation was a credit entry")
    return 1 if indicator == "CRDT" else -1


def _details(r: _Reader, tx: etree._Element, *, debit: bool) -> dict[str, str | None]:
    party = "Cdtr" if debit else "Dbtr"
    e2e = r.text(tx, "Refs/EndToEndId")
    structured = r.text(tx, "RmtInf/Strd/CdtrRefInf/Ref")
    ustrd = [" ".join((u.text or "").split()) for u in tx.findall(r.q("RmtInf/Ustrd"))]
    return {
        "name": r.text(tx, f"RltdPties/{party}/Pty/Nm", f"RltdPties/{party}/Nm"),
        "iban": r.text(tx, f"RltdPties/{party}Acct/Id/IBAN"),
        "remittance": " ".join(u for u in ustrd if u),
        "structured": structured.replace(" ", "").upper() if structured else None,
        "e2e": None if e2e == "NOTPROVIDED" else e2e,
    }


__all__ = ["parse"]
