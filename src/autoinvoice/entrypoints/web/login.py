"""Signing in and out.

The sign-in form posts email and password (plus the CSRF token the form was drawn with: a
forged sign-in would put a victim into the attacker's account). Success starts a fresh
session and returns to ``next`` — only ever a path on this site, never another host.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ...services import accounts
from ...services.errors import AuthError
from .deps import AppDep, check_form_csrf, csrf_token, session_user, sign_in, sign_out
from .pages import render

router = APIRouter(include_in_schema=False)

HOME = "/invoices"


def safe_next(target: str | None) -> str:
    """A local path to return to after sign-in; anything else goes home.

    >>> safe_next("/invoices/3?x=1"), safe_next("//evil.example"), safe_next("https://x")
    ('/invoices/3?x=1', '/invoices', '/invoices')
    """
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(ord(ch) < 32 or ch == "\\" for ch in target)
        or target.startswith("/login")
    ):
        return HOME
    return target


def _form(
    request: Request,
    next_url: str,
    *,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "login.html",
        {"next": next_url, "email": email, "error": error, "csrf_token": csrf_token(request)},
        status_code=status_code,
    )


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    target = safe_next(next)
    if session_user(request) is not None:
        return RedirectResponse(target, status_code=303)
    return _form(request, target)


@router.post("/login")
async def login(
    request: Request,
    app: AppDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    await check_form_csrf(request)
    target = safe_next(next)
    try:
        user = await run_in_threadpool(
            accounts.authenticate,
            email.strip(),
            password,
            uow=app.uow(),
            hasher=app.hasher,
            clock=app.clock,
        )
    except AuthError:
        return _form(
            request, target, email=email, error="Wrong email or password.", status_code=401
        )
    sign_in(request, user)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await check_form_csrf(request)
    sign_out(request)
    return RedirectResponse("/login", status_code=303)
