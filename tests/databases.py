"""Database helpers shared by fixtures and tests."""

from __future__ import annotations

from sqlalchemy import text

from autoinvoice.adapters.db.engine import make_engine
from autoinvoice.adapters.db.tables import metadata


def truncate_all(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as c:
        c.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
