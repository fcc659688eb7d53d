"""Who may do what: viewers read but never write; API keys by scope; revoked keys fail."""

from __future__ import annotations

from fastapi.testclient import TestClient
from web_support import add_user, sign_in

from autoinvoice.bootstrap import App
from autoinvoice.services import accounts

VIEWER = ("viewer@nordlicht.example", "just looking around")


def api_key(app: App, scopes: list[str], email: str | None = None) -> str:
    uow = app.uow()
    with uow:
        user = uow.users.by_email(email or "owner@nordlicht.example")
    assert user is not None
    return accounts.create_api_key(user.id, "test", scopes, uow=app.uow(), clock=app.clock)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_viewer_can_read_pages_and_the_api(app: App, client: TestClient) -> None:
    add_user(app, *VIEWER, "viewer")
    sign_in(client, *VIEWER)
    page = client.get("/invoices/1")
    assert page.status_code == 200
    assert "view-only access" in page.text
    assert "Record payment" not in page.text
    assert client.get("/api/v1/invoices").status_code == 200
    assert client.get("/clients").status_code == 200


def test_a_viewer_cannot_post_a_form(app: App, client: TestClient) -> None:
    add_user(app, *VIEWER, "viewer")
    token = sign_in(client, *VIEWER)
    r = client.post(
        "/invoices/1/payments", data={"csrf_token": token, "amount": "100", "method": "cash"}
    )
    assert r.status_code == 403
    assert "viewer role" in r.text
    r = client.post("/invoices/1/void", data={"csrf_token": token, "reason": "test"})
    assert r.status_code == 403
    assert client.get("/api/v1/invoices/1").json()["status"] == "sent"


def test_a_viewer_can_still_sign_out(app: App, client: TestClient) -> None:
    add_user(app, *VIEWER, "viewer")
    token = sign_in(client, *VIEWER)
    assert (
        client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )


def test_a_viewer_cannot_post_to_the_api_even_with_a_write_key(
    app: App, client: TestClient
) -> None:
    add_user(app, *VIEWER, "viewer")
    key = api_key(app, ["read", "write"], VIEWER[0])
    r = client.post("/api/v1/invoices/1/payments", json={"amount": "10"}, headers=bearer(key))
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"


def test_a_read_key_can_list_but_not_post(app: App, client: TestClient) -> None:
    key = api_key(app, ["read"])
    assert client.get("/api/v1/invoices", headers=bearer(key)).status_code == 200
    r = client.post("/api/v1/invoices/1/payments", json={"amount": "10"}, headers=bearer(key))
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert "'write' scope" in r.json()["detail"]


def test_a_write_key_records_a_payment(app: App, client: TestClient) -> None:
    key = api_key(app, ["read", "write"])
    r = client.post("/api/v1/invoices/1/payments", json={"amount": "355.00"}, headers=bearer(key))
    assert r.status_code == 201
    assert r.json()["invoice_status"] == "partially_paid"
    assert r.json()["balance"] == "5000.00"


def test_a_revoked_key_is_refused_with_401(app: App, client: TestClient) -> None:
    key = api_key(app, ["read"])
    prefix = key.split("_")[1]
    uow = app.uow()
    with uow:
        rec = uow.users.key_by_prefix(prefix)
    assert rec is not None
    accounts.revoke_api_key(rec.id, uow=app.uow(), clock=app.clock, actor="test")
    r = client.get("/api/v1/invoices", headers=bearer(key))
    assert r.status_code == 401
    assert r.json()["detail"] == "unknown or revoked API key"
    assert key not in r.text


def test_a_key_with_a_wrong_secret_is_refused(app: App, client: TestClient) -> None:
    key = api_key(app, ["read"])
    r = client.get("/api/v1/invoices", headers=bearer(key[:-4] + "abcd"))
    assert r.status_code == 401


def test_a_session_may_use_the_api_but_posts_need_the_csrf_header(
    client: TestClient, owner: str
) -> None:
    assert client.get("/api/v1/invoices/1").status_code == 200
    r = client.post("/api/v1/invoices/1/payments", json={"amount": "5"})
    assert r.status_code == 403
    assert r.json()["code"] == "csrf_failed"
    r = client.post(
        "/api/v1/invoices/1/payments", json={"amount": "5"}, headers={"X-CSRF-Token": owner}
    )
    assert r.status_code == 201
