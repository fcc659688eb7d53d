"""The SQL unit of work: one connection, one transaction, all repositories bound to it."""

from __future__ import annotations

from typing import Any, Self

from sqlalchemy import Connection, Engine

from ...services import ports
from ...services.bank import BankStatements
from ...services.idempotency import IdempotencyKeys
from ...services.installation_settings import Installation
from ...services.ledger import Ledger
from ...services.metrics import MetricsReader
from ...services.outgoing import OutgoingWebhooks
from ...services.payment_links import PaymentLinks
from ...services.reminders import Reminders
from ...services.reports import Reports
from ...services.resources import Resources
from ...services.user_templates import UserTemplates
from ...services.weekly_audit import AuditFindings
from . import rules as rl
from . import sources as sr
from .bank import SqlBankStatements
from .idempotency import SqlIdempotencyKeys
from .installation_settings import SqlInstallation
from .intake import SqlIntakeLinks
from .ledger import SqlLedger
from .metrics import SqlMetrics
from .outbox import SqlFirings, SqlMessages, SqlNumbering, SqlOutbox
from .payment_links import SqlPaymentLinks
from .reminders import SqlReminders
from .reports import SqlReports
from .repositories import (
    SqlAudit,
    SqlClients,
    SqlContracts,
    SqlCredits,
    SqlDocuments,
    SqlEntities,
    SqlInvoices,
    SqlPayments,
    SqlUsers,
)
from .resources import SqlResources
from .user_templates import SqlUserTemplates
from .wakeup import CHANNEL, WAKEUP
from .webhooks_out import SqlOutgoingWebhooks
from .weekly_audit import SqlAuditFindings


class SqlUnitOfWork:
    # typed as the ports, so mypy checks each SQL repository against its Protocol
    entities: ports.Entities
    clients: ports.Clients
    contracts: ports.Contracts
    numbering: ports.Numbering
    firings: ports.Firings
    invoices: ports.Invoices
    documents: ports.Documents
    payments: ports.Payments
    credits: ports.Credits
    ledger: Ledger
    outbox: ports.Outbox
    messages: ports.Messages
    audit: ports.Audit
    users: ports.Users
    sources: ports.Sources
    inbound: ports.Inbound
    events: ports.Events
    links: ports.Links
    rules: ports.Rules
    rule_firings: ports.RuleFirings
    time_entries: ports.TimeEntries
    milestones: ports.Milestones
    csv_mappings: ports.CsvMappings
    intake_links: ports.IntakeLinks
    payment_links: PaymentLinks
    reports: Reports
    audit_findings: AuditFindings
    webhooks: OutgoingWebhooks
    reminders: Reminders
    metrics: MetricsReader
    installation: Installation
    user_templates: UserTemplates
    resources: Resources
    bank: BankStatements
    idempotency: IdempotencyKeys

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        if self._conn is not None:
            raise RuntimeError("this unit of work is already open")
        conn = self.engine.connect()
        if self.read_only and conn.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="DEFERRED")
        conn.begin()
        self._conn = conn
        self.entities = SqlEntities(conn)
        self.clients = SqlClients(conn)
        self.contracts = SqlContracts(conn)
        self.numbering = SqlNumbering(conn)
        self.firings = SqlFirings(conn)
        self.invoices = SqlInvoices(conn)
        self.documents = SqlDocuments(conn)
        self.payments = SqlPayments(conn)
        self.credits = SqlCredits(conn)
        self.ledger = SqlLedger(conn)
        self.outbox = self._outbox = SqlOutbox(conn)
        self.messages = SqlMessages(conn)
        self.audit = SqlAudit(conn)
        self.users = SqlUsers(conn)
        self.sources = sr.SqlSources(conn)
        self.inbound = sr.SqlInbound(conn)
        self.events = sr.SqlEvents(conn)
        self.links = sr.SqlLinks(conn)
        self.rules = rl.SqlRules(conn)
        self.rule_firings = rl.SqlRuleFirings(conn)
        self.time_entries = rl.SqlTimeEntries(conn)
        self.milestones = rl.SqlMilestones(conn)
        self.csv_mappings = rl.SqlCsvMappings(conn)
        self.intake_links = SqlIntakeLinks(conn)
        self.payment_links = SqlPaymentLinks(conn)
        self.reports = SqlReports(conn)
        self.audit_findings = SqlAuditFindings(conn)
        self.webhooks = SqlOutgoingWebhooks(conn)
        self.reminders = SqlReminders(conn)
        self.metrics = SqlMetrics(conn)
        self.installation = SqlInstallation(conn)
        self.user_templates = SqlUserTemplates(conn)
        self.resources = SqlResources(conn)
        self.bank = SqlBankStatements(conn)
        self.idempotency = SqlIdempotencyKeys(conn)
        return self

    def __exit__(self, *exc: Any) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                conn.rollback()
        finally:
            conn.close()

    @property
    def connection(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    def commit(self) -> None:
        conn = self.connection
        enqueued = self._outbox.enqueued
        if enqueued and conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"NOTIFY {CHANNEL}")  # delivered when the commit lands
        conn.commit()
        if enqueued:
            self._outbox.enqueued = False
            WAKEUP.notify()

    def rollback(self) -> None:
        self.connection.rollback()
