"""What the client does with an invoice link: view it. Only a person's first real view
counts; link-preview bots, mail scanners and HEAD requests do not move the status."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from ..domain.invoice import Invoice, InvoiceStatus
from .account_statements import StatementRow, ledger_rows
from .errors import NotFound
from .outgoing import EventType, emit
from .ports import ClientRecord, Clock, EntityRecord, InvoiceSummary, UnitOfWork

_BOTS = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|whatsapp|telegram|skype|"
    r"linkexpander|proofpoint|mimecast|barracuda|safelinks|urldefense|headless|python-|curl|"
    r"wget|httpx|go-http-client|okhttp|java/",
    re.IGNORECASE,
)


def is_automated(user_agent: str | None, method: str) -> bool:
    return method.upper() != "GET" or not user_agent or bool(_BOTS.search(user_agent))


@dataclass(frozen=True)
class InvoicePage:
    """What the invoice page shows, read in one transaction."""

    invoice: Invoice
    entity: EntityRecord
    client: ClientRecord
    client_token: str  # the client's own page


def view_invoice_page(
    token: str,
    *,
    user_agent: str | None,
    method: str,
    staff: bool,
    read: UnitOfWork,
    write: UnitOfWork,
    clock: Clock,
) -> InvoicePage:
    """``view_invoice`` with the issuing entity, the client and the client's page token.

    The portal page is the hot path: it is read in one read-only transaction, and a write
    transaction (which on SQLite takes the database's write lock) is opened only for a
    person's first view, or the first time the client's page token is needed."""
    with read:
        inv = _shown(read, token)
        entity = read.entities.get(inv.entity_id or 0)
        client = read.clients.get(inv.client_id or 0)
        client_token = read.clients.existing_portal_token(client.id)
    if _first_view(inv, staff=staff, user_agent=user_agent, method=method) or not client_token:
        with write:
            inv = _view(
                token, user_agent=user_agent, method=method, staff=staff, uow=write, clock=clock
            )
            client_token = write.clients.portal_token(client.id)
            write.commit()
    return InvoicePage(inv, entity, client, client_token)


def view_invoice(
    token: str, *, user_agent: str | None, method: str, staff: bool, uow: UnitOfWork, clock: Clock
) -> Invoice:
    """Load the invoice behind a portal link; record the client's first view."""
    with uow:
        inv = _view(token, user_agent=user_agent, method=method, staff=staff, uow=uow, clock=clock)
        uow.commit()
    return inv


def _shown(uow: UnitOfWork, token: str) -> Invoice:
    """The invoice behind ``token``; drafts are never shown to clients."""
    inv = uow.invoices.by_portal_token(token)
    if inv.status is InvoiceStatus.DRAFT:
        raise NotFound("no such invoice link", field="token")
    return inv


def _first_view(inv: Invoice, *, staff: bool, user_agent: str | None, method: str) -> bool:
    """Would this request be the client's first view (a person, not staff, not a bot)?"""
    return (
        inv.status is not InvoiceStatus.VOID
        and not staff
        and not is_automated(user_agent, method)
        and inv.viewed_at is None
    )


def _view(
    token: str, *, user_agent: str | None, method: str, staff: bool, uow: UnitOfWork, clock: Clock
) -> Invoice:
    """In the caller's transaction: the invoice behind ``token``; the first view of a
    person (not staff, not a bot, not HEAD) marks it viewed."""
    now = clock.now()
    inv = _shown(uow, token)
    if _first_view(inv, staff=staff, user_agent=user_agent, method=method):
        inv = uow.invoices.get(inv.id or 0, for_update=True)
        if inv.mark_viewed(now):
            uow.invoices.save(inv)
            uow.audit.record(
                at=now,
                actor="client",
                action="invoice.viewed",
                subject_type="invoice",
                subject_id=inv.id,
                detail={"user_agent": (user_agent or "")[:200]},
            )
            emit(uow, now, EventType.VIEWED, inv)
    return inv


# -- the client's own page: all its invoices and a statement of account ---------------------
@dataclass(frozen=True)
class Statement:
    client: ClientRecord
    currency: str
    rows: list[StatementRow]
    open: list[tuple[InvoiceSummary, str]]  # (invoice, its portal token)
    paid: list[tuple[InvoiceSummary, str]]

    @property
    def balance(self) -> Decimal:
        return self.rows[-1].balance if self.rows else Decimal(0)


def client_statements(token: str, *, uow: UnitOfWork) -> list[Statement]:
    """The client behind ``token``: one statement per currency it is billed in — invoices
    (issued, not void) as debits, credit notes and payments as credits, oldest first with a
    running balance — and its open and paid invoices. Drafts never appear."""
    with uow:
        client = uow.clients.by_portal_token(token)
        summaries = [
            s
            for s in uow.invoices.summaries(client_id=client.id, limit=10_000)
            if s.status not in ("draft",)
        ]
        tokens = uow.invoices.portal_tokens([s.id for s in summaries])
        payments = uow.payments.for_client(client.id)
        refunds = uow.ledger.refunds(client.id)
    out = []
    for currency in sorted({s.currency for s in summaries}):
        rows = ledger_rows(summaries, payments, currency, tokens, refunds=refunds)
        mine = [s for s in summaries if s.currency == currency and s.kind != "credit_note"]
        out.append(
            Statement(
                client,
                currency,
                rows,
                open=[(s, tokens[s.id]) for s in mine if s.status in _OPEN and s.id in tokens],
                paid=[(s, tokens[s.id]) for s in mine if s.status == "paid" and s.id in tokens],
            )
        )
    return out


_OPEN = frozenset({"issued", "sent", "viewed", "partially_paid"})


def revoke_invoice_link(invoice_id: int, *, uow: UnitOfWork, clock: Clock, actor: str) -> str:
    """Replace the invoice's portal link: the old one stops working at once."""
    with uow:
        token = uow.invoices.rotate_portal_token(invoice_id)
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="portal.link_revoked",
            subject_type="invoice",
            subject_id=invoice_id,
        )
        uow.commit()
    return token


def client_link(client_id: int, *, uow: UnitOfWork, revoke: bool = False) -> str:
    """The token of the client's own page (a new one, revoking the old, with ``revoke``)."""
    with uow:
        token = (
            uow.clients.rotate_portal_token(client_id)
            if revoke
            else uow.clients.portal_token(client_id)
        )
        uow.commit()
    return token
