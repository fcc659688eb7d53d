"""API keys made and revoked by the owner over the REST API (the key itself is shown once,
at creation; only its SHA-256 digest is stored — see ``accounts``). Users and roles:
``team``."""

from __future__ import annotations

from collections.abc import Sequence

from . import accounts
from .ports import Clock, UnitOfWork
from .resources import ApiKeyRow


def create_key(
    user_id: int, name: str, scopes: Sequence[str], *, uow: UnitOfWork, clock: Clock, actor: str
) -> tuple[ApiKeyRow, str]:
    """A new API key for ``user_id`` (``NotFound`` if no such user), made by ``actor``: its
    row and the key."""
    with uow:
        uow.users.get(user_id)
    key = accounts.create_api_key(
        user_id, name.strip(), list(scopes), uow=uow, clock=clock, actor=actor
    )
    prefix = key.split("_", 2)[1]
    with uow:
        found = uow.users.key_by_prefix(prefix)
        assert found is not None
        return uow.resources.api_key(found.id), key


def revoke_key(key_id: int, *, uow: UnitOfWork, clock: Clock, actor: str) -> ApiKeyRow:
    """Revoke a key at once; revoking it again changes nothing (and is not audited again)."""
    with uow:
        row = uow.resources.api_key(key_id)
    if row.revoked_at is None:
        accounts.revoke_api_key(key_id, uow=uow, clock=clock, actor=actor)
    with uow:
        return uow.resources.api_key(key_id)


__all__ = ["create_key", "revoke_key"]
