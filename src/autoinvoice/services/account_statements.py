"""Statement of account: a client's ledger per currency — invoices as debits, credit notes
and payments as credits, oldest first with a running balance — for the client portal (all
time) and for the owner (a period, with opening and closing balances; CSV and PDF).

Rules: drafts and void invoices never appear; a payment counts on the day it was received
(its UTC date), a refund of client credit (money paid back: a debit) on the day it was paid
out; a reversed payment (bank return, chargeback) stays on the day it came and its reversal
is a debit of the same amount on the day it was undone, so a period once stated never
changes afterwards; entries of one day are ordered invoices and credit notes first (by id),
then payments, then refunds, then reversals (by id). The opening balance is everything
before the period's first day; closing = opening + debits − credits of the period. Each
currency is its own statement.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date

from ..domain.errors import InvalidValue
from ..domain.money import Money
from .ledger import RefundRecord
from .ports import ClientRecord, DocumentRenderer, EntityRecord, InvoiceSummary, UnitOfWork

ZERO = Decimal(0)
_PAYMENT_ORDER = 10**12  # payments sort after the documents of the same day


@dataclass(frozen=True)
class StatementRow:
    day: date
    what: str  # "Invoice INV-2026-000001", "Payment (bank transfer)", "Credit note …"
    debit: Decimal  # what the client owes more
    credit: Decimal  # what the client paid or was credited
    balance: Decimal  # running balance after this row
    invoice_token: str | None = None
    reference: str = ""  # the document number, or the payment's reference


def ledger_rows(
    summaries: Iterable[InvoiceSummary],
    payments: Iterable[dict[str, Any]],
    currency: str,
    tokens: dict[int, str] | None = None,
    opening: Decimal = ZERO,
    refunds: Iterable[RefundRecord] = (),
) -> list[StatementRow]:
    """The client's entries in ``currency`` with a running balance from ``opening``."""
    tokens = tokens or {}
    summaries = list(summaries)
    by_id = {s.id: s for s in summaries}
    entries: list[tuple[date, int, str, Decimal, Decimal, str | None, str]] = []
    for s in summaries:
        if s.currency != currency or s.status in ("void", "draft") or s.issue_date is None:
            continue
        token, number = tokens.get(s.id), s.number or ""
        if s.kind == "credit_note":
            entries.append(
                (s.issue_date, s.id, f"Credit note {number}", ZERO, s.gross, token, number)
            )
        else:
            entries.append((s.issue_date, s.id, f"Invoice {number}", s.gross, ZERO, token, number))
    for p in payments:
        if p["currency"] != currency:
            continue
        inv = by_id.get(p["invoice_id"]) if p["invoice_id"] else None
        label = f"Payment ({p['method'].replace('_', ' ')})"
        if inv is not None:
            label += f" for {inv.number}"
        day = p["received_at"].date()
        ref = p["reference"] or ""
        entries.append((day, _PAYMENT_ORDER + p["id"], label, ZERO, p["amount"], None, ref))
        if p.get("reversed_at") is not None:  # undone later: owed again from that day
            undone = f"{label} reversed: {p['reversal_reason']}"
            order = 3 * _PAYMENT_ORDER + p["id"]
            entries.append((p["reversed_at"].date(), order, undone, p["amount"], ZERO, None, ref))
    for r in refunds:  # money paid back out of the client's credit: owed to it no more
        if r.currency == currency:
            label, order = f"Refund ({r.method.replace('_', ' ')})", 2 * _PAYMENT_ORDER + r.id
            day = r.refunded_at.date()
            entries.append((day, order, label, r.amount, ZERO, None, r.reference or ""))
    entries.sort(key=lambda e: (e[0], e[1]))
    running, rows = opening, []
    for day, _, what, debit, credit, token, ref in entries:
        running += debit - credit
        rows.append(StatementRow(day, what, debit, credit, running, token, ref))
    return rows


@dataclass(frozen=True)
class AccountStatement:
    """One currency's statement for a period."""

    client: ClientRecord
    entity: EntityRecord
    currency: str
    start: date
    end: date
    opening: Decimal
    rows: list[StatementRow]

    @property
    def closing(self) -> Decimal:
        return self.rows[-1].balance if self.rows else self.opening


def statement_of_account(
    client_id: int, *, start: date, end: date, uow: UnitOfWork
) -> list[AccountStatement]:
    """The client's statements for ``start``–``end`` (inclusive), one per currency it was
    ever billed or paid in. One read transaction."""
    if end < start:
        raise InvalidValue(f"the period ends ({end}) before it starts ({start})", field="to")
    client, entity, summaries, payments, refunds = _load(client_id, uow)
    return _statements(client, entity, summaries, payments, start, end, refunds)


def _load(
    client_id: int, uow: UnitOfWork
) -> tuple[
    ClientRecord, EntityRecord, list[InvoiceSummary], list[dict[str, Any]], list[RefundRecord]
]:
    with uow:
        client = uow.clients.get(client_id)
        entity = uow.entities.get(client.entity_id)
        summaries = uow.invoices.summaries(client_id=client_id, limit=1_000_000)
        payments = uow.payments.for_client(client_id)
        refunds = uow.ledger.refunds(client_id)
    return client, entity, summaries, payments, refunds


def _statements(
    client: ClientRecord,
    entity: EntityRecord,
    summaries: list[InvoiceSummary],
    payments: list[dict[str, Any]],
    start: date,
    end: date,
    refunds: Sequence[RefundRecord] = (),
) -> list[AccountStatement]:
    currencies = sorted({s.currency for s in summaries} | {p["currency"] for p in payments})
    out = []
    for currency in currencies:
        everything = ledger_rows(summaries, payments, currency, refunds=refunds)
        before = [r for r in everything if r.day < start]
        opening = before[-1].balance if before else ZERO
        inside = [r for r in everything if start <= r.day <= end]
        out.append(
            AccountStatement(
                client, entity, currency, start, end, opening, _rebalance(inside, opening)
            )
        )
    return out


def _rebalance(rows: Sequence[StatementRow], opening: Decimal) -> list[StatementRow]:
    running, out = opening, []
    for r in rows:
        running += r.debit - r.credit
        out.append(
            StatementRow(r.day, r.what, r.debit, r.credit, running, r.invoice_token, r.reference)
        )
    return out


# -- CSV ------------------------------------------------------------------------------------
CSV_HEADER = ("currency", "date", "description", "reference", "debit", "credit", "balance")


def statement_csv(statements: Sequence[AccountStatement]) -> str:
    """RFC 4180 CSV: per currency an opening row, the entries, a closing row; amounts are
    exact decimals at the currency's minor units, dates ISO 8601."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for st in statements:
        c = st.currency

        def m(v: Decimal, c: str = c) -> str:
            return str(Money.of(v, c).rounded().amount)

        w.writerow((c, st.start.isoformat(), "Opening balance", "", "", "", m(st.opening)))
        for r in st.rows:
            debit = m(r.debit) if r.debit else ""
            credit = m(r.credit) if r.credit else ""
            w.writerow((c, r.day.isoformat(), r.what, r.reference, debit, credit, m(r.balance)))
        w.writerow((c, st.end.isoformat(), "Closing balance", "", "", "", m(st.closing)))
    return buf.getvalue()


# -- PDF ------------------------------------------------------------------------------------
def statement_document(
    statements: Sequence[AccountStatement],
    *,
    client: ClientRecord,
    entity: EntityRecord,
    locale: str = "en",
) -> dict[str, Any]:
    """What ``statement.typ`` lays out: every amount and date already formatted."""

    def day(d: date) -> str:
        return format_date(d, format="medium", locale=locale)

    def party(p: Any) -> dict[str, Any]:
        a = p.address
        lines = [*a.lines, f"{a.postal_code} {a.city}".strip()] if a else []
        return {"name": p.name, "lines": lines, "tax_id": p.tax_id or ""}

    return {
        "seller": party(entity.party),
        "client": party(client.party),
        "currencies": [
            {
                "currency": st.currency,
                "period": f"{day(st.start)} – {day(st.end)}",
                "opening": Money.of(st.opening, st.currency).format(locale),
                "closing": Money.of(st.closing, st.currency).format(locale),
                "rows": [
                    {
                        "day": day(r.day),
                        "what": r.what,
                        "debit": Money.of(r.debit, st.currency).format(locale) if r.debit else "",
                        "credit": Money.of(r.credit, st.currency).format(locale)
                        if r.credit
                        else "",
                        "balance": Money.of(r.balance, st.currency).format(locale),
                    }
                    for r in st.rows
                ],
            }
            for st in statements
        ],
    }


def statement_pdf(
    client_id: int, *, start: date, end: date, uow: UnitOfWork, renderer: DocumentRenderer
) -> bytes:
    """The statements of ``statement_of_account`` as one PDF (``statement.typ``)."""
    if end < start:
        raise InvalidValue(f"the period ends ({end}) before it starts ({start})", field="to")
    client, entity, summaries, payments, refunds = _load(client_id, uow)
    statements = _statements(client, entity, summaries, payments, start, end, refunds)
    doc = statement_document(statements, client=client, entity=entity)
    if not statements:
        doc["empty"] = f"No invoices or payments between {start} and {end}."
    return renderer.render(doc)
