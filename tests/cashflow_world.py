"""A small ledger for the cash-flow tests: entities, clients and invoice rows written
straight into ``invoices`` (issued invoices with chosen dates, statuses and amounts), so a
test can set up any aging picture in a few lines. Rows are what the invoice repository
writes; the reports read nothing else."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.adapters.db import tables as t
from autoinvoice.adapters.db.codec import party_to_json
from autoinvoice.bootstrap import App
from builders import make_app, make_client, make_entity

# 10:00 in Hamburg on Wednesday 25 November 2026
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)


@dataclass
class Ledger:
    app: App
    entity: int
    clients: dict[str, int] = field(default_factory=dict)
    seq: int = 0

    @property
    def clock(self) -> ManualClock:
        return self.app.clock  # type: ignore[return-value]

    def client(self, name: str, currency: str = "EUR", entity: int | None = None, **kw: Any) -> int:
        cid = make_client(self.app, entity or self.entity, currency=currency, name=name, **kw)
        self.clients[name] = cid
        return cid

    def invoice(
        self,
        client: str | int,
        gross: str | Decimal,
        *,
        due: date,
        issued: date | None = None,
        status: str = "sent",
        paid: str | Decimal = "0",
        paid_on: date | None = None,
        currency: str | None = None,
        kind: str = "invoice",
        hold_reason: str | None = None,
        contract_id: int | None = None,
        settled_by: str = "payment",
    ) -> int:
        """An invoice row; what is paid on it also gets its allocation (of ``settled_by``:
        ``payment`` — with the payment, received on ``paid_on`` — ``credit`` or
        ``credit_note``), as the ledger writes it."""
        cid = self.clients[client] if isinstance(client, str) else client
        self.seq += 1
        with self.app.uow(read_only=True) as uow:
            buyer = uow.clients.get(cid).party
            seller = uow.entities.get(uow.clients.get(cid).entity_id).party
        with self.app.engine.begin() as c:
            crow = c.execute(select(t.clients).where(t.clients.c.id == cid)).one()
            series = c.execute(
                select(t.number_series.c.id).where(t.number_series.c.entity_id == crow.entity_id)
            ).scalar_one()
            issue = issued or due - timedelta(days=30)
            draft = status == "draft"
            inv_id = int(
                c.execute(
                    insert(t.invoices)
                    .values(
                        entity_id=crow.entity_id,
                        client_id=cid,
                        contract_id=contract_id,
                        series_id=series,
                        kind=kind,
                        status=status,
                        number=None if draft else f"T-{self.seq:05d}",
                        seq=None if draft else self.seq,
                        currency=currency or crow.currency,
                        terms="net:30",
                        rounding="per_category",
                        issue_date=None if draft else issue,
                        due_date=None if draft else due,
                        seller=party_to_json(seller),
                        buyer=party_to_json(buyer),
                        net_total=Decimal(gross),
                        tax_total=Decimal(0),
                        gross_total=Decimal(gross),
                        amount_paid=Decimal(paid),
                        notes=[],
                        hold_reason=hold_reason,
                        created_at=NOW,
                        issued_at=None if draft else datetime.combine(issue, time(9), UTC),
                        paid_at=datetime.combine(paid_on, time(11), UTC) if paid_on else None,
                    )
                    .returning(t.invoices.c.id)
                ).scalar_one()
            )
            if Decimal(paid) and kind == "invoice":
                at = datetime.combine(paid_on or issue, time(11), UTC)
                money = {
                    "client_id": cid,
                    "amount": Decimal(paid),
                    "currency": currency or crow.currency,
                }
                pay_id = None
                if settled_by == "payment":
                    pay_id = c.execute(
                        insert(t.payments)
                        .values(
                            **money,
                            invoice_id=inv_id,
                            applied=Decimal(paid),
                            method="bank_transfer",
                            received_at=at,
                            recorded_at=at,
                        )
                        .returning(t.payments.c.id)
                    ).scalar_one()
                c.execute(
                    insert(t.payment_allocations).values(
                        **money,
                        invoice_id=inv_id,
                        kind=settled_by,
                        payment_id=pay_id,
                        created_at=at,
                    )
                )
            return inv_id


def make_ledger(database_url: str, tmp: Path, now: datetime = NOW) -> Ledger:
    app = make_app(database_url, tmp, clock=ManualClock(now))
    return Ledger(app, make_entity(app))


def random_ledger(ledger: Ledger, n: int, seed: int) -> None:
    """``n`` invoices over the last year and the next two months, in two currencies, for
    six clients with different habits; statuses consistent with the amounts."""
    rng = random.Random(seed)
    for k in range(6):
        ledger.client(f"Client {k}", "EUR" if k < 4 else "INR")
    for _ in range(n):
        name = f"Client {rng.randrange(6)}"
        due = TODAY + timedelta(days=rng.randint(-200, 60))
        gross = Decimal(rng.randint(100, 900_000)) / 100
        roll = rng.random()
        if roll < 0.4 and due < TODAY:
            paid_on = due + timedelta(days=rng.randint(-5, 40))
            ledger.invoice(name, gross, due=due, status="paid", paid=gross, paid_on=paid_on)
        elif roll < 0.5:
            part = (gross * Decimal(rng.randint(1, 99)) / 100).quantize(Decimal("0.01"))
            ledger.invoice(name, gross, due=due, status="partially_paid", paid=part)
        elif roll < 0.55:
            ledger.invoice(name, gross, due=due, status="void")
        elif roll < 0.6:
            ledger.invoice(name, gross, due=due, kind="credit_note", status="issued")
        else:
            ledger.invoice(name, gross, due=due, status=rng.choice(["issued", "sent", "viewed"]))


def invoice_rows(app: App) -> list[Any]:
    with app.engine.connect() as c:
        return list(c.execute(select(t.invoices)))


__all__ = ["NOW", "TODAY", "Ledger", "invoice_rows", "make_ledger", "random_ledger"]
