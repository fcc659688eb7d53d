"""Delivering issued invoices: render each PDF once, email it, mark it sent.

Runs as the ``deliver_invoice`` job, for a batch of claimed jobs at a time, in three short
transactions per batch (not per invoice), so no lock is held while Typst renders or the
SMTP server answers, and the database sees a handful of statements per invoice:

1. read the invoices, their parties and any stored PDFs; render the PDFs that are missing;
2. store the PDFs (issued documents are kept, never re-rendered) and log each message as
   ``sending`` under its stable Message-ID;
3. send each; then mark the messages ``sent``, the invoices ``sent`` and the jobs done
   together.

A failure of one invoice (a refused address, a temporary SMTP error) is returned for that
job alone; the rest of the batch goes on.

The email says what the document is: a credit note goes out as ``credit_note_email`` (what
it credits, nothing to pay); an invoice already settled when it goes out — client credit
applied in the issuing transaction, typically — says it is paid, with no due date and no
payment reference (``invoice_context``'s ``settled``).

A message already logged as ``sent`` is not sent again (a retry after step 3's send but
before its commit is the one window SMTP cannot close; the retry then carries the same
Message-ID, which receiving systems use to recognise a duplicate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from html import escape
from typing import Any

from babel.dates import format_date

from ..domain.invoice import Invoice, InvoiceKind, InvoiceStatus
from ..domain.money import Money
from ..domain.payment_aids import creditor_reference, format_creditor_reference
from .einvoices import FORMATS, filename, generate
from .labels import email_labels_for
from .ledger import AllocationKind
from .outgoing import EventType, emit
from .ports import (
    Attachment,
    ClientRecord,
    Clock,
    DocumentRenderer,
    EInvoiceWriter,
    EmailTemplates,
    EntityRecord,
    Job,
    Mailer,
    MessageStart,
    OutgoingEmail,
    PermanentMailError,
    UnitOfWork,
)


@dataclass(frozen=True)
class DeliveryConfig:
    base_url: str = "http://127.0.0.1:8000"
    message_domain: str = "autoinvoice.local"
    sandbox_to: str | None = None  # when set, every email goes here instead of clients
    lease_seconds: int = 120  # how long a worker holds a job it is about to send


def portal_url(config: DeliveryConfig, token: str) -> str:
    return f"{config.base_url.rstrip('/')}/portal/invoices/{token}"


@dataclass(frozen=True)
class _Delivery:
    job: Job
    invoice: Invoice
    email: OutgoingEmail
    fresh: dict[str, bytes]  # documents rendered for this delivery, to be stored


def deliver_invoices(
    jobs: list[Job],
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
    renderer: DocumentRenderer,
    mailer: Mailer,
    templates: EmailTemplates,
    config: DeliveryConfig,
    writer: EInvoiceWriter,
) -> dict[int, Exception]:
    """Deliver the invoices of ``jobs``; return the jobs that failed, with their errors."""
    failures: dict[int, Exception] = {}
    deliveries = _prepare(
        jobs,
        failures,
        uow=uow,
        clock=clock,
        worker=worker,
        renderer=renderer,
        writer=writer,
        templates=templates,
        config=config,
    )
    if not deliveries:
        return failures
    with uow:
        for d in deliveries:
            for kind, content in d.fresh.items():
                uow.documents.put(d.invoice.id or 0, kind, content, clock.now())
        started = uow.messages.start_many(
            [
                MessageStart(
                    d.email.message_id, d.invoice.id, d.job.id, list(d.email.to), d.email.subject
                )
                for d in deliveries
            ],
            clock.now(),
        )
        statuses = {d.job.id: started[d.email.message_id].status for d in deliveries}
        uow.commit()
    sent: list[_Delivery] = []
    unmarked: tuple[str, str] | None = None  # (Message-ID, server reply) sent, not yet marked
    lease = _Lease(config.lease_seconds)
    for n, d in enumerate(deliveries):
        if statuses[d.job.id] != "sent":  # "sent": it went out before a crash; not again
            unsent = [x.job.id for x in deliveries[n:]]
            ours = _before_send(d.job, unmarked, unsent, lease, uow=uow, clock=clock, worker=worker)
            unmarked = None
            if not ours:
                continue  # the lease ran out and another worker took the job: it sends
            try:
                accepted = _send(d, uow=uow, clock=clock, worker=worker, mailer=mailer)
            except Exception as exc:
                failures[d.job.id] = exc
                continue
            unmarked = (d.email.message_id, accepted)
        sent.append(d)
    _finish(sent, unmarked, uow=uow, clock=clock, worker=worker)
    return failures


def _prepare(
    jobs: list[Job],
    failures: dict[int, Exception],
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
    renderer: DocumentRenderer,
    writer: EInvoiceWriter,
    templates: EmailTemplates,
    config: DeliveryConfig,
) -> list[_Delivery]:
    # one delivery per job: two jobs of one invoice (a copy sent again) both go out
    ids = list(dict.fromkeys(int(j.payload["invoice_id"]) for j in jobs))
    with uow:
        invoices = uow.invoices.get_many(ids)
        live = {
            i: inv
            for i, inv in invoices.items()
            if inv.status not in (InvoiceStatus.DRAFT, InvoiceStatus.VOID)
        }
        for job in jobs:  # voided (or deleted) before it went out: nothing to send
            if int(job.payload["invoice_id"]) in live:
                continue
            uow.audit.record(
                at=clock.now(),
                actor=worker,
                action="delivery.skipped",
                subject_type="invoice",
                subject_id=job.payload["invoice_id"],
            )
            uow.outbox.complete(job.id, worker, clock.now())
        clients = uow.clients.get_many([inv.client_id or 0 for inv in live.values()])
        entities = {e: uow.entities.get(e) for e in {c.entity_id for c in clients.values()}}
        kinds = {"pdf"} | {k for c in clients.values() for k in c.documents.attach}
        stored = {k: uow.documents.get_many(list(live), k) for k in sorted(kinds)}
        tokens = uow.invoices.portal_tokens(list(live))
        from_credit = {i for i, inv in live.items() if _paid_from_credit(inv, uow)}
        sources = uow.user_templates.sources()  # templates edited in the web app
        uow.commit()
    out = []
    for job in jobs:
        inv_id = int(job.payload["invoice_id"])
        if inv_id not in live:
            continue
        inv = live[inv_id]
        client = clients[inv.client_id or 0]
        entity = entities[client.entity_id]
        wanted = ("pdf", *(k for k in client.documents.attach if k != "pdf"))
        try:
            # rendered once; a retry (or a second copy in this batch) reuses the documents
            missing = tuple(k for k in wanted if inv_id not in stored[k])
            fresh = generate(
                inv, entity, client.language, missing, renderer=renderer, writer=writer
            )
            for kind, content in fresh.items():
                stored[kind][inv_id] = content
            docs = {k: stored[k][inv_id] for k in wanted}
            email = _compose(
                inv,
                entity,
                client,
                tokens[inv_id],
                [(k, docs[k]) for k in client.documents.attach],
                templates=templates,
                config=config,
                now=clock.now(),
                paid_from_credit=inv_id in from_credit,
                copy=str(job.payload.get("copy") or ""),
                sources=sources,
            )
        except Exception as exc:
            failures[job.id] = exc
            continue
        out.append(_Delivery(job, inv, email, fresh))
    return out


def _paid_from_credit(inv: Invoice, uow: UnitOfWork) -> bool:
    """An invoice paid in full by the client's credit balance alone (typically applied in
    the issuing transaction); read only for the rare invoice already paid when it goes out."""
    if inv.kind is not InvoiceKind.INVOICE or inv.status is not InvoiceStatus.PAID:
        return False
    kinds = {a.kind for a in uow.ledger.allocations(invoice_id=inv.id)}
    return kinds == {AllocationKind.CREDIT}


def invoice_context(
    inv: Invoice,
    entity: EntityRecord,
    client: ClientRecord,
    token: str,
    config: DeliveryConfig,
    *,
    paid_from_credit: bool = False,
) -> dict[str, Any]:
    """What an email about ``inv`` may print (the templates' context, without ``t``).

    ``settled``: an invoice with nothing left to pay (client credit applied at issue, a
    payment that came before the email, a total of zero) — and ``paid_from_credit`` when the
    client's credit balance paid it all. A credit note is settled by nature: it has no due
    date and no payment reference, and ``corrects`` names the invoice it credits."""
    lang = client.language
    credit_note = inv.kind is InvoiceKind.CREDIT_NOTE
    settled = credit_note or inv.status is InvoiceStatus.PAID
    return {
        "invoice": {
            "number": inv.number,
            "kind": inv.kind.value,
            "total": inv.gross.format(lang),
            "due_date": format_date(inv.due_date, "medium", locale=lang)
            if inv.due_date and not settled
            else "",
            "currency": inv.currency,
            "balance": inv.balance.format(lang),
            # part of it paid before the email (client credit applied at issue): the email
            # asks for what is left, and says what was already paid
            "paid_so_far": Money(inv.amount_paid, inv.currency).format(lang)
            if not settled and 0 < inv.amount_paid < inv.gross.amount
            else None,
            "settled": settled,
            "paid_from_credit": paid_from_credit and not credit_note,
            "corrects": inv.corrects[0] if credit_note and inv.corrects else None,
            "payment_reference": format_creditor_reference(creditor_reference(inv.number))
            if inv.number and not settled
            else None,
        },
        "client": {"name": inv.buyer.name, "contact_name": None},
        "seller": {"name": entity.party.name, "email": entity.email},
        "portal_url": portal_url(config, token),
        "lang": lang.split("_")[0],
    }


@dataclass(frozen=True)
class Envelope:
    """Who an email about an invoice goes to, from whom, and the bodies as sent (sandbox
    mode: everything to the test inbox, with the intended recipients said in headers and
    at the top of the body)."""

    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    text: str
    html: str
    headers: tuple[tuple[str, str], ...]


def envelope(
    inv: Invoice,
    entity: EntityRecord,
    client: ClientRecord,
    config: DeliveryConfig,
    text: str,
    html: str,
) -> Envelope:
    # the client's accounts-payable addresses as they are now (fixed after issue, too)
    recipients = list(client.party.emails) or list(inv.buyer.emails)
    if not recipients:
        recipients = [inv.buyer.require_email()]
    sandbox = entity.sandbox_to or config.sandbox_to
    sandboxed = tuple(
        (f"X-Autoinvoice-Intended-{kind}", ", ".join(addresses))
        for kind, addresses in (("To", recipients), ("Cc", client.cc), ("Bcc", client.bcc))
        if addresses
    )
    intended = [f"{name.rsplit('-', 1)[1]}: {value}" for name, value in sandboxed]
    if sandbox:  # say so in the body too, where a person reading the test inbox sees it
        note = "[Sandbox: this email was not sent to the client. Intended " + "; ".join(intended)
        text = f"{note}]\n\n{text}"
        html = f"<p><em>{escape(note)}]</em></p>{html}" if html else html
    return Envelope(
        sender=str(Address(display_name=entity.party.name, addr_spec=entity.email)),
        to=(sandbox,) if sandbox else tuple(recipients),
        cc=() if sandbox else client.cc,
        bcc=() if sandbox else client.bcc,
        text=text,
        html=html,
        headers=sandboxed if sandbox else (),
    )


def compose_email(
    template: str,
    context: dict[str, Any],
    inv: Invoice,
    entity: EntityRecord,
    client: ClientRecord,
    *,
    message_id: str,
    templates: EmailTemplates,
    config: DeliveryConfig,
    now: datetime,
    attachments: tuple[Attachment, ...] = (),
    sources: Mapping[str, str] | None = None,
) -> OutgoingEmail:
    """An email about ``inv`` to the client, from ``template`` (the invoice, a reminder);
    ``sources``: the templates edited in the web app (``uow.user_templates.sources()``)."""
    subject, text, html = templates.render_email(template, context, sources)
    env = envelope(inv, entity, client, config, text, html)
    return OutgoingEmail(
        message_id=message_id,
        to=env.to,
        cc=env.cc,
        bcc=env.bcc,
        sender=env.sender,
        subject=subject,
        text_body=env.text,
        html_body=env.html,
        reply_to=entity.email,
        attachments=attachments,
        headers=(("X-Autoinvoice-Invoice", inv.number or ""), *env.headers),
        date=now,
    )


def _compose(
    inv: Invoice,
    entity: EntityRecord,
    client: ClientRecord,
    token: str,
    documents: list[tuple[str, bytes]],
    *,
    templates: EmailTemplates,
    config: DeliveryConfig,
    now: datetime,
    paid_from_credit: bool = False,
    copy: str = "",
    sources: Mapping[str, str] | None = None,
) -> OutgoingEmail:
    """``copy`` names a repeated sending (``send_again``): its own Message-ID, so it is
    sent although the first went out."""
    context = invoice_context(inv, entity, client, token, config, paid_from_credit=paid_from_credit)
    context["t"] = email_labels_for(client.language)
    return compose_email(
        # a credit note has its own wording: money the client gets, nothing to pay
        "credit_note_email" if inv.kind is InvoiceKind.CREDIT_NOTE else "invoice_email",
        context,
        inv,
        entity,
        client,
        message_id=f"<invoice-{inv.id}.{entity.id}{'.' + copy if copy else ''}"
        f"@{config.message_domain}>",
        templates=templates,
        config=config,
        now=now,
        attachments=tuple(
            Attachment(filename(inv, kind), content, FORMATS[kind].media_type)
            for kind, content in documents
        ),
        sources=sources,
    )


@dataclass
class _Lease:
    """The leases this worker holds on a batch's jobs, renewed together."""

    seconds: int
    until: datetime | None = None  # as renewed last, by this worker's clock
    ours: frozenset[int] = frozenset()

    def due(self, now: datetime) -> bool:
        """Renew when half the lease has gone (or it was never renewed): until then no
        other worker can take these jobs over, even with its clock some seconds ahead."""
        return self.until is None or now >= self.until - timedelta(seconds=self.seconds / 2)


def _before_send(
    job: Job,
    unmarked: tuple[str, str] | None,
    unsent: list[int],
    lease: _Lease,
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
) -> bool:
    """One short transaction between two sends: mark the message just sent as sent (a worker
    that takes its job over must see that it went out) and, when due, renew the leases of
    the batch's unsent jobs (a batch may outlive the lease it was claimed with). False when
    the lease of ``job`` was lost: another worker owns it now, and only it sends."""
    now = clock.now()
    renew = lease.due(now)
    if unmarked is not None or renew:
        with uow:
            if unmarked is not None:
                uow.messages.mark(unmarked[0], "sent", unmarked[1], now)
            if renew:
                until = now + timedelta(seconds=lease.seconds)
                lease.ours = frozenset(uow.outbox.extend_many(unsent, worker, until))
                lease.until = until
            uow.commit()
    return job.id in lease.ours


def _send(d: _Delivery, *, uow: UnitOfWork, clock: Clock, worker: str, mailer: Mailer) -> str:
    """Send; on a permanent refusal log the message failed and alert, then re-raise."""
    try:
        return mailer.send(d.email).detail
    except PermanentMailError as exc:
        with uow:
            uow.messages.mark(d.email.message_id, "failed", exc.message, clock.now())
            uow.audit.record(
                at=clock.now(),
                actor=worker,
                action="delivery.failed",
                subject_type="invoice",
                subject_id=d.invoice.id,
                detail={"reason": str(exc), "to": list(d.email.to)},
            )
            uow.commit()
        raise


def _finish(
    done: list[_Delivery],
    unmarked: tuple[str, str] | None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    worker: str,
) -> None:
    """Mark the last message, the invoices sent and the jobs done, in one transaction."""
    now = clock.now()
    try:
        with uow:
            if unmarked is not None:
                uow.messages.mark(unmarked[0], "sent", unmarked[1], now)
            current = uow.invoices.get_many([d.invoice.id or 0 for d in done], for_update=True)
            # the jobs another worker took over are left to it: it finishes them
            completed = uow.outbox.complete_many([d.job.id for d in done], worker, now)
            audit = []
            for d in done:
                if d.job.id not in completed:
                    continue
                inv = current[d.invoice.id or 0]
                if inv.status is not InvoiceStatus.VOID:
                    inv.mark_sent(now)
                    uow.invoices.save(inv)
                    emit(uow, now, EventType.SENT, inv)
                audit.append(
                    dict(
                        at=now,
                        actor=worker,
                        action="invoice.sent",
                        subject_type="invoice",
                        subject_id=inv.id,
                        detail={"message_id": d.email.message_id, "to": list(d.email.to)},
                    )
                )
            uow.audit.record_many(audit)
            uow.commit()
    except Exception:
        if unmarked is not None:  # keep the "sent" mark, so the retry does not send again
            with uow:
                uow.messages.mark(unmarked[0], "sent", unmarked[1], now)
                uow.commit()
        raise
