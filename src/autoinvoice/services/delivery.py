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
from email.headerregistry import Address
from typing import Any

from ..domain.invoice import InvoiceStatus
from .documents import invoice_document
from .ports import (
    Attachment,
    Clock,
    DocumentRenderer,
    EmailTemplates,
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


def deliver_invoice(job: Job, *, uow: UnitOfWork, clock: Clock, worker: str,
                    renderer: DocumentRenderer, mailer: Mailer, templates: EmailTemplates,
                    config: DeliveryConfig) -> None:
    invoice_id = int(job.payload["invoice_id"])
    with uow:
        inv = uow.invoices.get(invoice_id)
        if inv.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            uow.audit.record(at=clock.now(), actor=worker, action="delivery.skipped",
                             subject_type="invoice", subject_id=invoice_id,
                             detail={"status": inv.status.value})
            uow.outbox.complete(job.id, worker, clock.now())
            uow.commit()
            return
        entity = uow.entities.get(inv.entity_id or 0)
        client = uow.clients.get(inv.client_id or 0)
        pdf = uow.documents.get(invoice_id, "pdf")
        token = uow.invoices.portal_token(invoice_id)
        uow.commit()
    message_id = f"<invoice-{invoice_id}.{entity.id}@{config.message_domain}>"
    fresh_pdf = None
    if pdf is None:
        pdf = fresh_pdf = renderer.render(invoice_document(inv, entity, client.language))
    recipients = list(inv.buyer.emails) or list(client.party.emails)
    if not recipients:
        recipients = [inv.buyer.require_email()]
    context: dict[str, Any] = {
        "invoice": {"number": inv.number, "total": inv.gross.format(client.language),
                    "due_date": inv.due_date.isoformat() if inv.due_date else "",
                    "currency": inv.currency, "balance": inv.balance.format(client.language)},
        "client": {"name": inv.buyer.name, "contact_name": None},
        "seller": {"name": entity.party.name, "email": entity.email},
        "portal_url": portal_url(config, token),
    }
    subject, text, html = templates.render_email("invoice_email", context)
    to = (config.sandbox_to,) if config.sandbox_to else tuple(recipients)
    email = OutgoingEmail(
        message_id=message_id, to=to,
        sender=str(Address(display_name=entity.party.name, addr_spec=entity.email)),
        subject=subject, text_body=text, html_body=html, reply_to=entity.email,
        attachments=(Attachment(f"{inv.number}.pdf", pdf, "application/pdf"),),
        headers=(("X-Autoinvoice-Invoice", inv.number or ""),
                 *((("X-Autoinvoice-Intended-To", ", ".join(recipients)),)
                   if config.sandbox_to else ())),
        date=clock.now(),
    )
    with uow:
        if fresh_pdf is not None and uow.documents.get(invoice_id, "pdf") is None:
            uow.documents.put(invoice_id, "pdf", fresh_pdf, clock.now())
        msg = uow.messages.start(message_id=message_id, invoice_id=invoice_id, job_id=job.id,
                                 recipients=list(to), subject=subject, at=clock.now())
        uow.commit()
    if msg.status != "sent":
        try:
            result = mailer.send(email)
        except PermanentMailError as exc:
            with uow:
                uow.messages.mark(message_id, "failed", exc.message, clock.now())
                uow.audit.record(at=clock.now(), actor=worker, action="delivery.failed",
                                 subject_type="invoice", subject_id=invoice_id,
                                 detail={"reason": str(exc), "to": list(to)})
                uow.commit()
            raise
        with uow:
            uow.messages.mark(message_id, "sent", result.detail, clock.now())
            uow.commit()
    with uow:
        inv = uow.invoices.get(invoice_id, for_update=True)
        if inv.status is not InvoiceStatus.VOID:
            inv.mark_sent(clock.now())
            uow.invoices.save(inv)
        uow.audit.record(at=clock.now(), actor=worker, action="invoice.sent",
                         subject_type="invoice", subject_id=invoice_id,
                         detail={"message_id": message_id, "to": list(to)})
        uow.outbox.complete(job.id, worker, clock.now())
        uow.commit()
