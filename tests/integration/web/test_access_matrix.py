"""Who may do what, over every route of the app: the routes are read from ``app.routes``, so
a route added later is covered by itself (path parameters become ``1``).

* A route that changes something is guarded (a writer or owner form, an API user) unless it
  is public by design (sign-in, webhooks, the client portal and intake form).
* Nobody anonymous reads or writes anything; a viewer changes nothing (403, never 2xx, and
  the audit log stays as it was); a read-only key writes nothing; a revoked key is refused
  everywhere; a session past ``session_max_age_seconds`` is signed out everywhere; a
  session's POST without its CSRF token, or with a wrong one, is refused.
* The owner administers (users, API keys, SMTP, settings); the accountant writes but may
  not administer.

``test_web_auth.py`` and ``test_web_access.py`` show single cases in detail; this file
walks the whole route table.
"""

from __future__ import annotations

import json
import time
from base64 import b64encode
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import itsdangerous
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from web_support import add_user, demo_app, sign_in

from autoinvoice.bootstrap import App
from autoinvoice.entrypoints.web import deps
from autoinvoice.entrypoints.web.app import SESSION_COOKIE, create_app
from autoinvoice.services import accounts

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
# public by design: signing in and out, health, the client's portal and intake form, webhooks
PUBLIC = ("/login", "/logout", "/healthz", "/readyz", "/metrics", "/portal/", "/intake/")
PUBLIC_DOCS = ("/api/v1/openapi.json", "/api/v1/docs", "/docs/oauth2-redirect")
ACCOUNTANT = ("accountant@nordlicht.example", "numbers all day long")
VIEWER = ("viewer@nordlicht.example", "just looking around")


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # "/invoices/{invoice_id}/void"
    guards: frozenset[Callable[..., object]]

    @property
    def path(self) -> str:  # every path parameter is 1
        parts = self.template.split("{")
        return parts[0] + "".join("1" + p.split("}", 1)[1] for p in parts[1:])

    @property
    def api(self) -> bool:
        return self.template.startswith("/api/")

    @property
    def writes(self) -> bool:
        return self.method not in SAFE

    @property
    def public(self) -> bool:
        return self.template.startswith(PUBLIC) or self.template in PUBLIC_DOCS

    @property
    def for_writers(self) -> bool:  # a page form only a writer (or the owner) may send
        return bool(self.guards & {deps.page_writer, deps.page_owner})

    @property
    def for_owner(self) -> bool:
        return bool(self.guards & {deps.page_owner, deps.api_admin})

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _calls(dependant: object) -> Iterator[Callable[..., object]]:
    for sub in getattr(dependant, "dependencies", ()):
        yield sub.call
        yield from _calls(sub)


def all_routes(web: FastAPI) -> list[Route]:
    found = []
    for context in iter_route_contexts(web.routes):
        if not isinstance(context.original_route, APIRoute):
            continue  # the static mount and the API's own documentation pages
        guards = frozenset(_calls(context.dependant))
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                found.append(Route(method, context.path_format, guards))
    return found


def send(client: TestClient, route: Route, **kwargs: object) -> Response:
    if route.api and route.writes and "json" not in kwargs:
        kwargs["json"] = {}  # parsed before the guards run; a body of the wrong shape is fine
    return client.request(route.method, route.path, follow_redirects=False, **kwargs)  # type: ignore[arg-type]


def audit_rows(app: App) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one())


def key_for(app: App, email: str, scopes: list[str]) -> str:
    with app.uow() as uow:
        user = uow.users.by_email(email)
    assert user is not None
    return accounts.create_api_key(user.id, "matrix", scopes, uow=app.uow(), clock=app.clock)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def refused(answers: dict[str, int], *wanted: int) -> list[str]:
    """The routes whose answer is not one of ``wanted``."""
    return [f"{route} → {status}" for route, status in answers.items() if status not in wanted]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, FastAPI]]:
    """One installation for the module: every request here is refused, so nothing changes
    (the tests that do change something come last and use their own keys)."""
    app = demo_app(tmp_path_factory.mktemp("matrix"))
    add_user(app, *ACCOUNTANT, "accountant")
    add_user(app, *VIEWER, "viewer")
    web = create_app(app)
    yield app, web


@pytest.fixture
def app(world: tuple[App, FastAPI]) -> App:
    return world[0]


@pytest.fixture
def client(world: tuple[App, FastAPI]) -> Iterator[TestClient]:
    with TestClient(world[1], base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="module")
def routes(world: tuple[App, FastAPI]) -> list[Route]:
    found = all_routes(world[1])
    assert len(found) > 50 and any(r.api for r in found) and any(r.for_writers for r in found)
    return found


def test_every_route_that_changes_something_is_guarded_or_public_by_design(
    routes: list[Route],
) -> None:
    guards = {deps.page_writer, deps.page_owner, deps.api_user, deps.api_admin, deps.page_reader}
    unguarded = [str(r) for r in routes if r.writes and not r.public and not r.guards & guards]
    assert not unguarded, f"add a guard (deps.Writer, ApiUser…) or list them in PUBLIC: {unguarded}"


def test_nobody_anonymous_reads_or_writes_anything(
    app: App, client: TestClient, routes: list[Route]
) -> None:
    api = {str(r): send(client, r).status_code for r in routes if r.api and not r.public}
    assert not refused(api, 401)
    pages = {}
    for r in routes:
        if not r.api and not r.public:
            answer = send(client, r, data={"csrf_token": "x"} if r.writes else None)
            location = answer.headers.get("location", "")
            pages[str(r)] = 303 if location.startswith("/login") else answer.status_code
    # a GET that only redirects to another page (e.g. /settings) leads to sign-in from there
    assert not [p for p, s in pages.items() if 200 <= s < 300], pages
    assert not refused({p: s for p, s in pages.items() if s not in (302, 307)}, 303)


def test_a_viewer_changes_nothing(app: App, client: TestClient, routes: list[Route]) -> None:
    viewer_key = key_for(app, VIEWER[0], ["read", "write", "admin"])
    csrf = sign_in(client, *VIEWER)
    before = audit_rows(app)
    writes = [r for r in routes if r.writes and not r.public]
    forms = {str(r): send(client, r, data={"csrf_token": csrf}).status_code for r in writes}
    guarded = {
        name: status
        for name, status in forms.items()
        if any(str(r) == name and (r.for_writers or r.api) for r in writes)
    }
    assert not refused(guarded, 403)
    previews = {n: s for n, s in forms.items() if n not in guarded}  # Reader POSTs: previews
    assert not [f"{n} → {s}" for n, s in previews.items() if s >= 500 or s == 403]
    api = {
        str(r): send(client, r, headers={"X-CSRF-Token": csrf}).status_code for r in writes if r.api
    }
    assert not refused(api, 403)
    client.cookies.clear()
    keyed = {
        str(r): send(client, r, headers=bearer(viewer_key)).status_code for r in writes if r.api
    }
    assert not refused(keyed, 403)
    reads = {
        str(r): send(client, r, headers=bearer(viewer_key)).status_code
        for r in routes
        if r.api and not r.writes and not r.for_owner and not r.public
    }
    assert not [f"{n} → {s}" for n, s in reads.items() if s in (401, 403) or s >= 500]
    assert audit_rows(app) == before


def test_a_read_only_key_writes_nothing(app: App, client: TestClient, routes: list[Route]) -> None:
    key = key_for(app, "owner@nordlicht.example", ["read"])
    api = [r for r in routes if r.api and not r.public]
    writes = {str(r): send(client, r, headers=bearer(key)).status_code for r in api if r.writes}
    assert not refused(writes, 403)
    reads = {
        str(r): send(client, r, headers=bearer(key)).status_code
        for r in api
        if not r.writes and not r.for_owner
    }
    assert not [f"{n} → {s}" for n, s in reads.items() if s in (401, 403) or s >= 500]


def test_a_revoked_key_is_refused_everywhere(
    app: App, client: TestClient, routes: list[Route]
) -> None:
    key = key_for(app, "owner@nordlicht.example", ["read", "write", "admin"])
    with app.uow() as uow:
        record = uow.users.key_by_prefix(key.split("_")[1])
    assert record is not None
    accounts.revoke_api_key(record.id, uow=app.uow(), clock=app.clock, actor="test")
    answers = {
        str(r): send(client, r, headers=bearer(key)).status_code
        for r in routes
        if r.api and not r.public
    }
    assert not refused(answers, 401)


def forged_session(app: App, data: dict[str, object]) -> str:
    """A session cookie as SessionMiddleware signs it (see ``test_web_auth``)."""
    payload = b64encode(json.dumps(data).encode())
    return itsdangerous.TimestampSigner(app.secret_key).sign(payload).decode()


def test_a_session_past_its_max_age_is_signed_out_everywhere(
    app: App, client: TestClient, routes: list[Route]
) -> None:
    csrf = sign_in(client)
    since = int(time.time()) - app.settings.session_max_age_seconds - 1
    client.cookies.set(
        SESSION_COOKIE, forged_session(app, {"uid": 1, "csrf": csrf, "since": since})
    )
    api = {
        str(r): send(client, r, headers={"X-CSRF-Token": csrf}).status_code
        for r in routes
        if r.api and not r.public
    }
    assert not refused(api, 401)
    pages = {}
    for r in routes:
        if not r.api and not r.public and r.guards & {deps.page_reader}:
            answer = send(client, r, data={"csrf_token": csrf} if r.writes else None)
            pages[str(r)] = answer.status_code
            assert answer.headers.get("location", "").startswith("/login"), r
    assert not refused(pages, 303)


def test_a_session_post_needs_its_csrf_token(
    app: App, client: TestClient, routes: list[Route]
) -> None:
    before = audit_rows(app)
    sign_in(client)  # the owner: the role is never the reason here
    writes = [r for r in routes if r.writes and not r.public and (r.for_writers or r.api)]
    answers: dict[str, int] = {}
    for r in writes:
        if r.api:
            for token in (None, "not-the-token"):
                headers = {"X-CSRF-Token": token} if token else {}
                answer = send(client, r, headers=headers)
                answers[f"{r} {token}"] = answer.status_code
                assert answer.status_code != 403 or answer.json()["code"] == "csrf_failed", r
        else:
            answers[f"{r} none"] = send(client, r, data={}).status_code
            answers[f"{r} wrong"] = send(client, r, data={"csrf_token": "x"}).status_code
    assert not refused(answers, 403)
    assert audit_rows(app) == before


def test_the_accountant_writes_but_does_not_administer(
    app: App, client: TestClient, routes: list[Route]
) -> None:
    csrf = sign_in(client, *ACCOUNTANT)
    owners = [r for r in routes if r.for_owner]
    assert owners, "no route is for the owner only"
    session = {
        str(r): send(
            client, r, data={"csrf_token": csrf} if r.writes and not r.api else None,
            headers={"X-CSRF-Token": csrf},
        ).status_code
        for r in owners
    }  # fmt: skip
    assert not refused(session, 403)
    client.cookies.clear()
    key = key_for(app, ACCOUNTANT[0], ["read", "write", "admin"])
    keyed = {str(r): send(client, r, headers=bearer(key)).status_code for r in owners if r.api}
    assert not refused(keyed, 403)
    voided = client.post(
        "/api/v1/invoices/2/void", json={"reason": "sent twice"}, headers=bearer(key)
    )
    assert voided.status_code == 200 and voided.json()["status"] == "void"


def test_the_owner_administers_keys_and_users(app: App, client: TestClient) -> None:
    admin = key_for(app, "owner@nordlicht.example", ["read", "write", "admin"])
    writer = key_for(app, "owner@nordlicht.example", ["read", "write"])
    assert client.get("/api/v1/users", headers=bearer(admin)).status_code == 200
    assert client.get("/api/v1/users", headers=bearer(writer)).status_code == 403
    with app.uow() as uow:
        record = uow.users.key_by_prefix(writer.split("_")[1])
    assert record is not None
    revoked = client.post(f"/api/v1/api-keys/{record.id}/revoke", headers=bearer(admin))
    assert revoked.status_code == 200, revoked.text
    assert client.get("/api/v1/invoices", headers=bearer(writer)).status_code == 401
