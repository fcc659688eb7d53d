"""Idempotency-Key for the REST API: a POST sent again with the same key is answered from
the record of the first one, so a client may retry after a timeout without doing the thing
twice.

Rules (Stripe, https://docs.stripe.com/api/idempotent_requests, and the IETF HTTPAPI draft
"The Idempotency-Key HTTP Header Field"):

* A key belongs to its caller (an API key, or a signed-in user): another caller's same key
  is another request.
* The same key with the same request (method, path, query and body bytes, compared by their
  SHA-256 ``fingerprint``) → the first answer again: same status, headers and body.
* The same key with another request → refused (``KeyReused``, 422 at the edge).
* The same key while the first request still runs → refused (``StillRunning``, 409).
* Answers kept are 2xx and 4xx. A refusal of the caller (401/403) and a server error (5xx)
  are not kept — the claim is dropped (``abandon``) so that a retry runs for real.
* A record lives ``TTL`` (24 h). Expiry is lazy: an expired record of the same key is
  replaced when the key comes again, and each finished request removes a few expired rows.
* A claim whose request died with its process (no answer after ``LEASE``) may be taken over.

Claiming is an INSERT against the unique ``(caller, key)`` constraint in its own, short
transaction, committed before the handler runs: on PostgreSQL with many web processes, one
of two racing requests inserts and the other waits for that commit and then sees the claim.

>>> fingerprint("POST", "/api/v1/payments", "", b'{"amount": "1.00"}')[:12]
'1720bbdb87f2'
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from .ports import Clock, UnitOfWork

TTL = timedelta(hours=24)
LEASE = timedelta(minutes=10)  # longer than any request; then a claim counts as dead

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class StoredRequest:
    id: int
    fingerprint: str
    request: str  # "POST /api/v1/payments"
    created_at: datetime
    expires_at: datetime
    status: int | None  # None: the first request is still running
    headers: Headers = ()
    body: bytes | None = None  # None: the answer was not kept (see ``finish``)


class IdempotencyKeys(Protocol):
    """Stored claims and answers, unique per ``(caller, key)``."""

    def insert(
        self,
        caller: str,
        key: str,
        *,
        fingerprint: str,
        request: str,
        now: datetime,
        expires_at: datetime,
    ) -> int | None:
        """Claim the key: the new row's id, or None (nothing written) if the key is held."""
        ...

    def get(self, caller: str, key: str) -> StoredRequest | None: ...

    def take_over(self, row_id: int, created_at: datetime, now: datetime) -> bool:
        """Re-claim a running row whose ``created_at`` is still the one read: True if won."""
        ...

    def remove(self, row_id: int) -> None: ...

    def store_answer(
        self, row_id: int, status: int, headers: Headers, body: bytes | None, now: datetime
    ) -> None: ...

    def purge(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` rows that expired before ``before``; how many went."""
        ...


# -- outcomes of ``begin`` -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Claimed:
    row_id: int


@dataclass(frozen=True, slots=True)
class Replay:
    stored: StoredRequest


@dataclass(frozen=True, slots=True)
class KeyReused:
    first_request: str  # what the key was first used for


@dataclass(frozen=True, slots=True)
class StillRunning:
    since: datetime


Outcome = Claimed | Replay | KeyReused | StillRunning


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode()):
        digest.update(part + b"\n")
    digest.update(body)
    return digest.hexdigest()


def begin(
    caller: str, key: str, digest: str, request: str, *, uow: UnitOfWork, clock: Clock
) -> Outcome:
    """Claim ``key`` for this request, or say why not. Commits the claim at once."""
    now = clock.now()
    with uow:
        store = uow.idempotency
        for _ in range(3):  # a record that expires or vanishes between two reads: claim again
            row_id = store.insert(
                caller, key, fingerprint=digest, request=request, now=now, expires_at=now + TTL
            )
            if row_id is not None:
                uow.commit()
                return Claimed(row_id)
            stored = store.get(caller, key)
            if stored is None:
                continue
            if stored.expires_at <= now:
                store.remove(stored.id)
                continue
            if stored.fingerprint != digest:
                return KeyReused(stored.request)
            if stored.status is not None:
                return Replay(stored)
            if stored.created_at <= now - LEASE and store.take_over(
                stored.id, stored.created_at, now
            ):
                uow.commit()
                return Claimed(stored.id)
            return StillRunning(stored.created_at)
    raise RuntimeError("could not claim the idempotency key")  # pragma: no cover


def finish(
    row_id: int,
    status: int,
    headers: Headers,
    body: bytes | None,
    *,
    uow: UnitOfWork,
    clock: Clock,
) -> None:
    """Keep the answer for replays (``body`` None: the answer is not kept, only that the
    request ran), and sweep a few expired records."""
    now = clock.now()
    with uow:
        uow.idempotency.store_answer(row_id, status, headers, body, now)
        uow.idempotency.purge(now, limit=100)
        uow.commit()


def abandon(row_id: int, *, uow: UnitOfWork) -> None:
    """Drop a claim whose request was refused (401/403) or failed (5xx): a retry runs."""
    with uow:
        uow.idempotency.remove(row_id)
        uow.commit()


def keeps(status: int) -> bool:
    """Which answers are kept for replays: 2xx and 4xx, but not 401/403 (the caller was not
    let in, so nothing ran) and not 5xx (a retry should get its chance)."""
    return 200 <= status < 500 and status not in (401, 403)


__all__ = [
    "LEASE",
    "TTL",
    "Claimed",
    "IdempotencyKeys",
    "KeyReused",
    "Outcome",
    "Replay",
    "StillRunning",
    "StoredRequest",
    "abandon",
    "begin",
    "fingerprint",
    "finish",
    "keeps",
]
