"""What the client does with an invoice link: view it. Only a person's first real view
counts; link-preview bots, mail scanners and HEAD requests do not move the status."""

from __future__ import annotations

import re

from ..domain.invoice import Invoice, InvoiceStatus
from .errors import NotFound
from .ports import Clock, UnitOfWork

_BOTS = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|whatsapp|telegram|skype|"
    r"linkexpander|proofpoint|mimecast|barracuda|safelinks|urldefense|headless|python-|curl|"
    r"wget|httpx|go-http-client|okhttp|java/",
    re.IGNORECASE,
)


def is_automated(user_agent: str | None, method: str) -> bool:
    return method.upper() != "GET" or not user_agent or bool(_BOTS.search(user_agent))


def view_invoice(
    token: str, *, user_agent: str | None, method: str, staff: bool, uow: UnitOfWork, clock: Clock
) -> Invoice:
    """Load the invoice behind a portal link; record the client's first view."""
    now = clock.now()
    with uow:
        inv = uow.invoices.by_portal_token(token)
        if inv.status is InvoiceStatus.DRAFT:  # drafts are never shown to clients
            raise NotFound("no such invoice link", field="token")
        if (
            inv.status is not InvoiceStatus.VOID
            and not staff
            and not is_automated(user_agent, method)
            and inv.viewed_at is None
        ):
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
        uow.commit()
    return inv
