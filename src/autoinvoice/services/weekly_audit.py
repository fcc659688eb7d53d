"""The weekly audit: what an owner should look at once a week, each item with a link to
where it is fixed. Shown on the dashboard (built live) and emailed to the owner once per ISO
week (``send_weekly_audit``, from the scheduler tick).

Sections and what puts an item in them:

=====================  ===========================================================  ==========
section                item                                                          link
=====================  ===========================================================  ==========
held                   a draft held back by a failed pre-flight check (hold_reason)  invoice
failed_deliveries      an email that failed in the last 7 days; a job given up on    invoice
idle_rules             an enabled trigger rule that has never fired                  rules API
stale_sources          a source whose last good sync is older than it allows, or     sources API
                       that is failing now
edited_time            a billed time entry edited in the source in the last 7 days   invoice
incomplete_clients     a client missing a billing address, email, or (business       clients
                       abroad) tax id
contract_mismatch      an invoice issued in the last 7 days whose line prices differ  invoice
                       from its contract (the ``contract_amount`` check)
overdue                open invoices past due, most days late first                  invoice
=====================  ===========================================================  ==========

The email is an outbox job (``notify_owner``, like every owner alert) whose idempotency key
is the ISO week, and a ``weekly_audits`` row per week guards it too: however many schedulers
tick, the week's audit is sent once. It goes out on the first tick on Monday from 07:00 in
the issuing entity's time zone (the start of the working week); a scheduler that is down all
Monday skips that week's email — the dashboard always shows the audit live.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from ..domain.cashflow import days_past_due
from ..domain.contracts import Contract
from ..domain.invoice import Invoice
from ..domain.lint import CHECKS, CheckSettings, Context
from ..domain.money import Money
from .alerts import NOTIFY
from .ports import ClientRecord, Clock, UnitOfWork
from .reports import client_todays, entity_todays

WINDOW = timedelta(days=7)
SEND_WEEKDAY, SEND_HOUR = 0, 7  # Monday, from 07:00 local time
MAX_ITEMS = 25  # per section; the section says how many more there are
SECTIONS: dict[str, tuple[str, str]] = {
    # key: (heading, what fixing it means)
    "held": ("Invoices held for attention", "open the draft, correct what the check names"),
    "failed_deliveries": ("Failed deliveries", "check the address, then resend or retry"),
    "idle_rules": ("Rules that never fired", "check the rule's match against recent events"),
    "stale_sources": ("Sources gone stale", "reconnect the source or renew its credentials"),
    "edited_time": ("Time edited after billing", "credit or re-bill the difference"),
    "incomplete_clients": ("Clients with incomplete billing data", "send an intake link"),
    "contract_mismatch": ("Amounts that differ from the contract", "credit and re-issue"),
    "overdue": ("Overdue invoices", "remind the client or record the payment"),
}


class AuditFindings(Protocol):
    """Read-only queries for the weekly audit, and the once-per-week guard."""

    def held_invoices(self) -> list[dict[str, Any]]:
        """Drafts with a hold reason: id, client_name, hold_reason, created_at."""
        ...

    def failed_messages(self, since: datetime) -> list[dict[str, Any]]:
        """Emails failed since ``since``: invoice_id, number, subject, detail, created_at."""
        ...

    def idle_rules(self) -> list[dict[str, Any]]:
        """Enabled rules with no firing at all: name, kind, created_at."""
        ...

    def edited_entries(self, since: datetime) -> list[dict[str, Any]]:
        """Billed time entries edited since: person, task, day, hours, billed_hours,
        invoice_id, number."""
        ...

    def issued_with_contract(self, since: datetime) -> list[int]:
        """Ids of invoices issued since ``since`` under a contract (void left out)."""
        ...

    def overdue_invoices(self, todays: dict[str, date], limit: int) -> list[dict[str, Any]]:
        """Open invoices past due on the client's date (``todays``: client time zone →
        date), oldest due first: id, number, client_name, client_timezone, currency,
        balance, due_date."""
        ...

    def week_done(self, week: str) -> bool: ...

    def claim_week(self, week: str, at: datetime, summary: dict[str, int]) -> bool:
        """Record the week's audit as sent; False when it already was."""
        ...


@dataclass(frozen=True, slots=True)
class AuditItem:
    title: str
    detail: str
    link: str


@dataclass(frozen=True, slots=True)
class AuditSection:
    key: str
    heading: str
    fix: str
    items: list[AuditItem]
    more: int = 0  # items left out after MAX_ITEMS
    totals: tuple[Money, ...] = ()  # what the section's items add up to, per currency

    @property
    def count(self) -> int:
        return len(self.items) + self.more


@dataclass(frozen=True, slots=True)
class WeeklyAudit:
    week: str
    today: date
    generated_at: datetime
    sections: list[AuditSection] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(s.count for s in self.sections)

    @property
    def issues(self) -> int:
        """Items to fix: everything but the overdue list (which waits on the client)."""
        return sum(s.count for s in self.sections if s.key != "overdue")

    def summary(self) -> dict[str, int]:
        return {s.key: s.count for s in self.sections}


def iso_week(d: date) -> str:
    """The ISO week of ``d``, as the weekly audit names it.

    >>> iso_week(date(2027, 1, 1))
    '2026-W53'
    """
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def incomplete_billing_data(client: ClientRecord, seller_country: str | None) -> list[str]:
    """What an invoice to ``client`` would lack: a billing address and an email always; a
    tax id for a business abroad (EU reverse charge and most export rules name the buyer's
    registration). Empty when complete."""
    p = client.party
    missing = []
    if p.address is None:
        missing.append("address")
    if not p.emails:
        missing.append("email")
    if p.is_business and seller_country and p.country != seller_country and not p.tax_id:
        missing.append("tax_id")
    return missing


def _section(key: str, items: Sequence[AuditItem]) -> AuditSection:
    heading, fix = SECTIONS[key]
    return AuditSection(key, heading, fix, list(items[:MAX_ITEMS]), max(0, len(items) - MAX_ITEMS))


def _held(uow: UnitOfWork) -> list[AuditItem]:
    return [
        AuditItem(
            f"Draft #{r['id']} for {r['client_name']}", r["hold_reason"], f"/invoices/{r['id']}"
        )
        for r in uow.audit_findings.held_invoices()
    ]


def _failed(uow: UnitOfWork, since: datetime) -> list[AuditItem]:
    items = [
        AuditItem(
            f"Email for {r['number'] or 'an invoice'} failed",
            f"{r['subject']}: {r['detail'] or 'no detail'}",
            f"/invoices/{r['invoice_id']}" if r["invoice_id"] else "/invoices",
        )
        for r in uow.audit_findings.failed_messages(since)
    ]
    for job in uow.outbox.dead():
        invoice_id = (job.get("payload") or {}).get("invoice_id")
        items.append(
            AuditItem(
                f"Job {job['id']} ({job['kind']}) given up after {job['attempts']} attempts",
                f"{(job['last_error'] or 'no error recorded')[:200]} — "
                f"retry with `autoinvoice jobs retry {job['id']}`",
                f"/invoices/{invoice_id}" if invoice_id else "/invoices",
            )
        )
    return items


def _idle_rules(uow: UnitOfWork) -> list[AuditItem]:
    return [
        AuditItem(
            f"Rule {r['name']} ({r['kind']})",
            f"enabled since {r['created_at']:%d %b %Y} and has never fired — check what it "
            "matches (`autoinvoice rules list`) against the source's recent events",
            "/api/v1/rules",
        )
        for r in uow.audit_findings.idle_rules()
    ]


def _stale(uow: UnitOfWork, now: datetime) -> list[AuditItem]:
    items = []
    for s in uow.sources.list():
        if not s.enabled:
            continue
        if s.is_stale(now):
            last = s.last_success_at
            since = f"last good sync {last:%d %b %Y %H:%M} UTC" if last else "never synced"
            items.append(
                AuditItem(f"Source {s.name} ({s.kind}) is stale", since, "/api/v1/sources")
            )
        elif s.consecutive_errors:
            items.append(
                AuditItem(
                    f"Source {s.name} ({s.kind}) is failing",
                    f"{s.consecutive_errors} errors in a row: {(s.last_error or '')[:200]}",
                    "/api/v1/sources",
                )
            )
    return items


def _edited(uow: UnitOfWork, since: datetime) -> list[AuditItem]:
    return [
        AuditItem(
            f"{r['person']}: {r['task']} on {r['day']:%d %b %Y}",
            f"billed {r['billed_hours']} h on {r['number'] or 'invoice'}, now {r['hours']} h",
            f"/invoices/{r['invoice_id']}",
        )
        for r in uow.audit_findings.edited_entries(since)
    ]


def _clients(uow: UnitOfWork) -> list[AuditItem]:
    countries: dict[int, str] = {}
    items = []
    for c in uow.clients.list():
        if c.entity_id not in countries:
            countries[c.entity_id] = uow.entities.get(c.entity_id).party.country
        missing = incomplete_billing_data(c, countries[c.entity_id])
        if missing:
            labels = {"address": "billing address", "email": "email", "tax_id": "tax ID"}
            items.append(
                AuditItem(
                    c.party.name,
                    "missing " + ", ".join(labels[m] for m in missing),
                    f"/clients#client-{c.id}",
                )
            )
    return items


def contract_differences(invoice: Invoice, contract: Contract) -> list[str]:
    """The ``contract_amount`` pre-flight check's findings for an issued invoice."""
    ctx = Context(invoice, contract, {}, CheckSettings())
    return [f.message for f in CHECKS["contract_amount"](ctx)]


def _contracts(uow: UnitOfWork, since: datetime) -> list[AuditItem]:
    ids = uow.audit_findings.issued_with_contract(since)
    items = []
    contracts: dict[int, Contract] = {}
    for inv in uow.invoices.get_many(ids).values():
        cid = inv.contract_id or 0
        if cid not in contracts:
            contracts[cid] = uow.contracts.get(cid)
        found = contract_differences(inv, contracts[cid])
        if found:
            items.append(
                AuditItem(
                    f"{inv.number} for {inv.buyer.name}", "; ".join(found), f"/invoices/{inv.id}"
                )
            )
    return items


def _overdue(uow: UnitOfWork, todays: dict[str, date]) -> AuditSection:
    """The first ``MAX_ITEMS`` overdue invoices; their number and open balance per currency
    counted and summed in SQL over all of them (the dashboard's overdue-clients query, the
    same filter), so the section is right however many are late."""
    per_currency: dict[str, Money] = {}
    count = 0
    for c in uow.reports.overdue_clients(todays):
        count += c.invoices
        owed = Money.of(c.balance, c.currency)
        per_currency[c.currency] = per_currency.get(c.currency, Money.zero(c.currency)) + owed
    rows = uow.audit_findings.overdue_invoices(todays, MAX_ITEMS)
    first = min(todays.values(), default=date.min)  # a client added since zones were read
    items = [
        AuditItem(
            f"{r['number']} — {r['client_name']}",
            f"{Money.of(r['balance'], r['currency']).format('en')} open, "
            f"{days_past_due(r['due_date'], todays.get(r['client_timezone'], first))}"
            " days past due",
            f"/invoices/{r['id']}",
        )
        for r in rows
    ]
    heading, fix = SECTIONS["overdue"]
    totals = tuple(per_currency[cur] for cur in sorted(per_currency))
    return AuditSection("overdue", heading, fix, items, max(0, count - len(items)), totals)


def _build(uow: UnitOfWork, now: datetime) -> WeeklyAudit:
    todays = entity_todays(uow.reports.zones(), now)
    today = min(todays.values(), default=now.date())
    since = now - WINDOW
    found = {
        "held": _held(uow),
        "failed_deliveries": _failed(uow, since),
        "idle_rules": _idle_rules(uow),
        "stale_sources": _stale(uow, now),
        "edited_time": _edited(uow, since),
        "incomplete_clients": _clients(uow),
        "contract_mismatch": _contracts(uow, since),
    }
    sections = [_section(k, v) for k, v in found.items()] + [
        _overdue(uow, client_todays(uow.reports.client_zones(), now))
    ]
    return WeeklyAudit(iso_week(today), today, now, sections)


def weekly_audit(*, uow: UnitOfWork, clock: Clock) -> WeeklyAudit:
    """The audit as of now (read-only)."""
    with uow:
        return _build(uow, clock.now())


def audit_email(audit: WeeklyAudit, base_url: str) -> tuple[str, str]:
    """(subject, plain-text body) of the owner's email; links are absolute."""
    base = base_url.rstrip("/")
    subject = (
        f"Weekly audit {audit.week}: {audit.total} item{'s' if audit.total != 1 else ''} to look at"
        if audit.total
        else f"Weekly audit {audit.week}: all clear"
    )
    lines = [f"Weekly audit for {audit.week} (as of {audit.today:%d %b %Y}).", ""]
    for s in audit.sections:
        owed = ", ".join(m.format("en") for m in s.totals)
        lines.append(f"{s.heading}: {s.count or 'none'}" + (f" ({owed} open)" if owed else ""))
        if s.items:
            lines.append(f"  ({s.fix})")
        for item in s.items:
            lines.append(f"  - {item.title} — {item.detail}")
            lines.append(f"    {base}{item.link}")
        if s.more:
            lines.append(f"  … and {s.more} more")
        lines.append("")
    lines.append(f"The dashboard shows this audit live: {base}/dashboard")
    return subject, "\n".join(lines)


def send_weekly_audit(*, uow: UnitOfWork, clock: Clock, base_url: str) -> str | None:
    """Queue this ISO week's audit email to the owner unless it was queued already; returns
    the week when queued now, None otherwise. One transaction."""
    now = clock.now()
    with uow:
        zones = uow.reports.zones()
        if not zones:
            return None
        local = now.astimezone(ZoneInfo(zones[min(zones)]))
        if local.weekday() != SEND_WEEKDAY or local.hour < SEND_HOUR:
            return None
        if uow.audit_findings.week_done(iso_week(local.date())):
            return None
        audit = _build(uow, now)
        if not uow.audit_findings.claim_week(audit.week, now, audit.summary()):
            return None
        subject, body = audit_email(audit, base_url)
        uow.outbox.enqueue(
            NOTIFY, {"subject": subject, "body": body}, f"weekly-audit:{audit.week}", now, now
        )
        uow.audit.record(
            at=now,
            actor="scheduler",
            action="weekly_audit.queued",
            subject_type="weekly_audit",
            subject_id=audit.week,
            detail=audit.summary(),
        )
        uow.commit()
    return audit.week
