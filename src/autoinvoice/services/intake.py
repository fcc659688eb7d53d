"""The client intake form, as use cases: send a client a link, open it, submit it.

A link carries a random token (``secrets.token_urlsafe(32)``, 256 bits); only its sha256 is
stored. It works for ``LINK_DAYS`` days and once: submitting marks it used, and a new link
for the same client revokes the earlier open ones.

Submitting is one transaction: the form is validated (any error: nothing is stored), the
client record is updated, the link is marked used, the change is audited with the fields
that changed and the owner is told by email (outbox). Then the client's held drafts (drafts
with a ``hold_reason``) are issued again, each in its own transaction through
``invoicing.issue_invoice``: numbering stays gapless, and one draft that still fails cannot
undo the client's submission. A draft that still fails stays held with its new reason.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..domain.errors import DomainError
from ..domain.intake import BillingDetails, IntakeForm
from ..domain.invoice import InvoiceStatus
from ..domain.lint import NeedsAttention
from ..domain.parties import Party
from . import invoicing
from .alerts import alert
from .errors import NotFound
from .ports import ClientRecord, Clock, IntakeLinkRecord, UnitOfWork

log = logging.getLogger(__name__)

LINK_DAYS = 14
INTAKE_PATH = "/intake/"


@dataclass(frozen=True, slots=True)
class IntakeLink:
    url: str
    expires_at: datetime
    link_id: int


@dataclass(frozen=True, slots=True)
class IntakeView:
    """What the form page needs: who asks, for whom, and the form to start with."""

    link_id: int
    client_id: int
    seller_name: str
    seller_country: str
    is_business: bool
    form: IntakeForm
    expires_at: datetime
    submitted_at: datetime | None


@dataclass(frozen=True, slots=True)
class IntakeResult:
    client_id: int
    details: BillingDetails
    changed: tuple[str, ...]
    issued: list[str] = field(default_factory=list)  # numbers of released drafts
    still_held: list[tuple[int, str]] = field(default_factory=list)  # (invoice id, reason)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_intake_link(
    client_id: int, *, uow: UnitOfWork, clock: Clock, actor: str, base_url: str
) -> IntakeLink:
    """A new intake link for the client (earlier unsubmitted ones stop working)."""
    now = clock.now()
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(days=LINK_DAYS)
    with uow:
        uow.clients.get(client_id)
        revoked = uow.intake_links.revoke_open(client_id, now)
        link_id = uow.intake_links.add(client_id, token_hash(token), now, expires)
        uow.audit.record(
            at=now,
            actor=actor,
            action="client.intake_link_created",
            subject_type="client",
            subject_id=client_id,
            detail={"link_id": link_id, "expires_at": expires.isoformat(), "revoked": revoked},
        )
        uow.commit()
    return IntakeLink(f"{base_url.rstrip('/')}{INTAKE_PATH}{token}", expires, link_id)


def open_intake(
    token: str, *, uow: UnitOfWork, clock: Clock, submitted: bool = False
) -> IntakeView:
    """The form behind a link that is open (``submitted=True``: one just submitted, for the
    thank-you page). Unknown, expired, revoked or (when open is asked) used: ``NotFound``."""
    with uow:
        link = _usable(uow, token, clock.now(), submitted=submitted)
        client = uow.clients.get(link.client_id)
        entity = uow.entities.get(client.entity_id)
    return IntakeView(
        link_id=link.id,
        client_id=client.id,
        seller_name=entity.party.name,
        seller_country=entity.party.country,
        is_business=client.party.is_business,
        form=IntakeForm.prefilled(
            client.party, po_required=client.po_required, payment_method=client.payment_method
        ),
        expires_at=link.expires_at,
        submitted_at=link.submitted_at,
    )


def submit_intake(
    token: str, form: IntakeForm, *, uow: UnitOfWork, clock: Clock, actor: str = "client"
) -> IntakeResult:
    """Validate and store the client's billing details, then release their held drafts.
    ``IntakeInvalid`` (every field's problem) or ``NotFound`` leave everything as it was."""
    now = clock.now()
    with uow:
        link = _usable(uow, token, now, submitted=False, for_update=True)
        client = uow.clients.get(link.client_id)
        entity = uow.entities.get(client.entity_id)
        details = form.validate(
            is_business=client.party.is_business, seller_country=entity.party.country
        )
        party = details.apply_to(client.party)
        changes = _changes(client, party, details)
        uow.clients.update_billing(
            client.id, party, po_required=details.po_required, payment_method=details.payment_method
        )
        if not uow.intake_links.mark_submitted(link.id, now):
            raise NotFound("this intake link has been used already", field="token")
        held = _held_drafts(uow, client.id)
        _tell_owner(uow, now, actor, client.id, party.name, changes, link.id, len(held))
        uow.commit()
    result = IntakeResult(client.id, details, tuple(changes))
    for invoice_id in held:
        _release(invoice_id, result, uow=uow, clock=clock, actor=actor)
    return result


# -- helpers ---------------------------------------------------------------------------------
def _usable(
    uow: UnitOfWork, token: str, now: datetime, *, submitted: bool, for_update: bool = False
) -> IntakeLinkRecord:
    link = uow.intake_links.by_hash(token_hash(token), for_update=for_update) if token else None
    if (
        link is None
        or link.revoked_at is not None
        or now >= link.expires_at
        or (link.submitted_at is not None) != submitted
    ):
        raise NotFound("no such intake link, or it has expired or been used", field="token")
    return link


def _changes(
    client: ClientRecord, party: Party, details: BillingDetails
) -> dict[str, dict[str, Any]]:
    """``{field: {"from": old, "to": new}}`` for each field the submission changes."""
    old, new = client.party, party

    def address(p: Party) -> list[str] | None:
        return [*p.address.formatted(), p.address.country] if p.address else None

    pairs: dict[str, tuple[Any, Any]] = {
        "name": (old.name, new.name),
        "address": (address(old), address(new)),
        "country": (old.country, new.country),
        "subdivision": (old.subdivision, new.subdivision),
        "emails": (list(old.emails), list(new.emails)),
        "tax_id": (old.tax_id, new.tax_id),
        "peppol_id": (old.peppol_id, new.peppol_id),
        "po_required": (client.po_required, details.po_required),
        "payment_method": (client.payment_method, details.payment_method),
    }
    return {k: {"from": a, "to": b} for k, (a, b) in pairs.items() if a != b}


def _held_drafts(uow: UnitOfWork, client_id: int) -> list[int]:
    drafts = uow.invoices.summaries(status=InvoiceStatus.DRAFT.value, client_id=client_id)
    return sorted(s.id for s in drafts if s.hold_reason)


def _tell_owner(
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    client_id: int,
    name: str,
    changes: dict[str, dict[str, Any]],
    link_id: int,
    held: int,
) -> None:
    lines = [f"- {k}: {_shown(v['from'])} → {_shown(v['to'])}" for k, v in changes.items()]
    body = f"{name} filled in the billing details form.\n\n" + (
        "Changed:\n" + "\n".join(lines) if lines else "Nothing changed."
    )
    if held:
        body += (
            f"\n\n{held} held draft invoice(s) of this client are being issued again now; "
            "any that still cannot be issued is reported separately."
        )
    alert(
        uow,
        now,
        actor,
        action="client.intake_submitted",
        subject_type="client",
        subject_id=client_id,
        subject=f"{name} sent their billing details",
        body=body,
        detail={"link_id": link_id, "changed": changes, "held_drafts": held},
        once_per=f"intake:{link_id}",
    )


def _shown(value: Any) -> str:
    if value is None or value == []:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _release(
    invoice_id: int, result: IntakeResult, *, uow: UnitOfWork, clock: Clock, actor: str
) -> None:
    """Try to issue a held draft; one that still fails stays held with the new reason."""
    try:
        result.issued.append(invoicing.issue_invoice(invoice_id, uow=uow, clock=clock, actor=actor))
    except NeedsAttention as exc:  # issue_invoice stored the new reason and told the owner
        result.still_held.append((invoice_id, str(exc)))
    except DomainError as exc:  # e.g. the tax details changed: the draft must be made again
        _hold(invoice_id, exc, uow=uow, clock=clock, actor=actor)
        result.still_held.append((invoice_id, str(exc)))
    except NotFound:  # deleted meanwhile
        log.info("held draft %s is gone; nothing to release", invoice_id)


def _hold(invoice_id: int, exc: DomainError, *, uow: UnitOfWork, clock: Clock, actor: str) -> None:
    with uow:
        inv = uow.invoices.get(invoice_id, for_update=True)
        if inv.status is InvoiceStatus.DRAFT and inv.hold_reason != str(exc):
            inv.hold_reason = str(exc)
            uow.invoices.save(inv)
            invoicing.needs_attention(
                uow, invoice_id, exc, now=clock.now(), actor=actor, number=inv.number
            )
        uow.commit()


__all__ = [
    "LINK_DAYS",
    "IntakeLink",
    "IntakeResult",
    "IntakeView",
    "create_intake_link",
    "open_intake",
    "submit_intake",
    "token_hash",
]
