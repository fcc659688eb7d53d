"""Card payments through a payment provider's hosted checkout ("Pay now" in the portal).

Two use cases around one small port:

* ``start_payment(token, …)`` — the client pressed "Pay now": a hosted checkout for the
  invoice's OPEN BALANCE (a still-open one for the same balance is reused), stored in
  ``payment_sessions`` and audited. The provider is called outside any transaction, with an
  idempotency key derived from (invoice, balance, attempt), so two clicks at once create
  one checkout. This call is synchronous on purpose: the client waits for the address to go
  to, and creating a checkout changes nothing until the client pays.
* ``apply_provider_event(event, …)`` — a verified webhook event: each (provider, event id)
  is applied once (``provider_events``); a payment is recorded with
  ``services.payments.record_payment`` under the key ``<provider>:<payment id>``, so the
  several events one payment raises (Stripe: ``checkout.session.completed`` and
  ``payment_intent.succeeded``) record ONE payment. Events that cannot be applied (unknown
  or void invoice, wrong currency, nothing paid) are stored with their outcome and audited —
  never dropped.

A provider is an adapter (``adapters/payments/stripe.py``; Razorpay would be one more)
implementing :class:`PaymentProvider`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from ..domain.errors import DomainError
from ..domain.invoice import OPEN_STATUSES, Invoice, InvoiceKind, InvoiceStatus
from .errors import Conflict, NotFound, ServiceError
from .payments import RecordPayment, record_payment
from .ports import Clock, UnitOfWork

log = logging.getLogger(__name__)

# Stripe Checkout sessions expire 24 h after creation; reuse one for at most 23 h.
REUSE_FOR = timedelta(hours=23)


# -- the port -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """A hosted checkout for ``amount`` (a Decimal in major units) of ``currency``."""

    invoice_id: int
    invoice_number: str
    description: str
    amount: Decimal
    currency: str
    success_url: str
    cancel_url: str
    idempotency_key: str
    customer_email: str | None = None


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    session_id: str
    url: str


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """A verified webhook event in provider-neutral terms. ``paid`` is True only when the
    event reports money received (``amount`` of ``currency``, major units);
    ``payment_ref`` is the provider's id of the payment (Stripe: the PaymentIntent ``pi_…``),
    the same in every event about that payment."""

    event_id: str
    type: str
    invoice_id: int | None
    amount: Decimal | None
    currency: str | None
    paid: bool
    payment_ref: str | None = None
    session_id: str | None = None
    occurred_at: datetime | None = None


class WebhookRejected(Exception):
    """The request is not a genuine, fresh event of the provider (missing, forged or expired
    signature, or a body that is not an event). ``reason`` is safe to log: no body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PaymentProviderError(ServiceError):
    """The provider could not be reached or refused the request; the client may retry."""

    code = "payment_provider_error"


class PaymentProvider(Protocol):
    """A hosted-checkout payment provider.

    ``create_checkout`` must be idempotent on ``request.idempotency_key`` (the same key
    answers the same session) and raises :class:`PaymentProviderError`. ``parse_webhook``
    verifies the request over the raw ``body`` against the injected ``now`` and raises
    :class:`WebhookRejected` when it is not genuine and fresh."""

    name: str
    checkout_origins: tuple[str, ...]  # where the browser is sent (the portal's CSP allows it)

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...
    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> ProviderEvent: ...


# -- the repository port (uow.payment_links) ------------------------------------------------
@dataclass(frozen=True, slots=True)
class PaymentSessionRecord:
    id: int
    invoice_id: int
    provider: str
    session_id: str
    url: str
    amount: Decimal
    currency: str
    status: str  # open | complete | expired
    idempotency_key: str
    created_at: datetime


class PaymentLinks(Protocol):
    """Checkout sessions (``payment_sessions``) and applied provider events
    (``provider_events``, unique per provider and event id)."""

    def sessions(self, invoice_id: int) -> list[PaymentSessionRecord]:
        """The invoice's checkout sessions, oldest first."""
        ...

    def add_session(
        self,
        *,
        invoice_id: int,
        provider: str,
        session: CheckoutSession,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        at: datetime,
    ) -> bool:
        """Store a session; False (nothing stored) if its idempotency key is stored."""
        ...

    def session_by_key(self, idempotency_key: str) -> PaymentSessionRecord | None: ...
    def complete_session(self, provider: str, session_id: str) -> None: ...
    def event_outcome(self, provider: str, event_id: str) -> str | None:
        """The outcome stored for this event, None if it was never applied."""
        ...

    def add_event(
        self,
        *,
        provider: str,
        event: ProviderEvent,
        invoice_id: int | None,
        payment_id: int | None,
        outcome: str,
        at: datetime,
    ) -> bool:
        """Store an applied event; False (nothing stored) if it was stored before."""
        ...


# -- starting a payment ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PaymentLink:
    session_id: str
    url: str
    amount: Decimal
    currency: str
    reused: bool = False


def payable(inv: Invoice) -> bool:
    """Whether the portal offers "Pay now": an issued, open invoice with a balance."""
    return (
        inv.kind is InvoiceKind.INVOICE
        and inv.status in OPEN_STATUSES
        and inv.balance.is_positive()
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    invoice_id: int
    request: CheckoutRequest | None
    reuse: PaymentSessionRecord | None


def _plan(token: str, *, uow: UnitOfWork, provider: str, now: datetime, portal_url: str) -> _Plan:
    with uow:
        inv = uow.invoices.by_portal_token(token)
        if inv.status is InvoiceStatus.DRAFT:  # drafts are never shown to clients
            raise NotFound("no such invoice link", field="token")
        if not payable(inv):
            raise Conflict(f"nothing is due on invoice {inv.number}", field="status")
        assert inv.id is not None
        balance = inv.balance.amount
        same = [
            s
            for s in uow.payment_links.sessions(inv.id)
            if s.provider == provider and s.amount == balance and s.currency == inv.currency
        ]
        for s in reversed(same):
            if s.status == "open" and now - s.created_at < REUSE_FOR:
                return _Plan(inv.id, None, s)
        emails = inv.buyer.emails
        request = CheckoutRequest(
            invoice_id=inv.id,
            invoice_number=inv.number or str(inv.id),
            description=f"{inv.seller.name}, invoice {inv.number}",
            amount=balance,
            currency=inv.currency,
            success_url=f"{portal_url}?paid=1",
            cancel_url=portal_url,
            idempotency_key=f"{provider}:checkout:{inv.id}:{balance}:{len(same) + 1}",
            customer_email=emails[0] if emails else None,
        )
        return _Plan(inv.id, request, None)


def start_payment(
    token: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    provider: PaymentProvider,
    base_url: str,
    actor: str = "client",
) -> PaymentLink:
    """A checkout for the open balance of the invoice behind portal link ``token``.

    Raises ``NotFound`` (no such link, or a draft), ``Conflict`` (nothing is due) and
    ``PaymentProviderError``."""
    now = clock.now()
    portal_url = f"{base_url.rstrip('/')}/portal/invoices/{token}"
    plan = _plan(token, uow=uow, provider=provider.name, now=now, portal_url=portal_url)
    if plan.reuse is not None:
        s = plan.reuse
        return PaymentLink(s.session_id, s.url, s.amount, s.currency, reused=True)
    request = plan.request
    assert request is not None
    session = provider.create_checkout(request)  # no transaction is open during the call
    with uow:
        added = uow.payment_links.add_session(
            invoice_id=plan.invoice_id,
            provider=provider.name,
            session=session,
            amount=request.amount,
            currency=request.currency,
            idempotency_key=request.idempotency_key,
            at=now,
        )
        if not added:  # a click at the same moment stored it (same key: the same session)
            stored = uow.payment_links.session_by_key(request.idempotency_key)
            assert stored is not None
            return PaymentLink(stored.session_id, stored.url, stored.amount, stored.currency)
        uow.audit.record(
            at=now,
            actor=actor,
            action="payment.checkout_started",
            subject_type="invoice",
            subject_id=plan.invoice_id,
            detail={
                "provider": provider.name,
                "session_id": session.session_id,
                "amount": str(request.amount),
                "currency": request.currency,
            },
        )
        uow.commit()
    return PaymentLink(session.session_id, session.url, request.amount, request.currency)


# -- applying a webhook event ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EventResult:
    """``duplicate``: the event was applied before and nothing happened now. ``outcome``:
    applied | credited | duplicate_payment | not_paid | unknown_invoice | invoice_void |
    rejected (what the first delivery did)."""

    outcome: str
    duplicate: bool = False
    payment_id: int | None = None


@dataclass(frozen=True, slots=True)
class _Target:
    invoice_id: int | None
    outcome: str | None  # decided before any payment: not_paid | unknown_invoice | invoice_void


def _target(event: ProviderEvent, *, uow: UnitOfWork, provider: str) -> _Target | str:
    """The stored outcome if the event was applied before, else what to do with it."""
    with uow:
        seen = uow.payment_links.event_outcome(provider, event.event_id)
        if seen is not None:
            return seen
        if event.invoice_id is None:
            return _Target(None, "not_paid" if not event.paid else "unknown_invoice")
        try:
            inv = uow.invoices.get(event.invoice_id)
        except NotFound:
            return _Target(None, "unknown_invoice")
    if not event.paid:
        return _Target(inv.id, "not_paid")
    if inv.status is InvoiceStatus.VOID:
        return _Target(inv.id, "invoice_void")
    return _Target(inv.id, None)


def _pay(
    event: ProviderEvent, invoice_id: int, *, uow: UnitOfWork, clock: Clock, provider: str
) -> tuple[str, int | None, str | None]:
    """Record the payment; (outcome, payment id, reason it was refused)."""
    assert event.amount is not None
    key = f"{provider}:{event.payment_ref or event.event_id}"
    cmd = RecordPayment(
        invoice_id=invoice_id,
        amount=event.amount,
        currency=event.currency,
        received_at=event.occurred_at,
        method="card",
        reference=event.payment_ref,
        idempotency_key=key,
    )
    try:
        paid = record_payment(cmd, uow=uow, clock=clock, actor=f"provider:{provider}")
    except (DomainError, Conflict, NotFound) as exc:
        return "rejected", None, str(exc)
    if paid.duplicate:
        return "duplicate_payment", paid.payment_id, None
    # all of it credit: the invoice was paid before (a second checkout paid as well)
    outcome = "credited" if paid.credited == event.amount else "applied"
    return outcome, paid.payment_id, None


def apply_provider_event(
    event: ProviderEvent, *, provider: str, uow: UnitOfWork, clock: Clock
) -> EventResult:
    """Apply a verified provider event once. A redelivered event changes nothing
    (``duplicate``); every other event is stored with its outcome and audited."""
    target = _target(event, uow=uow, provider=provider)
    if isinstance(target, str):
        return EventResult(target, duplicate=True)
    outcome, payment_id, reason = target.outcome, None, None
    if outcome is None:
        assert target.invoice_id is not None
        outcome, payment_id, reason = _pay(
            event, target.invoice_id, uow=uow, clock=clock, provider=provider
        )
    now = clock.now()
    with uow:
        added = uow.payment_links.add_event(
            provider=provider,
            event=event,
            invoice_id=target.invoice_id,
            payment_id=payment_id,
            outcome=outcome,
            at=now,
        )
        if not added:  # the same event, delivered twice at once, was stored meanwhile
            return EventResult(
                uow.payment_links.event_outcome(provider, event.event_id) or "", True
            )
        if event.paid and event.session_id:
            uow.payment_links.complete_session(provider, event.session_id)
        uow.audit.record(
            at=now,
            actor=f"provider:{provider}",
            action="payment.provider_event",
            subject_type="invoice" if target.invoice_id else "provider_event",
            subject_id=target.invoice_id or event.event_id,
            detail=_audit_detail(event, provider, outcome, reason),
        )
        uow.commit()
    if outcome not in ("applied", "duplicate_payment", "not_paid"):
        log.warning("%s event %s: %s", provider, event.event_id, outcome)
    return EventResult(outcome, payment_id=payment_id)


def _audit_detail(
    event: ProviderEvent, provider: str, outcome: str, reason: str | None
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "provider": provider,
        "event_id": event.event_id,
        "type": event.type,
        "outcome": outcome,
        "invoice_id": event.invoice_id,
        "amount": None if event.amount is None else str(event.amount),
        "currency": event.currency,
        "reference": event.payment_ref,
    }
    if reason:
        detail["reason"] = reason
    return detail
