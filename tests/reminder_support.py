"""Helpers the reminder tests share: issue an invoice in a trigger world and deliver it."""

from __future__ import annotations

from decimal import Decimal

from autoinvoice.domain.invoice import Invoice, InvoiceLine
from autoinvoice.domain.tax import TaxKind, determine_tax
from autoinvoice.services.invoicing import issue_invoice, save_draft
from trigger_world import World


def issue(world: World, client_id: int | None = None, amount: str = "1000") -> int:
    cid = client_id or world.client_id
    with world.app.uow() as uow:
        client = uow.clients.get(cid)
        seller = uow.entities.get(client.entity_id).party
        inv = Invoice(seller, client.party, client.currency, client.terms)
        tax = determine_tax(seller.tax_profile, client.party.tax_profile, TaxKind.STANDARD)
        inv.add_line(
            InvoiceLine("Managed IT services, November 2026", Decimal(1), Decimal(amount), tax)
        )
        inv_id = save_draft(inv, uow=uow, client_id=cid, now=world.clock.now(), actor="test")
        uow.commit()
    issue_invoice(inv_id, uow=world.app.uow(), clock=world.app.clock, actor="test")
    world.work()  # the invoice email
    return inv_id
