"""Request dependencies: the App, the signed-in user, CSRF checks.

Who may do what:

* Pages (admin): a signed-in session; otherwise the browser is sent to ``/login?next=…``.
  Every form POST carries the session's CSRF token in a hidden ``csrf_token`` field.
* API: ``Authorization: Bearer ai_…`` (scope ``read`` for GET, ``write`` for POST) or a
  signed-in session; otherwise 401. A session-authenticated API POST must repeat the
  session's CSRF token in the ``X-CSRF-Token`` header — the cookie alone proves nothing.
* Writing (any POST but sign-in and sign-out) needs the owner or accountant role.
* Administering (users and roles, API keys, SMTP, installation settings) needs the owner
  role; over the API also a key with the ``admin`` scope (``AdminUser``).

The session is a signed cookie (itsdangerous via Starlette's ``SessionMiddleware``) that
holds the user id, a stamp of the user (a short hash of id and password hash), the CSRF
token and the sign-in time; the user is re-read on every request and the stamp compared, so
a deleted user is signed out at once, a user added later under the same id does not inherit
the old cookie, and a password change signs out every other session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ...bootstrap import App
from ...services import accounts
from ...services.errors import AuthError, Forbidden, NotFound
from ...services.ports import UserRecord
from .errors import CsrfRejected, LoginRequired

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_USER, SESSION_CSRF, SESSION_SINCE, SESSION_STAMP = "uid", "csrf", "since", "stamp"
CSRF_FIELD, CSRF_HEADER = "csrf_token", "X-CSRF-Token"


def get_app(request: Request) -> App:
    app: App = request.app.state.autoinvoice
    return app


AppDep = Annotated[App, Depends(get_app)]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def csrf_matches(request: Request, candidate: object) -> bool:
    expected = request.session.get(SESSION_CSRF)
    if not isinstance(expected, str) or not expected or not isinstance(candidate, str):
        return False
    return hmac.compare_digest(candidate.encode(), expected.encode())


async def check_form_csrf(request: Request) -> None:
    """Reject a form POST whose hidden token is missing or not the session's."""
    if request.method in SAFE_METHODS:
        return
    form = await request.form()
    if not csrf_matches(request, form.get(CSRF_FIELD)):
        raise CsrfRejected()


def user_stamp(user: UserRecord) -> str:
    """A short hash of who ``user`` is: another user under a reused id, or the same user
    after a password change, gets another stamp."""
    return hashlib.sha256(f"{user.id}:{user.password_hash}".encode()).hexdigest()[:16]


def sign_in(request: Request, user: UserRecord) -> None:
    """Start a fresh session for ``user`` (new CSRF token: nothing carries over)."""
    request.session.clear()
    request.session[SESSION_USER] = user.id
    request.session[SESSION_STAMP] = user_stamp(user)
    request.session[SESSION_SINCE] = int(time.time())
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def session_user(request: Request) -> UserRecord | None:
    """The signed-in user, or None. Sessions end ``session_max_age_seconds`` after sign-in
    however often the cookie is re-issued; the cookie's own signature expires it too."""
    uid = request.session.get(SESSION_USER)
    if not isinstance(uid, int):
        return None
    app = get_app(request)
    since = request.session.get(SESSION_SINCE)
    if not isinstance(since, int) or time.time() - since > app.settings.session_max_age_seconds:
        sign_out(request)
        return None
    try:
        with app.uow(read_only=True) as uow:
            user = uow.users.get(uid)
    except NotFound:
        sign_out(request)
        return None
    stamp = request.session.get(SESSION_STAMP)
    if not isinstance(stamp, str) or not hmac.compare_digest(stamp, user_stamp(user)):
        sign_out(request)  # another user under a reused id, or the password changed
        return None
    return user


def _path_and_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _require_writer(user: UserRecord) -> UserRecord:
    if not accounts.can_write(user.role):
        raise Forbidden(f"the {user.role} role can look at everything but change nothing")
    return user


def _require_owner(user: UserRecord) -> UserRecord:
    if not accounts.can_administer(user.role):
        raise Forbidden(f"only the owner may change this; you are signed in as {user.role}")
    return user


# -- pages ----------------------------------------------------------------------------------
def page_reader(request: Request) -> UserRecord:
    user = session_user(request)
    if user is None:
        raise LoginRequired(_path_and_query(request) if request.method in SAFE_METHODS else "/")
    return user


async def page_writer(
    request: Request, user: Annotated[UserRecord, Depends(page_reader)]
) -> UserRecord:
    await check_form_csrf(request)
    return _require_writer(user)


async def page_owner(
    request: Request, user: Annotated[UserRecord, Depends(page_writer)]
) -> UserRecord:
    return _require_owner(user)


Reader = Annotated[UserRecord, Depends(page_reader)]
Writer = Annotated[UserRecord, Depends(page_writer)]
Owner = Annotated[UserRecord, Depends(page_owner)]  # a form POST only the owner may send


# -- API ------------------------------------------------------------------------------------
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key: `Authorization: Bearer ai_…`. Keys with the "
    "`read` scope may GET; POST needs `write`.",
)


def api_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> UserRecord:
    writing = request.method not in SAFE_METHODS
    if credentials is not None:
        app = get_app(request)
        user = accounts.authenticate_key(
            credentials.credentials, "write" if writing else "read", uow=app.uow()
        )
    else:
        found = session_user(request)
        if found is None:
            raise AuthError("sign in, or send an API key as 'Authorization: Bearer ai_…'")
        user = found
        if writing and not csrf_matches(request, request.headers.get(CSRF_HEADER)):
            raise CsrfRejected()
    return _require_writer(user) if writing else user


ApiUser = Annotated[UserRecord, Depends(api_user)]


def api_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> UserRecord:
    """The owner, with a key of the ``admin`` scope (or a session): users, keys, settings.
    Reading these needs it too — a list of users and keys is not for every reader."""
    if credentials is not None:
        app = get_app(request)
        user = accounts.authenticate_key(credentials.credentials, "admin", uow=app.uow())
    else:
        user = api_user(request, None)
    return _require_owner(user)


AdminUser = Annotated[UserRecord, Depends(api_admin)]


def actor(user: UserRecord) -> str:
    """How the audit log names a person."""
    return f"user:{user.email}"
