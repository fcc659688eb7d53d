"""Bank statement import and reconciliation.

* ``import_statement(transactions, …)`` — one transaction for the whole file: the statement
  row, each NEW line (a line already stored for the account, by its key, is a duplicate and
  is skipped — so re-importing the same or an overlapping statement adds nothing), then each
  new credit matched against the open invoices (``domain.matching``, the open items loaded
  once per currency). A confident match is applied through
  ``services.receipt_batches.apply_receipts``, :data:`APPLY_CHUNK` lines at a time, with the
  line's key as the idempotency key (so it is never applied twice); the open items follow
  each match at once, so the next line is matched against what is left. An uncertain match
  waits in the review list with its candidates. A payment the ledger refuses fails the
  import as a whole (nothing of it is stored), as it did when lines were applied one by one.
  Debits are stored as ``outgoing`` and not matched.
* ``confirm(tx, invoice_ids, …)`` — an operator picks the invoice(s) of a waiting line: the
  payment is applied the same way. ``dismiss(tx, …)`` — the line is not a payment for us.

Parsing happens before (``adapters/bank``), so a broken file never opens a transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Protocol

from ..domain.matching import Match, OpenInvoice, OpenItems, Outcome, match
from ..domain.payment_aids import creditor_reference
from ..domain.statements import StatementTransaction
from .errors import Conflict
from .payments import Receipt, ReceivePayment, apply_receipt
from .ports import Clock, UnitOfWork
from .receipt_batches import apply_receipts

APPLY_CHUNK = 500  # confident matches applied together (a few statements per chunk)
Pending = list[tuple[dict[str, Any], ReceivePayment]]  # matched lines' outcomes and payments


# -- the repository port (uow.bank) ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BankLine:
    """A stored statement line with its matching state."""

    id: int
    tx: StatementTransaction
    key: str
    status: str  # applied | review | outgoing | confirmed | dismissed
    confidence: Decimal | None
    reason: str | None
    candidates: list[dict[str, Any]]
    payment_id: int | None


class BankStatements(Protocol):
    def add_statement(
        self, *, fmt: str, filename: str | None, sha256: str, lines: int, at: datetime, actor: str
    ) -> int:
        """A new statement row (every import gets one, even if it adds nothing)."""
        ...

    def add_new(self, statement_id: int, txs: Sequence[StatementTransaction]) -> list[int | None]:
        """Store the lines whose (account, key) is not stored yet; the new row id for each
        line, ``None`` for a duplicate. Status starts as ``review``."""
        ...

    def open_invoices(self, currency: str) -> list[OpenInvoice]:
        """Issued, not fully paid invoices (not credit notes) in ``currency``; balance is
        ``gross_total - amount_paid``; ``reference`` is left empty for the caller."""
        ...

    def known_payers(self) -> list[tuple[str, int]]:
        """(IBAN, client id) of payers seen on lines applied or confirmed before."""
        ...

    def set_outcomes(self, outcomes: Sequence[dict[str, Any]]) -> None:
        """Bulk update by ``id``: status, confidence, reason, candidates, client_id,
        payment_id."""
        ...

    def get(self, tx_id: int, *, for_update: bool = False) -> BankLine:
        """Raises NotFound."""
        ...

    def waiting(self, limit: int = 200) -> list[BankLine]:
        """Lines in review, oldest first."""
        ...

    def resolve(
        self,
        tx_id: int,
        *,
        status: str,
        payment_id: int | None,
        client_id: int | None,
        at: datetime,
        actor: str,
    ) -> None: ...


# -- results ----------------------------------------------------------------------------------
@dataclass(slots=True)
class ImportResult:
    statement_id: int
    lines: int = 0
    imported: int = 0
    duplicates: int = 0
    applied: int = 0
    review: int = 0
    outgoing: int = 0
    payment_ids: list[int] = field(default_factory=list)


Progress = Callable[[int], None]


def _received_at(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)  # a booking date has no time


def _open_items(uow: UnitOfWork, currency: str, payers: list[tuple[str, int]]) -> OpenItems:
    """The open invoices of a currency, each with the RF reference printed on it."""
    invoices = [
        replace(i, reference=creditor_reference(i.number)) for i in uow.bank.open_invoices(currency)
    ]
    return OpenItems.build(invoices, payers)


def _receipt(
    tx: StatementTransaction, key: str, client_id: int, allocations: Sequence[tuple[int, Decimal]]
) -> ReceivePayment:
    """The payment a statement line makes, keyed by the line (applied once, however often)."""
    return ReceivePayment(
        client_id=client_id,
        amount=tx.amount,
        currency=tx.currency,
        received_at=_received_at(tx.booking_date),
        method="bank",
        reference=(tx.end_to_end_id or tx.bank_ref or tx.remittance[:200] or None),
        idempotency_key=f"bank:{key}"[:200],
        invoice_ids=tuple(i for i, _ in allocations),
        payer=tx.counterparty_name,
    )


def _apply(
    uow: UnitOfWork,
    tx: StatementTransaction,
    key: str,
    client_id: int,
    allocations: Sequence[tuple[int, Decimal]],
    *,
    now: datetime,
    actor: str,
) -> Receipt:
    return apply_receipt(uow, _receipt(tx, key, client_id, allocations), now=now, actor=actor)


def _apply_pending(
    uow: UnitOfWork,
    pending: Pending,
    result: ImportResult,
    *,
    now: datetime,
    actor: str,
) -> None:
    """Apply the matched lines waiting in ``pending`` (their outcome gets the payment id);
    the first refusal fails the import, as a refusal of one line always did."""
    receipts = apply_receipts(uow, [cmd for _, cmd in pending], now=now, actor=actor)
    for (outcome, _), receipt in zip(pending, receipts, strict=True):
        if not isinstance(receipt, Receipt):
            raise receipt
        outcome["payment_id"] = receipt.payment_id
        result.payment_ids.append(receipt.payment_id)
    pending.clear()


def _candidates(m: Match) -> list[dict[str, Any]]:
    return [
        {
            "invoice_id": c.invoice_id,
            "number": c.number,
            "balance": str(c.balance),
            "score": str(c.score),
            "reason": c.reason,
        }
        for c in m.candidates
    ]


def _decide(
    row_id: int,
    tx: StatementTransaction,
    items: OpenItems | None,
    result: ImportResult,
    pending: Pending,
) -> dict[str, Any]:
    """Match one new line; its stored outcome (counted in result). A sure match joins
    ``pending`` (to be applied) and is settled on the open items now: the ledger spreads the
    amount over the same invoices, in the same order, against the same balances."""
    m = match(tx, items) if items is not None and tx.is_credit else Match(Outcome.OUTGOING)
    outcome: dict[str, Any] = dict(
        id=row_id,
        status=m.outcome.value,
        confidence=m.confidence,
        reason=m.reason,
        candidates=_candidates(m),
        client_id=m.client_id,
        payment_id=None,
    )
    if m.outcome is Outcome.APPLIED and items is not None:
        assert m.client_id is not None
        pending.append((outcome, _receipt(tx, tx.key, m.client_id, m.allocations)))
        for invoice_id, part in m.allocations:
            items.settle(invoice_id, part)
        result.applied += 1
    elif m.outcome is Outcome.REVIEW:
        result.review += 1
    else:
        result.outgoing += 1
    return outcome


def import_statement(
    transactions: Sequence[StatementTransaction],
    *,
    fmt: str,
    content: bytes,
    filename: str | None = None,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
    progress: Progress | None = None,
) -> ImportResult:
    now = clock.now()
    with uow:
        sid = uow.bank.add_statement(
            fmt=fmt,
            filename=filename,
            sha256=hashlib.sha256(content).hexdigest(),
            lines=len(transactions),
            at=now,
            actor=actor,
        )
        ids = uow.bank.add_new(sid, transactions)
        result = ImportResult(sid, lines=len(transactions))
        new = [(i, tx) for i, tx in zip(ids, transactions, strict=True) if i is not None]
        result.imported, result.duplicates = len(new), len(transactions) - len(new)
        payers = uow.bank.known_payers() if any(tx.is_credit for _, tx in new) else []
        items: dict[str, OpenItems] = {}
        outcomes = []
        pending: Pending = []
        for n, (row_id, tx) in enumerate(new, 1):
            if tx.is_credit and tx.currency not in items:
                items[tx.currency] = _open_items(uow, tx.currency, payers)
            outcomes.append(_decide(row_id, tx, items.get(tx.currency), result, pending))
            if len(pending) == APPLY_CHUNK:
                _apply_pending(uow, pending, result, now=now, actor=actor)
            if progress is not None and n % 100 == 0:
                progress(100)
        _apply_pending(uow, pending, result, now=now, actor=actor)
        uow.bank.set_outcomes(outcomes)
        if progress is not None:
            progress(len(new) % 100)
        uow.audit.record(
            at=now,
            actor=actor,
            action="bank.statement_imported",
            subject_type="bank_statement",
            subject_id=sid,
            detail={
                "format": fmt,
                "filename": filename,
                "lines": result.lines,
                "imported": result.imported,
                "duplicates": result.duplicates,
                "applied": result.applied,
                "review": result.review,
            },
        )
        uow.commit()
    return result


def _waiting(uow: UnitOfWork, tx_id: int) -> BankLine:
    line = uow.bank.get(tx_id, for_update=True)
    if line.status != "review":
        raise Conflict(f"bank transaction {tx_id} is {line.status}, not waiting", field="tx")
    return line


def _resolve(
    uow: UnitOfWork, tx_id: int, status: str, *, now: datetime, actor: str, **detail: Any
) -> None:
    uow.bank.resolve(
        tx_id,
        status=status,
        payment_id=detail.get("payment_id"),
        client_id=detail.pop("client_id", None),
        at=now,
        actor=actor,
    )
    uow.audit.record(
        at=now,
        actor=actor,
        action=f"bank.line_{status}",
        subject_type="bank_transaction",
        subject_id=tx_id,
        detail=detail,
    )


def confirm(
    tx_id: int, invoice_ids: Sequence[int], *, uow: UnitOfWork, clock: Clock, actor: str
) -> int:
    """Apply a waiting line to the invoices the operator chose (in that order); the payment id."""
    if not invoice_ids:
        raise Conflict("name at least one invoice", field="invoice_ids")
    now = clock.now()
    with uow:
        line = _waiting(uow, tx_id)
        chosen = [uow.invoices.get(i) for i in invoice_ids]
        clients = {inv.client_id for inv in chosen}
        if len(clients) != 1 or None in clients:
            raise Conflict("the invoices belong to different clients", field="invoice_ids")
        if any(inv.currency != line.tx.currency for inv in chosen):
            raise Conflict(f"the payment is in {line.tx.currency}", field="invoice_ids")
        client_id = clients.pop()
        assert client_id is not None
        allocations = [(i, Decimal(0)) for i in invoice_ids]
        pid = _apply(
            uow, line.tx, line.key, client_id, allocations, now=now, actor=actor
        ).payment_id
        _resolve(
            uow,
            tx_id,
            "confirmed",
            now=now,
            actor=actor,
            client_id=client_id,
            payment_id=pid,
            invoice_ids=list(invoice_ids),
        )
        uow.commit()
    return pid


def dismiss(tx_id: int, *, uow: UnitOfWork, clock: Clock, actor: str) -> None:
    """Take a waiting line off the review list: it is not a payment of an invoice."""
    now = clock.now()
    with uow:
        _waiting(uow, tx_id)
        _resolve(uow, tx_id, "dismissed", now=now, actor=actor)
        uow.commit()


def save_mapping(
    name: str, mapping: dict[str, Any], *, uow: UnitOfWork, clock: Clock, actor: str
) -> None:
    """Keep a CSV column mapping (checked by ``adapters.bank.csvfile.check_mapping``)."""
    now = clock.now()
    with uow:
        uow.csv_mappings.save(name, "bank", mapping, now)
        uow.audit.record(
            at=now,
            actor=actor,
            action="bank.mapping_saved",
            subject_type="csv_mapping",
            subject_id=None,
            detail={"name": name, **mapping},
        )
        uow.commit()


def load_mapping(name: str, *, uow: UnitOfWork) -> dict[str, Any]:
    with uow:
        kind, mapping = uow.csv_mappings.get(name)
    if kind != "bank":
        raise Conflict(f"the mapping {name!r} is for {kind}, not bank statements", field="mapping")
    return dict(mapping)


def review_list(*, uow: UnitOfWork, limit: int = 200) -> list[BankLine]:
    with uow:
        return uow.bank.waiting(limit)


__all__ = [
    "BankLine",
    "BankStatements",
    "ImportResult",
    "confirm",
    "dismiss",
    "import_statement",
    "load_mapping",
    "review_list",
    "save_mapping",
]
