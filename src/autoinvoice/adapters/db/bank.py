"""SQL for bank statements: the statement rows, their lines (each once per account and key),
open invoices loaded once per currency for matching, and the review list. Implements
``services.bank.BankStatements``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, text, tuple_, update

from ...domain.invoice import OPEN_STATUSES, InvoiceKind
from ...domain.matching import OpenInvoice
from ...domain.money import Money
from ...domain.statements import StatementTransaction
from ...services.bank import BankLine
from ...services.errors import NotFound
from . import tables as t
from .multirow import insert_ids
from .repositories import _Repo

_CHUNK = 500  # keys per IN (…) lookup


class SqlBankStatements(_Repo):
    def add_statement(
        self, *, fmt: str, filename: str | None, sha256: str, lines: int, at: datetime, actor: str
    ) -> int:
        return int(
            self.conn.execute(
                insert(t.bank_statements).returning(t.bank_statements.c.id),
                dict(
                    format=fmt,
                    filename=filename,
                    sha256=sha256,
                    lines=lines,
                    added=0,
                    imported_at=at,
                    actor=actor,
                ),
            ).scalar_one()
        )

    def _stored(self, txs: Sequence[StatementTransaction]) -> set[tuple[str, str]]:
        c = t.bank_transactions.c
        pairs = list({(tx.account[:64], tx.key) for tx in txs})
        seen: set[tuple[str, str]] = set()
        for i in range(0, len(pairs), _CHUNK):
            chunk = pairs[i : i + _CHUNK]
            q = select(c.account, c.tx_key).where(tuple_(c.account, c.tx_key).in_(chunk))
            seen.update((r.account, r.tx_key) for r in self.conn.execute(q))
        return seen

    def _lock_accounts(self, accounts: set[str]) -> None:
        """Two imports for one account at once take turns (PostgreSQL: a transaction-scoped
        advisory lock per account; SQLite's BEGIN IMMEDIATE already serialises writers), so
        the second sees the first's lines as duplicates instead of failing on the key."""
        if self.conn.dialect.name != "postgresql":
            return
        for account in sorted(accounts):  # one order everywhere: no deadlock
            self.conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"bank:{account}"}
            )

    def add_new(self, statement_id: int, txs: Sequence[StatementTransaction]) -> list[int | None]:
        self._lock_accounts({tx.account for tx in txs})
        stored = self._stored(txs)
        rows, positions = [], []
        for pos, tx in enumerate(txs):
            pair = (tx.account[:64], tx.key)
            if pair in stored:
                continue
            stored.add(pair)  # the same line twice in one file: once
            positions.append(pos)
            rows.append(_row(statement_id, tx))
        ids: list[int | None] = [None] * len(txs)
        # multi-row INSERTs, the ids matched back by (account, key) — unique per account
        new_ids = insert_ids(self.conn, t.bank_transactions, rows, ("account", "tx_key"))
        for pos, new_id in zip(positions, new_ids, strict=True):
            ids[pos] = new_id
        self.conn.execute(
            update(t.bank_statements)
            .where(t.bank_statements.c.id == statement_id)
            .values(added=len(rows))
        )
        return ids

    def open_invoices(self, currency: str) -> list[OpenInvoice]:
        i, cl = t.invoices.c, t.clients.c
        q = (
            select(
                i.id,
                i.number,
                i.client_id,
                cl.name,
                i.currency,
                i.gross_total,
                i.amount_paid,
                i.due_date,
            )
            .join(t.clients, cl.id == i.client_id)
            .where(
                i.currency == currency,
                i.kind == InvoiceKind.INVOICE.value,
                i.status.in_([s.value for s in OPEN_STATUSES]),
                i.number.is_not(None),
            )
        )
        return [
            OpenInvoice(
                id=r.id,
                number=r.number,
                client_id=r.client_id,
                client_name=r.name,
                currency=r.currency,
                balance=_exact(Decimal(r.gross_total) - Decimal(r.amount_paid), r.currency),
                due_date=r.due_date,
                reference="",
            )
            for r in self.conn.execute(q)
        ]

    def known_payers(self) -> list[tuple[str, int]]:
        c = t.bank_transactions.c
        q = (
            select(c.counterparty_iban, c.client_id)
            .where(
                c.status.in_(("applied", "confirmed")),
                c.counterparty_iban.is_not(None),
                c.client_id.is_not(None),
            )
            .distinct()
        )
        return [(r.counterparty_iban, r.client_id) for r in self.conn.execute(q)]

    def set_outcomes(self, outcomes: Sequence[dict[str, Any]]) -> None:
        if not outcomes:
            return
        c = t.bank_transactions.c
        stmt = (
            update(t.bank_transactions)
            .where(c.id == bindparam("_id"))
            .values(
                status=bindparam("status"),
                confidence=bindparam("confidence"),
                reason=bindparam("reason"),
                candidates=bindparam("candidates"),
                client_id=bindparam("client_id"),
                payment_id=bindparam("payment_id"),
            )
        )
        self.conn.execute(stmt, [{**o, "_id": o["id"]} for o in outcomes])

    def get(self, tx_id: int, *, for_update: bool = False) -> BankLine:
        q = select(t.bank_transactions).where(t.bank_transactions.c.id == tx_id)
        r = self.conn.execute(q.with_for_update() if for_update else q).first()
        if r is None:
            raise NotFound(f"there is no bank transaction {tx_id}", field="tx")
        return _line(r)

    def waiting(self, limit: int = 200) -> list[BankLine]:
        c = t.bank_transactions.c
        q = (
            select(t.bank_transactions)
            .where(c.status == "review")
            .order_by(c.booking_date, c.id)
            .limit(limit)
        )
        return [_line(r) for r in self.conn.execute(q)]

    def resolve(
        self,
        tx_id: int,
        *,
        status: str,
        payment_id: int | None,
        client_id: int | None,
        at: datetime,
        actor: str,
    ) -> None:
        self.conn.execute(
            update(t.bank_transactions)
            .where(t.bank_transactions.c.id == tx_id)
            .values(
                status=status,
                payment_id=payment_id,
                client_id=client_id,
                resolved_at=at,
                resolved_by=actor,
            )
        )


def _exact(amount: Decimal, currency: str) -> Decimal:
    """The amount with its currency's minor units (SQLite hands back 297.5 for 297.50)."""
    return Money(amount, currency).rounded().amount


def _row(statement_id: int, tx: StatementTransaction) -> dict[str, Any]:
    return dict(
        statement_id=statement_id,
        account=tx.account[:64],
        tx_key=tx.key,
        booking_date=tx.booking_date,
        value_date=tx.value_date,
        amount=tx.amount,
        currency=tx.currency,
        counterparty_name=(tx.counterparty_name or None) and tx.counterparty_name[:200],
        counterparty_iban=tx.counterparty_iban and tx.counterparty_iban[:64],
        remittance=tx.remittance,
        structured_ref=tx.structured_ref,
        bank_ref=tx.bank_ref and tx.bank_ref[:100],
        end_to_end_id=tx.end_to_end_id and tx.end_to_end_id[:100],
        status="review",
        candidates=[],
    )


def _line(r: Any) -> BankLine:
    tx = StatementTransaction(
        account=r.account,
        booking_date=r.booking_date,
        value_date=r.value_date,
        amount=_exact(Decimal(r.amount), r.currency),
        currency=r.currency,
        counterparty_name=r.counterparty_name,
        counterparty_iban=r.counterparty_iban,
        remittance=r.remittance,
        structured_ref=r.structured_ref,
        bank_ref=r.bank_ref,
        end_to_end_id=r.end_to_end_id,
    )
    return BankLine(
        r.id, tx, r.tx_key, r.status, r.confidence, r.reason, list(r.candidates or []), r.payment_id
    )


__all__ = ["SqlBankStatements"]
