"""A mailer that sends through the SMTP server stored in the web app's settings, and
through the environment's mailer while none is stored.

The stored settings are read before each message (one small query), so a change in the web
app applies to the next email without a restart; the SMTP connection is kept while the
settings stay the same and replaced when they change. A stored "from" address replaces the
sender's address (its display name stays) and the original address becomes the Reply-To,
so clients' answers still reach the issuing entity.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import replace
from email.headerregistry import Address
from email.utils import parseaddr

from ...services.installation_settings import SmtpConfig
from ...services.ports import Mailer, OutgoingEmail, SendResult
from .smtp import SmtpMailer


def smtp_mailer(config: SmtpConfig) -> SmtpMailer:
    return SmtpMailer(
        config.host,
        config.port,
        username=config.username,
        password=config.password if config.username else None,
        security=config.security,
    )


def _fingerprint(config: SmtpConfig) -> str:
    parts = (config.host, str(config.port), config.security, config.username or "")
    secret = hashlib.sha256((config.password or "").encode()).hexdigest()
    return "|".join((*parts, secret))


def with_sender(mail: OutgoingEmail, from_address: str | None) -> OutgoingEmail:
    if not from_address:
        return mail
    name, original = parseaddr(mail.sender)
    if original.lower() == from_address.lower():
        return mail
    sender = str(Address(display_name=name, addr_spec=from_address)) if name else from_address
    return replace(mail, sender=sender, reply_to=mail.reply_to or original or None)


class StoredSettingsMailer:
    """``services.ports.Mailer`` over ``load()`` (the stored SMTP settings, or None)."""

    def __init__(
        self,
        load: Callable[[], SmtpConfig | None],
        fallback: Callable[[], Mailer],
        build: Callable[[SmtpConfig], SmtpMailer] = smtp_mailer,
    ) -> None:
        self._load = load
        self._fallback_factory = fallback
        self._fallback: Mailer | None = None
        self._build = build
        self._current: tuple[str, SmtpMailer] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "StoredSettingsMailer()"

    def _mailer(self) -> tuple[Mailer, str | None]:
        config = self._load()
        with self._lock:
            if config is None:
                self._drop()
                if self._fallback is None:
                    self._fallback = self._fallback_factory()
                return self._fallback, None
            key = _fingerprint(config)
            if self._current is None or self._current[0] != key:
                self._drop()
                self._current = (key, self._build(config))
            return self._current[1], config.from_address

    def _drop(self) -> None:
        if self._current is not None:
            self._current[1].close()
            self._current = None

    def send(self, email: OutgoingEmail) -> SendResult:
        mailer, from_address = self._mailer()
        return mailer.send(with_sender(email, from_address))

    def close(self) -> None:
        with self._lock:
            self._drop()


__all__ = ["StoredSettingsMailer", "smtp_mailer", "with_sender"]
