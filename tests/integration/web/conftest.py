"""Fixtures for the web entry point (helpers in ``web_support``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_support import demo_app, sign_in

from autoinvoice.bootstrap import App
from autoinvoice.entrypoints.web.app import create_app


@pytest.fixture
def app(tmp_path: Path) -> App:
    return demo_app(tmp_path)


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_app(app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def owner(client: TestClient) -> str:
    """Signs ``client`` in as the owner; the value is the CSRF token."""
    return sign_in(client)
