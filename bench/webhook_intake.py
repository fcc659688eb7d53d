"""Benchmark: the webhook intake under a burst — verified events/s durably stored.

A `github` source with a signing secret is created in a fresh database; uvicorn serves the
app (``autoinvoice.entrypoints.web.asgi:create --factory``, ``--workers N``, no access log)
with no job worker running, so only the intake is measured: verify the signature, store the
raw request and its processing job (group commit), answer 200 ``{"status": "accepted"}``.

A second process (the load generator) pre-builds M signed GitHub ``milestone`` deliveries
(``X-Hub-Signature-256`` over the exact ~2 KB body, a unique ``X-GitHub-Delivery`` each),
then fires them over C keep-alive HTTP/1.1 connections with a hand-written asyncio client
(raw streams: httpx would be the bottleneck) and records each status and latency. Afterwards
the stored rows are counted: every 200 "accepted" must be one ``inbound_requests`` row and one
``jobs`` row. Target on PostgreSQL: ≥ 2,000 events/s.

    make bench
    .venv/bin/python bench/webhook_intake.py --requests 20000 --connections 64 --workers 2
    .venv/bin/python bench/webhook_intake.py --db sqlite          # one uvicorn worker
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psutil
from bench_db import BENCH_DB, free_port, fresh_url
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from autoinvoice.adapters.clock import SystemClock
from autoinvoice.adapters.db import tables as t
from autoinvoice.bootstrap import build
from autoinvoice.config import Settings
from autoinvoice.services.ingest import PROCESS
from autoinvoice.services.sources import NewSource, add_source

console = Console(width=150)
TARGET = 2000.0  # verified events/s on PostgreSQL


# -- setup ------------------------------------------------------------------------------------


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the web server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("the web server did not answer /healthz in time")


def _start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "autoinvoice.entrypoints.web.asgi:create",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# -- the load generator (its own process) -----------------------------------------------------
_USER = {
    "login": "Codertocat",
    "id": 21031067,
    "node_id": "MDQ6VXNlcjIxMDMxMDY3",
    "avatar_url": "https://avatars1.githubusercontent.com/u/21031067?v=4",
    "gravatar_id": "",
    "url": "https://api.github.com/users/Codertocat",
    "html_url": "https://github.com/Codertocat",
    "followers_url": "https://api.github.com/users/Codertocat/followers",
    "repos_url": "https://api.github.com/users/Codertocat/repos",
    "events_url": "https://api.github.com/users/Codertocat/events{/privacy}",
    "type": "User",
    "site_admin": False,
}


def _milestone_body(i: int) -> bytes:
    """A GitHub ``milestone`` ``closed`` delivery (octokit's payload example, trimmed to
    ~2 KB); each one a distinct milestone."""
    repo = "nordlicht-it/hanseatic-portal"
    stamp = f"2026-11-20T09:{i // 60 % 60:02d}:{i % 60:02d}Z"
    data = {
        "action": "closed",
        "milestone": {
            "url": f"https://api.github.com/repos/{repo}/milestones/{i}",
            "html_url": f"https://github.com/{repo}/milestone/{i}",
            "labels_url": f"https://api.github.com/repos/{repo}/milestones/{i}/labels",
            "id": 4317517 + i,
            "node_id": "MDk6TWlsZXN0b25lNDMxNzUxNw==",
            "number": i,
            "title": f"Phase {i} – acceptance",
            "description": "Design sign-off, staging deploy and acceptance by the client",
            "creator": _USER,
            "open_issues": 0,
            "closed_issues": 7 + i % 5,
            "state": "closed",
            "created_at": "2026-10-01T08:00:00Z",
            "updated_at": stamp,
            "due_on": "2026-11-30T07:00:00Z",
            "closed_at": stamp,
        },
        "repository": {
            "id": 186853002,
            "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
            "name": "hanseatic-portal",
            "full_name": repo,
            "private": True,
            "owner": {k: _USER[k] for k in ("login", "id", "type", "site_admin")},
            "html_url": f"https://github.com/{repo}",
            "url": f"https://api.github.com/repos/{repo}",
            "created_at": "2026-01-12T10:01:02Z",
            "updated_at": stamp,
            "default_branch": "main",
        },
        "sender": _USER,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _build_requests(port: int, secret: str, n: int, first: int) -> list[bytes]:
    key = secret.encode()
    out = []
    for i in range(first, first + n):
        body = _milestone_body(i)
        sig = hmac.new(key, body, hashlib.sha256).hexdigest()
        head = (
            "POST /webhooks/github HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "User-Agent: GitHub-Hookshot/bench\r\n"
            "Accept: */*\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "X-GitHub-Event: milestone\r\n"
            f"X-GitHub-Delivery: {uuid.uuid4()}\r\n"
            "X-GitHub-Hook-ID: 292430182\r\n"
            "X-GitHub-Hook-Installation-Target-Type: repository\r\n"
            f"X-Hub-Signature-256: sha256={sig}\r\n"
            "\r\n"
        )
        out.append(head.encode() + body)
    return out


_CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


async def _fire(port: int, reqs: list[bytes], conns: int) -> dict[str, Any]:
    """Send every request over ``conns`` keep-alive connections, one in flight on each."""
    n = len(reqs)
    status = [0] * n
    accepted = bytearray(n)
    latency = [0.0] * n
    todo = iter(range(n))
    perf = time.perf_counter

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in todo:  # one shared iterator: each request is sent exactly once
            t0 = perf()
            try:
                writer.write(reqs[i])
                head = await reader.readuntil(b"\r\n\r\n")
                m = _CONTENT_LENGTH.search(head)
                body = await reader.readexactly(int(m.group(1))) if m else b""
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                latency[i] = perf() - t0  # status 0: the connection failed; open another
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latency[i] = perf() - t0
            status[i] = int(head[9:12])
            accepted[i] = b'"accepted"' in body
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    t0 = perf()
    await asyncio.gather(*(connection() for _ in range(min(conns, n))))
    return {
        "seconds": perf() - t0,
        "status": status,
        "accepted": sum(accepted),
        "latency": latency,
    }


def _loadgen(
    port: int,
    secret: str,
    n: int,
    warmup: int,
    conns: int,
    ready: Any,
    go: Any,
    out: mp.Queue,  # type: ignore[type-arg]
) -> None:
    t_build = time.perf_counter()
    warm = _build_requests(port, secret, warmup, 1)
    reqs = _build_requests(port, secret, n, warmup + 1)
    built = time.perf_counter() - t_build
    size = sum(len(r) for r in reqs) / len(reqs)
    w = asyncio.run(_fire(port, warm, conns)) if warm else {"accepted": 0, "status": []}
    ready.set()
    go.wait()
    result = asyncio.run(_fire(port, reqs, conns))
    result.update(
        build_seconds=built,
        request_bytes=size,
        warm_accepted=w["accepted"],
        warm_non200=sum(1 for s in w["status"] if s != 200),
    )
    out.put(result)


# -- where the CPU went -----------------------------------------------------------------------
def _snapshot() -> dict[int, tuple[str, float]]:
    """Every process: a short command line and the CPU seconds it has used so far."""
    out = {}
    for p in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        c = p.info["cpu_times"]
        if c is None:
            continue
        words = list(p.info["cmdline"] or [p.info["name"] or "?"])
        if words[0].startswith("/"):
            words[0] = Path(words[0]).name  # /usr/bin/python3 → python3
        out[p.pid] = (
            " ".join(words[:4])[:70],
            c.user + c.system,
        )
    return out


def _machine() -> float:
    """CPU seconds the whole machine has been busy (all processes, all cores)."""
    c = psutil.cpu_times()
    return float(sum(c) - c.idle - getattr(c, "iowait", 0.0))


def _used(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], seconds: float
) -> dict[int, tuple[str, float]]:
    """Per process, the share of one core it used in between (100 = one full core)."""
    return {
        pid: (cmd, 100 * (cpu - before.get(pid, (cmd, 0.0))[1]) / seconds)
        for pid, (cmd, cpu) in after.items()
    }


def _others(used: dict[int, tuple[str, float]], ours: set[int]) -> list[tuple[str, float]]:
    """The other processes that used ≥ 3% of a core, busiest first; PostgreSQL's work for
    other databases and its background processes summed as one line."""
    totals: dict[str, float] = {}
    for pid, (cmd, v) in used.items():
        if pid in ours or (cmd.startswith("postgres") and BENCH_DB in cmd):
            continue
        label = "postgres (other databases, background)" if cmd.startswith("postgres") else cmd
        totals[label] = totals.get(label, 0.0) + v
    return sorted(((k, v) for k, v in totals.items() if v >= 3), key=lambda x: -x[1])


def _pct(ordered: list[float], p: float) -> float:
    """The nearest-rank percentile of an ordered list."""
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]


def _http_stack() -> str:
    """What uvicorn's "auto" picks here: httptools/uvloop when installed, else h11/asyncio."""
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11 (pure Python)"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"HTTP parser {http}, event loop {loop}"


# -- one run ----------------------------------------------------------------------------------
def run(kind: str, n: int, conns: int, workers: int, warmup: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-intake-{kind}-"))
    url = fresh_url(kind, tmp)
    if kind == "sqlite":
        workers = 1
    key = secrets.token_urlsafe(48)
    app = build(Settings(database_url=url, data_dir=tmp, secret_key=key), clock=SystemClock())
    signing_secret = secrets.token_hex(20)
    add_source(
        NewSource(kind="github", name="github-bench", secrets={"signing_secret": signing_secret}),
        uow=app.uow(),
        clock=app.clock,
        box=app.box,
        actor="bench",
        kinds=app.source_kinds,
    )
    port = free_port()
    env = {
        **os.environ,
        "AUTOINVOICE_DATABASE_URL": url,
        "AUTOINVOICE_DATA_DIR": str(tmp),
        "AUTOINVOICE_SECRET_KEY": key,
    }
    server = _start_server(env, port, workers)
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Event(), ctx.Event(), ctx.Queue()
    gen = ctx.Process(
        target=_loadgen, args=(port, signing_secret, n, warmup, conns, ready, go, out), daemon=True
    )
    try:
        _wait_healthy(port, server)
        console.print(
            f"[bold]{kind}[/bold]: uvicorn ×{workers} on :{port}, no job worker; "
            f"load generator: {n:,} signed GitHub milestone deliveries over {conns} "
            f"keep-alive connections (after {warmup:,} warm-up requests)…"
        )
        gen.start()
        while not ready.wait(0.5):
            if not gen.is_alive():
                raise SystemExit("the load generator died while warming up")
            if server.poll() is not None:
                raise SystemExit("the web server died during the warm-up")
        server_pids = [server.pid, *(p.pid for p in psutil.Process(server.pid).children(True))]
        c0, m0 = _snapshot(), _machine()
        t0 = time.perf_counter()
        go.set()
        res = out.get(timeout=600)
        wall = time.perf_counter() - t0
        used, machine = _used(c0, _snapshot(), wall), 100 * (_machine() - m0) / wall
        gen.join(30)
    finally:
        _stop(server)
        if gen.is_alive():
            gen.terminate()

    with app.engine.connect() as c:
        inbound = c.execute(select(func.count()).select_from(t.inbound_requests)).scalar_one()
        jobs = c.execute(
            select(func.count()).select_from(t.jobs).where(t.jobs.c.kind == PROCESS)
        ).scalar_one()
    app.engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)

    lat = sorted(res["latency"])
    status = res["status"]
    answered_ok = res["accepted"] + res["warm_accepted"]
    workers_busy = [used[pid][1] for pid in server_pids if pid in used]
    pg_busy = sum(v for cmd, v in used.values() if cmd.startswith("postgres") and BENCH_DB in cmd)
    gen_busy = used[gen.pid][1] if gen.pid in used else 0.0
    others = _others(used, {*server_pids, gen.pid, os.getpid()})
    return {
        "db": kind,
        "workers": workers,
        "conns": conns,
        "requests": n,
        "seconds": res["seconds"],
        "rps": n / res["seconds"],
        "p50_ms": 1000 * _pct(lat, 0.50),
        "p99_ms": 1000 * _pct(lat, 0.99),
        "max_ms": 1000 * lat[-1],
        "non200": sum(1 for s in status if s != 200) + res["warm_non200"],
        "accepted": answered_ok,
        "inbound": inbound,
        "jobs": jobs,
        "durable": inbound == answered_ok == jobs,
        "server_cpu": workers_busy,
        "pg_cpu": pg_busy,
        "gen_cpu": gen_busy,
        "machine_cpu": machine,
        "others": others,
        "request_bytes": res["request_bytes"],
        "build_seconds": res["build_seconds"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=20_000, help="measured requests (M)")
    ap.add_argument("--connections", type=int, default=64, help="concurrent connections (C)")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn workers (PostgreSQL)")
    ap.add_argument("--warmup", type=int, default=1000, help="requests before measuring")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="postgresql")
    args = ap.parse_args()
    kinds = ["postgresql", "sqlite"] if args.db == "both" else [args.db]
    results = [run(k, args.requests, args.connections, args.workers, args.warmup) for k in kinds]
    table = Table(
        "database",
        "uvicorn workers",
        "conns",
        "requests",
        "seconds",
        "events/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "non-200",
        "200 accepted",
        "inbound rows",
        "jobs",
        "durable",
        title="webhook intake (verify → group commit → 200)",
    )
    for r in results:
        table.add_row(
            r["db"],
            str(r["workers"]),
            str(r["conns"]),
            f"{r['requests']:,}",
            f"{r['seconds']:.2f}",
            f"{r['rps']:,.0f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['max_ms']:.1f}",
            str(r["non200"]),
            f"{r['accepted']:,}",
            f"{r['inbound']:,}",
            f"{r['jobs']:,}",
            "[green]yes[/green]" if r["durable"] else "[red]NO[/red]",
        )
    console.print(table)
    cores = psutil.cpu_count() or 1
    console.print(f"uvicorn: {_http_stack()}")
    for r in results:
        cpu = ", ".join(f"{v:.0f}%" for v in r["server_cpu"])
        pg = f", postgres {r['pg_cpu']:.0f}%" if r["db"] == "postgresql" else ""
        console.print(
            f"{r['db']}: CPU (100% = one core; this machine has {cores}) — uvicorn processes "
            f"[{cpu}]{pg}, load generator {r['gen_cpu']:.0f}%; whole machine "
            f"{r['machine_cpu']:.0f}%; request ~{r['request_bytes']:,.0f} B incl. headers"
        )
        # CPU per stored event, and what the machine could do if it ran nothing else
        server_ms = 10 * sum(r["server_cpu"]) / r["rps"]
        all_ms = server_ms + 10 * (r["pg_cpu"] + r["gen_cpu"]) / r["rps"]
        rest = "postgres and the load generator" if pg else "the load generator"
        console.print(
            f"CPU per event: uvicorn {server_ms:.2f} ms, with {rest} "
            f"{all_ms:.2f} ms → at most ~{1000 * cores / all_ms:,.0f} events/s on {cores} "
            "idle cores"
        )
        if r["others"]:
            listed = "; ".join(f"{cmd} {v:.0f}%" for cmd, v in r["others"][:4])
            console.print(
                f"[yellow]the machine was not idle[/yellow] — other processes meanwhile: {listed} "
                "— the figures above are only meaningful on an idle machine"
            )
        if r["db"] == "postgresql":
            verdict = "[green]met[/green]" if r["rps"] >= TARGET else "[red]missed[/red]"
            console.print(f"target ≥ {TARGET:,.0f} events/s on PostgreSQL: {verdict}")
        if not r["durable"]:
            console.print(
                f"[red]durability check failed[/red]: {r['accepted']:,} answered accepted, "
                f"{r['inbound']:,} stored requests, {r['jobs']:,} jobs"
            )


if __name__ == "__main__":
    main()
