"""A fresh database of the test's kind as often as a test asks for one — for tests that run
the same thing two ways and compare the rows each way leaves."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from databases import truncate_all


def fresh_databases(url: str, tmp: Path, template: Path) -> Callable[[], str]:
    """Each call: the URL of an empty, migrated database like ``url`` — a new copy of the
    SQLite template, or ``url``'s PostgreSQL database emptied, ids restarting (close what
    used the last one first)."""
    made = 0

    def fresh() -> str:
        nonlocal made
        made += 1
        if not url.startswith("sqlite"):
            truncate_all(url)
            return url
        target = tmp / f"fresh{made}.db"
        target.unlink(missing_ok=True)
        shutil.copy(template, target)
        return f"sqlite:///{target}"

    return fresh
