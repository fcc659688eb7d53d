"""INSERT … ON CONFLICT DO NOTHING on both databases, the primitive behind every
"exactly once" row (jobs, firings, messages, counters, documents)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


@cache
def _insert_ignore_stmt(dialect: str, table: Any, index: tuple[str, ...], returning: str) -> Any:
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        ins(table).on_conflict_do_nothing(index_elements=list(index)).returning(table.c[returning])
    )


def insert_ignore(
    conn: Connection, table: Any, index: list[str], returning: str | None = None, **values: Any
) -> Any:
    """INSERT … ON CONFLICT DO NOTHING. Returns the ``returning`` column (default: the first
    index column) of the inserted row, or None when the row existed already.

    The statement is built once and the values bound as parameters: rebuilding an INSERT
    with ``.values()`` for every row costs more than the round trip on the hot paths."""
    stmt = _insert_ignore_stmt(conn.dialect.name, table, tuple(index), returning or index[0])
    return conn.execute(stmt, values).scalar()


@cache
def _insert_ignore_many_stmt(
    dialect: str, table: Any, index: tuple[str, ...], returning: tuple[str, ...]
) -> Any:
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = ins(table).on_conflict_do_nothing(index_elements=list(index))
    return stmt.returning(*(table.c[r] for r in returning)) if returning else stmt


def insert_ignore_many(
    conn: Connection,
    table: Any,
    index: list[str],
    rows: list[dict[str, Any]],
    returning: tuple[str, ...] = (),
) -> list[Any]:
    """Many rows in one round trip (SQLAlchemy's insertmanyvalues: one multi-row INSERT per
    batch), skipping conflicts. Returns the ``returning`` columns of the rows inserted —
    not in input order; include the index columns to match them up."""
    if not rows:
        return []
    stmt = _insert_ignore_many_stmt(conn.dialect.name, table, tuple(index), returning)
    result = conn.execute(stmt, rows)
    return list(result.all()) if returning else []
