"""Signing in, sessions, CSRF and what an anonymous caller may reach."""

from __future__ import annotations

import json
import time
from base64 import b64encode
from pathlib import Path

import itsdangerous
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from web_support import CSRF, OWNER, csrf_from, demo_app, sign_in

from autoinvoice.bootstrap import App
from autoinvoice.entrypoints.web.app import SESSION_COOKIE, create_app


def forged_session(app: App, data: dict[str, object], *, signed_ago: float = 0) -> str:
    """A session cookie as SessionMiddleware writes it, signed ``signed_ago`` seconds ago."""

    class Backdated(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - signed_ago)

    payload = b64encode(json.dumps(data).encode())
    return Backdated(app.secret_key).sign(payload).decode()


def test_signing_in_with_the_right_password_opens_the_invoices(client: TestClient) -> None:
    token = csrf_from(client, "/login")
    r = client.post(
        "/login",
        data={"email": OWNER[0], "password": OWNER[1], "csrf_token": token, "next": "/invoices/1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/invoices/1"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = client.get("/invoices")
    assert page.status_code == 200
    assert OWNER[0] in page.text and "Owner" in page.text


def test_signing_in_starts_a_new_csrf_token(client: TestClient) -> None:
    before = csrf_from(client, "/login")
    after = sign_in(client)
    assert before != after


def test_a_wrong_password_shows_an_error_and_signs_nobody_in(client: TestClient) -> None:
    token = csrf_from(client, "/login")
    r = client.post(
        "/login", data={"email": OWNER[0], "password": "not the password", "csrf_token": token}
    )
    assert r.status_code == 401
    assert "Wrong email or password" in r.text
    assert "not the password" not in r.text
    assert client.get("/invoices", follow_redirects=False).status_code == 303


def test_an_anonymous_page_request_is_sent_to_sign_in_and_back(client: TestClient) -> None:
    r = client.get("/invoices?status=sent", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Finvoices%3Fstatus%3Dsent"
    form = client.get(r.headers["location"]).text
    assert 'name="next" value="/invoices?status=sent"' in form


def test_sign_in_never_returns_to_another_site(client: TestClient) -> None:
    token = csrf_from(client, "/login")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = client.post(
            "/login",
            data={"email": OWNER[0], "password": OWNER[1], "csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/invoices"
        token = csrf_from(client, "/invoices")


def test_an_anonymous_api_request_gets_401_problem_json(client: TestClient) -> None:
    r = client.get("/api/v1/invoices")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    body = r.json()
    assert body["status"] == 401 and body["code"] == "unauthorized"
    assert set(body) >= {"type", "title", "status", "detail", "code"}


def test_a_malformed_api_key_gets_401(client: TestClient) -> None:
    r = client.get("/api/v1/invoices", headers={"Authorization": "Bearer not-a-key"})
    assert r.status_code == 401
    assert r.json()["detail"] == "malformed API key"


def test_health_and_readiness_need_no_sign_in(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_readiness_fails_with_503_when_the_database_is_gone(tmp_path: Path) -> None:
    app = demo_app(tmp_path)
    app.engine = create_engine(
        "postgresql+psycopg://nobody:secret@127.0.0.1:9/none", connect_args={"connect_timeout": 2}
    )
    with TestClient(create_app(app)) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["code"] == "unavailable"
    assert "secret" not in r.text and "127.0.0.1" not in r.text


def test_a_form_post_without_csrf_token_is_refused(client: TestClient, owner: str) -> None:
    r = client.post("/invoices/1/payments", data={"amount": "10", "method": "cash"})
    assert r.status_code == 403
    assert "expired" in r.text


def test_a_form_post_with_a_wrong_csrf_token_is_refused(client: TestClient, owner: str) -> None:
    r = client.post(
        "/invoices/1/payments",
        data={"amount": "10", "method": "cash", "csrf_token": owner[:-2] + "xx"},
    )
    assert r.status_code == 403
    assert client.get("/api/v1/invoices/1").json()["status"] == "sent"


def test_signing_in_without_the_form_token_is_refused(client: TestClient) -> None:
    r = client.post(
        "/login", data={"email": OWNER[0], "password": OWNER[1]}, follow_redirects=False
    )
    assert r.status_code == 403
    assert client.get("/invoices", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_session(client: TestClient, owner: str) -> None:
    r = client.post("/logout", data={"csrf_token": owner}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/invoices", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/invoices").status_code == 401


def test_an_expired_session_cookie_sends_the_browser_to_sign_in(
    app: App, client: TestClient, owner: str
) -> None:
    token = CSRF.search(client.get("/invoices").text)
    assert token
    age = app.settings.session_max_age_seconds + 60
    stale = forged_session(
        app, {"uid": 1, "csrf": token.group(1), "since": int(time.time())}, signed_ago=age
    )
    client.cookies.set(SESSION_COOKIE, stale)
    r = client.get("/invoices/1", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Finvoices%2F1"


def test_a_session_ends_its_max_age_after_sign_in_even_if_reissued(tmp_path: Path) -> None:
    app = demo_app(tmp_path, session_max_age_seconds=60)
    with TestClient(create_app(app)) as c:
        sign_in(c)
        fresh = forged_session(app, {"uid": 1, "csrf": "x", "since": int(time.time()) - 61})
        c.cookies.set(SESSION_COOKIE, fresh)
        assert c.get("/invoices", follow_redirects=False).status_code == 303
        assert c.get("/api/v1/clients").status_code == 401


def test_a_tampered_session_cookie_is_ignored(app: App, client: TestClient) -> None:
    forged = forged_session(app, {"uid": 1, "since": int(time.time())})
    client.cookies.set(SESSION_COOKIE, forged[:-3] + "AAA")
    assert client.get("/invoices", follow_redirects=False).status_code == 303


def test_pages_carry_security_headers(client: TestClient, owner: str) -> None:
    r = client.get("/invoices")
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    # scripts only from this site (vendored htmx): no inline script, no eval
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_a_sign_in_is_kept_and_shown_to_the_owner(app: App, client: TestClient) -> None:
    with app.uow(read_only=True) as uow:
        user = uow.users.by_email(OWNER[0])
    assert user is not None
    with app.engine.connect() as conn:
        before = conn.exec_driver_sql(
            f"SELECT last_login_at FROM users WHERE id = {user.id}"
        ).scalar_one()
    assert before is None
    sign_in(client)
    with app.engine.connect() as conn:
        after = conn.exec_driver_sql(
            f"SELECT last_login_at FROM users WHERE id = {user.id}"
        ).scalar_one()
    assert after is not None
    assert "Last sign-in" in client.get("/settings/users").text
