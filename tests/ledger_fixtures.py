"""Fixtures of the payments-ledger tests, loaded with ``pytest_plugins = ["ledger_fixtures"]``:
an app on each database (``database_url``) and one client of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from autoinvoice.bootstrap import App
from builders import make_app, make_client, make_entity


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[App]:
    """An app on each database (tests import this fixture)."""
    a = make_app(database_url, tmp_path)
    yield a
    a.engine.dispose()


@pytest.fixture
def client_id(app: App) -> int:
    return make_client(app, make_entity(app))
