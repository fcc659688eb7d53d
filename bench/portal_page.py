"""Benchmark: the client portal's invoice page under load — requests/s and p50/p99.

A fresh database gets one issuing entity, one client and N issued invoices (each with its
portal token). uvicorn serves the app (``--workers W``, no access log); a second process
fires M ``GET /portal/invoices/{token}`` requests with a browser's User-Agent over C
keep-alive connections (the raw asyncio client of ``webhook_intake.py``), spread over the N
invoices, so the first request per invoice records the client's view (a write) and the rest
read. Every answer must be 200 and carry the invoice number. Target: p99 < 50 ms.

    .venv/bin/python bench/portal_page.py                       # PostgreSQL, 2 workers
    .venv/bin/python bench/portal_page.py --db sqlite --workers 1
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench_db import free_port, fresh_url
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from webhook_intake import _CONTENT_LENGTH, _pct, _start_server, _stop, _wait_healthy

from autoinvoice.adapters.clock import SystemClock
from autoinvoice.bootstrap import build
from autoinvoice.config import Settings
from autoinvoice.domain.invoice import Invoice, InvoiceLine
from autoinvoice.domain.numbering import NumberSeries
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.tax import TaxKind, determine_tax
from autoinvoice.domain.terms import PaymentTerms
from autoinvoice.services.invoicing import issue, save_draft
from autoinvoice.services.ports import ClientRecord, EntityRecord
from autoinvoice.services.setup import add_client, create_entity

console = Console(width=120)
TARGET_P99_MS = 50.0
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Safari/605.1.15"
)


def _setup(url: str, data_dir: Path, n: int) -> list[str]:
    app = build(Settings(data_dir=data_dir, database_url=url), clock=SystemClock())
    seller = Party(
        "Nordlicht IT Services GmbH",
        "DE",
        Address(("Speicherstadt 12",), "Hamburg", "20457", "DE"),
        "DE136695976",
        ("billing@nordlicht.example",),
    )
    entity = create_entity(
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
        "Hanseatic Logistics AG",
        "DE",
        Address(("Am Sandtorkai 50",), "Hamburg", "20457", "DE"),
        "DE811907980",
        ("ap@hanseatic.example",),
    )
    client = add_client(
        ClientRecord(0, entity, buyer, "EUR", PaymentTerms.parse("net:30"), "de"),
        uow=app.uow(),
        clock=app.clock,
        actor="bench",
    )
    tax = determine_tax(seller.tax_profile, buyer.tax_profile, TaxKind.STANDARD)
    tokens = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("issuing invoices", total=n)
        for i in range(n):
            with app.uow() as uow:
                inv = Invoice(seller, buyer, "EUR", PaymentTerms.parse("net:30"))
                for k in range(3):
                    inv.add_line(
                        InvoiceLine(
                            f"Platform engineering, sprint {i}-{k}", Decimal(8), Decimal(120), tax
                        )
                    )
                inv.id = save_draft(inv, uow=uow, client_id=client, now=app.clock.now(), actor="b")
                issue(inv, uow=uow, now=app.clock.now(), actor="bench")
                tokens.append(uow.invoices.portal_token(inv.id))
                uow.commit()
            progress.advance(task)
    app.engine.dispose()
    return tokens


async def _fire(port: int, paths: list[str], conns: int) -> dict[str, Any]:
    n = len(paths)
    status, ok, latency = [0] * n, bytearray(n), [0.0] * n
    todo = iter(range(n))
    perf = time.perf_counter

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in todo:
            request = (
                f"GET {paths[i]} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {BROWSER}\r\n"
                "Accept: text/html\r\n\r\n"
            ).encode()
            t0 = perf()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            m = _CONTENT_LENGTH.search(head)
            body = await reader.readexactly(int(m.group(1))) if m else b""
            latency[i] = perf() - t0
            status[i] = int(head[9:12])
            ok[i] = b"INV-" in body
        writer.close()

    t0 = perf()
    await asyncio.gather(*(connection() for _ in range(min(conns, n))))
    return {"seconds": perf() - t0, "status": status, "ok": sum(ok), "latency": latency}


def _loadgen(port: int, paths: list[str], conns: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    asyncio.run(_fire(port, paths[: min(200, len(paths))], conns))  # warm up
    out.put(asyncio.run(_fire(port, paths, conns)))


def run(kind: str, invoices: int, requests: int, conns: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_url(kind, Path(tmp))
        tokens = _setup(url, Path(tmp), invoices)
        env = {
            **os.environ,
            "AUTOINVOICE_DATABASE_URL": url,
            "AUTOINVOICE_DATA_DIR": tmp,
            "AUTOINVOICE_SECRET_KEY": "bench-" + "x" * 40,
        }
        port = free_port()
        server = _start_server(env, port, workers)
        try:
            _wait_healthy(port, server)
            paths = [f"/portal/invoices/{tokens[i % len(tokens)]}" for i in range(requests)]
            out: mp.Queue = mp.Queue()  # type: ignore[type-arg]
            gen = mp.Process(target=_loadgen, args=(port, paths, conns, out))
            gen.start()
            result = out.get(timeout=600)
            gen.join()
        finally:
            _stop(server)
    lat = sorted(x * 1000 for x in result["latency"])
    return {
        "db": kind,
        "workers": workers,
        "requests": requests,
        "non200": sum(1 for s in result["status"] if s != 200),
        "ok": result["ok"],
        "rps": requests / result["seconds"],
        "p50": _pct(lat, 0.50),
        "p99": _pct(lat, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--invoices", type=int, default=200)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    kinds = ["postgresql", "sqlite"] if args.db == "both" else [args.db]
    table = Table("db", "uvicorn workers", "requests", "non-200", "req/s", "p50 ms", "p99 ms", "")
    for kind in kinds:
        workers = 1 if kind == "sqlite" else args.workers
        r = run(kind, args.invoices, args.requests, args.connections, workers)
        verdict = "ok" if r["p99"] < TARGET_P99_MS and not r["non200"] else "OVER TARGET"
        table.add_row(
            kind,
            str(workers),
            str(r["requests"]),
            str(r["non200"]),
            f"{r['rps']:,.0f}",
            f"{r['p50']:.1f}",
            f"{r['p99']:.1f}",
            verdict,
        )
        assert r["ok"] == r["requests"] - r["non200"], "a page without its invoice number"
    console.print(table)
    console.print(f"target: p99 < {TARGET_P99_MS:g} ms ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
