"""Benchmark: one signed webhook in, one invoice email out — the latency on an idle system.

A `generic` source (Standard Webhooks), a company link to a German client and the rule
``won`` (``deal.won`` → build ``deal``) are set up in a fresh database. uvicorn serves the
app (one worker) and one ``autoinvoice worker`` process runs the jobs, with
``AUTOINVOICE_WORKER_POLL_SECONDS=5``: only PostgreSQL LISTEN/NOTIFY can wake it in time.
On SQLite the worker must share the web process, so ``autoinvoice serve`` (web + worker +
scheduler threads, in-process wake-up) runs instead.

K ``deal.won`` webhooks (each a new deal and amount) are sent one at a time; each waits for
its invoice email to be accepted by the SMTP server (aiosmtpd, in this process, recording
the moment of each message) before the next is sent. Five warm-up requests are not counted.
Target on PostgreSQL: p50 < 200 ms and p99 < 1 s from "webhook sent" to "email accepted".

    make bench
    .venv/bin/python bench/webhook_latency.py --requests 200
    .venv/bin/python bench/webhook_latency.py --db sqlite
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import queue
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import psutil
from bench_db import BENCH_DB, free_port, fresh_url
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from autoinvoice.adapters.clock import SystemClock
from autoinvoice.adapters.db import tables as t
from autoinvoice.adapters.email.sink import SmtpSink
from autoinvoice.bootstrap import App, build
from autoinvoice.config import Settings
from autoinvoice.domain.numbering import NumberSeries
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.terms import PaymentTerms
from autoinvoice.services.ingest import link_ref
from autoinvoice.services.ports import ClientRecord, EntityRecord
from autoinvoice.services.setup import add_client, create_entity
from autoinvoice.services.sources import NewSource, add_source
from autoinvoice.services.triggering import load_rules

console = Console(width=150)
SOURCE = "crm-bench"
COMPANY = "hanseatic-logistics"
POLL_SECONDS = "5"
P50_TARGET, P99_TARGET = 0.200, 1.0
WARMUP = 5


# -- setup ------------------------------------------------------------------------------------


def _seed(app: App, signing_secret: str) -> None:
    """A German seller and client (as tests/builders.py), the source, its link, the rule."""
    seller = Party(
        name="Nordlicht IT Services GmbH",
        country="DE",
        tax_id="DE136695976",
        address=Address(("Speicherstadt 12",), "Hamburg", "20457", "DE"),
        emails=("billing@nordlicht.example",),
    )
    eid = create_entity(
        EntityRecord(
            0,
            seller,
            "billing@nordlicht.example",
            "Europe/Berlin",
            "en",
            {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
        ),
        NumberSeries("INV-{yyyy}-{seq:06d}", True),
        uow=app.uow(),
        clock=app.clock,
        actor="bench",
    )
    buyer = Party(
        name="Hanseatic Logistics AG",
        country="DE",
        tax_id="DE811907980",
        address=Address(("Am Sandtorkai 50",), "Hamburg", "20457", "DE"),
        emails=("ap@hanseatic.example",),
    )
    cid = add_client(
        ClientRecord(0, eid, buyer, "EUR", PaymentTerms.parse("net:30"), "en", "Europe/Berlin"),
        uow=app.uow(),
        clock=app.clock,
        actor="bench",
    )
    add_source(
        NewSource(kind="generic", name=SOURCE, secrets={"signing_secret": signing_secret}),
        uow=app.uow(),
        clock=app.clock,
        box=app.box,
        actor="bench",
        kinds=app.source_kinds,
    )
    link_ref(
        SOURCE,
        "client",
        COMPANY,
        client_id=cid,
        contract_id=None,
        uow=app.uow(),
        clock=app.clock,
        actor="bench",
    )
    rule = {"name": "won", "when": {"source": "generic", "event": "deal.won"}, "build": "deal"}
    load_rules({"rules": [rule]}, uow=app.uow(), clock=app.clock, actor="bench")


# -- the SMTP sink, timing each message ------------------------------------------------------
@dataclass(frozen=True)
class Arrival:
    perf: float  # time.perf_counter() when the message was accepted
    number: str | None  # the invoice number (X-Autoinvoice-Invoice)
    subject: str


def _timed_sink() -> tuple[SmtpSink, queue.Queue[Arrival]]:
    sink = SmtpSink()
    arrivals: queue.Queue[Arrival] = queue.Queue()
    handler = sink._controller.handler
    accept = handler.handle_DATA

    async def handle_data(server: Any, session: Any, envelope: Any) -> str:
        at = time.perf_counter()
        reply: str = await accept(server, session, envelope)  # keeps the message, like before
        head = BytesHeaderParser(policy=default_policy).parsebytes(envelope.original_content or b"")
        arrivals.put(Arrival(at, head.get("X-Autoinvoice-Invoice"), str(head.get("Subject"))))
        return reply

    handler.handle_DATA = handle_data
    return sink.start(), arrivals


# -- the sender -------------------------------------------------------------------------------
class Sender:
    """Signs ``deal.won`` events as Standard Webhooks and posts them over one keep-alive
    connection."""

    def __init__(self, port: int, signing_secret: str) -> None:
        self.port = port
        self.key = base64.b64decode(signing_secret.removeprefix("whsec_"))
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, i: int) -> tuple[str, bytes, dict[str, str]]:
        now = datetime.now(UTC)
        amount = Decimal("1500.00") + Decimal(i * 37) + Decimal(i % 100) / 100
        event = {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": "deal.won",
            "subject": "deal",
            "external_id": f"D-{10000 + i}",
            "occurred_at": now.isoformat(),
            "version": now.isoformat(),
            "fields": {
                "deal_id": f"D-{10000 + i}",
                "name": f"Firewall rollout, site {i}",
                "amount": f"{amount:.2f}",
                "currency": "EUR",
                "close_date": now.date().isoformat(),
                "stage": "won",
                "client_ref": COMPANY,
                "client_name": "Hanseatic Logistics AG",
            },
        }
        body = json.dumps(event).encode()
        msg_id = f"msg_{uuid.uuid4().hex}"
        stamp = str(int(time.time()))
        mac = hmac.new(self.key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": stamp,
            "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        }
        return msg_id, body, headers

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        try:
            self.conn.request("POST", "/webhooks/generic", body, headers)
            r = self.conn.getresponse()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # reconnect once: the server may have closed an idle connection
            self.conn.request("POST", "/webhooks/generic", body, headers)
            r = self.conn.getresponse()
        return r.status, r.read()


# -- processes --------------------------------------------------------------------------------
def _wait_healthy(port: int, procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise SystemExit(f"{p.args!r} exited with {p.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("the web server did not answer /healthz in time")


def _start(kind: str, env: dict[str, str], port: int) -> list[subprocess.Popen[bytes]]:
    def spawn(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    if kind == "sqlite":
        return [spawn("autoinvoice", "serve", "--host", "127.0.0.1", "--port", str(port))]
    web = spawn(
        "uvicorn",
        "autoinvoice.entrypoints.web.asgi:create",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    )
    return [web, spawn("autoinvoice", "worker", "--name", "bench-worker")]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


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
        out[p.pid] = (" ".join(words[:4])[:70], c.user + c.system)
    return out


def _machine() -> float:
    """CPU seconds the whole machine has been busy (all processes, all cores)."""
    c = psutil.cpu_times()
    return float(sum(c) - c.idle - getattr(c, "iowait", 0.0))


def _others(
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    ours: set[int],
    seconds: float,
) -> list[tuple[str, float]]:
    """The other processes that used ≥ 3% of a core meanwhile, busiest first; PostgreSQL's
    work for other databases and its background processes summed as one line."""
    totals: dict[str, float] = {}
    for pid, (cmd, cpu) in after.items():
        if pid in ours or (cmd.startswith("postgres") and BENCH_DB in cmd):
            continue
        label = "postgres (other databases, background)" if cmd.startswith("postgres") else cmd
        used = 100 * (cpu - before.get(pid, (cmd, 0.0))[1]) / seconds
        totals[label] = totals.get(label, 0.0) + used
    return sorted(((k, v) for k, v in totals.items() if v >= 3), key=lambda x: -x[1])


# -- one run ----------------------------------------------------------------------------------
@dataclass
class Sample:
    msg_id: str
    sent_wall: float  # time.time() at send
    answered: float  # seconds from send to the 200
    total: float  # seconds from send to the email accepted
    number: str | None


def _breakdown(app: App, samples: list[Sample]) -> dict[str, list[float]]:
    """Per request, from the rows' timestamps (same machine clock as the sender):
    send → received by the web handler → invoice issued by the worker → email composed
    (PDF rendered) → email accepted."""
    ir, ev, rf, inv, om = (
        t.inbound_requests,
        t.events,
        t.rule_firings,
        t.invoices,
        t.outbound_messages,
    )
    q = select(ir.c.dedupe_key, ir.c.received_at, inv.c.issued_at, om.c.created_at).select_from(
        ir.join(ev, ev.c.inbound_id == ir.c.id)
        .join(rf, rf.c.event_id == ev.c.id)
        .join(inv, inv.c.id == rf.c.invoice_id)
        .join(om, om.c.invoice_id == inv.c.id)
    )
    with app.engine.connect() as c:
        rows = {r[0]: r[1:] for r in c.execute(q)}
    parts: dict[str, list[float]] = {
        "send → received by web": [],
        "received → invoice issued (store, wake-up, claim, parse)": [],
        "issued → email composed (commit, claim, Typst PDF)": [],
        "composed → accepted by SMTP": [],
    }
    for s in samples:
        row = rows.get(f"d:{s.msg_id}")
        if row is None or any(v is None for v in row):
            continue
        received, issued, composed = (v.timestamp() for v in row)
        accepted = s.sent_wall + s.total
        for name, value in zip(
            parts,
            (received - s.sent_wall, issued - received, composed - issued, accepted - composed),
            strict=True,
        ):
            parts[name].append(value)
    return parts


def _pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(p * len(v)) - 1))]


def run(kind: str, k: int, timeout: float) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-latency-{kind}-"))
    url = fresh_url(kind, tmp)
    key = secrets.token_urlsafe(48)
    app = build(Settings(database_url=url, data_dir=tmp, secret_key=key), clock=SystemClock())
    signing_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    _seed(app, signing_secret)

    sink, arrivals = _timed_sink()
    port = free_port()
    env = {
        **os.environ,
        "AUTOINVOICE_DATABASE_URL": url,
        "AUTOINVOICE_DATA_DIR": str(tmp),
        "AUTOINVOICE_SECRET_KEY": key,
        "AUTOINVOICE_SMTP_HOST": sink.host,
        "AUTOINVOICE_SMTP_PORT": str(sink.port),
        "AUTOINVOICE_WORKER_POLL_SECONDS": POLL_SECONDS,
    }
    procs = _start(kind, env, port)
    samples: list[Sample] = []
    lost = 0
    last_subject = ""
    try:
        _wait_healthy(port, procs)
        if kind == "sqlite":
            console.print(
                f"[bold]sqlite[/bold]: `autoinvoice serve` on :{port} (web + worker + scheduler "
                f"threads in one process: SQLite has no NOTIFY, the worker is woken in-process; "
                f"uvicorn access log on); worker poll {POLL_SECONDS} s…"
            )
        else:
            console.print(
                f"[bold]postgresql[/bold]: uvicorn ×1 on :{port} + one `autoinvoice worker` "
                f"process with AUTOINVOICE_WORKER_POLL_SECONDS={POLL_SECONDS} — only "
                "LISTEN/NOTIFY can wake it fast enough…"
            )
        sender = Sender(port, signing_secret)
        c0, m0 = _snapshot(), _machine()
        t_run = time.perf_counter()
        for i in range(WARMUP + k):
            msg_id, body, headers = sender.request(i)
            sent_wall = time.time()
            t0 = time.perf_counter()
            status, answer = sender.post(body, headers)
            answered = time.perf_counter() - t0
            if status != 200 or b'"accepted"' not in answer:
                raise SystemExit(f"request {i}: {status} {answer[:300]!r}")
            try:
                got = arrivals.get(timeout=timeout if i >= WARMUP else 60)
                while got.number is None:  # an owner alert, not an invoice: keep waiting
                    console.print(f"[yellow]not an invoice email: {got.subject}[/yellow]")
                    got = arrivals.get(timeout=timeout)
            except queue.Empty:
                lost += 1
                console.print(f"[red]request {i}: no email within {timeout} s[/red]")
                continue
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a server process died")
            if i >= WARMUP:
                samples.append(Sample(msg_id, sent_wall, answered, got.perf - t0, got.number))
                last_subject = got.subject
        elapsed = time.perf_counter() - t_run
        c1, m1 = _snapshot(), _machine()
        ours = {os.getpid(), *(p.pid for p in procs)}
        for p in procs:
            with contextlib.suppress(psutil.Error):
                ours.update(c.pid for c in psutil.Process(p.pid).children(True))
    finally:
        _stop(procs)
        sink.stop()
    parts = _breakdown(app, samples)
    app.engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    totals = [s.total for s in samples]
    ours_cpu = {
        c1[pid][0]: 100 * (c1[pid][1] - c0.get(pid, ("", 0.0))[1]) / elapsed
        for pid in ours
        if pid in c1
    }
    if kind == "postgresql":
        ours_cpu[f"postgres ({BENCH_DB})"] = sum(
            100 * (cpu - c0.get(pid, ("", 0.0))[1]) / elapsed
            for pid, (cmd, cpu) in c1.items()
            if cmd.startswith("postgres") and BENCH_DB in cmd
        )
    return {
        "db": kind,
        "k": k,
        "lost": lost,
        "totals": totals,
        "answered": [s.answered for s in samples],
        "numbers": len({s.number for s in samples if s.number}),
        "parts": parts,
        "machine_cpu": 100 * (m1 - m0) / elapsed,
        "others": _others(c0, c1, ours, elapsed),
        "ours": ours_cpu,
        "seconds": elapsed,
        "last_subject": last_subject,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200, help="measured webhooks (K)")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="postgresql")
    ap.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for an email")
    args = ap.parse_args()
    kinds = ["postgresql", "sqlite"] if args.db == "both" else [args.db]
    results = [run(kind, args.requests, args.timeout) for kind in kinds]

    ms = lambda v: f"{1000 * v:,.0f}"  # noqa: E731
    table = Table(
        "database",
        "webhooks",
        "emails",
        "distinct invoices",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "mean ms",
        "200 answer p50 ms",
        title="webhook sent → invoice email accepted by SMTP (one at a time)",
    )
    for r in results:
        v = r["totals"]
        table.add_row(
            r["db"],
            str(r["k"]),
            str(len(v)),
            str(r["numbers"]),
            ms(_pct(v, 0.50)),
            ms(_pct(v, 0.90)),
            ms(_pct(v, 0.99)),
            ms(max(v)),
            ms(statistics.fmean(v)),
            ms(_pct(r["answered"], 0.50)),
        )
    console.print(table)
    for r in results:
        parts = Table("segment", "p50 ms", "p90 ms", "p99 ms", "max ms", title=f"{r['db']}")
        for name, values in r["parts"].items():
            if values:
                parts.add_row(
                    name,
                    f"{1000 * _pct(values, 0.5):.1f}",
                    f"{1000 * _pct(values, 0.9):.1f}",
                    f"{1000 * _pct(values, 0.99):.1f}",
                    f"{1000 * max(values):.1f}",
                )
        console.print(parts)
        cores = psutil.cpu_count() or 1
        console.print(
            f"{r['db']}: {r['seconds']:.0f} s; the whole machine was {r['machine_cpu']:.0f}% "
            f"busy (100% = one core, {cores} cores) — the target assumes an idle system"
        )
        ours = "; ".join(f"{cmd} {v:.0f}%" for cmd, v in r["ours"].items())
        console.print(f"CPU of the benchmark's processes: {ours}")
        if r["others"]:
            listed = "; ".join(f"{cmd} {v:.0f}%" for cmd, v in r["others"][:4])
            console.print(f"[yellow]the machine was not idle[/yellow] — other processes: {listed}")
        console.print(f"last email: {r['last_subject']}")
        if r["lost"]:
            console.print(f"[red]{r['lost']} webhooks produced no email in time[/red]")
        if r["db"] == "postgresql":
            p50, p99 = _pct(r["totals"], 0.5), _pct(r["totals"], 0.99)
            ok = p50 < P50_TARGET and p99 < P99_TARGET and not r["lost"]
            verdict = "[green]met[/green]" if ok else "[red]missed[/red]"
            console.print(
                f"target p50 < {1000 * P50_TARGET:.0f} ms and p99 < {1000 * P99_TARGET:.0f} ms "
                f"on PostgreSQL: {verdict}"
            )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
