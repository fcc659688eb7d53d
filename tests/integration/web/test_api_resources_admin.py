"""REST API: users, roles and API keys — the owner's, with a key of the admin scope."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from api_resources_support import ALL_SCOPES, api_on, audit_actions, key_for, with_key
from fastapi.testclient import TestClient
from web_support import OWNER, add_user, sign_in

from autoinvoice.bootstrap import App


@pytest.fixture
def api(app: App, client: TestClient) -> TestClient:
    return with_key(client, key_for(app))


def audit_text(app: App) -> str:
    with app.uow(read_only=True) as uow:
        return json.dumps(uow.audit.recent(1000), default=str)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_users_are_added_changed_and_removed_on_both_databases(
    tmp_path: Path, database_url: str
) -> None:
    with api_on(tmp_path, database_url) as (app, api):
        r = api.post("/api/v1/users", json={"email": "ada@nordlicht.example", "role": "viewer"})
        assert r.status_code == 201, r.text
        made = r.json()
        assert made["role"] == "viewer" and len(made["password"]) >= 10
        assert r.headers["location"] == f"/api/v1/users/{made['id']}"
        assert r.headers["cache-control"] == "no-store"
        with TestClient(api.app, base_url="http://testserver") as browser:
            sign_in(browser, "ada@nordlicht.example", made["password"])  # the password works
        chosen = api.post(
            "/api/v1/users",
            json={"email": "bob@nordlicht.example", "role": "accountant",
                  "password": "a long enough secret"},
        )  # fmt: skip
        assert chosen.status_code == 201 and chosen.json()["password"] is None
        assert (
            api.patch(f"/api/v1/users/{made['id']}", json={"role": "accountant"}).json()["role"]
            == "accountant"
        )
        assert api.delete(f"/api/v1/users/{made['id']}").status_code == 204
        emails = [u["email"] for u in api.get("/api/v1/users").json()["items"]]
        assert "ada@nordlicht.example" not in emails and "bob@nordlicht.example" in emails
        assert {"user.created", "user.role_changed", "user.removed"} <= set(audit_actions(app))
        assert made["password"] not in audit_text(app)
        assert "a long enough secret" not in audit_text(app)


def test_a_user_with_a_taken_email_or_a_short_password_is_refused(api: TestClient) -> None:
    taken = api.post("/api/v1/users", json={"email": OWNER[0], "role": "viewer"})
    assert taken.status_code == 409 and taken.json()["field"] == "email"
    short = api.post("/api/v1/users", json={"email": "x@y.example", "role": "viewer",
                                            "password": "short"})  # fmt: skip
    assert short.status_code == 422 and short.json()["field"] == "password"
    bad_role = api.post("/api/v1/users", json={"email": "x@y.example", "role": "boss"})
    assert bad_role.status_code == 422 and bad_role.json()["field"] == "role"


def test_the_last_owner_can_be_neither_demoted_nor_removed(app: App, api: TestClient) -> None:
    users = api.get("/api/v1/users").json()["items"]
    owner = next(u for u in users if u["email"] == OWNER[0])
    for r in (
        api.patch(f"/api/v1/users/{owner['id']}", json={"role": "viewer"}),
        api.delete(f"/api/v1/users/{owner['id']}"),
    ):
        assert r.status_code == 409, r.text
    second = add_user(app, "second@nordlicht.example", "another long password", "owner")
    # still not themselves: another owner must do it
    assert api.delete(f"/api/v1/users/{owner['id']}").status_code == 409
    assert api.patch(f"/api/v1/users/{second}", json={"role": "viewer"}).status_code == 200
    assert api.patch("/api/v1/users/9999", json={"role": "viewer"}).status_code == 404
    assert api.delete("/api/v1/users/9999").status_code == 404


def test_a_removed_users_keys_stop_working_at_once(app: App, client: TestClient) -> None:
    add_user(app, "gone@nordlicht.example", "a long enough password", "accountant")
    their_key = key_for(app, "gone@nordlicht.example", ("read",))
    admin_key = key_for(app)
    users = with_key(client, admin_key).get("/api/v1/users").json()["items"]
    gone = next(u for u in users if u["email"] == "gone@nordlicht.example")
    assert client.delete(f"/api/v1/users/{gone['id']}").status_code == 204
    assert with_key(client, their_key).get("/api/v1/invoices").status_code == 401


def test_api_keys_are_created_shown_once_listed_without_secret_and_revoked(
    app: App, api: TestClient
) -> None:
    r = api.post("/api/v1/api-keys", json={"name": "export", "scopes": ["read"]})
    assert r.status_code == 201, r.text
    made = r.json()
    key = made["key"]
    assert key.startswith(f"ai_{made['prefix']}_")
    listed = api.get("/api/v1/api-keys")
    assert key.split("_", 2)[2] not in listed.text
    row = next(k for k in listed.json()["items"] if k["id"] == made["id"])
    assert row["scopes"] == ["read"] and row["revoked"] is False
    assert "key" not in row
    assert key.split("_", 2)[2] not in audit_text(app)
    reader = TestClient(api.app, base_url="http://testserver")
    reader.headers["Authorization"] = f"Bearer {key}"
    assert reader.get("/api/v1/invoices").status_code == 200
    assert reader.post("/api/v1/invoices/1/send").status_code == 403  # read scope only
    revoked = api.post(f"/api/v1/api-keys/{made['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert api.post(f"/api/v1/api-keys/{made['id']}/revoke").json()["revoked"] is True
    assert reader.get("/api/v1/invoices").status_code == 401
    assert "api_key.revoked" in audit_actions(app, 3)
    assert api.post("/api/v1/api-keys/9999/revoke").status_code == 404


def test_a_key_for_another_user_and_filtering_by_user(app: App, api: TestClient) -> None:
    other = add_user(app, "acc@nordlicht.example", "a long enough password", "accountant")
    r = api.post("/api/v1/api-keys", json={"name": "acc", "scopes": ["read", "write"],
                                           "user_id": other})  # fmt: skip
    assert r.status_code == 201 and r.json()["user_email"] == "acc@nordlicht.example"
    theirs = api.get("/api/v1/api-keys", params={"user_id": other}).json()["items"]
    assert [k["name"] for k in theirs] == ["acc"]
    assert api.post("/api/v1/api-keys", json={"name": "x", "scopes": []}).status_code == 422
    missing = api.post("/api/v1/api-keys", json={"name": "x", "scopes": ["read"], "user_id": 999})
    assert missing.status_code == 404


ROLES = [
    ("owner", ("read", "write"), 403),  # the admin scope is needed
    ("accountant", ALL_SCOPES, 403),  # the owner role is needed
    ("viewer", ALL_SCOPES, 403),
    ("owner", ALL_SCOPES, 200),
]


def test_only_the_owner_with_an_admin_key_sees_users_and_keys(app: App, client: TestClient) -> None:
    for n, (role, scopes, status) in enumerate(ROLES):
        email = f"{role}-{n}@nordlicht.example"
        add_user(app, email, "a long enough password", role)
        with_key(client, key_for(app, email, scopes))
        assert client.get("/api/v1/users").status_code == status, role
        assert client.get("/api/v1/api-keys").status_code == status, role
        r = client.post("/api/v1/api-keys", json={"name": "x", "scopes": ["admin"]})
        assert r.status_code == (201 if status == 200 else status), role


def test_a_session_without_the_csrf_header_cannot_add_a_user(client: TestClient) -> None:
    token = sign_in(client)
    body = {"email": "z@nordlicht.example", "role": "viewer"}
    assert client.post("/api/v1/users", json=body).status_code == 403
    r = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text
