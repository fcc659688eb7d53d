"""SQL repositories for rules and what they bill: rules with their version history, rule
firings (one per rule, subject and period — the exactly-once constraint), time entries and
milestone states (each billed once), and saved CSV column mappings. Each class implements
the port of the same name in ``services/ports.py``.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, update

from ...domain.contracts import TimeEntry
from ...domain.events import Event
from ...domain.triggers import TriggerRule, parse_rule
from ...services.errors import NotFound
from ...services.ports import (
    RuleRecord,
    UnbilledEntry,
)
from . import tables as t
from .repositories import _Repo
from .upsert import insert_ignore


class SqlRules(_Repo):
    def _record(self, r: Any) -> RuleRecord:
        return RuleRecord(r.id, parse_rule(r.definition), r.version, r.updated_at, r.next_run_at)

    def save(self, rule: TriggerRule, at: datetime, actor: str) -> tuple[int, int, bool]:
        definition = rule.to_dict()
        r = self.conn.execute(
            select(t.rules).where(t.rules.c.name == rule.name).with_for_update()
        ).first()
        if r is not None and r.definition == definition:
            return r.id, r.version, False
        values = dict(
            kind=rule.kind.value, definition=definition, enabled=rule.enabled, updated_at=at
        )
        if r is None:
            rule_id = int(
                self.conn.execute(
                    insert(t.rules).returning(t.rules.c.id),
                    dict(name=rule.name, version=1, created_at=at, next_run_at=None, **values),
                ).scalar_one()
            )
            version = 1
        else:
            rule_id, version = r.id, r.version + 1
            self.conn.execute(
                update(t.rules)
                .where(t.rules.c.id == rule_id)
                .values(version=version, next_run_at=None, **values)
            )
        self.conn.execute(
            insert(t.rule_versions),
            dict(
                rule_id=rule_id, version=version, definition=definition, changed_at=at, actor=actor
            ),
        )
        return rule_id, version, True

    def get(self, name: str) -> RuleRecord:
        r = self.conn.execute(select(t.rules).where(t.rules.c.name == name)).first()
        if r is None:
            raise NotFound(f"there is no rule named {name!r}", field="rule")
        return self._record(r)

    def list(self, *, enabled_only: bool = False) -> builtins.list[RuleRecord]:
        q = select(t.rules).order_by(t.rules.c.name)
        if enabled_only:
            q = q.where(t.rules.c.enabled.is_(True))
        return [self._record(r) for r in self.conn.execute(q)]

    def history(self, name: str) -> builtins.list[dict[str, Any]]:
        v = t.rule_versions.c
        q = (
            select(v.version, v.definition, v.changed_at, v.actor)
            .join(t.rules, t.rules.c.id == v.rule_id)
            .where(t.rules.c.name == name)
            .order_by(v.version)
        )
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def set_next_run(self, rule_id: int, at: datetime | None) -> None:
        self.conn.execute(update(t.rules).where(t.rules.c.id == rule_id).values(next_run_at=at))


class SqlRuleFirings(_Repo):
    def claim(
        self, rule_id: int, subject: str, period: str, at: datetime, event_id: int | None
    ) -> int | None:
        return insert_ignore(
            self.conn,
            t.rule_firings,
            ["rule_id", "subject", "period"],
            returning="id",
            rule_id=rule_id,
            subject=subject,
            period=period,
            fired_at=at,
            event_id=event_id,
            outcome="claimed",
        )

    def reclaim(self, rule_id: int, subject: str, period: str, at: datetime) -> int | None:
        c = t.rule_firings.c
        row = self.conn.execute(
            update(t.rule_firings)
            .where(
                c.rule_id == rule_id,
                c.subject == subject,
                c.period == period,
                c.outcome == "failed",
            )
            .values(outcome="claimed", fired_at=at)
            .returning(c.id)
        ).first()
        return None if row is None else int(row[0])

    def billed_by_other_rule(self, rule_id: int, subject: str) -> str | None:
        c = t.rule_firings.c
        row = self.conn.execute(
            select(t.rules.c.name)
            .join(t.rules, t.rules.c.id == c.rule_id)
            .where(
                c.subject == subject,
                c.rule_id != rule_id,
                c.outcome.in_(("issued", "draft", "held", "claimed")),
            )
            .limit(1)
        ).first()
        return None if row is None else str(row[0])

    def release(self, invoice_id: int) -> None:
        self.conn.execute(delete(t.rule_firings).where(t.rule_firings.c.invoice_id == invoice_id))

    def resolve(self, rule_id: int, event_id: int, keep: int) -> None:
        c = t.rule_firings.c
        self.conn.execute(
            update(t.rule_firings)
            .where(
                c.rule_id == rule_id,
                c.event_id == event_id,
                c.outcome == "failed",
                c.id != keep,
            )
            .values(outcome="resolved")
        )

    def settle(self, firing_id: int, outcome: str, **values: Any) -> None:
        self.conn.execute(
            update(t.rule_firings)
            .where(t.rule_firings.c.id == firing_id)
            .values(outcome=outcome, **values)
        )

    def waiting(self) -> builtins.list[dict[str, Any]]:
        q = select(t.rule_firings).where(t.rule_firings.c.outcome.in_(("waiting",)))
        return [dict(r._mapping) for r in self.conn.execute(q.order_by(t.rule_firings.c.id))]

    def list(
        self,
        rule_id: int | None = None,
        outcome: str | None = None,
        limit: int = 1000,
        *,
        newest_first: bool = False,
    ) -> builtins.list[dict[str, Any]]:
        c = t.rule_firings.c
        q = (
            select(t.rule_firings, t.rules.c.name.label("rule"))
            .join(t.rules, t.rules.c.id == c.rule_id)
            .order_by(c.id.desc() if newest_first else c.id)
            .limit(limit)
        )
        if rule_id is not None:
            q = q.where(c.rule_id == rule_id)
        if outcome is not None:
            q = q.where(c.outcome == outcome)
        return [dict(r._mapping) for r in self.conn.execute(q)]


class SqlTimeEntries(_Repo):
    def upsert(
        self,
        source_id: int,
        contract_id: int | None,
        event: Event,
        entry: TimeEntry | None,
        at: datetime,
    ) -> str:
        c = t.time_entries.c
        row = self.conn.execute(
            select(t.time_entries)
            .where(c.source_id == source_id, c.external_id == event.external_id)
            .with_for_update()
        ).first()
        values: dict[str, Any] = {"version_at": event.stamp, "contract_id": contract_id}
        if entry is None:
            values["deleted"] = True
        else:
            values.update(
                person=entry.person,
                role=entry.role,
                task=entry.task,
                hours=entry.hours,
                day=entry.day,
                billable=bool(event.fields.get("billable", True)),
                deleted=False,
            )
        if row is None:
            if entry is None:
                return "unchanged"
            self.conn.execute(
                insert(t.time_entries),
                dict(
                    source_id=source_id,
                    external_id=event.external_id,
                    recorded_at=at,
                    edited_after_billing=False,
                    **values,
                ),
            )
            return "new"
        if row.version_at > event.stamp:
            return "stale"
        if row.deleted and entry is not None and row.version_at == event.stamp:
            return "stale"  # no newer stamp: an earlier version never undoes a deletion
        same = entry is not None and (
            row.hours == entry.hours
            and row.day == entry.day
            and row.person == entry.person
            and row.task == entry.task
            and (row.role or "") == (entry.role or "")
            and row.billable == bool(event.fields.get("billable", True))
            and row.contract_id == contract_id
            and not row.deleted
        )
        if same:
            return "unchanged"
        if row.invoice_id is not None:  # billed: keep what was billed, flag the edit
            self.conn.execute(
                update(t.time_entries)
                .where(c.id == row.id)
                .values(edited_after_billing=True, version_at=event.stamp)
            )
            return "edited_after_billing"
        self.conn.execute(update(t.time_entries).where(c.id == row.id).values(**values))
        return "updated"

    def unbilled(
        self, contract_ids: Sequence[int], up_to: date | None = None
    ) -> builtins.list[UnbilledEntry]:
        c = t.time_entries.c
        q = select(t.time_entries).where(
            c.contract_id.in_(list(contract_ids)),
            c.invoice_id.is_(None),
            c.deleted.is_(False),
            c.billable.is_(True),
        )
        if up_to is not None:
            q = q.where(c.day <= up_to)
        return [
            UnbilledEntry(
                r.id,
                r.source_id,
                r.contract_id,
                TimeEntry(r.person, r.role or "", r.task, Decimal(r.hours), r.day),
            )
            for r in self.conn.execute(q.order_by(c.day, c.id))
        ]

    def release(self, invoice_id: int) -> None:
        c = t.time_entries.c
        self.conn.execute(
            update(t.time_entries)
            .where(c.invoice_id == invoice_id)
            .values(invoice_id=None, billed_hours=None)
        )

    def mark_billed(self, ids: Sequence[int], invoice_id: int) -> bool:
        c = t.time_entries.c
        n = self.conn.execute(
            update(t.time_entries)
            .where(c.id.in_(list(ids)), c.invoice_id.is_(None))
            .values(invoice_id=invoice_id, billed_hours=c.hours)
        ).rowcount
        return n == len(ids)


class SqlMilestones(_Repo):
    def complete(self, contract_id: int, name: str, at: datetime, event_id: int | None) -> None:
        inserted = insert_ignore(
            self.conn,
            t.milestone_states,
            ["contract_id", "name"],
            contract_id=contract_id,
            name=name,
            completed_at=at,
            invoice_id=None,
            event_id=event_id,
        )
        if inserted is None:
            c = t.milestone_states.c
            self.conn.execute(
                update(t.milestone_states)
                .where(c.contract_id == contract_id, c.name == name, c.completed_at.is_(None))
                .values(completed_at=at, event_id=event_id)
            )

    def reopen(self, contract_id: int, name: str) -> None:
        c = t.milestone_states.c
        self.conn.execute(
            update(t.milestone_states)
            .where(c.contract_id == contract_id, c.name == name, c.invoice_id.is_(None))
            .values(completed_at=None)
        )

    def states(self, contract_id: int) -> dict[str, tuple[datetime | None, int | None]]:
        c = t.milestone_states.c
        q = select(c.name, c.completed_at, c.invoice_id).where(c.contract_id == contract_id)
        return {r.name: (r.completed_at, r.invoice_id) for r in self.conn.execute(q)}

    def release(self, invoice_id: int) -> None:
        c = t.milestone_states.c
        self.conn.execute(
            update(t.milestone_states).where(c.invoice_id == invoice_id).values(invoice_id=None)
        )

    def mark_billed(self, contract_id: int, names: Sequence[str], invoice_id: int) -> bool:
        c = t.milestone_states.c
        n = self.conn.execute(
            update(t.milestone_states)
            .where(
                c.contract_id == contract_id,
                c.name.in_(list(names)),
                c.invoice_id.is_(None),
                c.completed_at.is_not(None),
            )
            .values(invoice_id=invoice_id)
        ).rowcount
        return n == len(names)


class SqlCsvMappings(_Repo):
    def save(self, name: str, kind: str, mapping: dict[str, Any], at: datetime) -> None:
        c = t.csv_mappings.c
        if self.conn.execute(select(c.id).where(c.name == name)).first():
            self.conn.execute(
                update(t.csv_mappings).where(c.name == name).values(kind=kind, mapping=mapping)
            )
        else:
            self.conn.execute(
                insert(t.csv_mappings), dict(name=name, kind=kind, mapping=mapping, created_at=at)
            )

    def get(self, name: str) -> tuple[str, dict[str, Any]]:
        r = self.conn.execute(select(t.csv_mappings).where(t.csv_mappings.c.name == name)).first()
        if r is None:
            raise NotFound(f"there is no saved CSV mapping named {name!r}", field="mapping")
        return r.kind, r.mapping

    def list(self) -> builtins.list[dict[str, Any]]:
        q = select(t.csv_mappings).order_by(t.csv_mappings.c.name)
        return [dict(r._mapping) for r in self.conn.execute(q)]


__all__ = ["SqlCsvMappings", "SqlMilestones", "SqlRuleFirings", "SqlRules", "SqlTimeEntries"]
