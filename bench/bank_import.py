"""Benchmark: importing a 10,000-line camt.053 statement with matching, against ~10,000
open invoices, on SQLite and PostgreSQL (target: under 10 s each).

The ledger: one invoice issued through the real services, then copied row for row (its
lines too) to ``--invoices`` issued invoices for ``--clients`` clients, each with its own
amount. The statement (camt.053.001.08) pays them the ways clients do:

=====  ==============================================================  =================
share  line                                                            expected
=====  ==============================================================  =================
45 %   structured RF creditor reference                                applied
20 %   invoice number in noisy text ("inv 2026 123", "INV2026000123")  applied
10 %   the client's name, its exact open amount, no reference          applied
10 %   an unknown payer, an open amount, no reference                  review
 5 %   nothing we know (refunds, interest)                             review
10 %   debits (fees, suppliers)                                        stored, not matched
=====  ==============================================================  =================

Prints parse and import + match seconds (with the import's CPU seconds in this process: on
a shared machine the steadier figure; the PostgreSQL server's own work is not in it), the
outcome counts, and the time of a second import of the same file (every line a duplicate).

    .venv/bin/python bench/bank_import.py                  # both databases
    .venv/bin/python bench/bank_import.py --db sqlite --lines 2000
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bench_db import fresh_url
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import insert, select

from autoinvoice.adapters.bank import parse_statement
from autoinvoice.adapters.clock import ManualClock
from autoinvoice.adapters.db import tables as t
from autoinvoice.bootstrap import App, build
from autoinvoice.config import Settings
from autoinvoice.domain.invoice import Invoice, InvoiceLine
from autoinvoice.domain.numbering import NumberSeries
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.payment_aids import creditor_reference
from autoinvoice.domain.tax import TaxKind, determine_tax
from autoinvoice.domain.terms import PaymentTerms
from autoinvoice.services import bank as bank_service
from autoinvoice.services.bank import import_statement
from autoinvoice.services.invoicing import issue_invoice, save_draft
from autoinvoice.services.ports import ClientRecord, EntityRecord
from autoinvoice.services.setup import add_client, create_entity

console = Console(width=180)
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
IBAN = "DE89370400440532013000"


def _party(name: str, tax_id: str) -> Party:
    return Party(
        name=name,
        country="DE",
        tax_id=tax_id,
        address=Address(("Speicherstadt 12",), "Hamburg", "20457", "DE"),
        emails=("ap@example.com",),
    )


def _net(k: int) -> Decimal:
    return Decimal(1000 + k) + Decimal(k % 100) / 100  # every invoice its own amount


def seed(app: App, invoices: int, clients: int) -> list[dict[str, Any]]:
    """``invoices`` issued invoices; returns (number, client name, gross) of each."""
    seller = _party("Nordlicht IT Services GmbH", "DE136695976")
    eid = create_entity(
        EntityRecord(0, seller, "billing@nordlicht.example", "Europe/Berlin", "en", {"iban": IBAN}),
        NumberSeries("INV-{yyyy}-{seq:06d}", True),
        uow=app.uow(),
        clock=app.clock,
        actor="bench",
    )
    terms = PaymentTerms.parse("net:30")
    first = add_client(
        ClientRecord(0, eid, _party("Client 00000 GmbH", "DE811907980"), "EUR", terms, "en", "UTC"),
        uow=app.uow(),
        clock=app.clock,
        actor="bench",
    )
    buyer = _party("Client 00000 GmbH", "DE811907980")
    tax = determine_tax(seller.tax_profile, buyer.tax_profile, TaxKind.STANDARD)
    inv = Invoice(seller=seller, buyer=buyer, currency="EUR", terms=terms)
    inv.add_line(
        InvoiceLine("Managed IT services, November 2026", Decimal(1), _net(1), tax, "month")
    )
    with app.uow() as uow:
        inv_id = save_draft(inv, uow=uow, client_id=first, now=NOW, actor="bench")
        uow.commit()
    issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="bench")
    with app.engine.begin() as c:
        template = dict(
            c.execute(select(t.invoices).where(t.invoices.c.id == inv_id)).one()._mapping
        )
        line = dict(
            c.execute(select(t.invoice_lines).where(t.invoice_lines.c.invoice_id == inv_id))
            .one()
            ._mapping
        )
        client_row = dict(
            c.execute(select(t.clients).where(t.clients.c.id == first)).one()._mapping
        )
        names = [f"Client {i:05d} GmbH" for i in range(1, clients)]
        rows = [{**client_row, "id": None, "name": n, "portal_token": None} for n in names]
        for r in rows:
            del r["id"]
        c.execute(insert(t.clients), rows)
        ids = [
            first,
            *[
                r[0]
                for r in c.execute(
                    select(t.clients.c.id).where(t.clients.c.id != first).order_by(t.clients.c.id)
                )
            ],
        ]
        names = ["Client 00000 GmbH", *names]
        out = [{"number": template["number"], "client": names[0], "gross": template["gross_total"]}]
        new_invoices, new_lines = [], []
        for k in range(2, invoices + 1):
            net = _net(k)
            taxed = (net * Decimal("0.19")).quantize(Decimal("0.01"))
            who = k % clients
            number = f"INV-2026-{k:06d}"
            row = {**template, "client_id": ids[who], "number": number, "seq": k}
            row.update(net_total=net, tax_total=taxed, gross_total=net + taxed, portal_token=None)
            row["source_key"] = None
            del row["id"]
            new_invoices.append(row)
            new_lines.append({**line, "unit_price": net, "net_amount": net})
            out.append({"number": number, "client": names[who], "gross": net + taxed})
        result = c.execute(
            insert(t.invoices).returning(t.invoices.c.id, sort_by_parameter_order=True),
            new_invoices,
        )
        for ln, new_id in zip(new_lines, result.scalars(), strict=True):
            del ln["id"]
            ln["invoice_id"] = new_id
        c.execute(insert(t.invoice_lines), new_lines)
    return out


def _entry(i: int, amount: Decimal, cd: str, day: date, name: str, text: str, ref: str) -> str:
    strd = (
        f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{ref}</Ref>"
        "</CdtrRefInf></Strd>"
        if ref
        else ""
    )
    party = "Dbtr" if cd == "CRDT" else "Cdtr"
    return (
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>'
        f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>B{i:08d}</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>E2E{i:08d}"
        f"</EndToEndId></Refs><RltdPties><{party}><Pty><Nm>{escape(name)}</Nm></Pty></{party}>"
        f"</RltdPties><RmtInf><Ustrd>{escape(text)}</Ustrd>{strd}</RmtInf></TxDtls></NtryDtls>"
        "</Ntry>\n"
    )


def statement(
    invoices: list[dict[str, Any]], lines: int, seed_: int = 7
) -> tuple[bytes, dict[str, int]]:
    rnd = random.Random(seed_)
    pool = invoices[:]
    rnd.shuffle(pool)
    expect: dict[str, Any] = {"applied": 0, "review": 0, "outgoing": 0, "meant": {}}
    entries = []
    for i in range(lines):
        day = date(2026, 11, 23) + timedelta(days=i % 5)
        roll = rnd.random()
        inv = pool[i % len(pool)]
        num = inv["number"]
        seq = int(num[-6:])
        if roll < 0.75:
            expect["meant"][f"B{i:08d}"] = num
        if roll < 0.45:
            e = _entry(
                i, inv["gross"], "CRDT", day, inv["client"], "Invoice", creditor_reference(num)
            )
            expect["applied"] += 1
        elif roll < 0.65:
            text = rnd.choice(
                [f"inv 2026 {seq}", f"INV2026{seq:06d}", f"Rechnung INV-2026-{seq:06d} danke"]
            )
            e = _entry(i, inv["gross"], "CRDT", day, inv["client"], text, "")
            expect["applied"] += 1
        elif roll < 0.75:
            e = _entry(i, inv["gross"], "CRDT", day, inv["client"].upper(), "November", "")
            expect["applied"] += 1
        elif roll < 0.85:
            e = _entry(i, inv["gross"], "CRDT", day, f"Private payer {i}", "payment", "")
            expect["review"] += 1
        elif roll < 0.90:
            e = _entry(
                i, Decimal(rnd.randint(1, 99999)) / 100, "CRDT", day, "Finanzamt", "Erstattung", ""
            )
            expect["review"] += 1
        else:
            e = _entry(
                i,
                Decimal(rnd.randint(100, 99999)) / 100,
                "DBIT",
                day,
                "Supplier AG",
                "Rechnung 4711",
                "",
            )
            expect["outgoing"] += 1
        entries.append(e)
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-11-28T06:00:00+01:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>BENCH-1</Id><CreDtTm>2026-11-28T06:00:00+01:00</CreDtTm><Acct><Id><IBAN>{IBAN}"
        "</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        + "".join(entries)
        + "</Stmt></BkToCstmrStmt></Document>\n"
    )
    return doc.encode(), expect


class _Timed:
    """Time spent in ``services.receipt_batches.apply_receipts`` (as ``services.bank`` calls
    it, a chunk of matched lines at a time), to tell the matching import's own cost from the
    ledger writes."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.inner = bank_service.apply_receipts

    def __call__(self, *args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.inner(*args, **kw)
        finally:
            self.seconds += time.perf_counter() - t0


def wrong_matches(app: App, meant: dict[str, str]) -> tuple[int, int]:
    """(correct, wrong) among the applied lines: the invoice each payment went to against
    the invoice the generator meant it for."""
    bt, pa, inv = t.bank_transactions.c, t.payment_allocations.c, t.invoices.c
    q = (
        select(bt.bank_ref, inv.number)
        .join(t.payment_allocations, pa.payment_id == bt.payment_id)
        .join(t.invoices, inv.id == pa.invoice_id)
        .where(bt.status == "applied")
    )
    with app.engine.connect() as c:
        rows = c.execute(q).all()
    correct = sum(1 for ref, number in rows if meant.get(ref) == number)
    return correct, len(rows) - correct


def run(kind: str, lines: int, invoices: int, clients: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_url(kind, Path(tmp), "autoinvoice_bench_bank")
        app = build(Settings(data_dir=Path(tmp), database_url=url), clock=ManualClock(NOW))
        started = time.perf_counter()
        ledger = seed(app, invoices, clients)
        seeded = time.perf_counter() - started
        data, expect = statement(ledger, lines)
        app.clock.set(NOW + timedelta(days=8))  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        txs = parse_statement(data, "camt")
        parsed = time.perf_counter() - t0
        with Progress(
            TextColumn(f"{kind} import"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("import", total=len(txs))
            timed = _Timed()
            bank_service.apply_receipts = timed  # type: ignore[assignment]
            t1, cpu = time.perf_counter(), time.process_time()
            result = import_statement(
                txs,
                fmt="camt",
                content=data,
                filename="bench.xml",
                uow=app.uow(),
                clock=app.clock,
                actor="bench",
                progress=lambda n: bar.advance(task, n),
            )
            imported, imported_cpu = time.perf_counter() - t1, time.process_time() - cpu
            bank_service.apply_receipts = timed.inner  # type: ignore[assignment]
        t2 = time.perf_counter()
        again = import_statement(
            parse_statement(data, "camt"),
            fmt="camt",
            content=data,
            uow=app.uow(),
            clock=app.clock,
            actor="bench",
        )
        reimport = time.perf_counter() - t2
        correct, wrong = wrong_matches(app, expect["meant"])
        app.engine.dispose()
    return {
        "db": kind,
        "seed_s": seeded,
        "bytes": len(data),
        "parse_s": parsed,
        "import_s": imported,
        "import_cpu_s": imported_cpu,
        "apply_s": timed.seconds,
        "total_s": parsed + imported,
        "reimport_s": reimport,
        "result": result,
        "expect": expect,
        "dupes": again.duplicates,
        "correct": correct,
        "wrong": wrong,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--invoices", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=2_000)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = ap.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    table = Table(
        title=f"camt.053 import + matching: {args.lines:,} lines, {args.invoices:,} open invoices"
    )
    for col in (
        "db",
        "file",
        "parse s",
        "import+match s",
        "of it CPU s",
        "of it apply_receipts s",
        "total s",
        "applied",
        "review",
        "outgoing",
        "expected a/r/o",
        "applied right/wrong",
        "re-import s",
    ):
        table.add_column(col, justify="right")
    for kind in kinds:
        r = run(kind, args.lines, args.invoices, args.clients)
        res, exp = r["result"], r["expect"]
        table.add_row(
            kind,
            f"{r['bytes'] / 1e6:.1f} MB",
            f"{r['parse_s']:.2f}",
            f"{r['import_s']:.2f}",
            f"{r['import_cpu_s']:.2f}",
            f"{r['apply_s']:.2f}",
            f"[{'green' if r['total_s'] < 10 else 'red'}]{r['total_s']:.2f}[/]",
            str(res.applied),
            str(res.review),
            str(res.outgoing),
            f"{exp['applied']}/{exp['review']}/{exp['outgoing']}",
            f"{r['correct']}/[{'green' if r['wrong'] == 0 else 'red'}]{r['wrong']}[/]",
            f"{r['reimport_s']:.2f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
