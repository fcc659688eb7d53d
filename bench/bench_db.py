"""What the benchmarks share: a fresh database for each run, and a free TCP port.

PostgreSQL runs use their own database ``autoinvoice_bench`` (dropped and created anew;
left in place afterwards for a look), never the test database."""

from __future__ import annotations

import socket
from pathlib import Path

from sqlalchemy import create_engine, text

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DB = "autoinvoice_bench"
PG_BENCH = f"postgresql+psycopg://postgres@127.0.0.1:5432/{BENCH_DB}"


def fresh_url(kind: str, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        c.execute(text(f"CREATE DATABASE {BENCH_DB}"))
    admin.dispose()
    return PG_BENCH


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
