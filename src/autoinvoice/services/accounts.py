"""Users and API keys.

Passwords are hashed with argon2 (through the ``PasswordHasher`` port). An API key is
``ai_<prefix>_<secret>``: the prefix finds the row, the secret is compared by its SHA-256
digest (a 256-bit random secret needs no slow hash), so a stolen database yields no key.
Keys are shown once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from enum import StrEnum

from ..domain.errors import InvalidValue
from .errors import AuthError, Conflict, Forbidden
from .ports import Clock, PasswordHasher, UnitOfWork, UserRecord


class Role(StrEnum):
    OWNER = "owner"
    ACCOUNTANT = "accountant"
    VIEWER = "viewer"


SCOPES = ("read", "write", "admin")
MIN_PASSWORD = 10


def create_user(
    email: str,
    password: str,
    role: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    hasher: PasswordHasher,
    actor: str,
) -> int:
    if "@" not in email:
        raise InvalidValue(f"{email!r} is not an email address", field="email")
    if len(password) < MIN_PASSWORD:
        raise InvalidValue(f"use at least {MIN_PASSWORD} characters", field="password")
    role = Role(role).value
    with uow:
        if uow.users.by_email(email):
            raise Conflict(f"a user {email} exists already", field="email")
        uid = uow.users.add(email, hasher.hash(password), role, clock.now())
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="user.created",
            subject_type="user",
            subject_id=uid,
            detail={"email": email, "role": role},
        )
        uow.commit()
    return uid


def authenticate(
    email: str,
    password: str,
    *,
    uow: UnitOfWork,
    hasher: PasswordHasher,
    clock: Clock | None = None,
) -> UserRecord:
    """The user with this email and password; with ``clock``, a sign-in: its time is kept
    (Settings → Users shows it)."""
    with uow:
        user = uow.users.by_email(email)
    if user is None or not hasher.verify(user.password_hash, password):
        raise AuthError("wrong email or password")
    if clock is not None:
        with uow:
            uow.users.signed_in(user.id, clock.now())
            uow.commit()
    return user


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    user_id: int,
    name: str,
    scopes: Sequence[str],
    *,
    uow: UnitOfWork,
    clock: Clock,
    actor: str | None = None,
) -> str:
    """A new key for ``user_id``, audited as ``actor``'s act (None: the user's own)."""
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise InvalidValue(f"scopes must be among {', '.join(SCOPES)}", field="scopes")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with uow:
        kid = uow.users.add_key(
            user_id=user_id,
            name=name,
            prefix=prefix,
            key_hash=_digest(secret),
            scopes=scopes,
            at=clock.now(),
        )
        uow.audit.record(
            at=clock.now(),
            actor=actor or f"user:{user_id}",
            action="api_key.created",
            subject_type="api_key",
            subject_id=kid,
            detail={"name": name, "scopes": list(scopes), "user_id": user_id},
        )
        uow.commit()
    return f"ai_{prefix}_{secret}"


def authenticate_key(key: str, needed_scope: str, *, uow: UnitOfWork) -> UserRecord:
    parts = key.split("_", 2) if key else []
    if len(parts) != 3 or parts[0] != "ai":
        raise AuthError("malformed API key")
    with uow:
        rec = uow.users.key_by_prefix(parts[1])
        if rec is None or rec.revoked or not hmac.compare_digest(rec.key_hash, _digest(parts[2])):
            raise AuthError("unknown or revoked API key")
        user = uow.users.get(rec.user_id)
    if needed_scope not in rec.scopes and "admin" not in rec.scopes:
        raise Forbidden(f"this API key lacks the {needed_scope!r} scope")
    return user


def revoke_api_key(key_id: int, *, uow: UnitOfWork, clock: Clock, actor: str) -> None:
    with uow:
        uow.users.revoke_key(key_id, clock.now())
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="api_key.revoked",
            subject_type="api_key",
            subject_id=key_id,
        )
        uow.commit()


def can_write(role: str) -> bool:
    return role in (Role.OWNER, Role.ACCOUNTANT)


def can_administer(role: str) -> bool:
    """Users, roles, API keys, SMTP and other installation settings: the owner only."""
    return role == Role.OWNER


def set_password(
    email: str, password: str, *, uow: UnitOfWork, clock: Clock, hasher: PasswordHasher, actor: str
) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidValue(f"use at least {MIN_PASSWORD} characters", field="password")
    with uow:
        user = uow.users.by_email(email)
        if user is None:
            raise AuthError(f"no user {email}")
        uow.users.set_password(user.id, hasher.hash(password))
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="user.password_changed",
            subject_type="user",
            subject_id=user.id,
        )
        uow.commit()
