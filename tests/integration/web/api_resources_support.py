"""Helpers for the REST API resource tests: a TestClient carrying an owner API key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from web_support import OWNER, demo_app

from autoinvoice.bootstrap import App
from autoinvoice.entrypoints.web.app import create_app
from autoinvoice.services import accounts

ALL_SCOPES = ("read", "write", "admin")


def key_for(app: App, email: str = OWNER[0], scopes: tuple[str, ...] = ALL_SCOPES) -> str:
    with app.uow(read_only=True) as uow:
        user = uow.users.by_email(email)
    assert user is not None
    return accounts.create_api_key(user.id, "test", list(scopes), uow=app.uow(), clock=app.clock)


def with_key(client: TestClient, key: str) -> TestClient:
    client.headers["Authorization"] = f"Bearer {key}"
    return client


@contextmanager
def api_on(tmp_path: Path, database_url: str) -> Iterator[tuple[App, TestClient]]:
    """The demo organisation on ``database_url`` and an owner's API client."""
    app = demo_app(tmp_path, database_url=database_url)
    with TestClient(create_app(app), base_url="http://testserver") as c:
        yield app, with_key(c, key_for(app))


def walk(api: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a cursor-paged list, page by page."""
    items: list[dict[str, Any]] = []
    after = None
    while True:
        query = {**params, **({"after": after} if after else {})}
        page = api.get(path, params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        after = body["next_cursor"]
        if after is None:
            return items


def audit_actions(app: App, limit: int = 20) -> list[str]:
    with app.uow(read_only=True) as uow:
        return [e["action"] for e in uow.audit.recent(limit)]
