"""Ports: what the services need from the outside world, as small Protocols.

Adapters implement them (``autoinvoice.adapters``); tests use the real SQL adapter on both
databases, and fakes in ``tests/fakes.py`` for rendering and mail where a unit test needs one.
Records defined here are what crosses the port: plain frozen dataclasses.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, Self

from ..domain.contracts import Contract
from ..domain.invoice import Invoice
from ..domain.numbering import NumberSeries
from ..domain.parties import Party
from ..domain.terms import PaymentTerms


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


@dataclass(frozen=True, slots=True)
class ClientRecord:
    id: int
    entity_id: int
    party: Party
    currency: str
    terms: PaymentTerms
    language: str = "en"
    timezone: str = "UTC"


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


class Clients(Protocol):
    def get(self, client_id: int) -> ClientRecord: ...
    def get_many(self, ids: Sequence[int]) -> dict[int, ClientRecord]: ...
    def list(self) -> builtins.list[ClientRecord]: ...
    def add(self, record: ClientRecord, created_at: datetime) -> int: ...


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

    def delete_draft(self, invoice_id: int) -> None: ...
    def by_number(self, number: str) -> Invoice: ...
    def summaries(
        self,
        *,
        status: str | None = None,
        client_id: int | None = None,
        limit: int = 200,
        after_id: int | None = None,
    ) -> list[InvoiceSummary]: ...
    def portal_token(self, invoice_id: int) -> str: ...
    def by_portal_token(self, token: str) -> Invoice: ...


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

    def for_invoice(self, invoice_id: int) -> list[dict[str, Any]]: ...


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
    def fail(
        self, job_id: int, worker: str, error: str, now: datetime, retry_at: datetime | None
    ) -> None: ...
    def extend(self, job_id: int, worker: str, until: datetime) -> bool:
        """Renew the lease; False when the job is no longer this worker's (it must stop)."""
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
    def recent(
        self, limit: int = 100, subject_type: str | None = None, subject_id: str | None = None
    ) -> list[dict[str, Any]]: ...


class Users(Protocol):
    def add(self, email: str, password_hash: str, role: str, at: datetime) -> int: ...
    def by_email(self, email: str) -> UserRecord | None: ...
    def get(self, user_id: int) -> UserRecord: ...
    def count(self) -> int: ...
    def set_password(self, user_id: int, password_hash: str) -> None: ...
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
    outbox: Outbox
    messages: Messages
    audit: Audit
    users: Users

    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


# -- outside effects ------------------------------------------------------------------------
class DocumentRenderer(Protocol):
    def render(self, document: dict[str, Any]) -> bytes:
        """PDF bytes for a laid-out invoice document (see ``services/documents.py``)."""
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
    def render_email(self, template_name: str, context: dict[str, Any]) -> tuple[str, str, str]:
        """(subject, text, html) from a sandboxed template."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
