"""Ports: what the services need from the outside world, as small Protocols.

Adapters implement them (``autoinvoice.adapters``); tests use the real SQL adapter on both
databases, and fakes in ``tests/fakes.py`` for rendering and mail where a unit test needs one.
Records defined here are what crosses the port: plain frozen dataclasses.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, Self

from ..domain.contracts import Contract, TimeEntry
from ..domain.documents import Branding, DocumentSettings
from ..domain.en16931 import EInvoice
from ..domain.events import Event
from ..domain.invoice import Invoice
from ..domain.lint import CheckSettings
from ..domain.numbering import NumberSeries
from ..domain.parties import Party
from ..domain.terms import PaymentTerms
from ..domain.triggers import TriggerRule
from .connectors import SourceConfig

if TYPE_CHECKING:  # it imports this module
    from .bank import BankStatements
    from .idempotency import IdempotencyKeys
    from .installation_settings import Installation
    from .ledger import Ledger
    from .metrics import MetricsReader
    from .outgoing import OutgoingWebhooks
    from .payment_links import PaymentLinks
    from .reminders import Reminders
    from .reports import Reports
    from .resources import Resources
    from .user_templates import UserTemplates
    from .weekly_audit import AuditFindings


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware (UTC)."""
        ...


# -- records --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EntityRecord:
    id: int
    party: Party
    email: str
    timezone: str
    locale: str
    bank: dict[str, str] = field(default_factory=dict)
    footer: str = ""
    phone: str | None = None
    branding: Branding = field(default_factory=Branding)
    checks: CheckSettings = field(default_factory=CheckSettings)
    sandbox_to: str | None = None  # sandbox mode: every email goes here, not to clients


@dataclass(frozen=True, slots=True)
class ClientRecord:
    id: int
    entity_id: int
    party: Party
    currency: str
    terms: PaymentTerms
    language: str = "en"
    timezone: str = "UTC"
    documents: DocumentSettings = field(default_factory=DocumentSettings)
    cc: tuple[str, ...] = ()  # copied on every invoice email
    bcc: tuple[str, ...] = ()  # blind copies, e.g. the accounts-payable archive
    po_required: bool = False  # the client wants its PO number on every invoice
    payment_method: str | None = None  # preferred: bank_transfer | card | upi | direct_debit


@dataclass(frozen=True, slots=True)
class SeriesRecord:
    id: int
    entity_id: int
    name: str
    series: NumberSeries


@dataclass(frozen=True, slots=True)
class InvoiceSummary:
    id: int
    number: str | None
    client_id: int
    client_name: str
    status: str
    kind: str
    currency: str
    gross: Decimal
    paid: Decimal
    issue_date: date | None
    due_date: date | None
    hold_reason: str | None
    client_timezone: str = "UTC"  # overdue is judged by the date where the client is

    @property
    def balance(self) -> Decimal:
        return Decimal(0) if self.status == "void" else self.gross - self.paid


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class MessageStart:
    """An email about to go out, as logged under its Message-ID before it is sent."""

    message_id: str
    invoice_id: int | None
    job_id: int | None
    recipients: list[str]
    subject: str


@dataclass(frozen=True, slots=True)
class MessageRecord:
    message_id: str
    status: str  # sending | sent | failed
    attempts: int
    invoice_id: int | None


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    email: str
    password_hash: str
    role: str


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: int
    user_id: int
    name: str
    prefix: str
    key_hash: str
    scopes: tuple[str, ...]
    revoked: bool


# -- repositories ---------------------------------------------------------------------------
class Entities(Protocol):
    def get(self, entity_id: int) -> EntityRecord: ...
    def first(self) -> EntityRecord | None: ...
    def add(self, record: EntityRecord) -> int: ...
    def update(
        self,
        entity_id: int,
        *,
        branding: Branding | None = None,
        checks: CheckSettings | None = None,
        bank: dict[str, str] | None = None,
        footer: str | None = None,
    ) -> None:
        """Change the given settings (the others stay)."""
        ...

    def set_sandbox(self, entity_id: int, address: str | None) -> None:
        """Sandbox mode on (every email to ``address``) or off (None)."""
        ...

    def update_profile(self, entity_id: int, party: Party, *, email: str, timezone: str) -> None:
        """Replace the legal identity: name, address, tax and Peppol ids, email, time zone."""
        ...


class Clients(Protocol):
    def get(self, client_id: int) -> ClientRecord: ...
    def get_many(self, ids: Sequence[int]) -> dict[int, ClientRecord]: ...
    def list(self) -> builtins.list[ClientRecord]: ...
    def add(self, record: ClientRecord, created_at: datetime) -> int: ...
    def set_documents(self, client_id: int, settings: DocumentSettings) -> None: ...
    def set_recipients(self, client_id: int, cc: Sequence[str], bcc: Sequence[str]) -> None: ...
    def existing_portal_token(self, client_id: int) -> str | None: ...
    def portal_token(self, client_id: int) -> str: ...
    def rotate_portal_token(self, client_id: int) -> str: ...
    def by_portal_token(self, token: str) -> ClientRecord: ...
    def update_billing(
        self, client_id: int, party: Party, *, po_required: bool, payment_method: str | None
    ) -> None:
        """Replace the client's billing data (name, address, emails, tax and Peppol ids)."""
        ...

    def update(self, record: ClientRecord) -> None:
        """Replace what the client form edits: billing data, currency, terms, language,
        time zone, PO and payment preferences (``NotFound`` if there is no such client)."""
        ...


class Contracts(Protocol):
    def get(self, contract_id: int) -> Contract: ...
    def list(self, client_id: int | None = None) -> builtins.list[Contract]: ...
    def add(self, contract: Contract, next_run_at: datetime | None) -> int: ...
    def due(self, now: datetime, limit: int) -> builtins.list[tuple[Contract, datetime]]:
        """Active retainers whose next occurrence (``next_run_at``) ≤ now, oldest first."""
        ...

    def rewind(self, contract_id: int, occurrence: datetime) -> None:
        """Make ``occurrence`` due again (its invoice was deleted before issue)."""
        ...

    def advance(self, contract_id: int, fired: datetime, following: datetime | None) -> None:
        """Move the next occurrence past ``fired`` — only forward, never back."""
        ...


class Numbering(Protocol):
    def default_series(self, entity_id: int) -> SeriesRecord: ...
    def get_series(self, series_id: int) -> SeriesRecord: ...
    def add_series(self, entity_id: int, name: str, series: NumberSeries) -> int: ...
    def allocate(self, series_id: int, period: str) -> int:
        """Take the next number of (series, period). Must hold a lock on the counter until the
        transaction ends, so that a rollback returns the number and numbers stay gapless."""
        ...


class Firings(Protocol):
    def claim(self, contract_id: int, occurrence_at: datetime, fired_at: datetime) -> int | None:
        """Record that an occurrence fired; None when it already had (another scheduler)."""
        ...

    def failed(self) -> builtins.list[tuple[int, int, datetime]]:
        """(firing id, contract id, occurrence) of occurrences whose invoice could not be
        assembled yet (missing client data), oldest first."""
        ...

    def release(self, invoice_id: int) -> tuple[int, datetime] | None:
        """Forget the firing that made draft ``invoice_id`` (being deleted), so the schedule
        bills that period again; returns (contract id, occurrence)."""
        ...

    def settle(
        self, firing_id: int, outcome: str, invoice_id: int | None, detail: str | None
    ) -> None: ...


class Invoices(Protocol):
    def add(self, invoice: Invoice, *, seq: int | None = None) -> int:
        """Insert a new invoice (draft, or issued with its sequence number ``seq``)."""
        ...

    def get(self, invoice_id: int, *, for_update: bool = False) -> Invoice: ...
    def get_many(self, ids: Sequence[int], *, for_update: bool = False) -> dict[int, Invoice]:
        """The invoices that exist among ``ids`` (two queries, whatever their number)."""
        ...

    def portal_tokens(self, ids: Sequence[int]) -> dict[int, str]: ...
    def save(self, invoice: Invoice, *, seq: int | None = None) -> None:
        """Store status, dates and payment figures; lines and parties only while the stored
        invoice is a draft (issued invoices are immutable); ``seq`` when it is being issued."""
        ...

    def save_many(self, invoices: Sequence[Invoice]) -> None:
        """:meth:`save` for many: one executemany UPDATE of the status, dates and payment
        figures of the issued ones (a draft among them is saved alone, lines and all)."""
        ...

    def delete_draft(self, invoice_id: int) -> None: ...
    def by_number(self, number: str) -> Invoice: ...
    def summaries(
        self,
        *,
        status: str | None = None,
        client_id: int | None = None,
        limit: int = 200,
        after_id: int | None = None,
        kind: str | None = None,
        issued_from: date | None = None,
        issued_to: date | None = None,
        number: str | None = None,
    ) -> list[InvoiceSummary]:
        """Newest first; ``issued_from``/``issued_to`` bound the issue date (inclusive),
        ``number`` is a case-insensitive part of the number."""
        ...

    def portal_token(self, invoice_id: int) -> str: ...
    def by_portal_token(self, token: str) -> Invoice: ...
    def rotate_portal_token(self, invoice_id: int) -> str: ...


class Documents(Protocol):
    def get(self, invoice_id: int, kind: str) -> bytes | None: ...
    def get_many(self, ids: Sequence[int], kind: str) -> dict[int, bytes]: ...
    def put(self, invoice_id: int, kind: str, content: bytes, at: datetime) -> None: ...


class Payments(Protocol):
    def add(
        self,
        *,
        client_id: int,
        invoice_id: int | None,
        amount: Decimal,
        applied: Decimal,
        currency: str,
        method: str,
        reference: str | None,
        received_at: datetime,
        recorded_at: datetime,
        idempotency_key: str | None,
    ) -> int: ...
    def by_key(self, idempotency_key: str) -> tuple[int, int | None] | None:
        """(payment id, invoice id) of the payment recorded under this key."""
        ...

    def by_keys(self, keys: Sequence[str]) -> dict[str, tuple[int, int | None]]:
        """:meth:`by_key` for many keys in one query: key → (payment id, invoice id) of the
        keys recorded before."""
        ...

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Many :meth:`add` calls (each row holds its keyword arguments) in one statement;
        the new ids in the rows' order."""
        ...

    def for_invoice(self, invoice_id: int) -> list[dict[str, Any]]: ...
    def for_client(self, client_id: int) -> list[dict[str, Any]]: ...


class Credits(Protocol):
    def add(
        self,
        *,
        client_id: int,
        amount: Decimal,
        currency: str,
        payment_id: int | None,
        note: str,
        at: datetime,
    ) -> None: ...
    def balance(self, client_id: int, currency: str) -> Decimal: ...


class Outbox(Protocol):
    def enqueue(
        self, kind: str, payload: dict[str, Any], key: str, run_after: datetime, now: datetime
    ) -> bool:
        """Add a job unless one with ``key`` exists; True when added. Same transaction as the
        change that causes it."""
        ...

    def enqueue_many(
        self, jobs: Sequence[tuple[str, dict[str, Any], str]], run_after: datetime, now: datetime
    ) -> None:
        """Enqueue (kind, payload, idempotency key) jobs in one round trip; existing keys
        are left alone."""
        ...

    def claim(
        self,
        worker: str,
        now: datetime,
        lease_seconds: int,
        limit: int,
        kinds: Sequence[str] | None = None,
    ) -> list[Job]:
        """Take up to ``limit`` runnable jobs (pending and due, or running with an expired
        lease — its worker died). PostgreSQL: FOR UPDATE SKIP LOCKED."""
        ...

    def complete(self, job_id: int, worker: str, now: datetime) -> bool: ...
    def complete_many(
        self, job_ids: Sequence[int], worker: str, now: datetime
    ) -> builtins.set[int]:
        """Mark done those of ``job_ids`` still this worker's; returns them."""
        ...

    def fail(
        self, job_id: int, worker: str, error: str, now: datetime, retry_at: datetime | None
    ) -> None: ...
    def extend(self, job_id: int, worker: str, until: datetime) -> bool:
        """Renew the lease; False when the job is no longer this worker's (it must stop)."""
        ...

    def extend_many(
        self, job_ids: Sequence[int], worker: str, until: datetime
    ) -> builtins.set[int]:
        """Renew the leases of ``job_ids``; returns those still this worker's."""
        ...

    def requeue_dead(self, now: datetime, kind: str | None = None) -> builtins.list[int]:
        """Give jobs that were given up on a fresh start; returns their ids."""
        ...

    def counts(self) -> dict[str, int]: ...
    def dead(self, limit: int = 100) -> builtins.list[dict[str, Any]]: ...


class Messages(Protocol):
    def get(self, message_id: str) -> MessageRecord | None: ...
    def start(
        self,
        *,
        message_id: str,
        invoice_id: int | None,
        job_id: int | None,
        recipients: list[str],
        subject: str,
        at: datetime,
    ) -> MessageRecord: ...
    def start_many(self, starts: Sequence[MessageStart], at: datetime) -> dict[str, MessageRecord]:
        """``start`` for each, in one round trip for the new ones; keyed by Message-ID."""
        ...

    def mark(self, message_id: str, status: str, detail: str | None, at: datetime) -> None: ...
    def for_invoice(self, invoice_id: int) -> list[dict[str, Any]]: ...


class Audit(Protocol):
    def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str | int | None,
        detail: dict[str, Any] | None = None,
    ) -> None: ...
    def record_many(self, entries: Sequence[dict[str, Any]]) -> None:
        """``record`` for each (the same keys), in one round trip."""
        ...

    def recent(
        self, limit: int = 100, subject_type: str | None = None, subject_id: str | None = None
    ) -> list[dict[str, Any]]: ...
    def has_action(self, actions: Sequence[str]) -> bool:
        """Whether any entry of one of ``actions`` was ever recorded."""
        ...

    def search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        subject_type: str | None = None,
        subject_id: str | None = None,
        since: datetime | None = None,
        before: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Entries matching every filter given, newest first (id order); ``actor`` is a
        case-insensitive part of the actor, ``since`` inclusive, ``before`` exclusive;
        ``before_id`` pages on (ids below it)."""
        ...

    def actions(self) -> list[str]:
        """The distinct actions recorded, sorted."""
        ...


class Users(Protocol):
    def add(self, email: str, password_hash: str, role: str, at: datetime) -> int: ...
    def by_email(self, email: str) -> UserRecord | None: ...
    def get(self, user_id: int) -> UserRecord: ...
    def count(self) -> int: ...
    def set_password(self, user_id: int, password_hash: str) -> None: ...
    def signed_in(self, user_id: int, at: datetime) -> None: ...
    def add_key(
        self,
        *,
        user_id: int,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: Sequence[str],
        at: datetime,
    ) -> int: ...
    def key_by_prefix(self, prefix: str) -> ApiKeyRecord | None: ...
    def revoke_key(self, key_id: int, at: datetime) -> None: ...


# -- triggers: sources, events, rules (see services/ingest.py and services/triggering.py) --
@dataclass(frozen=True, slots=True)
class SourceRecord:
    id: int
    kind: str
    name: str
    url_token: str
    sealed_secrets: str = field(repr=False)
    config: SourceConfig
    created_at: datetime
    max_age: timedelta | None = None
    poll_interval: timedelta | None = None
    enabled: bool = True
    last_event_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    error_count: int = 0
    consecutive_errors: int = 0
    stale_alerted: bool = False
    poll_cursor: str | None = None
    next_poll_at: datetime | None = None

    def is_stale(self, now: datetime) -> bool:
        """Stale when the last successful sync (or, never synced, the creation) is older
        than the allowed age. A source with no allowed age is never stale."""
        if self.max_age is None:
            return False
        return now - (self.last_success_at or self.created_at) > self.max_age


@dataclass(frozen=True, slots=True)
class InboundRecord:
    id: int
    source_id: int
    received_at: datetime
    headers: dict[str, str]
    body: bytes
    status: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class LinkRecord:
    id: int
    source_id: int
    ref_type: str  # client | project
    external_ref: str
    client_id: int
    contract_id: int | None


@dataclass(frozen=True, slots=True)
class RuleRecord:
    id: int
    rule: TriggerRule
    version: int
    updated_at: datetime
    next_run_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UnbilledEntry:
    id: int
    source_id: int
    contract_id: int
    entry: TimeEntry


class Sources(Protocol):
    def add(self, record: SourceRecord) -> int: ...
    def get(self, source_id: int) -> SourceRecord: ...
    def by_name(self, name: str) -> SourceRecord: ...
    def by_token(self, kind: str, token: str) -> SourceRecord | None: ...
    def of_kind(self, kind: str) -> builtins.list[SourceRecord]: ...
    def list(self) -> builtins.list[SourceRecord]: ...
    def update(self, source_id: int, **values: Any) -> None:
        """Set columns (secrets as ``sealed_secrets``, config as a SourceConfig)."""
        ...

    def succeeded(self, source_id: int, at: datetime, *, event: bool) -> None:
        """A sync or event was processed: last_success_at, consecutive_errors=0."""
        ...

    def failed(self, source_id: int, at: datetime, error: str) -> int:
        """Count an error; returns the consecutive error count after it."""
        ...

    def due_polls(self, now: datetime) -> builtins.list[SourceRecord]: ...


class Inbound(Protocol):
    def add(
        self,
        source_id: int,
        received_at: datetime,
        dedupe_key: str,
        headers: dict[str, str],
        body: bytes,
    ) -> int | None:
        """Store a raw request; None if the same (source, dedupe key) was stored before."""
        ...

    def add_many(
        self, rows: Sequence[tuple[int, datetime, str, dict[str, str], bytes]]
    ) -> builtins.list[int | None]:
        """Store many raw requests (source, received at, dedupe key, headers, body) in one
        round trip; per row its new id, or None for a redelivery."""
        ...

    def get(self, inbound_id: int) -> InboundRecord: ...
    def finish(self, inbound_id: int, status: str, error: str | None, at: datetime) -> None: ...
    def recent(self, source_id: int, limit: int = 20) -> builtins.list[dict[str, Any]]: ...


class Events(Protocol):
    def add(self, source_id: int, inbound_id: int | None, event: Event, at: datetime) -> int | None:
        """Record a canonical event; None if its dedupe key was seen from this source."""
        ...

    def reopen(self, source_id: int, dedupe_key: str) -> int | None:
        """An event seen before whose processing could not finish (unmapped, error, a rule
        failed) is processed again; one that was applied is not (None)."""
        ...

    def settle(self, event_id: int, status: str, detail: str | None = None) -> None: ...
    def advance_subject(self, source_id: int, event: Event) -> bool:
        """Move the subject's known state to this event's; False (and no change) if a newer
        state is already known — the event arrived out of order."""
        ...

    def get(self, event_id: int) -> tuple[int, Event, str]:
        """(source id, event, status)."""
        ...

    def unfinished(self, source_id: int, limit: int = 10_000) -> builtins.list[Event]:
        """The source's events that could not be applied (unmapped, error, failed)."""
        ...

    def between(
        self, start: datetime, end: datetime, source_id: int | None = None
    ) -> builtins.list[tuple[int, int, Event, str]]:
        """(event id, source id, event, status) recorded in [start, end)."""
        ...

    def of_requests(self, inbound_ids: Sequence[int]) -> builtins.list[dict[str, Any]]:
        """The events the stored requests produced, oldest first: id, inbound_id, type,
        subject, external_id, occurred_at, status, detail, fields, raw."""
        ...


class Links(Protocol):
    def add(
        self,
        source_id: int,
        ref_type: str,
        external_ref: str,
        client_id: int,
        contract_id: int | None,
    ) -> int: ...
    def find(self, source_id: int, ref_type: str, external_ref: str) -> LinkRecord | None: ...
    def list(self, source_id: int | None = None) -> builtins.list[LinkRecord]: ...


class Rules(Protocol):
    def save(self, rule: TriggerRule, at: datetime, actor: str) -> tuple[int, int, bool]:
        """Insert or update by name; a changed definition becomes a new version in the
        history. Returns (rule id, version, changed)."""
        ...

    def get(self, name: str) -> RuleRecord: ...
    def list(self, *, enabled_only: bool = False) -> builtins.list[RuleRecord]: ...
    def history(self, name: str) -> builtins.list[dict[str, Any]]: ...
    def set_next_run(self, rule_id: int, at: datetime | None) -> None: ...


class RuleFirings(Protocol):
    def claim(
        self, rule_id: int, subject: str, period: str, at: datetime, event_id: int | None
    ) -> int | None:
        """Claim (rule, subject, period); None if it was claimed before (exactly once)."""
        ...

    def reclaim(self, rule_id: int, subject: str, period: str, at: datetime) -> int | None:
        """Take back a firing that failed (its data was fixed since); None if it did not
        fail — then it stands as it is."""
        ...

    def billed_by_other_rule(self, rule_id: int, subject: str) -> str | None:
        """The name of another (live) rule that already billed this subject, if any."""
        ...

    def release(self, invoice_id: int) -> None:
        """Forget the firing that made this (deleted) draft, so it can fire again."""
        ...

    def resolve(self, rule_id: int, event_id: int, keep: int) -> None:
        """Mark the rule's failed firings for this event (other than ``keep``) resolved."""
        ...

    def settle(self, firing_id: int, outcome: str, **values: Any) -> None: ...
    def waiting(self) -> builtins.list[dict[str, Any]]: ...
    def list(
        self,
        rule_id: int | None = None,
        outcome: str | None = None,
        limit: int = 1000,
        *,
        newest_first: bool = False,
    ) -> builtins.list[dict[str, Any]]: ...


class TimeEntries(Protocol):
    def upsert(
        self,
        source_id: int,
        contract_id: int | None,
        event: Event,
        entry: TimeEntry | None,
        at: datetime,
    ) -> str:
        """Store the entry (``None``: deleted). Returns ``new``, ``updated``, ``unchanged``,
        ``stale`` (an older version than stored) or ``edited_after_billing`` (billed: the
        stored entry keeps what was billed and is flagged)."""
        ...

    def unbilled(
        self, contract_ids: Sequence[int], up_to: date | None = None
    ) -> builtins.list[UnbilledEntry]: ...
    def mark_billed(self, ids: Sequence[int], invoice_id: int) -> bool:
        """Mark entries billed; False if any was billed meanwhile (nothing changed then)."""
        ...

    def release(self, invoice_id: int) -> None:
        """The draft that billed these entries was deleted: they are unbilled again."""
        ...


class Milestones(Protocol):
    def complete(self, contract_id: int, name: str, at: datetime, event_id: int | None) -> None: ...
    def reopen(self, contract_id: int, name: str) -> None: ...
    def states(self, contract_id: int) -> dict[str, tuple[datetime | None, int | None]]:
        """name → (completed_at, invoice_id)."""
        ...

    def mark_billed(self, contract_id: int, names: Sequence[str], invoice_id: int) -> bool: ...
    def release(self, invoice_id: int) -> None: ...


class CsvMappings(Protocol):
    def save(self, name: str, kind: str, mapping: dict[str, Any], at: datetime) -> None: ...
    def get(self, name: str) -> tuple[str, dict[str, Any]]: ...
    def list(self) -> builtins.list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class IntakeLinkRecord:
    id: int
    client_id: int
    created_at: datetime
    expires_at: datetime
    submitted_at: datetime | None
    revoked_at: datetime | None


class IntakeLinks(Protocol):
    """Intake-form links sent to clients; only the sha256 of a link's token is stored."""

    def add(
        self, client_id: int, token_hash: str, created_at: datetime, expires_at: datetime
    ) -> int: ...
    def by_hash(self, token_hash: str, *, for_update: bool = False) -> IntakeLinkRecord | None: ...
    def mark_submitted(self, link_id: int, at: datetime) -> bool:
        """False when it was submitted or revoked already (the second of two submits)."""
        ...

    def revoke_open(self, client_id: int, at: datetime) -> int:
        """Revoke the client's unsubmitted links; returns how many."""
        ...


class SecretBox(Protocol):
    """Seals secrets at rest (authenticated encryption); ``open`` raises ValueError when the
    key changed or the token was tampered with."""

    def seal(self, secrets: dict[str, str]) -> str: ...
    def open(self, token: str) -> dict[str, str]: ...


class UnitOfWork(Protocol):
    """One transaction. ``with uow:`` begins; ``commit()`` ends it; leaving the block without
    commit rolls back. The same object may be entered again for the next transaction."""

    entities: Entities
    clients: Clients
    contracts: Contracts
    numbering: Numbering
    firings: Firings
    invoices: Invoices
    documents: Documents
    payments: Payments
    credits: Credits
    ledger: Ledger  # allocations, reversals, refunds, credit notes (services/ledger.py)
    outbox: Outbox
    messages: Messages
    audit: Audit
    users: Users
    sources: Sources
    inbound: Inbound
    events: Events
    links: Links
    rules: Rules
    rule_firings: RuleFirings
    time_entries: TimeEntries
    milestones: Milestones
    csv_mappings: CsvMappings
    payment_links: PaymentLinks
    intake_links: IntakeLinks
    webhooks: OutgoingWebhooks
    bank: BankStatements  # statement lines and the review list (services/bank.py)
    reports: Reports
    audit_findings: AuditFindings
    reminders: Reminders  # dunning: policies, reminder rows, disputes, pauses
    metrics: MetricsReader  # operational figures for GET /metrics (services/metrics.py)
    idempotency: IdempotencyKeys  # API Idempotency-Key claims and answers
    installation: Installation  # settings, series, users and keys (installation_settings.py)
    user_templates: UserTemplates  # email templates edited in the web app, versioned
    resources: Resources  # the REST API's lists: events, payments, users, keys

    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


# -- outside effects ------------------------------------------------------------------------
class DocumentRenderer(Protocol):
    def render(self, document: dict[str, Any], *, pdf_standard: str | None = None) -> bytes:
        """PDF bytes for a laid-out invoice document (see ``services/documents.py``);
        ``pdf_standard="a-3b"`` makes it a PDF/A-3b (for Factur-X)."""
        ...


class EInvoiceWriter(Protocol):
    """The e-invoice syntaxes, written from the EN 16931 model (``domain/en16931.py``)."""

    def ubl(self, doc: EInvoice) -> bytes:
        """UBL 2.1 Invoice/CreditNote, Peppol BIS Billing 3.0."""
        ...

    def cii(self, doc: EInvoice) -> bytes:
        """UN/CEFACT CII D16B, EN 16931 profile."""
        ...

    def facturx(self, pdf_a3: bytes, cii: bytes, *, number: str, seller: str) -> bytes:
        """The PDF/A-3b with the CII attached as factur-x.xml and the Factur-X XMP."""
        ...


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One message to send. ``message_id`` is stable per delivery, so a resend after a lost
    answer carries the same Message-ID and receiving systems can tell it is the same mail."""

    message_id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    text_body: str
    html_body: str
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    date: datetime | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    accepted: bool
    detail: str


class MailError(Exception):
    """Sending failed. ``code`` is the SMTP reply code (0 when there was none)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}" if code else message)
        self.code = code
        self.message = message


class TemporaryMailError(MailError):
    """4xx, refused connection, timeout: try again later."""


class PermanentMailError(MailError):
    """5xx or every recipient refused: retrying will not help."""


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> SendResult:
        """Send one message. Raises ``TemporaryMailError`` or ``PermanentMailError``."""
        ...


class EmailTemplates(Protocol):
    def render_email(
        self,
        template_name: str,
        context: dict[str, Any],
        sources: Mapping[str, str] | None = None,
    ) -> tuple[str, str, str]:
        """(subject, text, html) from a sandboxed template; ``sources`` (file name → text,
        edited in the web app: ``uow.user_templates.sources()``) win over the files."""
        ...

    def default_source(self, file_name: str) -> str:
        """A template file's text without the web app's edit (folder override or shipped)."""
        ...

    def check(self, file_name: str, source: str, context: dict[str, Any]) -> str:
        """Validate an edited source and render it for ``context``; raises ``InvalidValue``
        naming the line (syntax, Python internals, includes, unknown variables)."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
