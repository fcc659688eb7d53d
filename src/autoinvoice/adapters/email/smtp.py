"""Sending email: over SMTP, or into a folder of .eml files when no server is configured.

Both mailers implement ``services.ports.Mailer`` and take its ``OutgoingEmail``. Messages are
built with the standard library's ``email`` package (RFC 5322 headers, MIME per RFC
2045-2049): a multipart/alternative of the text and HTML bodies, wrapped in multipart/mixed
when there are attachments. Bodies are encoded 7-bit clean (quoted-printable or base64) so
every server takes them, and headers are RFC 2047-encoded; raw UTF-8 headers go out only
under the SMTPUTF8 extension (RFC 6531), which only non-ASCII addresses need. Bcc recipients
are envelope recipients only, never a header. ``message_id`` becomes the Message-ID verbatim;
``date`` (timezone-aware) becomes the Date header, and without it there is none.

Errors, from ``services.ports`` plus one of this module's::

    MailError                       code: SMTP reply code, 0 when none; message: server's text
    ├── TemporaryMailError          4xx replies, refused or dropped connections, timeouts:
    │                               retry later
    └── PermanentMailError          5xx replies, every recipient refused, a malformed
        │                           address: retrying won't help
        └── MailConfigurationError  the mailer's own settings are wrong (AUTH rejected or
                                    required, STARTTLS not offered, certificate untrusted):
                                    every message fails until they are fixed

A malformed ``OutgoingEmail`` (naive date, bad Message-ID, a str where a tuple belongs) is a
programming error and raises ValueError or TypeError. No exception, log line or repr carries
the SMTP password.
"""

from __future__ import annotations

import contextlib
import email.errors
import email.policy
import hashlib
import io
import logging
import os
import re
import secrets
import smtplib
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from autoinvoice.services.ports import (
    Attachment,
    MailError,
    OutgoingEmail,
    PermanentMailError,
    SendResult,
    TemporaryMailError,
)

__all__ = [
    "Attachment",
    "MailConfigurationError",
    "MailError",
    "MailFolderMailer",
    "OutgoingEmail",
    "PermanentMailError",
    "SendResult",
    "SmtpMailer",
    "TemporaryMailError",
    "build_message",
    "eml_filename",
]

log = logging.getLogger(__name__)


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, building each header's class once.

    ``HeaderRegistry.__getitem__`` makes a new class with ``type()`` for every header it
    parses (~10 µs each, ~27 headers a message with its parts); the class depends only on the
    header's name, so it is made once per name here. Same classes, same parsing."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


# 7bit: encode bodies as quoted-printable/base64, since sending 8-bit data needs 8BITMIME.
_POLICY = email.policy.SMTP.clone(cte_type="7bit", header_factory=_HeaderClasses())
_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_MANAGED_HEADERS = frozenset(
    {"from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id"}
    | {"mime-version", "content-type", "content-transfer-encoding"}
)


class MailConfigurationError(TemporaryMailError):
    """The mailer's settings are wrong, so every message fails until they are fixed.

    Temporary on purpose: the job is retried with back-off (and each failure audited), so
    invoices go out once the owner fixes the settings instead of being given up on."""


def build_message(mail: OutgoingEmail) -> EmailMessage:
    """The MIME message for ``mail``, without Bcc.

    Raises PermanentMailError for a malformed address, ValueError or TypeError for a
    malformed ``mail``.
    """
    message, _, _ = _build(mail)
    return message


def _check(mail: OutgoingEmail) -> None:
    for name in ("to", "cc", "bcc", "attachments", "headers"):
        value = getattr(mail, name)
        if not isinstance(value, tuple):
            raise TypeError(f"{name} must be a tuple, not {type(value).__name__}")
    if not mail.to:
        raise ValueError("an email needs at least one To recipient")
    if not _MESSAGE_ID.fullmatch(mail.message_id):
        raise ValueError(f"message_id must look like '<left@right>': {mail.message_id!r}")
    if mail.date is not None and mail.date.utcoffset() is None:
        raise ValueError("date must be timezone-aware")
    for name, _ in mail.headers:
        if name.lower() in _MANAGED_HEADERS:
            raise ValueError(f"header {name!r} is set from the email's own fields")
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        if not maintype or not subtype:
            raise ValueError(f"mime_type must look like 'type/subtype': {attachment.mime_type!r}")


def _build(mail: OutgoingEmail) -> tuple[EmailMessage, str, tuple[str, ...]]:
    """The message, the envelope sender and the envelope recipients (RFC 5321 §3.3)."""
    _check(mail)
    sender = _addresses((mail.sender,), "From")
    to = _addresses(mail.to, "To")
    cc = _addresses(mail.cc, "Cc")
    bcc = _addresses(mail.bcc, "Bcc")
    if len(sender) != 1:
        raise PermanentMailError(0, f"sender must be one address: {mail.sender!r}")
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    if mail.reply_to:
        message["Reply-To"] = _addresses((mail.reply_to,), "Reply-To")
    message["Subject"] = mail.subject
    if mail.date is not None:
        message["Date"] = mail.date
    message["Message-ID"] = mail.message_id
    for name, value in mail.headers:
        message[name] = value
    message.set_content(mail.text_body)
    if mail.html_body:  # plain-text alerts have no HTML part
        message.add_alternative(mail.html_body, subtype="html")
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    for part in message.walk():
        if part.is_multipart():
            # "=_" never occurs in base64 or quoted-printable text, so the generator need not
            # search every part for a clash (it would compile a regex per boundary to do so)
            part.set_boundary(f"=_{secrets.token_hex(16)}")
    recipients = tuple(dict.fromkeys(a.addr_spec for a in (*to, *cc, *bcc)))
    return message, sender[0].addr_spec, recipients


def _addresses(values: tuple[str, ...], field: str) -> tuple[Address, ...]:
    found: list[Address] = []
    for value in values:
        try:
            header = _POLICY.header_factory(field, value)
        except (IndexError, ValueError, email.errors.HeaderParseError):
            raise PermanentMailError(0, f"invalid {field} address: {value!r}") from None
        defects = [
            d for d in header.defects if not isinstance(d, email.errors.NonASCIILocalPartDefect)
        ]
        addresses = header.addresses
        if defects or not addresses or any(not a.username or not a.domain for a in addresses):
            raise PermanentMailError(0, f"invalid {field} address: {value!r}")
        found.extend(addresses)
    return tuple(found)


_NEWLINES = re.compile(r"\r\n|\r|\n")  # email.generator.NLCRE


class _Generator(BytesGenerator):
    """``BytesGenerator`` writing a part's body in one piece.

    The standard generator writes a body line by line (~1,800 writes for an invoice email
    with a 45 KB PDF, a fifth of the time it takes to build one); this writes the same bytes,
    its line endings replaced in one pass. ``test_smtp_mime`` checks the output is byte for
    byte what ``BytesGenerator`` writes."""

    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(_NEWLINES.sub(self._NL, lines))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Envelope:
    sender: str
    recipients: tuple[str, ...]
    data: bytes
    international: bool  # a non-ASCII address: needs SMTPUTF8

    @classmethod
    def of(cls, mail: OutgoingEmail) -> _Envelope:
        message, sender, recipients = _build(mail)
        international = not all(a.isascii() for a in (sender, *recipients))
        out = io.BytesIO()
        _Generator(out, policy=_POLICY.clone(utf8=international)).flatten(message)
        return cls(sender, recipients, out.getvalue(), international)


class _StaleConnection(Exception):
    """The connection died before the server took any part of the message; safe to retry."""

    def __init__(self, error: TemporaryMailError) -> None:
        super().__init__(error)
        self.error = error


class SmtpMailer:
    """Sends over one SMTP connection, kept open between sends and reopened when the server
    has closed it. Thread-safe: concurrent sends take turns on the connection.

    ``security``: "none" (plain, port 25), "starttls" (RFC 3207, port 587) or "tls" (implicit
    TLS, RFC 8314, port 465). Certificates are checked against the system's trust store.
    """

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        username: str | None = None,
        password: str | None = None,
        security: Literal["none", "starttls", "tls"] = "none",
        timeout: float = 30.0,
        local_hostname: str | None = None,
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"security must be 'none', 'starttls' or 'tls', not {security!r}")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.security = security
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._conn: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"SmtpMailer(host={self.host!r}, port={self.port!r}, "
            f"security={self.security!r}, username={self.username!r})"
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, mail: OutgoingEmail) -> SendResult:
        """Send ``mail``; returns once the server took it for at least one recipient (the
        refused ones, if any, are named in ``detail``).

        Raises TemporaryMailError or PermanentMailError otherwise.
        """
        envelope = _Envelope.of(mail)
        with self._lock:
            if self._conn is not None:
                try:
                    return self._transact(self._conn, envelope)
                except _StaleConnection:
                    self._discard()
                    log.info("SMTP connection to %s was closed; reconnecting", self._where)
            try:
                return self._transact(self._connect(), envelope)
            except _StaleConnection as stale:
                self._discard()
                raise stale.error from None

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                conn.quit()
            except OSError:
                conn.close()

    @property
    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        with self._connection_errors():
            conn = self._open()
        try:
            with self._connection_errors():
                conn.ehlo_or_helo_if_needed()
                if self.security == "starttls":
                    if not conn.has_extn("starttls"):
                        raise MailConfigurationError(0, f"{self._where} does not offer STARTTLS")
                    conn.starttls(context=ssl.create_default_context())
                    conn.ehlo()
                if self.username is not None:
                    self._login(conn)
        except BaseException:
            conn.close()
            raise
        log.info("connected to SMTP server %s", self._where)
        self._conn = conn
        return conn

    def _open(self) -> smtplib.SMTP:
        if self.security == "tls":
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=context,
            )
        return smtplib.SMTP(
            self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
        )

    @contextlib.contextmanager
    def _connection_errors(self) -> Iterator[None]:
        """Map what connecting raises to MailError."""
        try:
            yield
        except smtplib.SMTPResponseException as exc:  # e.g. a 421/554 greeting
            raise self._reply_error(exc.smtp_code, exc.smtp_error) from None
        except ssl.SSLCertVerificationError as exc:
            raise MailConfigurationError(0, f"{self._where}: {exc.verify_message}") from None
        except OSError as exc:  # refused, unreachable, timed out, dropped; smtplib's errors too
            raise TemporaryMailError(0, f"cannot connect to {self._where}: {exc}") from exc

    def _login(self, conn: smtplib.SMTP) -> None:
        assert self.username is not None and self._password is not None
        failure: MailError | None = None
        try:
            conn.login(self.username, self._password)
        except smtplib.SMTPResponseException as exc:  # incl. SMTPAuthenticationError
            failure = self._reply_error(exc.smtp_code, exc.smtp_error, configuration=True)
        except smtplib.SMTPServerDisconnected:
            failure = TemporaryMailError(0, f"{self._where} closed the connection during AUTH")
        except smtplib.SMTPException as exc:  # AUTH not offered, or no mechanism in common
            failure = MailConfigurationError(0, f"{self._where}: {exc}")
        finally:
            # smtplib keeps the credentials on the connection for its AUTH callbacks.
            conn.user = conn.password = ""
        if failure is not None:
            # Raised outside the handler so no __context__ keeps smtplib's frames alive.
            raise failure

    def _transact(self, conn: smtplib.SMTP, envelope: _Envelope) -> SendResult:
        """One MAIL/RCPT/DATA transaction (RFC 5321 §3.3)."""
        reply: bytes | str
        try:
            code, reply = conn.mail(envelope.sender, self._mail_options(conn, envelope))
        except OSError as exc:  # incl. SMTPServerDisconnected
            lost = f"connection to {self._where} lost: {exc}"
            raise _StaleConnection(TemporaryMailError(0, lost)) from None
        if code == 421:  # the server is closing this connection (RFC 5321 §3.8)
            raise _StaleConnection(TemporaryMailError(code, self._text(reply)))
        try:
            if code != 250:
                raise self._refused(conn, self._reply_error(code, reply))
            refused = self._recipients(conn, envelope)
            code, reply = conn.data(envelope.data)
        except smtplib.SMTPResponseException as exc:  # the DATA command itself refused
            code, reply = exc.smtp_code, exc.smtp_error
        except OSError as exc:
            self._discard()
            raise TemporaryMailError(0, f"connection to {self._where} lost: {exc}") from exc
        if code != 250:
            raise self._refused(conn, self._reply_error(code, reply))
        detail = f"{code} {self._text(reply)}"
        if refused:
            detail += "; refused " + ", ".join(f"{a} ({r})" for a, r in refused)
            log.warning("%s refused some recipients: %s", self._where, detail)
        return SendResult(accepted=True, detail=detail)

    def _mail_options(self, conn: smtplib.SMTP, envelope: _Envelope) -> list[str]:
        options = []
        if conn.has_extn("size"):
            options.append(f"SIZE={len(envelope.data)}")
        if envelope.international:
            if not conn.has_extn("smtputf8"):
                msg = "non-ASCII addresses need SMTPUTF8, which the server does not offer"
                raise PermanentMailError(0, f"{self._where}: {msg}")
            options += ["SMTPUTF8", "BODY=8BITMIME"]
        return options

    def _recipients(self, conn: smtplib.SMTP, envelope: _Envelope) -> tuple[tuple[str, str], ...]:
        """RCPT every recipient; raises if the server refused them all."""
        refused: list[tuple[str, int, str]] = []
        for recipient in envelope.recipients:
            code, reply = conn.rcpt(recipient)
            if code == 421:
                raise self._refused(conn, TemporaryMailError(code, self._text(reply)))
            if code not in (250, 251):
                refused.append((recipient, code, self._text(reply)))
        if len(refused) == len(envelope.recipients):
            text = "all recipients refused: " + "; ".join(f"{a}: {c} {r}" for a, c, r in refused)
            # Any 4xx: a retry may get through, and nobody got the message yet.
            temporary = [c for _, c, _ in refused if 400 <= c < 500]
            if temporary:
                raise self._refused(conn, TemporaryMailError(temporary[0], text))
            raise self._refused(conn, PermanentMailError(refused[0][1], text))
        return tuple((a, f"{c} {r}") for a, c, r in refused)

    def _refused(self, conn: smtplib.SMTP, error: MailError) -> MailError:
        """End the failed transaction so the connection can carry the next message."""
        if error.code == 421:
            self._discard()
            return error
        try:
            conn.rset()
        except OSError:
            self._discard()
        return error

    def _reply_error(
        self, code: int, reply: bytes | str, *, configuration: bool = False
    ) -> MailError:
        text = self._text(reply)
        # 530: authentication required, 538: encryption required for it (RFC 4954 §6)
        configuration = configuration or code in (530, 538)
        if 500 <= code < 600:
            return (
                MailConfigurationError(code, text)
                if configuration
                else PermanentMailError(code, text)
            )
        return TemporaryMailError(code, text)

    def _text(self, reply: bytes | str) -> str:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class MailFolderMailer:
    """Used when no SMTP server is configured: writes each message as an .eml file into a
    folder, named after its Message-ID, so sending the same message again overwrites it."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"MailFolderMailer(folder={str(self.folder)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, mail: OutgoingEmail) -> SendResult:
        envelope = _Envelope.of(mail)
        path = self.folder / eml_filename(mail.message_id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(envelope.data)
                os.replace(temporary, path)  # atomic: a reader never sees half a message
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise TemporaryMailError(0, f"cannot write {path}: {exc}") from exc
        log.info(
            "no SMTP server configured: wrote mail %s for %s to %s",
            mail.message_id,
            ", ".join(envelope.recipients),
            path,
        )
        return SendResult(accepted=True, detail=f"written to {path}")

    def close(self) -> None:
        """Nothing to release; here so both mailers can be used alike."""


def eml_filename(message_id: str) -> str:
    """A safe file name for a Message-ID, the same every time and distinct per ID.

    >>> eml_filename("<delivery-42.inv-17@autoinvoice.example>")
    'delivery-42.inv-17@autoinvoice.example.eml'
    """
    core = message_id.removeprefix("<").removesuffix(">")
    safe = re.sub(r"[^A-Za-z0-9._@+=-]", "_", core).lstrip(".")[:150]
    if safe != core:
        safe = f"{safe}-{hashlib.sha256(message_id.encode()).hexdigest()[:12]}"
    return f"{safe}.eml"
