"""SQL behind the weekly audit (``services/weekly_audit.py``): read-only finders, and the
``weekly_audits`` row that marks a week's audit as sent (insert-or-ignore on the week)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, exists, select

from ...domain.invoice import OPEN_STATUSES
from . import tables as t
from .reports import per_client_today
from .upsert import insert_ignore

_OPEN = sorted(s.value for s in OPEN_STATUSES)


class SqlAuditFindings:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _rows(self, q: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def held_invoices(self) -> list[dict[str, Any]]:
        i, c = t.invoices, t.clients
        return self._rows(
            select(i.c.id, c.c.name.label("client_name"), i.c.hold_reason, i.c.created_at)
            .join(c, c.c.id == i.c.client_id)
            .where(i.c.status == "draft", i.c.hold_reason.is_not(None))
            .order_by(i.c.id)
        )

    def failed_messages(self, since: datetime) -> list[dict[str, Any]]:
        m, i = t.outbound_messages, t.invoices
        return self._rows(
            select(m.c.invoice_id, i.c.number, m.c.subject, m.c.detail, m.c.created_at)
            .outerjoin(i, i.c.id == m.c.invoice_id)
            .where(m.c.status == "failed", m.c.created_at >= since)
            .order_by(m.c.id)
        )

    def idle_rules(self) -> list[dict[str, Any]]:
        r, f = t.rules, t.rule_firings
        return self._rows(
            select(r.c.name, r.c.kind, r.c.created_at)
            .where(r.c.enabled.is_(True), ~exists().where(f.c.rule_id == r.c.id))
            .order_by(r.c.name)
        )

    def edited_entries(self, since: datetime) -> list[dict[str, Any]]:
        e, i = t.time_entries, t.invoices
        return self._rows(
            select(
                e.c.person,
                e.c.task,
                e.c.day,
                e.c.hours,
                e.c.billed_hours,
                e.c.invoice_id,
                i.c.number,
            )
            .join(i, i.c.id == e.c.invoice_id)
            .where(e.c.edited_after_billing.is_(True), e.c.recorded_at >= since)
            .order_by(e.c.day, e.c.id)
        )

    def issued_with_contract(self, since: datetime) -> list[int]:
        i = t.invoices
        q = select(i.c.id).where(
            i.c.contract_id.is_not(None),
            i.c.kind == "invoice",
            i.c.status.notin_(("draft", "void")),
            # the issue date narrows the search to the issue-date index; issued_at decides
            i.c.issue_date >= (since - timedelta(days=1)).date(),
            i.c.issued_at >= since,
        )
        return [row[0] for row in self.conn.execute(q.order_by(i.c.id))]

    def overdue_invoices(self, todays: dict[str, date], limit: int) -> list[dict[str, Any]]:
        if not todays:
            return []
        i, c = t.invoices, t.clients
        rows = self._rows(
            select(
                i.c.id,
                i.c.number,
                c.c.name.label("client_name"),
                c.c.timezone.label("client_timezone"),
                i.c.currency,
                i.c.gross_total,
                i.c.amount_paid,
                i.c.due_date,
            )
            .join(c, c.c.id == i.c.client_id)
            .where(
                and_(i.c.status.in_(_OPEN), i.c.kind == "invoice"),
                i.c.due_date < per_client_today(todays),
            )
            .order_by(i.c.due_date, i.c.id)
            .limit(limit)
        )
        for r in rows:  # in Python: SQLite would subtract the decimal strings as floats
            r["balance"] = r.pop("gross_total") - r.pop("amount_paid")
        return rows

    def week_done(self, week: str) -> bool:
        w = t.weekly_audits
        return self.conn.execute(select(w.c.id).where(w.c.week == week)).first() is not None

    def claim_week(self, week: str, at: datetime, summary: dict[str, int]) -> bool:
        return (
            insert_ignore(
                self.conn, t.weekly_audits, ["week"], week=week, created_at=at, summary=summary
            )
            is not None
        )
