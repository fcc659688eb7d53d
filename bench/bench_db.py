"""What the benchmarks share: a fresh database for each run, and a free TCP port.

PostgreSQL runs use their own database ``autoinvoice_bench`` (dropped and created anew;
left in place afterwards for a look), never the test database."""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DB = "autoinvoice_bench"
PG_BENCH = f"postgresql+psycopg://postgres@127.0.0.1:5432/{BENCH_DB}"


def fresh_url(kind: str, tmp: Path, name: str = BENCH_DB) -> str:
    """A fresh database; ``name`` gives a benchmark a PostgreSQL database of its own, so two
    benchmarks run at once do not drop each other's."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        c.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return PG_BENCH.replace(BENCH_DB, name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_delivery(url: str, data_dir: Path, workers: int) -> tuple[Any, Any, list[Any]]:
    """A counting SMTP sink in its own process and ``workers`` ``autoinvoice worker``
    processes sending to it; returns (sink process, accepted-message counter, workers)."""
    from monthly_run import _sink

    ctx = mp.get_context("spawn")
    port_q, count = ctx.Queue(), ctx.Value("i", 0)
    sink = ctx.Process(target=_sink, args=(port_q, count), daemon=True)
    sink.start()
    port = port_q.get(timeout=30)
    env = {
        **os.environ,
        "AUTOINVOICE_DATABASE_URL": url,
        "AUTOINVOICE_DATA_DIR": str(data_dir),
        "AUTOINVOICE_SMTP_HOST": "127.0.0.1",
        "AUTOINVOICE_SMTP_PORT": str(port),
        "AUTOINVOICE_WORKER_BATCH": "20",
        "AUTOINVOICE_WORKER_POLL_SECONDS": "0.05",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "autoinvoice", "worker", "--name", f"bench-{i}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(workers)
    ]
    return sink, count, procs
