"""A large, realistic ledger for benchmarks: ``seed_invoices(url, n, today=…)``.

Fills a PostgreSQL database (migrated to head here; create it fresh with
``bench_db.fresh_url("postgresql", tmp)``) with ``n`` issued invoices:

* three issuing entities — a German GmbH (EUR, some USD clients), an Indian Pvt Ltd (INR,
  some USD clients) and a British Ltd (GBP) — each with its own series and time zone;
* ``clients`` clients (default 2,000) spread over them, each with payment terms (net 14/30/45)
  and a payment habit: most pay around the due date, some weeks late, a few months late;
* issue dates spread evenly over the two years before ``today``; due date = issue + terms;
* statuses that follow from the habit and ``today``: ``paid`` (``amount_paid`` = gross,
  ``paid_at`` set) when the expected payment date has passed, otherwise open —
  ``issued`` / ``sent`` / ``viewed`` or ``partially_paid`` (0 < ``amount_paid`` < gross);
  about 1.5 % ``void`` (nothing paid). Numbers are gapless per entity, in issue-date order;
* what is paid on an invoice is a ``payments`` row with its ``payment`` allocation — or, for
  one invoice in 40, a ``credit_note`` allocation (settled by a credit note).

Entities and clients go through SQLAlchemy Core (a few thousand rows); invoices go through
PostgreSQL ``COPY … FROM STDIN`` with psycopg 3 (text format, 50,000 rows per write), then
``VACUUM ANALYZE`` (what autovacuum would do): about 40 s per million rows on a 2-core
machine. The random generator is seeded, so the same
``n``/``today``/``seed`` always give the same ledger.

    .venv/bin/python bench/million.py --n 1000000     # fresh autoinvoice_bench_million database
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from bench_db import fresh_url
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url
from stdnum import luhn
from stdnum.iso7064 import mod_11_10

from autoinvoice.adapters.db import tables as t
from autoinvoice.adapters.db.engine import make_engine
from autoinvoice.adapters.db.migrate import upgrade

console = Console(width=120)
CHUNK = 50_000


@dataclass(frozen=True, slots=True)
class _Entity:
    name: str
    country: str
    subdivision: str | None
    city: str
    postal: str
    street: str
    tax_id: str
    timezone: str
    currencies: tuple[tuple[str, float], ...]  # (currency, share of clients)
    tax_pct: int
    share: float  # share of invoices


ENTITIES = (
    _Entity(
        "Nordlicht IT Services GmbH",
        "DE",
        None,
        "Hamburg",
        "20457",
        "Speicherstadt 12",
        "DE136695976",
        "Europe/Berlin",
        (("EUR", 0.85), ("USD", 0.15)),
        19,
        0.5,
    ),
    _Entity(
        "Sahyadri Cloud Pvt Ltd",
        "IN",
        "IN-MH",
        "Pune",
        "411001",
        "12 FC Road",
        "27AAPFU0939F1ZV",
        "Asia/Kolkata",
        (("INR", 0.8), ("USD", 0.2)),
        18,
        0.3,
    ),
    _Entity(
        "Thames Digital Ltd",
        "GB",
        None,
        "London",
        "EC1V 9HX",
        "1 City Road",
        "GB980780684",
        "Europe/London",
        (("GBP", 1.0),),
        20,
        0.2,
    ),
)
# net amount range per invoice, in minor units
NET_RANGE = {
    "EUR": (40_000, 2_500_000),
    "USD": (50_000, 3_000_000),
    "GBP": (35_000, 2_000_000),
    "INR": (3_000_000, 150_000_000),
}
TERMS = (("net:14", 14), ("net:30", 30), ("net:30", 30), ("net:45", 45))
COLUMNS = (
    "entity_id",
    "client_id",
    "series_id",
    "kind",
    "status",
    "number",
    "seq",
    "currency",
    "terms",
    "rounding",
    "issue_date",
    "due_date",
    "seller",
    "buyer",
    "net_total",
    "tax_total",
    "gross_total",
    "amount_paid",
    "notes",
    "created_at",
    "issued_at",
    "sent_at",
    "viewed_at",
    "paid_at",
    "voided_at",
)


@dataclass(frozen=True, slots=True)
class _Client:
    id: int
    entity: int  # index into ENTITIES
    currency: str
    terms: str
    term_days: int
    delay_mean: float  # days after the due date this client usually pays
    never_pays: float  # chance an invoice stays unpaid whatever its age
    buyer_json: str


def _pg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _ts(d: date, hour: int = 9, minute: int = 0) -> str:
    return f"{d.isoformat()} {hour:02d}:{minute:02d}:00+00"


def _party(e: _Entity, name: str, street: str, tax_id: str | None, email: str) -> dict[str, Any]:
    return {
        "name": name,
        "country": e.country,
        "subdivision": e.subdivision,
        "address": {
            "lines": [street],
            "city": e.city,
            "postal_code": e.postal,
            "country": e.country,
            "subdivision": e.subdivision,
        },
        "tax_id": tax_id,
        "emails": [email],
        "is_business": True,
        "extra": {},
        "peppol_id": None,
    }


def _client_tax_id(country: str, i: int) -> str:
    """A valid tax id, so the clients load as domain parties (their ids are checked):
    German VAT numbers with their ISO 7064 MOD 11,10 check digit, Indian GSTINs with
    their Luhn mod 36 check character; one HMRC example number for the British ones."""
    if country == "DE":
        body = f"{10_000_000 + i:08d}"
        return f"DE{body}{mod_11_10.calc_check_digit(body)}"
    if country == "IN":
        body = f"27AAAC{chr(65 + i % 26)}{i % 9_999 + 1:04d}{chr(65 + i // 26 % 26)}1Z"
        return body + luhn.calc_check_digit(body, alphabet=_GSTIN_ALPHABET)
    return "GB980780684"


_GSTIN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _setup(
    url: str, clients: int, rng: random.Random, now: datetime
) -> tuple[list[int], list[int], list[str], list[_Client]]:
    """Entities, their series and the clients (Core inserts); returns (entity ids, series ids,
    seller JSON per entity, clients)."""
    engine = make_engine(url)
    upgrade(engine)
    entity_ids: list[int] = []
    series_ids: list[int] = []
    seller_json: list[str] = []
    with engine.begin() as c:
        for e in ENTITIES:
            seller = _party(e, e.name, e.street, e.tax_id, f"billing@{e.country.lower()}.example")
            eid = c.execute(
                insert(t.issuing_entities).values(
                    name=e.name,
                    country=e.country,
                    subdivision=e.subdivision,
                    address=seller["address"],
                    tax_id=e.tax_id,
                    email=seller["emails"][0],
                    bank={"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
                    timezone=e.timezone,
                    locale="en",
                    footer="",
                    branding={},
                    checks={},
                )
            ).inserted_primary_key[0]
            sid = c.execute(
                insert(t.number_series).values(
                    entity_id=eid,
                    name="default",
                    pattern="INV-{yyyy}-{seq:07d}",
                    yearly_reset=False,
                )
            ).inserted_primary_key[0]
            entity_ids.append(eid)
            series_ids.append(sid)
            seller_json.append(json.dumps(seller))
        rows = []
        habits = []
        for i in range(clients):
            ei = rng.choices(range(len(ENTITIES)), [e.share for e in ENTITIES])[0]
            e = ENTITIES[ei]
            cur = rng.choices([c for c, _ in e.currencies], [w for _, w in e.currencies])[0]
            terms, days = rng.choice(TERMS)
            kind = rng.random()
            if kind < 0.6:  # pays about on time
                habit = (rng.uniform(-4, 6), 0.002)
            elif kind < 0.9:  # pays weeks late
                habit = (rng.uniform(6, 35), 0.01)
            else:  # pays months late, some never
                habit = (rng.uniform(35, 110), 0.08)
            party = _party(
                e,
                f"Client {i:05d} {e.country}",
                f"Street {i % 300 + 1}",
                _client_tax_id(e.country, i),
                f"ap{i}@client{i}.example",
            )
            rows.append(
                dict(
                    entity_id=entity_ids[ei],
                    name=party["name"],
                    country=e.country,
                    subdivision=e.subdivision,
                    address=party["address"],
                    tax_id=party["tax_id"],
                    emails=party["emails"],
                    is_business=True,
                    currency=cur,
                    terms=terms,
                    language="en",
                    timezone=e.timezone,
                    created_at=now,
                )
            )
            habits.append((ei, cur, terms, days, habit, json.dumps(party)))
        c.execute(insert(t.clients), rows)
        ids = [r[0] for r in c.execute(select(t.clients.c.id).order_by(t.clients.c.id))][-clients:]
    engine.dispose()
    out = [
        _Client(cid, ei, cur, terms, days, habit[0], habit[1], buyer)
        for cid, (ei, cur, terms, days, habit, buyer) in zip(ids, habits, strict=True)
    ]
    return entity_ids, series_ids, seller_json, out


def _rows(
    n: int,
    today: date,
    clients: list[_Client],
    entity_ids: list[int],
    series_ids: list[int],
    seller_json: list[str],
    rng: random.Random,
    tally: Counter[str],
) -> Iterator[str]:
    """Yield COPY text lines, in issue-date order over the 730 days before ``today``."""
    days = 730
    seqs = [0] * len(ENTITIES)
    start = today - timedelta(days=days)
    rand, gauss = rng.random, rng.gauss
    for k in range(n):
        issue = start + timedelta(days=k * days // n + 1)
        cl = clients[int(rand() * len(clients))]
        e = ENTITIES[cl.entity]
        lo, hi = NET_RANGE[cl.currency]
        net = lo + int(rand() * (hi - lo))
        tax = (net * e.tax_pct + 50) // 100
        gross = net + tax
        due = issue + timedelta(days=cl.term_days)
        seqs[cl.entity] += 1
        seq = seqs[cl.entity]
        issued = _ts(issue)
        sent = viewed = paid_at = voided = r"\N"
        paid = 0
        if rand() < 0.015:
            status = "void"
            voided = _ts(issue + timedelta(days=int(rand() * 10)), 14)
        else:
            sent = _ts(issue, 9, 5)
            pay_day = due + timedelta(days=round(cl.delay_mean + gauss(0, 4)))
            pay_day = max(pay_day, issue + timedelta(days=1))
            if pay_day <= today and rand() >= cl.never_pays:
                status, paid, paid_at = "paid", gross, _ts(pay_day, 11)
                viewed = _ts(issue + timedelta(days=1), 10)
            else:
                r = rand()
                if r < 0.12:
                    status, paid = "partially_paid", gross * (20 + int(rand() * 60)) // 100
                    viewed = _ts(issue + timedelta(days=1), 10)
                elif r < 0.22:
                    status, sent = "issued", r"\N"
                elif r < 0.6:
                    status = "sent"
                else:
                    status, viewed = "viewed", _ts(issue + timedelta(days=1), 10)
        tally[status] += 1
        yield (
            f"{entity_ids[cl.entity]}\t{cl.id}\t{series_ids[cl.entity]}\tinvoice\t{status}\t"
            f"INV-{issue.year}-{seq:07d}\t{seq}\t{cl.currency}\t{cl.terms}\tper_category\t"
            f"{issue.isoformat()}\t{due.isoformat()}\t{seller_json[cl.entity]}\t{cl.buyer_json}\t"
            f"{_money(net)}\t{_money(tax)}\t{_money(gross)}\t{_money(paid)}\t[]\t{issued}\t"
            f"{issued}\t{sent}\t{viewed}\t{paid_at}\t{voided}\n"
        )


# What was paid on each invoice, as the ledger records it: a bank payment and its allocation;
# one invoice in 40 settled by a credit note instead (which the forecast must not learn from).
_PAID = "FROM invoices WHERE kind = 'invoice' AND amount_paid > 0"
_WHEN = "COALESCE(paid_at, issued_at + INTERVAL '20 days')"
_SETTLEMENTS = (
    "INSERT INTO payments (client_id, invoice_id, amount, applied, currency, method,"
    " reference, received_at, recorded_at)"
    f" SELECT client_id, id, amount_paid, amount_paid, currency, 'bank', number, {_WHEN},"
    f" {_WHEN} {_PAID} AND id % 40 <> 0",
    "INSERT INTO payment_allocations (invoice_id, client_id, kind, payment_id, amount,"
    " currency, created_at)"
    " SELECT invoice_id, client_id, 'payment', id, amount, currency, received_at FROM payments",
    "INSERT INTO payment_allocations (invoice_id, client_id, kind, amount, currency,"
    f" created_at) SELECT id, client_id, 'credit_note', amount_paid, currency, {_WHEN}"
    f" {_PAID} AND id % 40 = 0",
)


def seed_invoices(
    url: str, n: int = 1_000_000, *, today: date, clients: int = 2_000, seed: int = 7
) -> dict[str, int]:
    """Migrate ``url`` (PostgreSQL) to head and add ``n`` issued invoices (see the module
    docstring); prints progress. Returns the count per status."""
    if make_url(url).get_backend_name() != "postgresql":
        raise ValueError(f"seed_invoices needs PostgreSQL (COPY), got {url.split(':')[0]}")
    rng = random.Random(seed)
    now = datetime.combine(today, datetime.min.time(), UTC)
    t0 = time.perf_counter()
    entity_ids, series_ids, seller_json, cl = _setup(url, clients, rng, now)
    tally: Counter[str] = Counter()
    lines = _rows(n, today, cl, entity_ids, series_ids, seller_json, rng, tally)
    cols = ", ".join(COLUMNS)
    with (
        psycopg.connect(_pg_dsn(url)) as conn,
        Progress(
            TextColumn("seeding invoices"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("invoices", total=n)
        with conn.cursor() as cur, cur.copy(f"COPY invoices ({cols}) FROM STDIN") as copy:
            batch: list[str] = []
            for line in lines:
                batch.append(line)
                if len(batch) == CHUNK:
                    copy.write("".join(batch))
                    progress.advance(task, len(batch))
                    batch.clear()
            if batch:
                copy.write("".join(batch))
                progress.advance(task, len(batch))
        conn.commit()
        for sql in _SETTLEMENTS:
            conn.execute(sql)
        conn.commit()
        # what autovacuum does to a live database: statistics, and the visibility map that
        # lets the reports' index-only scans skip the table
        conn.autocommit = True
        for table in ("invoices", "clients", "payments", "payment_allocations"):
            conn.execute(f"VACUUM ANALYZE {table}")
    console.print(
        f"seeded {n:,} invoices for {clients:,} clients in {time.perf_counter() - t0:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(tally.items()))
    )
    return dict(tally)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=2_000)
    parser.add_argument("--database", default="autoinvoice_bench_million")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_url("postgresql", Path(tmp), args.database)
    seed_invoices(url, args.n, today=datetime.now(UTC).date(), clients=args.clients)


if __name__ == "__main__":
    main()
