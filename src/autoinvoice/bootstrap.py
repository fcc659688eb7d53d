"""Composition root: settings → engine, unit of work, clock and adapters, for the web app,
the worker, the CLI and the tests. Nothing is created at import time."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

from sqlalchemy import Engine

from .adapters.clock import SystemClock
from .adapters.db.engine import make_engine
from .adapters.db.migrate import upgrade
from .adapters.db.unit_of_work import SqlUnitOfWork
from .adapters.passwords import Argon2Hasher
from .config import Settings
from .services.alerts import NOTIFY, AlertConfig, notify_owner
from .services.connectors import Connector, Poller
from .services.delivery import DeliveryConfig, deliver_invoices
from .services.ingest import PROCESS, process_inbound
from .services.installation_settings import SmtpConfig, smtp_config
from .services.invoicing import DELIVER
from .services.jobs import Handler
from .services.outgoing import DELIVER_WEBHOOK
from .services.payment_links import PaymentProvider
from .services.ports import (
    Clock,
    DocumentRenderer,
    EInvoiceWriter,
    EmailTemplates,
    Mailer,
    SecretBox,
)
from .services.reminders import REMIND, send_reminders
from .services.webhook_delivery import WebhookConfig, deliver_webhooks
from .services.webhook_targets import TargetPolicy

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    engine: Engine
    clock: Clock
    mailer_override: Mailer | None = None
    hasher: Argon2Hasher = field(default_factory=Argon2Hasher)
    renderer_factory: Any = None

    @cached_property
    def mailer(self) -> Mailer:
        """The SMTP server stored in the web app's settings, else the environment's."""
        if self.mailer_override is not None:
            return self.mailer_override
        from .adapters.email.stored import StoredSettingsMailer

        return StoredSettingsMailer(self.stored_smtp, lambda: make_mailer(self.settings))

    def stored_smtp(self) -> SmtpConfig | None:
        from .adapters.email.smtp import MailConfigurationError

        try:
            return smtp_config(uow=self.uow(read_only=True), box=self.box)
        except ValueError:  # sealed under another secret key: say so, never the password
            raise MailConfigurationError(
                0,
                "the stored SMTP password cannot be opened (the secret key changed); "
                "enter it again under Settings → Email",
            ) from None

    def uow(self, *, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, read_only=read_only)

    @cached_property
    def renderer(self) -> DocumentRenderer:
        if self.renderer_factory is not None:
            return self.renderer_factory()
        from .adapters.documents.pdf import TypstPdfRenderer

        return TypstPdfRenderer()

    @cached_property
    def einvoices(self) -> EInvoiceWriter:
        from .adapters.documents.einvoice import EInvoiceWriters

        return EInvoiceWriters()

    @cached_property
    def templates(self) -> EmailTemplates:
        from .adapters.email.templates import EmailTemplates as JinjaEmailTemplates

        folder = self.settings.email_templates_dir
        default = self.settings.data_dir / "templates" / "email"
        if folder is None and default.is_dir():
            folder = default
        return JinjaEmailTemplates(folder)

    @cached_property
    def delivery_config(self) -> DeliveryConfig:
        return DeliveryConfig(
            base_url=self.settings.base_url,
            sandbox_to=self.settings.mail_sandbox_to,
            lease_seconds=self.settings.worker_lease_seconds,
        )

    @cached_property
    def secret_key(self) -> str:
        if self.settings.secret_key:
            return self.settings.secret_key.get_secret_value()
        path = self.settings.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    @cached_property
    def box(self) -> SecretBox:
        from .adapters.secretbox import FernetSecretBox

        return FernetSecretBox(self.secret_key)

    @cached_property
    def payment_provider(self) -> PaymentProvider | None:
        """Card payments (Stripe Checkout), or None while no Stripe key is configured."""
        key, hook = self.settings.stripe_secret_key, self.settings.stripe_webhook_secret
        if key is None:
            return None
        from .adapters.payments.stripe import StripePayments

        return StripePayments(
            key.get_secret_value(),
            hook.get_secret_value() if hook else None,
            api_base=self.settings.stripe_api_base,
        )

    @staticmethod
    def connector_for(kind: str) -> Connector:
        from .adapters.connectors import connector

        return connector(kind)

    @staticmethod
    def poller_for(kind: str) -> Poller:
        from .adapters.connectors import poller

        return poller(kind)

    @property
    def source_kinds(self) -> tuple[str, ...]:
        from .adapters.connectors import KINDS

        return KINDS

    def handlers(self, worker: str) -> dict[str, Handler]:
        return {
            PROCESS: partial(
                process_inbound,
                uow=self.uow(),
                clock=self.clock,
                worker=worker,
                box=self.box,
                connector_for=self.connector_for,
                lease_seconds=self.settings.worker_lease_seconds,
            ),
            NOTIFY: partial(
                notify_owner,
                uow=self.uow(),
                clock=self.clock,
                worker=worker,
                mailer=self.mailer,
                config=AlertConfig(sandbox_to=self.settings.mail_sandbox_to),
            ),
            DELIVER: partial(
                deliver_invoices,
                uow=self.uow(),
                clock=self.clock,
                worker=worker,
                renderer=self.renderer,
                writer=self.einvoices,
                mailer=self.mailer,
                templates=self.templates,
                config=self.delivery_config,
            ),
            REMIND: partial(
                send_reminders,
                uow=self.uow(),
                clock=self.clock,
                worker=worker,
                mailer=self.mailer,
                templates=self.templates,
                config=self.delivery_config,
            ),
            DELIVER_WEBHOOK: partial(
                deliver_webhooks,
                uow=self.uow(),
                clock=self.clock,
                worker=worker,
                box=self.box,
                config=WebhookConfig(
                    policy=TargetPolicy.parse(self.settings.webhook_allow),
                    lease_seconds=self.settings.worker_lease_seconds,
                ),
            ),
        }


def make_mailer(settings: Settings) -> Mailer:
    from .adapters.email.smtp import MailFolderMailer, SmtpMailer

    if settings.smtp_host:
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            security=settings.smtp_security,
        )
    folder = (settings.data_dir / "mail").resolve()
    log.warning(
        "no SMTP server configured (AUTOINVOICE_SMTP_HOST): mails are written to %s", folder
    )
    return MailFolderMailer(folder)


def build(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    mailer: Mailer | None = None,
    migrate: bool = True,
) -> App:
    settings = settings or Settings()
    engine = make_engine(settings.resolved_database_url())
    if migrate:
        upgrade(engine)
    return App(
        settings=settings, engine=engine, clock=clock or SystemClock(), mailer_override=mailer
    )
