"""What the REST API lists beyond the core repositories: events, payments and API keys,
filtered and paged by id (newest first) — the ``Resources`` port and its rows. (Users and
their roles: ``services/team.py``.)

Paging: ``after_id`` is the last id of the previous page; a caller asks for one row more
than it shows to know whether another page follows.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .ledger import PaymentRecord


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    source_id: int
    source_name: str
    inbound_id: int | None
    type: str
    subject: str
    external_id: str
    occurred_at: datetime
    status: str
    detail: str | None
    recorded_at: datetime
    fields: dict[str, Any] | None = None  # only when one event is read
    raw: Any = None


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    """An API key as listed: never its secret or its hash."""

    id: int
    user_id: int
    user_email: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


class Resources(Protocol):
    def events(
        self,
        *,
        source: str | None = None,
        type: str | None = None,
        status: str | None = None,
        subject: str | None = None,
        external_id: str | None = None,
        after_id: int | None = None,
        limit: int = 50,
    ) -> builtins.list[EventRow]:
        """Events newest first, without their payload."""
        ...

    def event(self, event_id: int) -> EventRow:
        """One event with its canonical fields and raw payload; ``NotFound`` if none."""
        ...

    def payments(
        self,
        *,
        client_id: int | None = None,
        invoice_id: int | None = None,
        received_from: datetime | None = None,
        received_before: datetime | None = None,
        after_id: int | None = None,
        limit: int = 50,
    ) -> builtins.list[PaymentRecord]:
        """Payments newest first; ``invoice_id``: recorded against or applied to it."""
        ...

    def api_keys(self, *, user_id: int | None = None) -> builtins.list[ApiKeyRow]: ...
    def api_key(self, key_id: int) -> ApiKeyRow: ...


__all__ = ["ApiKeyRow", "EventRow", "Resources"]
