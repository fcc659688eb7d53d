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
    sqlite_autoincrement=True,  # an id is never reused: old sessions and keys name no one new
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
    sqlite_autoincrement=True,
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
    Column("peppol_id", String(150)),
    Column("branding", JSON, nullable=False, default=dict),  # layout, accent, font, logo_format
    Column("logo", LargeBinary),
    Column("checks", JSON, nullable=False, default=dict),  # pre-flight check settings
    Column("sandbox_to", String(254)),  # sandbox mode: every email goes here instead
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
    Column("peppol_id", String(150)),
    Column("documents", JSON, nullable=False, default=dict),  # {"attach": ["pdf", "ubl"]}
    # delivery: extra recipients and the client's own preferences
    Column("cc", JSON, nullable=False, default=list),
    Column("bcc", JSON, nullable=False, default=list),  # e.g. the accounts-payable archive
    Column("po_required", Boolean, nullable=False, default=False),
    Column("payment_method", String(30)),  # preferred: bank_transfer | card | upi | …
    Column("portal_token", String(64)),  # the client's own page (statement)
    # an index, not a constraint: SQLite adds it without rebuilding the table
    Index("ix_clients_portal_token", "portal_token", unique=True),
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
    Column("line_group", String(200)),  # a heading lines share on the document (the person)
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("invoice_id", ForeignKey("invoices.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # pdf | facturx | ubl | cii
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

# Payment provider checkout sessions (Stripe Checkout …), one per pay attempt.
payment_sessions = Table(
    "payment_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("invoice_id", ForeignKey("invoices.id"), nullable=False, index=True),
    Column("provider", String(20), nullable=False),
    Column("session_id", String(255), nullable=False),
    Column("url", Text, nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),  # open | complete | expired
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("created_at", AwareDateTime(), nullable=False),
    UniqueConstraint("provider", "session_id"),
)

# Every payment-provider event applied, so a redelivered event is applied once.
provider_events = Table(
    "provider_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("provider", String(20), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("type", String(100), nullable=False),
    Column("invoice_id", ForeignKey("invoices.id")),
    Column("payment_id", ForeignKey("payments.id")),
    Column("outcome", String(40), nullable=False),
    Column("received_at", AwareDateTime(), nullable=False),
    UniqueConstraint("provider", "event_id"),
)

# Intake links sent to new clients: only the token's hash is kept.
intake_links = Table(
    "intake_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("expires_at", AwareDateTime(), nullable=False),
    Column("submitted_at", AwareDateTime()),
    Column("revoked_at", AwareDateTime()),
)

# Outgoing webhooks (Standard Webhooks): subscribers and every delivery attempt's outcome.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret_sealed", Text, nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("description", String(200), nullable=False, default=""),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", AwareDateTime(), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subscription_id", ForeignKey("webhook_subscriptions.id"), nullable=False),
    Column("message_id", String(64), nullable=False),  # the webhook-id header
    Column("event_type", String(60), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("delivered_at", AwareDateTime()),
    UniqueConstraint("subscription_id", "message_id"),
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

# -- triggers: sources, raw requests, canonical events, rules (issue 3) -----------------------
sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("name", String(100), nullable=False, unique=True),
    Column("url_token", String(64), nullable=False, unique=True),
    Column("secrets", Text, nullable=False),  # Fernet token of the JSON secrets
    Column("config", JSON, nullable=False, default=dict),
    Column("max_age_seconds", Integer),  # older last successful sync → stale
    Column("poll_interval_seconds", Integer),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("last_event_at", AwareDateTime()),
    Column("last_success_at", AwareDateTime()),
    Column("last_error_at", AwareDateTime()),
    Column("last_error", Text),
    Column("error_count", Integer, nullable=False, default=0),
    Column("consecutive_errors", Integer, nullable=False, default=0),
    Column("stale_alerted", Boolean, nullable=False, default=False),
    Column("poll_cursor", String(100)),
    Column("next_poll_at", AwareDateTime()),
)

# Every verified webhook request, stored before the 2xx answer; the worker parses it later.
inbound_requests = Table(
    "inbound_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    Column("received_at", AwareDateTime(), nullable=False),
    Column("dedupe_key", String(200), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(20), nullable=False),  # pending | done | failed
    Column("error", Text),
    Column("processed_at", AwareDateTime()),
    UniqueConstraint("source_id", "dedupe_key", name="uq_inbound_source_dedupe"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    Column("inbound_id", Integer),
    Column("type", String(40), nullable=False),
    Column("subject", String(20), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("occurred_at", AwareDateTime(), nullable=False),
    Column("version_at", AwareDateTime(), nullable=False),
    Column("dedupe_key", String(200), nullable=False),
    Column("fields", JSON, nullable=False),
    Column("raw", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # applied | superseded | unmapped | error
    Column("detail", Text),
    Column("recorded_at", AwareDateTime(), nullable=False),
    UniqueConstraint("source_id", "dedupe_key", name="uq_events_source_dedupe"),
    Index("ix_events_subject", "source_id", "subject", "external_id"),
    Index("ix_events_recorded", "recorded_at"),
)

# The newest known state of each subject, so a late event never undoes a newer one.
subject_states = Table(
    "subject_states",
    metadata,
    Column("source_id", ForeignKey("sources.id"), primary_key=True),
    Column("subject", String(20), primary_key=True),
    Column("external_id", String(200), primary_key=True),
    Column("version_at", AwareDateTime(), nullable=False),
    Column("event_type", String(40), nullable=False),
)

# Field mapping: a source's record (company, organisation, project …) → our client/contract.
source_links = Table(
    "source_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    Column("ref_type", String(20), nullable=False),  # client | project
    Column("external_ref", String(200), nullable=False),
    Column("client_id", ForeignKey("clients.id"), nullable=False),
    Column("contract_id", ForeignKey("contracts.id")),
    UniqueConstraint("source_id", "ref_type", "external_ref", name="uq_source_links_ref"),
)

rules = Table(
    "rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("updated_at", AwareDateTime(), nullable=False),
    Column("next_run_at", AwareDateTime()),  # schedule rules: next occurrence not yet fired
)

rule_versions = Table(
    "rule_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", ForeignKey("rules.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JSON, nullable=False),
    Column("changed_at", AwareDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    UniqueConstraint("rule_id", "version", name="uq_rule_versions_version"),
)

# Exactly once: one row per (rule, subject, period), whatever arrives twice or is replayed.
rule_firings = Table(
    "rule_firings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", ForeignKey("rules.id"), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("period", String(64), nullable=False),
    Column("fired_at", AwareDateTime(), nullable=False),
    Column("event_id", Integer),
    # issued | draft | held | shadow | waiting | failed | skipped
    Column("outcome", String(20), nullable=False),
    Column("invoice_id", Integer),
    Column("client_id", Integer),
    Column("currency", String(3)),
    Column("net_total", ExactDecimal()),
    Column("gross_total", ExactDecimal()),
    Column("lines", JSON),
    Column("detail", Text),
    UniqueConstraint("rule_id", "subject", "period", name="uq_rule_firings_once"),
    Index("ix_rule_firings_outcome", "outcome"),
)

time_entries = Table(
    "time_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", ForeignKey("sources.id"), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("contract_id", ForeignKey("contracts.id")),
    Column("person", String(200), nullable=False),
    Column("role", String(100)),
    Column("task", String(500), nullable=False),
    Column("hours", ExactDecimal(), nullable=False),
    Column("day", Date, nullable=False),
    Column("billable", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("version_at", AwareDateTime(), nullable=False),
    Column("invoice_id", Integer),  # set once billed; never billed again
    Column("billed_hours", ExactDecimal()),
    Column("edited_after_billing", Boolean, nullable=False, default=False),
    Column("recorded_at", AwareDateTime(), nullable=False),
    UniqueConstraint("source_id", "external_id", name="uq_time_entries_source_external"),
    Index("ix_time_entries_unbilled", "contract_id", "invoice_id"),
)

milestone_states = Table(
    "milestone_states",
    metadata,
    Column("contract_id", ForeignKey("contracts.id"), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("completed_at", AwareDateTime()),
    Column("invoice_id", Integer),
    Column("event_id", Integer),
)

csv_mappings = Table(
    "csv_mappings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),  # time_entries | deals | invoices
    Column("mapping", JSON, nullable=False),
    Column("created_at", AwareDateTime(), nullable=False),
)

# -- payments: allocations, refunds, credit notes (issue 6, migration 0005) ------------------
# What settles an invoice: a payment, client credit or a credit note, one row per (source,
# invoice). invoices.amount_paid is always the sum of an invoice's live (not reversed) rows.
payment_allocations = Table(
    "payment_allocations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("invoice_id", ForeignKey("invoices.id"), nullable=False, index=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # payment | credit | credit_note
    Column("payment_id", ForeignKey("payments.id"), index=True),  # kind payment
    Column("credit_note_id", ForeignKey("invoices.id")),  # kind credit_note
    Column("amount", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("reversed_at", AwareDateTime()),
    Column("reversal_reason", Text),
)

# A payment undone (bank return, chargeback, recorded by mistake): one row, so never twice.
payment_reversals = Table(
    "payment_reversals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("payment_id", ForeignKey("payments.id"), nullable=False, unique=True),
    Column("reason", Text, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("reversed_at", AwareDateTime(), nullable=False),
)

# Money paid back to a client out of its credit (optionally naming the payment it came from).
refunds = Table(
    "refunds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False, index=True),
    Column("payment_id", ForeignKey("payments.id")),
    Column("amount", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("method", String(30), nullable=False),
    Column("reference", String(200)),
    Column("reason", Text, nullable=False),
    Column("refunded_at", AwareDateTime(), nullable=False),
    Column("recorded_at", AwareDateTime(), nullable=False),
    Column("idempotency_key", String(200), unique=True),
)

# A credit note and the invoice it corrects (EN 16931 BT-25, the preceding invoice).
credit_notes = Table(
    "credit_notes",
    metadata,
    Column("id", ForeignKey("invoices.id"), primary_key=True),  # the credit note itself
    Column("invoice_id", ForeignKey("invoices.id"), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("created_at", AwareDateTime(), nullable=False),
)

# Each movement of client credit, beside the amount in client_credits: where it came from or
# went (overpayment | credit_note | applied | unapplied | refund | reversal) and its record.
client_credit_moves = Table(
    "client_credit_moves",
    metadata,
    Column("credit_id", ForeignKey("client_credits.id"), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("allocation_id", ForeignKey("payment_allocations.id")),
    Column("refund_id", ForeignKey("refunds.id")),
    Column("credit_note_id", ForeignKey("invoices.id")),
)
# (payments section end)

# -- bank statements and matching (issue 6, migration 0006) -----------------------------------
# One row per imported file (a re-import is a new row that adds no transactions).
bank_statements = Table(
    "bank_statements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("format", String(10), nullable=False),  # camt | mt940 | ofx | csv
    Column("filename", String(255)),
    Column("sha256", String(64), nullable=False),
    Column("lines", Integer, nullable=False),
    Column("added", Integer, nullable=False),
    Column("imported_at", AwareDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
)

# Each booked line once per account (tx_key: the bank's entry id, else a content hash);
# status applied | review | outgoing | confirmed | dismissed; candidates while in review.
bank_transactions = Table(
    "bank_transactions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("statement_id", ForeignKey("bank_statements.id"), nullable=False),
    Column("account", String(64), nullable=False),
    Column("tx_key", String(200), nullable=False),
    Column("booking_date", Date, nullable=False),
    Column("value_date", Date),
    Column("amount", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("counterparty_name", String(200)),
    Column("counterparty_iban", String(64)),
    Column("remittance", Text, nullable=False, default=""),
    Column("structured_ref", String(40)),
    Column("bank_ref", String(100)),
    Column("end_to_end_id", String(100)),
    Column("status", String(20), nullable=False, index=True),
    Column("confidence", ExactDecimal()),
    Column("reason", String(200)),
    Column("candidates", JSON, nullable=False, default=list),
    Column("client_id", ForeignKey("clients.id")),
    Column("payment_id", ForeignKey("payments.id")),
    Column("resolved_at", AwareDateTime()),
    Column("resolved_by", String(100)),
    UniqueConstraint("account", "tx_key", name="uq_bank_transactions_account_key"),
)
# (bank section end)

# -- reminders / dunning (issue 6, migration 0007) --------------------------------------------
# The reminder policy: the organisation's default (client_id NULL, scope "default") and each
# client's override (scope "client:<id>"); the ladder as JSON (domain/dunning.py).
reminder_policies = Table(
    "reminder_policies",
    metadata,
    Column("scope", String(40), primary_key=True),
    Column("client_id", ForeignKey("clients.id")),
    Column("definition", JSON, nullable=False),
    Column("updated_at", AwareDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
)

# One row per (invoice, step): the unique key is what keeps a step from going out twice,
# whichever worker or scheduler instance gets there first.
reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("invoice_id", ForeignKey("invoices.id"), nullable=False),
    Column("step", Integer, nullable=False),
    Column("offset_days", Integer, nullable=False),
    Column("tone", String(20), nullable=False),
    Column("due_on", Date, nullable=False),  # the client's business date it was found due
    Column("pay_by", Date),  # the new payment deadline it sets (NO)
    Column("fee_amount", ExactDecimal()),
    Column("fee_currency", String(3)),
    Column("fee_kind", String(20)),
    # queued | sent | skipped (void; paid, disputed, paused free the step instead) | failed
    Column("status", String(20), nullable=False),
    Column("detail", Text),
    Column("message_id", String(200)),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("sent_at", AwareDateTime()),
    UniqueConstraint("invoice_id", "step", name="uq_reminders_invoice_step"),
)

invoice_disputes = Table(
    "invoice_disputes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("invoice_id", ForeignKey("invoices.id"), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("opened_at", AwareDateTime(), nullable=False),
    Column("opened_by", String(100), nullable=False),
    Column("resolved_at", AwareDateTime()),
    Column("resolved_by", String(100)),
    Column("resolution", Text),
)

reminder_pauses = Table(
    "reminder_pauses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("since", AwareDateTime(), nullable=False),
    Column("until", Date),  # the last paused business date; NULL: until resumed
    Column("resumed_at", AwareDateTime()),
    Column("created_by", String(100), nullable=False),
)

# the reminder scan: the open invoices by due date, with what the scan reads (an index-only
# scan on PostgreSQL; a partial index, so it holds the few open invoices, not every paid one)
_REMINDABLE = invoices.c.status.in_(["issued", "partially_paid", "sent", "viewed"])
Index(
    "ix_invoices_reminder_scan",
    invoices.c.due_date,
    postgresql_include=["id", "client_id", "status", "gross_total", "amount_paid", "currency"],
    postgresql_where=_REMINDABLE,
    sqlite_where=_REMINDABLE,
)
# (reminders section end)

# -- reports and the weekly audit (issue 6, migration 0008) -----------------------------------
# Cash-flow reports (adapters/db/reports.py) read these without touching the table's heap:
# open invoices (a small part of all of them) for aging, forecast and overdue clients; the
# invoices issued in a period for DSO; each client's paid invoices for its payment delay.
_OPEN_INVOICE = invoices.c.status.in_(("issued", "partially_paid", "sent", "viewed"))
_PAID_INVOICE = (invoices.c.status == "paid") & (invoices.c.kind == "invoice")
Index(
    "ix_invoices_open_due",
    *(invoices.c[n] for n in ("due_date", "currency", "entity_id", "client_id", "kind")),
    *(invoices.c[n] for n in ("gross_total", "amount_paid")),
    postgresql_where=_OPEN_INVOICE,
    sqlite_where=_OPEN_INVOICE,
)
Index(
    "ix_invoices_paid_history",
    *(invoices.c[n] for n in ("client_id", "due_date", "paid_at", "id", "amount_paid")),
    postgresql_where=_PAID_INVOICE,
    sqlite_where=_PAID_INVOICE,
)
Index(
    "ix_invoices_issue_date",
    *(invoices.c[n] for n in ("issue_date", "kind", "status", "currency", "entity_id")),
    invoices.c.gross_total,
)
# Live allocations that are not money received (client credit, credit notes) — few rows:
# the forecast leaves the invoices they settled out of a client's payment habit.
_ALLOCATION = payment_allocations.c
_LIVE_CREDIT = (_ALLOCATION.kind != "payment") & _ALLOCATION.reversed_at.is_(None)
Index(
    "ix_allocations_live_credits",
    payment_allocations.c.invoice_id,
    postgresql_where=_LIVE_CREDIT,
    sqlite_where=_LIVE_CREDIT,
)

# One row per ISO week whose audit was sent: the guard that mails it once a week.
weekly_audits = Table(
    "weekly_audits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("week", String(10), nullable=False, unique=True),  # ISO week, "2026-W48"
    Column("created_at", AwareDateTime(), nullable=False),
    Column("summary", JSON, nullable=False),  # {section: item count}
)
# (reports section end)

# -- API idempotency keys (issue 7, migration 0009) ------------------------------------------
# One row per (caller, Idempotency-Key) of an API POST: claimed before the handler runs (the
# unique constraint makes one of two racing requests the first), then the answer it gave.
# Rows live 24 h (``expires_at``) and are removed lazily (adapters/db/idempotency.py).
api_idempotency_keys = Table(
    "api_idempotency_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("caller", String(40), nullable=False),  # "key:<api key prefix>" or "user:<id>.<stamp>"
    Column("key", String(100), nullable=False),  # the Idempotency-Key header
    Column("fingerprint", String(64), nullable=False),  # sha256 of method, path, query, body
    Column("request", String(300), nullable=False),  # "POST /api/v1/…", for the refusal
    Column("created_at", AwareDateTime(), nullable=False),
    Column("expires_at", AwareDateTime(), nullable=False, index=True),
    Column("status", Integer),  # null while the first request is running
    Column("headers", JSON),  # [[name, value], …] as the handler sent them
    Column("body", LargeBinary),  # null: not kept (a secret shown once, or too large)
    Column("completed_at", AwareDateTime()),
    UniqueConstraint("caller", "key"),
)
# (api idempotency section end)

# -- web app: user-edited templates (issue 7, migration 0010) ---------------------------------
# Email templates edited in the web app, versioned: every save is a new row (who, when); the
# newest row of a name is in force. A row whose three sources are NULL is a reset to default.
user_templates = Table(
    "user_templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),  # "invoice_email", "reminder_email", …
    Column("version", Integer, nullable=False),
    Column("subject", Text),
    Column("text_body", Text),
    Column("html_body", Text),
    Column("saved_by", String(300), nullable=False),
    Column("saved_at", AwareDateTime(), nullable=False),
    UniqueConstraint("name", "version", name="uq_user_templates_name_version"),
)
# (web app section end)

# -- installation settings: SMTP, taxes, payment terms (issue 7, migration 0011) --------------
# Settings changed in the web app, one JSON value per name ("smtp", "terms", "tax:<entity>");
# secrets inside a value are sealed with the app's SecretBox, never stored in clear.
installation_settings = Table(
    "installation_settings",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", AwareDateTime(), nullable=False),
    Column("updated_by", String(300), nullable=False),
)
# (installation settings section end)
