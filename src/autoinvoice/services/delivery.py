"""Delivering an issued invoice: render its PDF once, email it, mark it sent.

Runs as the ``deliver_invoice`` job, in three short transactions so no lock is held while
Typst renders or the SMTP server answers:

1. read the invoice, its parties and any stored PDF; render the PDF if there is none;
2. store the PDF (issued documents are kept, never re-rendered) and log the message as
   ``sending`` under its stable Message-ID;
3. send; then mark the message ``sent``, the invoice ``sent`` and the job done together.

A message already logged as ``sent`` is not sent again (a retry after step 3's send but
before its commit is the one window SMTP cannot close; the retry then carries the same
Message-ID, which receiving systems use to recognise a duplicate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from typing import Any

from ..domain.invoice import Invoice, InvoiceStatus
from .documents import invoice_document
from .ports import (
    Attachment,
    ClientRecord,
    Clock,
    DocumentRenderer,
    EmailTemplates,
    EntityRecord,
    Job,
    Mailer,
    OutgoingEmail,
    PermanentMailError,
    UnitOfWork,
)


@dataclass(frozen=True)
class DeliveryConfig:
    base_url: str = "http://127.0.0.1:8000"
    message_domain: str = "autoinvoice.local"
    sandbox_to: str | None = None  # when set, every email goes here instead of clients


def portal_url(config: DeliveryConfig, token: str) -> str:
    return f"{config.base_url.rstrip('/')}/portal/invoices/{token}"


@dataclass(frozen=True)
class _Loaded:
    invoice: Invoice
    entity: EntityRecord
    client: ClientRecord
    pdf: bytes | None
    token: str


def deliver_invoice(job: Job, *, uow: UnitOfWork, clock: Clock, worker: str,
                    renderer: DocumentRenderer, mailer: Mailer, templates: EmailTemplates,
                    config: DeliveryConfig) -> None:
    invoice_id = int(job.payload["invoice_id"])
    loaded = _load(invoice_id, job, uow=uow, clock=clock, worker=worker)
    if loaded is None:
        return
    inv = loaded.invoice
    fresh_pdf = None
    if loaded.pdf is None:  # rendered once; a retry reuses the stored document
        fresh_pdf = renderer.render(invoice_document(inv, loaded.entity, loaded.client.language))
    email = _compose(loaded, fresh_pdf or loaded.pdf or b"", templates=templates, config=config,
                     now=clock.now())
    with uow:
        if fresh_pdf is not None:
            uow.documents.put(invoice_id, "pdf", fresh_pdf, clock.now())
        msg = uow.messages.start(message_id=email.message_id, invoice_id=invoice_id,
                                 job_id=job.id, recipients=list(email.to),
                                 subject=email.subject, at=clock.now())
        uow.commit()
    accepted = None
    if msg.status != "sent":
        accepted = _send(email, invoice_id, uow=uow, clock=clock, worker=worker, mailer=mailer)
    try:
        with uow:
            if accepted is not None:
                uow.messages.mark(email.message_id, "sent", accepted, clock.now())
            current = uow.invoices.get(invoice_id, for_update=True)
            if current.status is not InvoiceStatus.VOID:
                current.mark_sent(clock.now())
                uow.invoices.save(current)
            uow.audit.record(at=clock.now(), actor=worker, action="invoice.sent",
                             subject_type="invoice", subject_id=invoice_id,
                             detail={"message_id": email.message_id, "to": list(email.to)})
            uow.outbox.complete(job.id, worker, clock.now())
            uow.commit()
    except Exception:
        if accepted is not None:  # keep the "sent" mark, so the retry does not send again
            with uow:
                uow.messages.mark(email.message_id, "sent", accepted, clock.now())
                uow.commit()
        raise


def _load(invoice_id: int, job: Job, *, uow: UnitOfWork, clock: Clock,
          worker: str) -> _Loaded | None:
    """Read what delivery needs; None (job done) when the invoice is not to be sent."""
    with uow:
        inv = uow.invoices.get(invoice_id)
        if inv.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            uow.audit.record(at=clock.now(), actor=worker, action="delivery.skipped",
                             subject_type="invoice", subject_id=invoice_id,
                             detail={"status": inv.status.value})
            uow.outbox.complete(job.id, worker, clock.now())
            uow.commit()
            return None
        loaded = _Loaded(inv, uow.entities.get(inv.entity_id or 0),
                         uow.clients.get(inv.client_id or 0),
                         uow.documents.get(invoice_id, "pdf"),
                         uow.invoices.portal_token(invoice_id))
        uow.commit()
    return loaded


def _compose(loaded: _Loaded, pdf: bytes, *, templates: EmailTemplates, config: DeliveryConfig,
             now: datetime) -> OutgoingEmail:
    inv, entity, client = loaded.invoice, loaded.entity, loaded.client
    recipients = list(inv.buyer.emails) or list(client.party.emails)
    if not recipients:
        recipients = [inv.buyer.require_email()]
    lang = client.language
    context: dict[str, Any] = {
        "invoice": {"number": inv.number, "total": inv.gross.format(lang),
                    "due_date": inv.due_date.isoformat() if inv.due_date else "",
                    "currency": inv.currency, "balance": inv.balance.format(lang)},
        "client": {"name": inv.buyer.name, "contact_name": None},
        "seller": {"name": entity.party.name, "email": entity.email},
        "portal_url": portal_url(config, loaded.token),
    }
    subject, text, html = templates.render_email("invoice_email", context)
    sandboxed = (("X-Autoinvoice-Intended-To", ", ".join(recipients)),)
    return OutgoingEmail(
        message_id=f"<invoice-{inv.id}.{entity.id}@{config.message_domain}>",
        to=(config.sandbox_to,) if config.sandbox_to else tuple(recipients),
        sender=str(Address(display_name=entity.party.name, addr_spec=entity.email)),
        subject=subject, text_body=text, html_body=html, reply_to=entity.email,
        attachments=(Attachment(f"{inv.number}.pdf", pdf, "application/pdf"),),
        headers=(("X-Autoinvoice-Invoice", inv.number or ""),
                 *(sandboxed if config.sandbox_to else ())),
        date=now,
    )


def _send(email: OutgoingEmail, invoice_id: int, *, uow: UnitOfWork, clock: Clock, worker: str,
          mailer: Mailer) -> str:
    """Send; on a permanent refusal log the message failed and alert, then re-raise."""
    try:
        return mailer.send(email).detail
    except PermanentMailError as exc:
        with uow:
            uow.messages.mark(email.message_id, "failed", exc.message, clock.now())
            uow.audit.record(at=clock.now(), actor=worker, action="delivery.failed",
                             subject_type="invoice", subject_id=invoice_id,
                             detail={"reason": str(exc), "to": list(email.to)})
            uow.commit()
        raise
