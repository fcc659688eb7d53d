"""The ``world`` fixture: see ``trigger_world``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from trigger_world import World, make_world


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    yield from make_world(database_url, tmp_path)
