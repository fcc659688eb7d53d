"""Idempotency-Key on every API POST: the same key and request answers the stored answer
again, another request with the key is a 422, a key in use is a 409 — per caller, for 24
hours, on SQLite and PostgreSQL, with one winner when two processes race."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from web_support import add_user, demo_app, sign_in

from autoinvoice.bootstrap import App
from autoinvoice.entrypoints.web.app import create_app
from autoinvoice.services import accounts, credit_notes

NOTE = "/api/v1/invoices/1/credit-notes"
# what touches no stored key runs on SQLite only
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> App:
    return demo_app(tmp_path, database_url=database_url, webhook_allow="127.0.0.1")


@pytest.fixture
def web(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app), base_url="http://testserver") as c:
        yield c


def key_for(app: App, email: str, scopes: tuple[str, ...] = ("read", "write")) -> str:
    with app.uow() as uow:
        user = uow.users.by_email(email)
    assert user is not None
    return accounts.create_api_key(user.id, "t", list(scopes), uow=app.uow(), clock=app.clock)


def auth(key: str, idem: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return headers


def scalar(app: App, sql: str) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def credit_notes_made(app: App) -> int:
    return int(scalar(app, "SELECT count(*) FROM invoices WHERE kind = 'credit_note'"))


def stored_keys(app: App) -> int:
    return int(scalar(app, "SELECT count(*) FROM api_idempotency_keys"))


@pytest.fixture
def owner_key(app: App) -> str:
    return key_for(app, "owner@nordlicht.example")


def test_a_repeat_answers_the_first_answer_and_does_nothing_twice(
    app: App, web: TestClient, owner_key: str
) -> None:
    body = {"reason": "rate agreed lower", "amount": "100"}
    first = web.post(NOTE, json=body, headers=auth(owner_key, "note-1"))
    again = web.post(NOTE, json=body, headers=auth(owner_key, "note-1"))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert credit_notes_made(app) == 1 and stored_keys(app) == 1
    missing = "/api/v1/invoices/999/credit-notes"  # a client error is kept too
    lost = web.post(missing, json=body, headers=auth(owner_key, "note-2"))
    lost_again = web.post(missing, json=body, headers=auth(owner_key, "note-2"))
    assert lost.status_code == lost_again.status_code == 404
    assert lost_again.headers["idempotent-replayed"] == "true"
    assert lost_again.json() == lost.json()


def test_the_same_key_with_another_body_is_a_422_and_changes_nothing(
    app: App, web: TestClient, owner_key: str
) -> None:
    web.post(NOTE, json={"reason": "rate", "amount": "100"}, headers=auth(owner_key, "k"))
    other = web.post(NOTE, json={"reason": "rate", "amount": "200"}, headers=auth(owner_key, "k"))
    elsewhere = web.post(
        "/api/v1/invoices/2/credit-notes",
        json={"reason": "rate", "amount": "100"},
        headers=auth(owner_key, "k"),
    )
    for refused in (other, elsewhere):
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["code"] == "idempotency_key_reused"
        assert problem["field"] == "Idempotency-Key"
    assert "credit-notes" in other.json()["detail"]
    assert credit_notes_made(app) == 1


def test_keys_belong_to_their_caller(app: App, web: TestClient, owner_key: str) -> None:
    add_user(app, "acc@nordlicht.example", "a long password 1", "accountant")
    accountant_key = key_for(app, "acc@nordlicht.example")
    body = {"reason": "rate", "amount": "10"}
    a = web.post(NOTE, json=body, headers=auth(owner_key, "same"))
    b = web.post(NOTE, json=body, headers=auth(accountant_key, "same"))
    csrf = sign_in(web)  # the owner in a browser session is another caller than their key
    c = web.post(NOTE, json=body, headers={"Idempotency-Key": "same", "X-CSRF-Token": csrf})
    assert [r.status_code for r in (a, b, c)] == [201, 201, 201]
    assert not any("idempotent-replayed" in r.headers for r in (a, b, c))
    assert credit_notes_made(app) == 3
    replay = web.post(NOTE, json=body, headers={"Idempotency-Key": "same", "X-CSRF-Token": csrf})
    assert replay.headers["idempotent-replayed"] == "true" and replay.content == c.content


@sqlite_only
def test_a_bad_key_is_a_422_naming_the_header(app: App, web: TestClient, owner_key: str) -> None:
    for bad in (b"", b"x" * 101, b"two words", "schlüssel".encode()):
        r = web.post(
            NOTE,
            json={"reason": "rate", "amount": "1"},
            headers={"Authorization": f"Bearer {owner_key}".encode(), "Idempotency-Key": bad},
        )
        assert r.status_code == 422, bad
        assert r.json()["field"] == "Idempotency-Key"
    assert credit_notes_made(app) == 0 and stored_keys(app) == 0


def test_refused_callers_are_not_remembered(app: App, web: TestClient, owner_key: str) -> None:
    reader = key_for(app, "owner@nordlicht.example", ("read",))
    body = {"reason": "rate", "amount": "1"}
    assert web.post(NOTE, json=body, headers=auth(reader, "k")).status_code == 403
    assert web.post(NOTE, json=body, headers=auth("ai_nope_nope", "k")).status_code == 401
    assert stored_keys(app) == 0
    assert web.post(NOTE, json=body, headers=auth(owner_key, "k")).status_code == 201


def test_a_server_error_is_not_kept_so_a_retry_runs(
    app: App, owner_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = credit_notes.issue_credit_note
    monkeypatch.setattr(credit_notes, "issue_credit_note", _boom)
    body = {"reason": "rate", "amount": "1"}
    with TestClient(create_app(app), raise_server_exceptions=False) as web:
        failed = web.post(NOTE, json=body, headers=auth(owner_key, "retry-me"))
        assert failed.status_code == 500
        assert stored_keys(app) == 0
        monkeypatch.setattr(credit_notes, "issue_credit_note", real)
        retried = web.post(NOTE, json=body, headers=auth(owner_key, "retry-me"))
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
    assert credit_notes_made(app) == 1


def _boom(*args: object, **kwargs: object) -> object:
    raise RuntimeError("the disk is on fire")


def test_answers_expire_after_24_hours(app: App, web: TestClient, owner_key: str) -> None:
    web.post(NOTE, json={"reason": "rate", "amount": "1"}, headers=auth(owner_key, "day"))
    app.clock.advance(timedelta(hours=24, seconds=1))  # type: ignore[attr-defined]
    later = web.post(NOTE, json={"reason": "rate", "amount": "2"}, headers=auth(owner_key, "day"))
    assert later.status_code == 201 and "idempotent-replayed" not in later.headers
    assert credit_notes_made(app) == 2 and stored_keys(app) == 1


def test_two_requests_racing_with_one_key_run_once(
    app: App, web: TestClient, owner_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = credit_notes.issue_credit_note
    started, answered = threading.Event(), threading.Event()

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        answered.wait(10)  # the second request is answered while the first is running
        return real(*args, **kwargs)

    monkeypatch.setattr(credit_notes, "issue_credit_note", slow)
    body = {"reason": "rate", "amount": "5"}
    answers: list[int] = []

    def send() -> None:
        answers.append(web.post(NOTE, json=body, headers=auth(owner_key, "race")).status_code)
        answered.set()

    first = threading.Thread(target=send)
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=send)
    second.start()
    second.join()
    first.join()
    assert sorted(answers) == [201, 409]
    assert credit_notes_made(app) == 1
    again = web.post(NOTE, json=body, headers=auth(owner_key, "race"))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"


def test_an_answer_with_a_secret_is_not_kept(app: App, web: TestClient, owner_key: str) -> None:
    body = {"url": "http://127.0.0.1:9/hook"}
    first = web.post("/api/v1/webhooks", json=body, headers=auth(owner_key, "hook"))
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    again = web.post("/api/v1/webhooks", json=body, headers=auth(owner_key, "hook"))
    assert again.status_code == 409 and again.json()["code"] == "idempotency_answer_not_kept"
    assert secret not in again.text
    assert scalar(app, "SELECT count(*) FROM api_idempotency_keys WHERE body IS NULL") == 1
    assert len(web.get("/api/v1/webhooks", headers=auth(owner_key)).json()["items"]) == 1


def test_a_payment_endpoint_keeps_its_own_replay_but_refuses_another_body(
    app: App, web: TestClient, owner_key: str
) -> None:
    url = "/api/v1/invoices/1/payments"
    first = web.post(url, json={"amount": "10"}, headers=auth(owner_key, "pay"))
    again = web.post(url, json={"amount": "10"}, headers=auth(owner_key, "pay"))
    other = web.post(url, json={"amount": "20"}, headers=auth(owner_key, "pay"))
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 422)
    assert again.json()["duplicate"] is True
    assert other.json()["code"] == "idempotency_key_reused"
    assert scalar(app, "SELECT count(*) FROM payments") == 1


@sqlite_only
def test_a_patch_is_guarded_too(app: App, web: TestClient, owner_key: str) -> None:
    first = web.patch("/api/v1/clients/1", json={"city": "Bremen"}, headers=auth(owner_key, "p"))
    again = web.patch("/api/v1/clients/1", json={"city": "Bremen"}, headers=auth(owner_key, "p"))
    other = web.patch("/api/v1/clients/1", json={"city": "Kiel"}, headers=auth(owner_key, "p"))
    assert first.status_code == 200, first.text
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


@sqlite_only
def test_a_page_form_post_is_not_touched(app: App, web: TestClient) -> None:
    csrf = sign_in(web)
    form = {"csrf_token": csrf, "reason": "sent to the wrong client"}
    first = web.post(
        "/invoices/2/void", data=form, headers={"Idempotency-Key": "f"}, follow_redirects=False
    )
    again = web.post(
        "/invoices/2/void", data=form, headers={"Idempotency-Key": "f"}, follow_redirects=False
    )
    assert first.status_code == 303
    assert again.status_code == 409 and "idempotent-replayed" not in again.headers
    assert stored_keys(app) == 0


@sqlite_only
def test_every_api_post_and_patch_declares_the_header(web: TestClient) -> None:
    doc = web.get("/api/v1/openapi.json").json()
    posts = [
        (p, item[m]) for p, item in doc["paths"].items() for m in ("post", "patch") if m in item
    ]
    assert posts
    for path, op in posts:
        headers = [p for p in op.get("parameters", []) if p["in"] == "header"]
        assert [p["name"] for p in headers].count("Idempotency-Key") == 1, path
        assert "409" in op["responses"] and "422" in op["responses"], path
    assert "Idempotent-Replayed" in doc["info"]["description"]
