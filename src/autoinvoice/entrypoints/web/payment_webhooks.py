"""``POST /webhooks/stripe``: a payment provider's events, applied at once and exactly once.

The webhook intake middleware (``webhooks.py``) hands these requests here instead of to a
connector: the signature is checked over the raw body (``PaymentProvider.parse_webhook``),
then ``services.payment_links.apply_provider_event`` records the payment before the answer.
Answers (Stripe retries anything but a 2xx for three days, so failing is safe):

* 200 ``{"status": "applied", "outcome": …}`` — a new event, stored with its outcome
  (``applied``, ``credited``, ``duplicate_payment``, ``not_paid``, ``unknown_invoice``,
  ``invoice_void``, ``rejected``);
* 200 ``{"status": "duplicate", "outcome": …}`` — delivered before; nothing happened now;
* 400 problem+json — missing, forged or expired signature, or not an event; audited with
  the reason (never the body);
* 404 — the provider is not configured; 503 — storage is down.
"""

from __future__ import annotations

import asyncio
import json
import logging

from ...bootstrap import App
from ...services.ingest import record_rejection
from ...services.payment_links import WebhookRejected, apply_provider_event
from .errors import PROBLEM_JSON, problem_body
from .webhooks import Reply, TokenBucket

log = logging.getLogger(__name__)

PROVIDERS = frozenset({"stripe"})


def _problem(status: int, code: str, detail: str) -> Reply:
    return Reply(status, json.dumps(problem_body(status, code, detail)).encode(), PROBLEM_JSON)


class PaymentWebhooks:
    """Verifies and applies payment-provider webhooks for the intake middleware."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.rejections = TokenBucket(rate=20.0, burst=100)

    @staticmethod
    def handles(kind: str, token: str | None) -> bool:
        return token is None and kind in PROVIDERS

    async def handle(
        self, kind: str, headers: dict[str, str], body: bytes, remote: str | None
    ) -> Reply:
        app = self.app
        provider = app.payment_provider
        if provider is None or provider.name != kind:
            return _problem(404, "not_found", f"{kind} payments are not configured")
        try:
            event = provider.parse_webhook(headers, body, now=app.clock.now())
        except WebhookRejected as exc:
            await self._audit_rejection(kind, exc.reason, body, remote)
            return _problem(400, "signature_rejected", exc.reason)
        try:
            result = await asyncio.to_thread(
                apply_provider_event, event, provider=kind, uow=app.uow(), clock=app.clock
            )
        except Exception:
            log.exception("%s event %s could not be applied", kind, event.event_id)
            return _problem(503, "unavailable", "the event could not be applied; retry")
        status = "duplicate" if result.duplicate else "applied"
        return Reply(200, json.dumps({"status": status, "outcome": result.outcome}).encode())

    async def _audit_rejection(
        self, kind: str, reason: str, body: bytes, remote: str | None
    ) -> None:
        if not self.rejections.allow():  # a flood of forgeries must not become a flood of writes
            self.rejections.dropped += 1
            return
        await asyncio.to_thread(
            record_rejection,
            kind,
            None,
            reason,
            body,
            remote,
            uow=self.app.uow(),
            clock=self.app.clock,
        )


__all__ = ["PROVIDERS", "PaymentWebhooks"]
