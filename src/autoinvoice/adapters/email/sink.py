"""A local SMTP server that accepts every message and keeps it in memory (aiosmtpd).

Used by ``autoinvoice demo`` and the benchmark, so a whole cycle runs through real SMTP on a
machine with no mail server. Not a relay: nothing leaves the process.
"""

from __future__ import annotations

import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        with self.sink.lock:
            self.sink.raw.append(raw)
        return "250 2.0.0 OK: queued"


class SmtpSink:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.lock = threading.Lock()
        self.raw: list[bytes] = []
        if port == 0:
            import socket

            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.host, self.port = host, port
        self._controller = Controller(_Handler(self), hostname=host, port=port, ready_timeout=10)

    def start(self) -> Self:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.raw)

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            raws = list(self.raw)
        return [cast(EmailMessage, message_from_bytes(r, policy=policy.default)) for r in raws]

    def message_ids(self) -> list[Any]:
        return [m["Message-ID"] for m in self.messages()]
