"""A real SMTP server for tests: aiosmtpd in a background thread that keeps what it receives.

>>> with SmtpTestServer() as server:  # doctest: +SKIP
...     SmtpMailer(server.host, server.port).send(email)
...     [received] = server.wait_for(1)
...     received.message["Subject"], received.rcpt_tos, server.connections

Knobs, all plain attributes that a test may change while the server runs:

- ``credentials=(username, password)``: offer AUTH PLAIN/LOGIN over the plain connection and
  refuse MAIL with 530 until the client has authenticated.
- ``data_reply="451 4.3.0 Try again later"``: answer DATA with that instead of storing.
- ``rcpt_replies={"x@example.com": "550 5.1.1 No such user"}``: refuse those recipients.
- ``delay_rcpt_seconds`` and ``on_rcpt(address)``: called, then sleep, inside RCPT, e.g. to
  kill a worker in the middle of a send (``rcpt_seen`` is set at the first RCPT).
- ``drop_connections()``: close every client connection, as an idle timeout would.
"""

from __future__ import annotations

import asyncio
import email.policy
import functools
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from types import TracebackType
from typing import Any, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = ["ReceivedMessage", "SmtpTestServer"]


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    login: str | None  # the AUTH username, if the client authenticated

    @functools.cached_property
    def message(self) -> EmailMessage:
        """``raw`` parsed, on first use: parsing every message would slow down bulk sends."""
        return cast(EmailMessage, BytesParser(policy=email.policy.default).parsebytes(self.raw))


class _Controller(Controller):
    """Binds ``port=0`` to a free port and publishes it before the server is used."""

    async def _create_server(self) -> asyncio.AbstractServer:  # type: ignore[override]
        server = await self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context
        )
        self.port = server.sockets[0].getsockname()[1]
        return server


class SmtpTestServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credentials: tuple[str, str] | None = None,
        data_reply: str | None = None,
        rcpt_replies: Mapping[str, str] | None = None,
        delay_rcpt_seconds: float = 0.0,
        on_rcpt: Callable[[str], None] | None = None,
        smtputf8: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.credentials = credentials
        self.data_reply = data_reply
        # store the next N messages, then drop the connection before answering DATA
        self.drop_after_data = 0
        self.rcpt_replies = dict(rcpt_replies or {})
        self.delay_rcpt_seconds = delay_rcpt_seconds
        self.on_rcpt = on_rcpt
        self.rcpt_seen = threading.Event()
        self._received: list[ReceivedMessage] = []
        self._connections = 0
        self._changed = threading.Condition()
        self._open: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self._controller = _Controller(
            _Handler(self),
            hostname=host,
            port=port,
            server_hostname="smtp.test",  # skips a slow getfqdn()
            enable_SMTPUTF8=smtputf8,
            authenticator=self._authenticate,
            auth_require_tls=credentials is None,  # AUTH offered only with credentials
        )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._controller.start()
        self.port = self._controller.port

    def stop(self) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[ReceivedMessage]:
        """A snapshot of the messages received so far, oldest first."""
        with self._changed:
            return list(self._received)

    @property
    def connections(self) -> int:
        """How many client sessions greeted the server (EHLO/HELO) since it started."""
        with self._changed:
            return self._connections

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Block until at least ``count`` messages arrived; raises TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"expected {count} messages within {timeout}s, got {len(self._received)}"
                    )
                self._changed.wait(remaining)
            return list(self._received)

    def clear(self) -> None:
        with self._changed:
            self._received.clear()
            self._connections = 0

    def drop_connections(self) -> None:
        """Close every open client connection from the server side."""

        async def drop() -> None:
            for smtp in list(self._open):
                if smtp.transport is not None:
                    smtp.transport.close()

        loop = self._controller.loop
        asyncio.run_coroutine_threadsafe(drop(), loop).result(timeout=5)

    # Called by the handler on the server's thread.

    def _greeted(self, smtp: SMTP, session: Session) -> None:
        if getattr(session, "counted", False):
            return
        session.counted = True  # type: ignore[attr-defined]
        self._open.add(smtp)
        with self._changed:
            self._connections += 1

    def _store(self, envelope: Envelope, session: Session) -> None:
        raw = cast(bytes, envelope.original_content)
        login_data = session.auth_data
        received = ReceivedMessage(
            mail_from=cast(str, envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            login=login_data.login.decode() if isinstance(login_data, LoginPassword) else None,
        )
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            self.credentials is not None
            and isinstance(auth_data, LoginPassword)
            and (auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class _Handler:
    """aiosmtpd handler hooks (https://aiosmtpd.readthedocs.io/en/latest/handlers.html)."""

    def __init__(self, owner: SmtpTestServer) -> None:
        self.owner = owner

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        self.owner._greeted(server, session)
        return responses

    async def handle_HELO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        session.host_name = hostname
        self.owner._greeted(server, session)
        return f"250 {server.hostname}"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.owner.credentials is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.owner.rcpt_seen.set()
        if self.owner.on_rcpt is not None:
            self.owner.on_rcpt(address)
        if self.owner.delay_rcpt_seconds:
            await asyncio.sleep(self.owner.delay_rcpt_seconds)
        reply = self.owner.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.owner.data_reply is not None:
            return self.owner.data_reply
        self.owner._store(envelope, session)
        if self.owner.drop_after_data > 0:  # took the message, but the answer is lost
            self.owner.drop_after_data -= 1
            if server.transport is not None:
                server.transport.abort()
        return "250 2.0.0 Message accepted for delivery"
