"""Builders for tests: an App on a given database, demo-like records with overrides."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.bootstrap import App, build
from autoinvoice.config import Settings
from autoinvoice.domain.contracts import BillingModel, Contract
from autoinvoice.domain.invoice import Invoice, InvoiceLine
from autoinvoice.domain.numbering import NumberSeries
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.recurrence import Recurrence
from autoinvoice.domain.tax import TaxKind, determine_tax
from autoinvoice.domain.terms import PaymentTerms
from autoinvoice.services.ports import ClientRecord, EntityRecord
from autoinvoice.services.setup import add_client, add_contract, create_entity

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def make_app(
    database_url: str, data_dir: Path, *, clock: Any = None, mailer: Any = None, **settings: Any
) -> App:
    return build(
        Settings(data_dir=data_dir, database_url=database_url, **settings),
        clock=clock or ManualClock(START),
        mailer=mailer,
        migrate=False,
    )


def seller_party(**kw: Any) -> Party:
    base: dict[str, Any] = dict(
        name="Nordlicht IT Services GmbH",
        country="DE",
        tax_id="DE136695976",
        address=Address(("Speicherstadt 12",), "Hamburg", "20457", "DE"),
        emails=("billing@nordlicht.example",),
    )
    return Party(**{**base, **kw})


def client_party(**kw: Any) -> Party:
    base: dict[str, Any] = dict(
        name="Hanseatic Logistics AG",
        country="DE",
        tax_id="DE811907980",
        address=Address(("Am Sandtorkai 50",), "Hamburg", "20457", "DE"),
        emails=("ap@hanseatic.example",),
    )
    return Party(**{**base, **kw})


def make_entity(
    app: App, *, pattern: str = "INV-{yyyy}-{seq:06d}", yearly_reset: bool = True, **kw: Any
) -> int:
    rec = EntityRecord(
        id=0,
        party=seller_party(**kw),
        email="billing@nordlicht.example",
        timezone="Europe/Berlin",
        locale="en",
        bank={"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
    )
    return create_entity(
        rec, NumberSeries(pattern, yearly_reset), uow=app.uow(), clock=app.clock, actor="test"
    )


def make_client(
    app: App, entity_id: int, *, currency: str = "EUR", terms: str = "net:30", **kw: Any
) -> int:
    rec = ClientRecord(
        0, entity_id, client_party(**kw), currency, PaymentTerms.parse(terms), "en", "Europe/Berlin"
    )
    return add_client(rec, uow=app.uow(), clock=app.clock, actor="test")


def make_retainer(
    app: App,
    client_id: int,
    *,
    amount: str = "4500.00",
    rule: str = "FREQ=MONTHLY;BYMONTHDAY=1",
    bill_from: datetime | None = None,
    **kw: Any,
) -> int:
    contract = Contract(
        name=kw.pop("name", "Managed IT retainer"),
        model=BillingModel.RETAINER,
        currency=kw.pop("currency", "EUR"),
        terms=PaymentTerms.parse("net:30"),
        client_id=client_id,
        amount=Decimal(amount),
        recurrence=Recurrence(rule, "Europe/Berlin", datetime(2026, 1, 1, 6, 0)),  # noqa: DTZ001 — wall clock
        **kw,
    )
    return add_contract(contract, uow=app.uow(), clock=app.clock, actor="test", bill_from=bill_from)


def make_invoice(
    seller: Party | None = None,
    buyer: Party | None = None,
    lines: list[tuple[str, str, str]] | None = None,
    currency: str = "EUR",
    **kw: Any,
) -> Invoice:
    seller, buyer = seller or seller_party(), buyer or client_party()
    tax = determine_tax(seller.tax_profile, buyer.tax_profile, TaxKind.STANDARD)
    inv = Invoice(
        seller=seller, buyer=buyer, currency=currency, terms=PaymentTerms.parse("net:30"), **kw
    )
    for desc, qty, price in lines or [("Managed IT services, November 2026", "1", "4500.00")]:
        inv.add_line(InvoiceLine(desc, Decimal(qty), Decimal(price), tax, "month"))
    return inv


def draft_for(app: App, client_id: int, **kw: Any) -> int:
    """Store a draft invoice for ``client_id``; returns its id."""
    from autoinvoice.services.invoicing import save_draft

    uow = app.uow()
    with uow:
        client = uow.clients.get(client_id)
        entity = uow.entities.get(client.entity_id)
        inv = make_invoice(entity.party, client.party, **kw)
        inv_id = save_draft(inv, uow=uow, client_id=client_id, now=app.clock.now(), actor="test")
        uow.commit()
    return inv_id
