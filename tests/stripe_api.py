"""A local HTTP server that answers ``POST /v1/checkout/sessions`` as the Stripe API does,
and Stripe events signed as Stripe signs them — for the Stripe contract and end-to-end tests.

The server reads the SDK's form-encoded parameters (``line_items[0][price_data][currency]``
…), answers a Checkout Session object (https://docs.stripe.com/api/checkout/sessions/object)
and keeps Stripe's idempotency rules (https://docs.stripe.com/api/idempotent_requests): the
same ``Idempotency-Key`` with the same parameters replays the first answer (with
``Idempotent-Replayed: true``); with other parameters it is a 400 ``idempotency_error``.

Events are signed with the SDK's own ``WebhookSignature.generate_signature_header``.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import stripe

CREATED = 1795165200  # 2026-11-20 09:00 UTC, the test clock's start


@dataclass
class Call:
    headers: dict[str, str]
    params: dict[str, str]  # flattened form keys → value


@dataclass
class FakeStripe:
    secret_key: str = "sk_test_51Nordlicht0000000000000000"
    calls: list[Call] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id
    params: dict[str, dict[str, str]] = field(default_factory=dict)  # what made each session
    fail_with: tuple[int, dict[str, Any]] | None = None
    _by_key: dict[str, tuple[dict[str, str], dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer, extra = fake.answer(self.path, headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # polled every 20 ms, so that shutting the server down is quick
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> FakeStripe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the API ------------------------------------------------------------------------
    def answer(
        self, path: str, headers: dict[str, str], body: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        params = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
        with self._lock:
            self.calls.append(Call(headers, params))
            if headers.get("authorization") != f"Bearer {self.secret_key}":
                return 401, _error("invalid_request_error", "Invalid API Key provided"), {}
            if path != "/v1/checkout/sessions":
                return 404, _error("invalid_request_error", f"Unrecognized request URL {path}"), {}
            if self.fail_with is not None:
                return self.fail_with[0], self.fail_with[1], {}
            key = headers.get("idempotency-key")
            if key and key in self._by_key:
                first_params, first = self._by_key[key]
                if first_params != params:
                    message = (
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with."
                    )
                    return 400, _error("idempotency_error", message), {}
                return 200, first, {"Idempotent-Replayed": "true"}
            session = self._session(params)
            self.sessions[session["id"]] = session
            self.params[session["id"]] = params
            if key:
                self._by_key[key] = (params, session)
            return 200, session, {}

    def _session(self, p: dict[str, str]) -> dict[str, Any]:
        sid = f"cs_test_a1{secrets.token_hex(24)}"
        amount = int(p["line_items[0][price_data][unit_amount]"]) * int(
            p.get("line_items[0][quantity]", "1")
        )
        metadata = {k[len("metadata[") : -1]: v for k, v in p.items() if k.startswith("metadata[")}
        return {
            "id": sid,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "cancel_url": p.get("cancel_url"),
            "client_reference_id": p.get("client_reference_id"),
            "created": CREATED,
            "currency": p["line_items[0][price_data][currency]"],
            "customer": None,
            "customer_email": p.get("customer_email"),
            "expires_at": CREATED + 86400,
            "livemode": False,
            "metadata": metadata,
            "mode": p["mode"],
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": p.get("success_url"),
            "url": f"https://checkout.stripe.com/c/pay/{sid}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
        }

    # -- what Stripe sends back -----------------------------------------------------------
    def intent_metadata(self, session_id: str) -> dict[str, str]:
        """The ``payment_intent_data[metadata]`` sent when the session was created."""
        prefix = "payment_intent_data[metadata]["
        return {
            k[len(prefix) : -1]: v
            for k, v in self.params[session_id].items()
            if k.startswith(prefix)
        }


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def event(event_id: str, kind: str, obj: dict[str, Any], created: int = CREATED) -> dict[str, Any]:
    """A Stripe event envelope (https://docs.stripe.com/api/events/object)."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }


def completed_session(session: dict[str, Any], intent: str, *, paid: bool = True) -> dict[str, Any]:
    """The session as ``checkout.session.completed`` carries it after the client paid."""
    return {
        **session,
        "payment_intent": intent,
        "payment_status": "paid" if paid else "unpaid",
        "status": "complete",
        "url": None,
    }


def succeeded_intent(
    intent: str, amount: int, currency: str, metadata: dict[str, str]
) -> dict[str, Any]:
    """A PaymentIntent as ``payment_intent.succeeded`` carries it."""
    return {
        "id": intent,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": amount,
        "currency": currency,
        "latest_charge": f"ch_{intent[3:]}",
        "livemode": False,
        "metadata": metadata,
        "payment_method_types": ["card"],
        "status": "succeeded",
    }


def signed(
    envelope: dict[str, Any], secret: str, at: datetime, *, age: int = 0
) -> tuple[bytes, dict[str, str]]:
    """The body and headers Stripe would post, signed ``age`` seconds before ``at``."""
    body = json.dumps(envelope, indent=2)
    timestamp = int(at.timestamp()) - age
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}
