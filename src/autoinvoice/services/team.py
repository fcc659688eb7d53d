"""Users and roles, administered by the owner: who may sign in, and as what.

Roles (``services/accounts.py``): the owner may change everything, including users, API
keys, SMTP and sandbox mode; an accountant may change invoices, clients, series, taxes,
terms and reminders; a viewer may look at everything and change nothing.

Two rules keep the installation administrable: there is always at least one owner (the last
owner can be neither demoted nor removed), and nobody demotes or removes themselves — another
owner must do it, so a slip of the mouse cannot lock the only administrator out.
"""

from __future__ import annotations

import builtins
import secrets

from ..domain.errors import InvalidValue
from .accounts import MIN_PASSWORD, Role, create_user
from .errors import Conflict, NotFound
from .installation_settings import KeyRow, UserRow
from .ports import Clock, PasswordHasher, UnitOfWork, UserRecord

ROLE_HELP = {
    "owner": "Changes everything, including users, API keys, email (SMTP) and sandbox mode.",
    "accountant": "Runs billing: clients, invoices, payments, series, taxes, terms and "
    "reminders. Cannot manage users, API keys or SMTP.",
    "viewer": "Sees everything and changes nothing — for a bookkeeper or an auditor.",
}


def list_users(*, uow: UnitOfWork) -> builtins.list[UserRow]:
    with uow:
        return uow.installation.users()


def list_keys(*, uow: UnitOfWork) -> builtins.list[KeyRow]:
    with uow:
        return uow.installation.keys()


def generated_password() -> str:
    """A first password to hand to a new user (shown once): 16 URL-safe characters."""
    return secrets.token_urlsafe(12)[: max(MIN_PASSWORD, 16)]


def invite_user(
    email: str,
    role: str,
    password: str | None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    hasher: PasswordHasher,
    actor: str,
) -> tuple[int, str | None]:
    """Add a user. Without ``password`` one is made up and returned, to be shown once."""
    made = None if password else generated_password()
    uid = create_user(
        email.strip(),
        password or made or "",
        _role(role),
        uow=uow,
        clock=clock,
        hasher=hasher,
        actor=actor,
    )
    return uid, made


def _role(role: str) -> str:
    try:
        return Role(role).value
    except ValueError:
        raise InvalidValue(
            f"{role!r} is not a role; use owner, accountant or viewer", field="role"
        ) from None


def _target(uow: UnitOfWork, user_id: int) -> tuple[UserRow, int]:
    users = uow.installation.users()
    found = next((u for u in users if u.id == user_id), None)
    if found is None:
        raise NotFound(f"user {user_id} does not exist", field="user_id")
    return found, sum(1 for u in users if u.role == Role.OWNER)


def change_role(user_id: int, role: str, *, uow: UnitOfWork, clock: Clock, by: UserRecord) -> None:
    role = _role(role)
    with uow:
        target, owners = _target(uow, user_id)
        if target.role == role:
            return
        if target.id == by.id:
            raise Conflict("you cannot change your own role; another owner can", field="role")
        if target.role == Role.OWNER and owners <= 1:
            raise Conflict(
                f"{target.email} is the last owner; make someone else owner first", field="role"
            )
        uow.installation.set_role(user_id, role)
        uow.audit.record(
            at=clock.now(),
            actor=f"user:{by.email}",
            action="user.role_changed",
            subject_type="user",
            subject_id=user_id,
            detail={"email": target.email, "role": [target.role, role]},
        )
        uow.commit()


def remove_user(user_id: int, *, uow: UnitOfWork, clock: Clock, by: UserRecord) -> str:
    """Remove a user and their API keys; they are signed out on their next request."""
    with uow:
        target, owners = _target(uow, user_id)
        if target.id == by.id:
            raise Conflict("you cannot remove yourself; another owner can", field="user_id")
        if target.role == Role.OWNER and owners <= 1:
            raise Conflict(f"{target.email} is the last owner", field="user_id")
        uow.installation.remove_user(user_id, clock.now())
        uow.audit.record(
            at=clock.now(),
            actor=f"user:{by.email}",
            action="user.removed",
            subject_type="user",
            subject_id=user_id,
            detail={"email": target.email, "role": target.role},
        )
        uow.commit()
    return target.email


__all__ = [
    "ROLE_HELP",
    "change_role",
    "generated_password",
    "invite_user",
    "list_keys",
    "list_users",
    "remove_user",
]
