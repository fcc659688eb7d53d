"""Reminders (dunning), the applicator of ``domain/dunning.py``: scan for due reminders,
queue each in the outbox once, and send it — unless the invoice was paid, voided or
disputed, or the client paused reminders, in the meantime.

* :func:`run_reminders` (the scheduler's step, and ``autoinvoice reminders run``): one
  set-based query finds the open invoices with a step due by the latest business date on
  earth (a superset); the pure calculator decides each exactly, in the client's time zone;
  for each reminder due a ``reminders`` row and a ``remind`` job are written in one
  transaction. The row's unique ``(invoice_id, step)`` makes a second scanner — another
  scheduler instance, a restart — add nothing.
* :func:`send_reminders` (the ``remind`` job) re-reads the invoice, its disputes and the
  client's pauses in its own transaction just before sending; instead of sending it records
  ``skipped: void``, or, when the invoice was paid, disputed or paused meanwhile, frees the
  step again (audited as ``reminder.skipped``): a paid invoice is not scanned, and if the
  payment is reversed the step is due again rather than counted as taken. The email has a stable
  Message-ID logged before sending, so a retried job never sends a second copy.
* Disputes and pauses are their own records (``invoice_disputes``, ``reminder_pauses``),
  opened and closed with an audit entry; a payment stops reminders by changing the
  invoice's state, not by flipping a flag.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from ..domain.dunning import (
    CountryRules,
    Decision,
    DunningState,
    ReminderPolicy,
    SentReminder,
    evaluate,
    rules_for,
    rules_from_dict,
)
from ..domain.errors import InvalidValue
from ..domain.invoice import Invoice
from ..domain.money import Money
from ..domain.recurrence import zone
from .delivery import DeliveryConfig, compose_email, invoice_context
from .errors import Conflict
from .ports import (
    ClientRecord,
    Clock,
    EmailTemplates,
    EntityRecord,
    Job,
    Mailer,
    OutgoingEmail,
    PermanentMailError,
    UnitOfWork,
)
from .reminder_fees import is_fee_invoice, raise_fee_invoice
from .reminder_wording import reminder_labels_for

REMIND = "remind"
DEFAULT_SCOPE = "default"
# no time zone is more than 14 hours ahead of UTC (Pacific/Kiritimati)
_AHEAD = timedelta(hours=14)


# -- the port -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReminderRecord:
    id: int
    invoice_id: int
    step: int
    offset_days: int
    tone: str
    due_on: date
    pay_by: date | None
    fee: Money | None
    fee_kind: str | None
    status: str  # queued | sent | skipped | failed
    detail: str | None
    message_id: str | None
    created_at: datetime
    sent_at: datetime | None
    number: str | None = None  # the invoice's, for lists


@dataclass(frozen=True, slots=True)
class Debtor:
    """What the scan needs of a client: where they are, and whether a business."""

    id: int
    country: str
    timezone: str
    is_business: bool


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    """What the scan needs of an invoice (not the whole invoice: the scan reads many)."""

    id: int
    client_id: int
    status: str
    due_date: date | None
    balance: Money
    debtor: Debtor | None = None  # the scan reads it with the invoice

    @classmethod
    def of(cls, inv: Invoice) -> OpenInvoice:
        return cls(inv.id or 0, inv.client_id or 0, inv.status.value, inv.due_date, inv.balance)


@dataclass(frozen=True, slots=True)
class NewReminder:
    invoice_id: int
    step: int
    offset_days: int
    tone: str
    due_on: date
    pay_by: date | None
    fee: Money | None
    fee_kind: str | None


@dataclass(frozen=True, slots=True)
class PauseRecord:
    id: int
    client_id: int
    reason: str
    since: datetime
    until: date | None
    resumed_at: datetime | None


class Reminders(Protocol):
    """Policies, reminder rows, disputes and pauses. ``add`` is idempotent on
    ``(invoice_id, step)``; one-record look-ups raise ``NotFound``."""

    def policies(self) -> dict[int | None, dict[str, Any]]:
        """Client id (None: the organisation's default) → stored policy definition."""
        ...

    def set_policy(
        self, client_id: int | None, definition: dict[str, Any] | None, at: datetime, actor: str
    ) -> None:
        """Store (or, with None, remove) a policy."""
        ...

    def candidates(
        self,
        cutoffs: Sequence[tuple[int, date]],
        latest_today: date,
        *,
        only_client: int | None = None,
        except_clients: Sequence[int] = (),
        limit: int | None = None,
    ) -> builtins.list[OpenInvoice]:
        """The open invoices for which some step ``i`` with ``due_date <= cutoffs[i]`` was
        not reminded yet (nor a later one), that have no open dispute and whose client has
        no pause that surely covers ``latest_today``."""
        ...

    def debtors(self, client_ids: Sequence[int]) -> dict[int, Debtor]: ...
    def add_many(
        self, reminders: Sequence[NewReminder], at: datetime
    ) -> dict[tuple[int, int], int]:
        """Store the reminders in one statement; returns the new ids by (invoice id, step).
        A step stored already is left as it is and not returned."""
        ...

    def get(self, reminder_id: int) -> ReminderRecord: ...
    def fee_invoice_of(self, reminder_id: int) -> int | None:
        """The invoice the reminder's late fee was raised as (``reminder_fees.py``)."""
        ...

    def fee_invoices(self, invoice_ids: Sequence[int]) -> set[int]:
        """The invoices among ``invoice_ids`` that are late fees themselves."""
        ...

    def history(self, invoice_ids: Sequence[int]) -> dict[int, builtins.list[SentReminder]]:
        """The steps taken per invoice, in step order (a skipped one's fee not counted)."""
        ...

    def mark(
        self,
        reminder_id: int,
        status: str,
        *,
        at: datetime,
        detail: str | None = None,
        message_id: str | None = None,
    ) -> None: ...
    def release(self, reminder_id: int) -> None:
        """Delete a reminder that was not sent, so its step can be queued again."""
        ...

    def list(
        self, invoice_id: int | None = None, limit: int = 100
    ) -> builtins.list[ReminderRecord]:
        """Newest first."""
        ...

    def disputed(self, invoice_ids: Sequence[int]) -> set[int]:
        """The invoices among ``invoice_ids`` with an open dispute."""
        ...

    def open_dispute(self, invoice_id: int, reason: str, at: datetime, actor: str) -> int: ...
    def resolve_dispute(self, invoice_id: int, resolution: str, at: datetime, actor: str) -> bool:
        """Close the open dispute; False when there was none."""
        ...

    def pauses(self, client_ids: Sequence[int] | None) -> dict[int, builtins.list[PauseRecord]]:
        """The clients' pauses not resumed (None: every client's)."""
        ...

    def pause(
        self, client_id: int, until: date | None, reason: str, at: datetime, actor: str
    ) -> int: ...
    def resume(self, client_id: int, at: datetime) -> int:
        """End the client's pauses; returns how many."""
        ...


# -- policies -------------------------------------------------------------------------------
def _policy(stored: Mapping[int | None, dict[str, Any]], client_id: int | None) -> ReminderPolicy:
    if client_id in stored:
        return ReminderPolicy.from_dict(stored[client_id])
    if None in stored:
        return ReminderPolicy.from_dict(stored[None])
    return ReminderPolicy.default()


def _rules(stored: Mapping[int | None, dict[str, Any]]) -> dict[str, CountryRules]:
    """The organisation's changes to the country rules (``{"NO": {"fee_cap": "75.00"}}``)."""
    raw = stored.get(None, {}).get("rules") or {}
    return {c.upper(): rules_from_dict(c.upper(), v) for c, v in raw.items()}


def country_rules(*, uow: UnitOfWork) -> dict[str, dict[str, Any]]:
    """The organisation's changes to the country rules, as stored."""
    with uow:
        return dict(uow.reminders.policies().get(None, {}).get("rules") or {})


def policy_for(client_id: int | None, *, uow: UnitOfWork) -> tuple[ReminderPolicy, str]:
    """The policy that applies to the client (or the organisation), and where it comes from:
    ``client``, ``organisation`` or ``built-in``."""
    with uow:
        stored = uow.reminders.policies()
    source = (
        "client"
        if client_id is not None and client_id in stored
        else "organisation"
        if None in stored
        else "built-in"
    )
    return _policy(stored, client_id), source


def set_policy(
    definition: Mapping[str, Any] | None,
    *,
    client_id: int | None,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
) -> ReminderPolicy | None:
    """Store the organisation's policy (``client_id`` None) or a client's override; None as
    the definition removes a client's override. Bad input raises naming the step at fault.

    The organisation's policy may also change the country rules (``"rules": {"NO":
    {"fee_cap": "75.00"}}``, fields of :class:`CountryRules`); a client's may not."""
    policy = ReminderPolicy.from_dict(definition) if definition is not None else None
    if policy is None and client_id is None:
        raise InvalidValue("the organisation's policy can be changed, not removed", field="steps")
    rules = dict((definition or {}).get("rules") or {})
    if rules and client_id is not None:
        raise InvalidValue("country rules are the organisation's, not a client's", field="rules")
    if not all(isinstance(v, Mapping) for v in rules.values()):
        raise InvalidValue('rules are {"NO": {"fee_cap": "75.00"}, …}', field="rules")
    _rules({None: {"rules": rules}})  # refuse bad rules before storing anything
    stored = {**policy.as_dict(), **({"rules": rules} if rules else {})} if policy else None
    now = clock.now()
    with uow:
        if client_id is not None:
            uow.clients.get(client_id)
        uow.reminders.set_policy(client_id, stored, now, actor)
        uow.audit.record(
            at=now,
            actor=actor,
            action="reminders.policy_set" if policy else "reminders.policy_removed",
            subject_type="client" if client_id is not None else "organisation",
            subject_id=client_id,
            detail=stored or {},
        )
        uow.commit()
    return policy


# -- the scan -------------------------------------------------------------------------------
@dataclass
class ScanReport:
    candidates: int = 0
    queued: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # why a candidate got nothing


def _cutoffs(policy: ReminderPolicy, latest_today: date) -> list[tuple[int, date]]:
    """Step ``i`` can be due only for invoices due on or before ``cutoff_i``."""
    return [(i, latest_today - timedelta(days=s.offset_days)) for i, s in enumerate(policy.steps)]


def run_reminders(
    *,
    uow: UnitOfWork,
    clock: Clock,
    rules: Mapping[str, CountryRules] | None = None,
    page: int = 1000,
) -> ScanReport:
    """Queue every reminder due now. One transaction per page of candidates. ``rules``
    replaces the organisation's stored changes to the country rules."""
    now = clock.now()
    latest_today = (now + _AHEAD).date()
    with uow:
        stored = uow.reminders.policies()
        pauses = uow.reminders.pauses(None)  # few: read once for the whole scan
    rules = rules if rules is not None else _rules(stored)
    overrides = sorted(c for c in stored if c is not None)
    groups: list[tuple[ReminderPolicy, dict[str, Any]]] = [
        (_policy(stored, None), {"except_clients": overrides})
    ]
    groups += [(_policy(stored, c), {"only_client": c}) for c in overrides]
    report = ScanReport()
    for policy, where in groups:
        if not policy.enabled or not policy.steps:
            continue
        with uow:
            found = uow.reminders.candidates(_cutoffs(policy, latest_today), latest_today, **where)
        report.candidates += len(found)
        # in id order: concurrent scanners take the rows' locks in one order (no deadlock)
        found.sort(key=lambda i: i.id)
        for start in range(0, len(found), page):
            with uow:
                _queue(uow, found[start : start + page], policy, rules, now, report, pauses)
                uow.commit()
    return report


@dataclass(frozen=True, slots=True)
class _Context:
    debtors: dict[int, Debtor]
    history: dict[int, list[SentReminder]]
    disputed: set[int]
    pauses: dict[int, list[PauseRecord]]


def _load(
    uow: UnitOfWork,
    items: Sequence[OpenInvoice],
    pauses: dict[int, list[PauseRecord]] | None = None,
) -> _Context:
    """What the decision needs besides the invoices. The scan passes the pauses, read once,
    and its invoices carry their debtor and have no open dispute (its query left those out;
    the send re-checks)."""
    ids = [i.id for i in items]
    debtors = {i.client_id: i.debtor for i in items if i.debtor is not None}
    scanned = len(debtors) == len({i.client_id for i in items})
    if not scanned:
        debtors = uow.reminders.debtors([i.client_id for i in items])
    return _Context(
        debtors,
        uow.reminders.history(ids),
        set() if scanned else uow.reminders.disputed(ids),
        pauses if pauses is not None else uow.reminders.pauses(list(debtors)),
    )


def client_today(client: ClientRecord | Debtor, now: datetime) -> date:
    """The client's business date now (overdue and reminders follow the client's clock)."""
    return now.astimezone(zone(client.timezone)).date()


def _state(inv: OpenInvoice, ctx: _Context, today: date) -> DunningState:
    client = ctx.debtors[inv.client_id]
    paused = any(p.until is None or p.until >= today for p in ctx.pauses.get(client.id, []))
    return DunningState(
        status=inv.status,
        due_date=inv.due_date,
        balance=inv.balance,
        is_business=client.is_business,
        disputed=inv.id in ctx.disputed,
        paused=paused,
        history=tuple(ctx.history.get(inv.id, ())),
    )


def decide(
    inv: OpenInvoice,
    ctx: _Context,
    policy: ReminderPolicy,
    rules: Mapping[str, CountryRules] | None,
    now: datetime,
) -> tuple[Decision, date]:
    client = ctx.debtors[inv.client_id]
    today = client_today(client, now)
    country_rules = rules_for(client.country, rules)
    return evaluate(_state(inv, ctx, today), policy, country_rules, today), today


def _queue(
    uow: UnitOfWork,
    items: list[OpenInvoice],
    policy: ReminderPolicy,
    rules: Mapping[str, CountryRules] | None,
    now: datetime,
    report: ScanReport,
    pauses: dict[int, list[PauseRecord]],
) -> None:
    """Write a reminder row and its job for each invoice of ``items`` with a step due."""
    ctx = _load(uow, items, pauses)
    fee_invoices = uow.reminders.fee_invoices([i.id for i in items])
    due: list[tuple[NewReminder, Decision]] = []
    for inv in items:
        decision, today = decide(inv, ctx, policy, rules, now)
        if inv.id in fee_invoices and decision.fee is not None:  # no fees on a late fee
            decision = replace(decision, fee=None, fee_kind=None, fee_note="a late fee itself")
        if decision.step is None:
            key = decision.reason.split(" on ")[0]
            report.reasons[key] = report.reasons.get(key, 0) + 1
            continue
        step = policy.steps[decision.step]
        new = NewReminder(
            invoice_id=inv.id,
            step=decision.step,
            offset_days=step.offset_days,
            tone=step.tone.value,
            due_on=today,
            pay_by=decision.pay_by,
            fee=decision.fee,
            fee_kind=decision.fee_kind.value if decision.fee_kind else None,
        )
        due.append((new, decision))
    ids = uow.reminders.add_many([n for n, _ in due], now) if due else {}
    queued = [(n, d) for n, d in due if (n.invoice_id, n.step) in ids]  # others: queued already
    if not queued:
        return
    uow.outbox.enqueue_many(
        [
            (
                REMIND,
                {"reminder_id": ids[n.invoice_id, n.step]},
                f"{REMIND}:{n.invoice_id}:{n.step}:{now.isoformat()}",
            )
            for n, _ in queued
        ],
        now,
        now,
    )
    # one audit entry per page (each email sent gets its own, ``reminder.sent``)
    uow.audit.record(
        at=now,
        actor="scheduler",
        action="reminders.queued",
        subject_type="scan",
        subject_id=None,
        detail={
            "reminders": [
                {
                    "invoice_id": n.invoice_id,
                    "step": n.step,
                    "tone": n.tone,
                    "fee": str(n.fee) if n.fee else None,
                    "fee_note": d.fee_note or None,
                    "pay_by": n.pay_by.isoformat() if n.pay_by else None,
                }
                for n, d in queued
            ]
        },
    )
    report.queued += len(queued)


# -- sending --------------------------------------------------------------------------------
def _stop_reason(inv: OpenInvoice, ctx: _Context, today: date) -> str:
    """Why this reminder must not go out now ('' when it may)."""
    state = _state(inv, ctx, today)
    if state.status == "void":
        return "void"
    if state.status == "paid" or not state.balance.is_positive():
        return "paid"
    if state.disputed:
        return "disputed"
    if state.paused:
        return "paused"
    return ""


def send_reminders(
    jobs: list[Job],
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
    mailer: Mailer,
    templates: EmailTemplates,
    config: DeliveryConfig,
) -> dict[int, Exception]:
    """The ``remind`` job: re-check, then send each reminder once."""
    failures: dict[int, Exception] = {}
    for job in jobs:
        try:
            _send_one(
                job,
                uow=uow,
                clock=clock,
                worker=worker,
                mailer=mailer,
                templates=templates,
                config=config,
            )
        except Exception as exc:
            failures[job.id] = exc
    return failures


def _send_one(
    job: Job,
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
    mailer: Mailer,
    templates: EmailTemplates,
    config: DeliveryConfig,
) -> None:
    now = clock.now()
    with uow:
        reminder = uow.reminders.get(int(job.payload["reminder_id"]))
        inv = uow.invoices.get(reminder.invoice_id, for_update=True)
        ctx = _load(uow, [OpenInvoice.of(inv)])
        client = uow.clients.get(inv.client_id or 0)
        stop = _stop_reason(OpenInvoice.of(inv), ctx, client_today(client, now))
        email = None
        if not stop:
            entity = uow.entities.get(client.entity_id)
            fee_inv = _fee_invoice(uow, inv, client, entity, reminder, now, worker)
            email = _compose(inv, client, entity, reminder, fee_inv, uow, templates, config, now)
        if email is None or _already_sent(uow, reminder, email, now):
            if stop:
                _skip(uow, reminder, stop, now, worker)
            uow.outbox.complete(job.id, worker, now)
            uow.commit()
            return
        uow.messages.start(
            message_id=email.message_id,
            invoice_id=inv.id,
            job_id=job.id,
            recipients=list(email.to),
            subject=email.subject,
            at=now,
        )
        if not uow.outbox.extend(job.id, worker, now + timedelta(seconds=config.lease_seconds)):
            uow.rollback()
            return  # the lease ran out and another worker took the job: it sends
        uow.commit()
    try:
        detail = mailer.send(email).detail
    except PermanentMailError as exc:
        with uow:
            uow.messages.mark(email.message_id, "failed", exc.message, clock.now())
            uow.reminders.mark(reminder.id, "failed", at=clock.now(), detail=str(exc))
            uow.commit()
        raise
    with uow:
        done = clock.now()
        uow.messages.mark(email.message_id, "sent", detail, done)
        uow.reminders.mark(reminder.id, "sent", at=done, message_id=email.message_id)
        uow.outbox.complete(job.id, worker, done)
        _audit(uow, done, worker, "reminder.sent", reminder, {"to": list(email.to)})
        uow.commit()


def _skip(uow: UnitOfWork, reminder: ReminderRecord, stop: str, now: datetime, worker: str) -> None:
    if stop == "void":  # since the scan: not sent, and never will be
        uow.reminders.mark(reminder.id, "skipped", at=now, detail=stop)
    else:  # paid, disputed or paused: the step is free again for when that ends — a payment
        # can be reversed (a bank return, a chargeback) and the invoice is open again
        uow.reminders.release(reminder.id)
    _audit(uow, now, worker, "reminder.skipped", reminder, {"reason": stop})


def _already_sent(
    uow: UnitOfWork, reminder: ReminderRecord, email: OutgoingEmail, now: datetime
) -> bool:
    """True when this reminder went out already (a retry after a crash): not again."""
    logged = uow.messages.get(email.message_id)
    if reminder.status == "queued" and (logged is None or logged.status != "sent"):
        return False
    if reminder.status == "queued":
        uow.reminders.mark(reminder.id, "sent", at=now, message_id=email.message_id)
    return True


def _audit(
    uow: UnitOfWork, at: datetime, actor: str, action: str, r: ReminderRecord, extra: dict[str, Any]
) -> None:
    uow.audit.record(
        at=at,
        actor=actor,
        action=action,
        subject_type="invoice",
        subject_id=r.invoice_id,
        detail={"step": r.step, "tone": r.tone, **extra},
    )


def _fee_invoice(
    uow: UnitOfWork,
    inv: Invoice,
    client: ClientRecord,
    entity: EntityRecord,
    reminder: ReminderRecord,
    now: datetime,
    actor: str,
) -> Invoice | None:
    """The invoice the reminder's fee is raised as (None: no fee, or ``inv`` is a fee)."""
    if reminder.fee is None or not reminder.fee.is_positive() or is_fee_invoice(inv):
        return None
    return raise_fee_invoice(
        uow, inv, reminder.fee, client=client, entity=entity, reminder_id=reminder.id,
        now=now, actor=actor,
    )  # fmt: skip


def _compose(
    inv: Invoice,
    client: ClientRecord,
    entity: EntityRecord,
    reminder: ReminderRecord,
    fee_inv: Invoice | None,
    uow: UnitOfWork,
    templates: EmailTemplates,
    config: DeliveryConfig,
    now: datetime,
) -> OutgoingEmail:
    from babel.dates import format_date

    lang = client.language
    context = invoice_context(inv, entity, client, uow.invoices.portal_token(inv.id or 0), config)
    balance = inv.balance
    # the fee is owed on its own invoice; the reminder asks for both
    fee = fee_inv.gross if fee_inv is not None else None
    total = balance + fee_inv.balance if fee_inv is not None else balance
    today = client_today(client, now)
    context["reminder"] = {
        "tone": reminder.tone,
        "step": reminder.step,
        "days_overdue": max((today - inv.due_date).days, 0) if inv.due_date else 0,
        "fee": fee.format(lang) if fee else None,
        "fee_invoice": fee_inv.number if fee_inv is not None else None,
        "total_due": total.format(lang),
        "pay_by": format_date(reminder.pay_by, "medium", locale=lang) if reminder.pay_by else None,
    }
    context["t"] = reminder_labels_for(lang)
    return compose_email(
        "reminder_email",
        context,
        inv,
        entity,
        client,
        message_id=f"<reminder-{inv.id}-{reminder.step}.{entity.id}@{config.message_domain}>",
        templates=templates,
        config=config,
        now=now,
        sources=uow.user_templates.sources(),  # templates edited in the web app
    )


# -- by hand --------------------------------------------------------------------------------
def remind_now(invoice_id: int, *, key: str, uow: UnitOfWork, clock: Clock, actor: str) -> str:
    """Queue the invoice's next reminder step now, ahead of the scan (the operator's
    "Remind"): only an open invoice past its due date, not disputed, its client not paused,
    with reminders on and a step left, and none queued still or sent today (each press
    would otherwise queue the next, harsher step at once). A step due by the policy keeps
    its fee; one taken early charges none. Returns the tone queued, or ``""`` when ``key``
    queued one already (a repeated request adds nothing); raises ``Conflict`` saying why
    nothing is queued."""
    now = clock.now()
    with uow:
        inv = uow.invoices.get(invoice_id, for_update=True)
        item = OpenInvoice.of(inv)
        stored = uow.reminders.policies()
        policy = _policy(stored, item.client_id)
        ctx = _load(uow, [item])
        label = inv.number or f"draft #{invoice_id}"
        today = client_today(ctx.debtors[item.client_id], now)
        stop = _stop_reason(item, ctx, today)
        if not stop and item.status not in ("issued", "sent", "viewed", "partially_paid"):
            stop = f"a {item.status.replace('_', ' ')}"
        if not stop and (item.due_date is None or item.due_date >= today):
            stop = "not overdue"
        if not stop and (not policy.enabled or not policy.steps):
            stop = "under a policy with reminders off"
        if stop:
            raise Conflict(f"{label} is {stop}", field="invoice_id")
        for earlier in uow.reminders.list(invoice_id=invoice_id):  # one at a time, a day apart
            if earlier.status == "queued":
                raise Conflict(f"{label}: a reminder is queued already", field="invoice_id")
            if (
                earlier.sent_at
                and client_today(ctx.debtors[item.client_id], earlier.sent_at) == today
            ):
                raise Conflict(f"{label}: a reminder went out today", field="invoice_id")
        decision, _ = decide(item, ctx, policy, _rules(stored), now)
        done = max((h.step for h in ctx.history.get(invoice_id, ())), default=-1)
        step = decision.step if decision.step is not None else done + 1
        if step >= len(policy.steps):
            raise Conflict(f"{label} had every reminder step already", field="invoice_id")
        rules = rules_for(ctx.debtors[item.client_id].country, _rules(stored))
        early = decision.step is None
        new = NewReminder(
            invoice_id=invoice_id,
            step=step,
            offset_days=policy.steps[step].offset_days,
            tone=policy.steps[step].tone.value,
            due_on=today,
            pay_by=today + timedelta(days=rules.new_deadline_days)
            if early and rules.new_deadline_days
            else decision.pay_by,
            fee=None if early else decision.fee,
            fee_kind=None if early or not decision.fee_kind else decision.fee_kind.value,
        )
        ids = uow.reminders.add_many([new], now)
        if not ids or not uow.outbox.enqueue(
            REMIND, {"reminder_id": ids[invoice_id, step]}, f"{REMIND}:{invoice_id}:by-hand:{key}",
            now, now,
        ):  # fmt: skip
            uow.rollback()
            return ""
        uow.audit.record(
            at=now,
            actor=actor,
            action="reminder.queued",
            subject_type="invoice",
            subject_id=invoice_id,
            detail={"step": step, "tone": new.tone, "fee": str(new.fee) if new.fee else None},
        )
        uow.commit()
    return new.tone


# -- disputes and pauses ----------------------------------------------------------------------
def dispute_invoice(
    invoice_id: int, reason: str, *, uow: UnitOfWork, clock: Clock, actor: str
) -> int:
    """Open a dispute: reminders stop until it is resolved."""
    if not reason or not reason.strip():
        raise InvalidValue("say what the client disputes", field="reason")
    now = clock.now()
    with uow:
        inv = uow.invoices.get(invoice_id, for_update=True)
        if uow.reminders.disputed([invoice_id]):
            raise Conflict(f"invoice {inv.number or invoice_id} is disputed already", field="id")
        dispute_id = uow.reminders.open_dispute(invoice_id, reason.strip(), now, actor)
        uow.audit.record(
            at=now,
            actor=actor,
            action="invoice.disputed",
            subject_type="invoice",
            subject_id=invoice_id,
            detail={"reason": reason.strip()},
        )
        uow.commit()
    return dispute_id


def resolve_dispute(
    invoice_id: int, resolution: str, *, uow: UnitOfWork, clock: Clock, actor: str
) -> None:
    """Close the invoice's open dispute: reminders resume with the next step due."""
    now = clock.now()
    with uow:
        inv = uow.invoices.get(invoice_id, for_update=True)
        if not uow.reminders.resolve_dispute(invoice_id, resolution.strip(), now, actor):
            raise Conflict(f"invoice {inv.number or invoice_id} has no open dispute", field="id")
        uow.audit.record(
            at=now,
            actor=actor,
            action="invoice.dispute_resolved",
            subject_type="invoice",
            subject_id=invoice_id,
            detail={"resolution": resolution.strip()},
        )
        uow.commit()


def pause_client(
    client_id: int,
    reason: str,
    *,
    until: date | None,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
) -> int:
    """Pause the client's reminders (through ``until``, its business date, or until resumed)."""
    if not reason or not reason.strip():
        raise InvalidValue("say why reminders are paused", field="reason")
    now = clock.now()
    with uow:
        client = uow.clients.get(client_id)
        if until is not None and until < client_today(client, now):
            raise InvalidValue(f"{until} has passed", field="until")
        pause_id = uow.reminders.pause(client_id, until, reason.strip(), now, actor)
        uow.audit.record(
            at=now,
            actor=actor,
            action="reminders.paused",
            subject_type="client",
            subject_id=client_id,
            detail={"reason": reason.strip(), "until": until.isoformat() if until else None},
        )
        uow.commit()
    return pause_id


def resume_client(client_id: int, *, uow: UnitOfWork, clock: Clock, actor: str) -> int:
    now = clock.now()
    with uow:
        uow.clients.get(client_id)
        ended = uow.reminders.resume(client_id, now)
        uow.audit.record(
            at=now,
            actor=actor,
            action="reminders.resumed",
            subject_type="client",
            subject_id=client_id,
            detail={"pauses_ended": ended},
        )
        uow.commit()
    return ended


__all__ = [
    "REMIND",
    "Debtor",
    "NewReminder",
    "OpenInvoice",
    "PauseRecord",
    "ReminderRecord",
    "Reminders",
    "ScanReport",
    "country_rules",
    "dispute_invoice",
    "pause_client",
    "policy_for",
    "resolve_dispute",
    "resume_client",
    "run_reminders",
    "send_reminders",
    "set_policy",
]
