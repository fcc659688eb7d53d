"""Many rows in one INSERT … RETURNING, the new ids given back in the rows' order.

SQLAlchemy's *insertmanyvalues* sends an executemany INSERT as one multi-row INSERT per
batch. Asked for ``sort_by_parameter_order`` it also ties the returned ids to the rows — on
PostgreSQL with a sorted INSERT … SELECT, but on SQLite, which cannot tie new ROWIDs to the
order of a VALUES list, by falling back to one INSERT per row (SQLAlchemy 2.0 docs,
"Correlating RETURNING rows to parameter sets"). So when some columns tell the rows apart
(an idempotency key; a payment and an invoice) the rows go in unsorted, in batches, and are
matched up by those columns; otherwise the sorted form is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, insert


@cache
def _insert(table: Table, match: tuple[str, ...]) -> Any:
    if not match:
        return insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return insert(table).returning(table.c.id, *(table.c[name] for name in match))


def insert_ids(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], match: tuple[str, ...]
) -> list[int]:
    """Insert ``rows`` (all with the same keys); the new ids in the rows' order.
    ``match`` names int/str columns that, together, should differ from row to row."""
    if not rows:
        return []
    keys = [tuple(r[name] for name in match) for r in rows]
    if len(set(keys)) < len(keys):  # the columns do not tell these rows apart
        return list(conn.execute(_insert(table, ()), rows).scalars())
    ids = {tuple(row[1:]): row[0] for row in conn.execute(_insert(table, match), rows)}
    return [ids[k] for k in keys]


__all__ = ["insert_ids"]
