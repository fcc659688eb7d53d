"""The relational schema (SQLAlchemy Core). Rows are mapped to domain objects explicitly in
``repositories.py``; nothing here is a domain class.

Money columns are :class:`ExactDecimal`; timestamps are :class:`AwareDateTime` (UTC).
Schema changes go through Alembic (``migrations/``); keep this file and the newest
migration in step (``tests/integration/db/test_migrations.py`` compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .types import AwareDateTime, ExactDecimal

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(20), nullable=False),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("last_login_at", AwareDateTime()),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(128), nullable=False),
    Column("scopes", String(100), nullable=False),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("revoked_at", AwareDateTime()),
)

issuing_entities = Table(
    "issuing_entities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("subdivision", String(10)),
    Column("address", JSON, nullable=False),
    Column("tax_id", String(40)),
    Column("email", String(254), nullable=False),
    Column("phone", String(40)),
    Column("bank", JSON, nullable=False, default=dict),
    Column("timezone", String(64), nullable=False),
    Column("locale", String(16), nullable=False),
    Column("footer", Text, nullable=False, default=""),
)

number_series = Table(
    "number_series",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("issuing_entities.id"), nullable=False),
    Column("name", String(50), nullable=False),
    Column("pattern", String(100), nullable=False),
    Column("yearly_reset", Boolean, nullable=False, default=False),
    UniqueConstraint("entity_id", "name"),
)

# The locked counter row: one per (series, period). next_value is the next number to hand out.
series_counters = Table(
    "series_counters",
    metadata,
    Column("series_id", ForeignKey("number_series.id"), primary_key=True),
    Column("period", String(10), primary_key=True),
    Column("next_value", Integer, nullable=False),
)

clients = Table(
    "clients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("issuing_entities.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("subdivision", String(10)),
    Column("address", JSON),
    Column("tax_id", String(40)),
    Column("emails", JSON, nullable=False, default=list),
    Column("is_business", Boolean, nullable=False, default=True),
    Column("currency", String(3), nullable=False),
    Column("terms", String(20), nullable=False),
    Column("language", String(16), nullable=False, default="en"),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("created_at", AwareDateTime(), nullable=False),
)

contracts = Table(
    "contracts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("model", String(30), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("terms", String(20), nullable=False),
    Column("tax_kind", String(20), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("amount", ExactDecimal()),
    Column("seats", Integer),
    Column("seat_price", ExactDecimal()),
    Column("rrule", String(500)),
    Column("timezone", String(64)),
    Column("dtstart", String(32)),  # naive local wall-clock ISO datetime, see Recurrence
    Column("milestones", JSON, nullable=False, default=list),
    Column("rates", JSON, nullable=False, default=list),
    Column("starts_on", Date),
    Column("ends_on", Date),
    Column("active", Boolean, nullable=False, default=True),
    Column("next_run_at", AwareDateTime()),  # next schedule occurrence not yet fired (UTC)
    Index("ix_contracts_due", "active", "next_run_at"),
)

# One row per (contract, occurrence): the unique key makes a schedule fire once per period.
schedule_firings = Table(
    "schedule_firings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("contract_id", ForeignKey("contracts.id"), nullable=False),
    Column("occurrence_at", AwareDateTime(), nullable=False),
    Column("fired_at", AwareDateTime(), nullable=False),
    Column("outcome", String(20), nullable=False),  # issued | held | failed
    Column("invoice_id", Integer),
    Column("detail", Text),
    UniqueConstraint("contract_id", "occurrence_at"),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", ForeignKey("issuing_entities.id"), nullable=False),
    Column("client_id", ForeignKey("clients.id"), nullable=False, index=True),
    Column("contract_id", ForeignKey("contracts.id")),
    Column("series_id", ForeignKey("number_series.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("number", String(64)),
    Column("seq", Integer),
    Column("currency", String(3), nullable=False),
    Column("terms", String(20), nullable=False),
    Column("rounding", String(20), nullable=False),
    Column("issue_date", Date),
    Column("due_date", Date),
    Column("seller", JSON, nullable=False),
    Column("buyer", JSON, nullable=False),
    Column("net_total", ExactDecimal(), nullable=False),
    Column("tax_total", ExactDecimal(), nullable=False),
    Column("gross_total", ExactDecimal(), nullable=False),
    Column("amount_paid", ExactDecimal(), nullable=False),
    Column("buyer_reference", String(100)),
    Column("notes", JSON, nullable=False, default=list),
    Column("hold_reason", Text),  # set on a draft that needs attention before it can issue
    Column("source_key", String(200), unique=True),  # what caused it, for idempotency
    Column("created_at", AwareDateTime(), nullable=False),
    Column("issued_at", AwareDateTime()),
    Column("sent_at", AwareDateTime()),
    Column("viewed_at", AwareDateTime()),
    Column("paid_at", AwareDateTime()),
    Column("voided_at", AwareDateTime()),
    Column("void_reason", Text),
    Column("portal_token", String(64), unique=True),
    UniqueConstraint("series_id", "number", name="uq_invoices_series_number"),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("invoice_id", ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("description", Text, nullable=False),
    Column("quantity", ExactDecimal(), nullable=False),
    Column("unit", String(20), nullable=False),
    Column("unit_price", ExactDecimal(), nullable=False),
    Column("tax", JSON, nullable=False),
    Column("net_amount", ExactDecimal(), nullable=False),
    Column("period_start", Date),
    Column("period_end", Date),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("invoice_id", ForeignKey("invoices.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # pdf
    Column("content", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", AwareDateTime(), nullable=False),
    UniqueConstraint("invoice_id", "kind"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False),
    Column("invoice_id", ForeignKey("invoices.id"), index=True),
    Column("amount", ExactDecimal(), nullable=False),
    Column("applied", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("method", String(30), nullable=False),
    Column("reference", String(200)),
    Column("received_at", AwareDateTime(), nullable=False),
    Column("recorded_at", AwareDateTime(), nullable=False),
    Column("idempotency_key", String(200), unique=True),
)

# Client credit ledger: overpayments add, applying credit to an invoice subtracts.
client_credits = Table(
    "client_credits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False, index=True),
    Column("amount", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payment_id", ForeignKey("payments.id")),
    Column("note", Text, nullable=False),
    Column("created_at", AwareDateTime(), nullable=False),
)

# Transactional outbox: written in the transaction that causes the work.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("status", String(20), nullable=False),  # pending | running | done | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=8),
    Column("run_after", AwareDateTime(), nullable=False),
    Column("locked_by", String(100)),
    Column("locked_until", AwareDateTime()),
    Column("last_error", Text),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("finished_at", AwareDateTime()),
    Index("ix_jobs_claim", "status", "run_after"),
)

# Every outgoing email, keyed by its stable Message-ID: the audit of an external effect and
# the guard that keeps a retried job from sending twice.
outbound_messages = Table(
    "outbound_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", String(200), nullable=False, unique=True),
    Column("invoice_id", ForeignKey("invoices.id")),
    Column("job_id", Integer),
    Column("recipients", JSON, nullable=False),
    Column("subject", Text, nullable=False),
    Column("status", String(20), nullable=False),  # sending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("detail", Text),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("sent_at", AwareDateTime()),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", AwareDateTime(), nullable=False, index=True),
    Column("actor", String(100), nullable=False),
    Column("action", String(60), nullable=False),
    Column("subject_type", String(40), nullable=False),
    Column("subject_id", String(64)),
    Column("detail", JSON, nullable=False, default=dict),
    Index("ix_audit_subject", "subject_type", "subject_id"),
)
