"""Outgoing webhooks end to end, on SQLite and PostgreSQL: a real HTTP receiver on
127.0.0.1 (allowed by the allow-list setting) checks every request with the Standard
Webhooks reference library, the worker delivers, the scheduler reports overdue invoices."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook
from typer.testing import CliRunner

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.bootstrap import App
from autoinvoice.entrypoints.cli import cli
from autoinvoice.entrypoints.scheduler import tick
from autoinvoice.entrypoints.web.app import create_app
from autoinvoice.services import accounts, outgoing
from autoinvoice.services.invoicing import issue_invoice
from autoinvoice.services.jobs import run_jobs_once
from autoinvoice.services.outgoing import EventType
from autoinvoice.services.payments import RecordPayment, record_payment
from autoinvoice.services.webhook_targets import TargetPolicy
from builders import draft_for, make_app, make_client, make_entity


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int
    payload: Any = None  # the verified JSON; None when the signature did not verify
    error: str | None = None


@dataclass
class Receiver:
    """An HTTP server that verifies each POST with ``Webhook(secret).verify`` and answers
    with the next scripted status (200 once the script is used up)."""

    secret: str = ""
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        status = self.script.pop(0) if self.script else 200
        item = Received(headers, body, status)
        try:
            item.payload = Webhook(self.secret).verify(body, headers)
        except Exception as exc:
            item.error = f"{type(exc).__name__}: {exc}"
        self.received.append(item)
        return status

    @property
    def types(self) -> list[str]:
        assert all(r.error is None for r in self.received), [r.error for r in self.received]
        return [r.payload["type"] for r in self.received]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            status = state.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/hooks/autoinvoice"
    server.shutdown()
    server.server_close()


@dataclass
class Shop:
    app: App
    client_id: int
    hook_url: str
    receiver: Receiver

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.app.clock, ManualClock)
        return self.app.clock

    def subscribe(self, *events: EventType) -> int:
        sub, secret = outgoing.add_subscription(
            self.hook_url,
            [e.value for e in events],
            uow=self.app.uow(),
            clock=self.app.clock,
            box=self.app.box,
            policy=TargetPolicy.parse(self.app.settings.webhook_allow),
            actor="test",
        )
        assert secret.startswith("whsec_")
        self.receiver.secret = secret
        return sub.id

    def issue(self) -> int:
        inv_id = draft_for(self.app, self.client_id)
        issue_invoice(inv_id, uow=self.app.uow(), clock=self.app.clock, actor="test")
        return inv_id

    def work(self) -> int:
        total, handlers = 0, self.app.handlers("test-worker")
        while n := run_jobs_once(
            uow=self.app.uow(), clock=self.app.clock, worker="test-worker", handlers=handlers
        ):
            total += n
        return total

    def deliveries(self) -> list[outgoing.DeliveryRecord]:
        with self.app.uow(read_only=True) as uow:
            return uow.webhooks.deliveries()

    def pay(self, invoice_id: int, amount: str) -> None:
        record_payment(
            RecordPayment(invoice_id, amount), uow=self.app.uow(), clock=self.app.clock, actor="t"
        )


def real_now() -> datetime:
    # the receiver's library checks webhook-timestamp against the wall clock (±5 min)
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def shop(database_url: str, tmp_path: Path, receiver: tuple[Receiver, str]) -> Iterator[Shop]:
    app = make_app(database_url, tmp_path, clock=ManualClock(real_now()), webhook_allow="127.0.0.1")
    client_id = make_client(app, make_entity(app))
    yield Shop(app, client_id, receiver[1], receiver[0])
    app.engine.dispose()


def test_a_subscriber_gets_issued_then_sent_signed_per_the_spec(shop: Shop) -> None:
    shop.subscribe(EventType.ISSUED, EventType.SENT, EventType.PAID)
    inv_id = shop.issue()
    shop.work()

    assert shop.receiver.types == ["invoice.issued", "invoice.sent"]
    first, second = shop.receiver.received
    assert first.headers["webhook-id"].startswith("msg_")
    assert first.headers["webhook-id"] != second.headers["webhook-id"]
    assert first.headers["webhook-signature"].startswith("v1,")
    assert first.headers["host"] == shop.hook_url.split("/")[2]
    data = first.payload["data"]
    assert data["invoice_id"] == inv_id and data["number"] == "INV-2026-000001"
    assert (data["status"], data["currency"], data["total"], data["balance"]) == (
        "issued",
        "EUR",
        "5355.00",
        "5355.00",
    )
    assert data["client_name"] == "Hanseatic Logistics AG" and data["due_date"]
    assert second.payload["data"]["status"] == "sent"
    assert [(d.status, d.attempts, d.last_status_code) for d in shop.deliveries()] == [
        ("delivered", 1, 200),
        ("delivered", 1, 200),
    ]


def test_a_500_is_retried_with_the_same_webhook_id_and_delivered_once(shop: Shop) -> None:
    shop.subscribe(EventType.ISSUED)
    shop.receiver.script = [500]
    shop.issue()
    shop.work()
    [failed] = shop.deliveries()
    assert (failed.status, failed.attempts, failed.last_error) == ("pending", 1, "HTTP 500")

    shop.clock.advance(timedelta(seconds=31))  # the outbox's first back-off is 30 s
    shop.work()
    shop.clock.advance(timedelta(hours=2))
    shop.work()

    first, retry = shop.receiver.received
    assert [first.answered, retry.answered] == [500, 200]
    assert first.headers["webhook-id"] == retry.headers["webhook-id"]
    assert first.body == retry.body and retry.payload is not None
    [delivery] = shop.deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "delivered",
        2,
        200,
    )


def test_a_receiver_that_is_down_is_retried(shop: Shop) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        shop.hook_url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    shop.subscribe(EventType.ISSUED)
    shop.issue()
    shop.work()
    [delivery] = shop.deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert "ConnectError" in (delivery.last_error or "")


def test_after_the_last_attempt_the_delivery_fails_and_the_owner_is_alerted(
    shop: Shop, tmp_path: Path
) -> None:
    shop.subscribe(EventType.ISSUED)
    shop.receiver.script = [503] * 100
    shop.issue()
    for _ in range(40):
        shop.work()
        if shop.deliveries()[0].status != "pending":
            break
        shop.clock.advance(timedelta(hours=1))  # the back-off is capped at 1 h
    [delivery] = shop.deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 30, 503)
    assert len(shop.receiver.received) == 30  # the outbox's max attempts
    assert len({r.headers["webhook-id"] for r in shop.receiver.received}) == 1
    alerts = [p.read_text() for p in (tmp_path / "mail").glob("*.eml")]
    assert sum("could not be delivered" in m for m in alerts) == 1
    with shop.app.uow(read_only=True) as uow:
        assert uow.outbox.counts().get("dead", 0) == 0  # finished by the handler, not given up


def test_the_address_is_checked_again_when_sending(shop: Shop) -> None:
    shop.subscribe(EventType.ISSUED)  # allowed when subscribing
    shop.app.settings.webhook_allow = ""  # …and no longer when the worker sends
    shop.issue()
    shop.work()
    assert shop.receiver.received == []
    [delivery] = shop.deliveries()
    assert delivery.status == "failed" and "not a public address" in (delivery.last_error or "")


def test_a_410_fails_the_delivery_pauses_the_subscription_and_alerts_the_owner(
    shop: Shop, tmp_path: Path
) -> None:
    sub_id = shop.subscribe(EventType.ISSUED, EventType.SENT)
    shop.receiver.script = [410]
    shop.issue()
    shop.work()
    shop.clock.advance(timedelta(hours=2))
    shop.work()

    assert [r.answered for r in shop.receiver.received] == [410]  # not retried, nothing more
    log = {d.event_type: d for d in shop.deliveries()}
    issued, sent = log["invoice.issued"], log["invoice.sent"]
    assert (issued.status, issued.last_status_code, issued.last_error) == (
        "failed",
        410,
        "HTTP 410",
    )
    # queued before the 410 came back, then not sent: the subscription is paused
    assert (sent.status, sent.last_status_code) == ("failed", None)
    assert sent.last_error == "the subscription is disabled"
    with shop.app.uow(read_only=True) as uow:
        assert not uow.webhooks.subscription(sub_id).enabled
        [audit] = [a for a in uow.audit.recent(200) if a["action"] == "webhook.failed"]
    assert audit["detail"]["paused"] and audit["detail"]["status_code"] == 410
    mails = [p.read_text() for p in (tmp_path / "mail").glob("*.eml")]
    alerts = [m for m in mails if "could not be delivered" in m]
    assert len(alerts) == 1 and "webhooks enable" in alerts[0]


def test_a_payment_sends_payment_received_and_the_last_one_paid(shop: Shop) -> None:
    shop.subscribe(EventType.PAYMENT_RECEIVED, EventType.PAID)
    inv_id = shop.issue()
    shop.work()
    assert shop.receiver.received == []

    shop.pay(inv_id, "1000.00")
    shop.work()
    shop.pay(inv_id, "4355.00")
    shop.work()

    assert shop.receiver.types == [
        "invoice.payment_received",
        "invoice.payment_received",
        "invoice.paid",
    ]
    part, rest, paid = (r.payload["data"] for r in shop.receiver.received)
    assert (part["amount"], part["status"], part["balance"]) == (
        "1000.00",
        "partially_paid",
        "4355.00",
    )
    assert (rest["amount"], rest["status"], rest["balance"]) == ("4355.00", "paid", "0.00")
    assert part["payment_id"] != rest["payment_id"]
    assert (paid["status"], paid["total"]) == ("paid", "5355.00")


def test_overdue_is_sent_once_after_the_due_date_passes(shop: Shop) -> None:
    shop.subscribe(EventType.OVERDUE)
    shop.clock.set(real_now() - timedelta(days=40))  # issued 40 days ago, net 30
    inv_id = shop.issue()
    shop.work()
    assert tick(shop.app).overdue_webhooks == 0  # not due yet then

    shop.clock.set(real_now())
    assert tick(shop.app).overdue_webhooks == 1
    shop.work()
    assert tick(shop.app).overdue_webhooks == 0  # once per invoice, however often it ticks
    shop.work()

    assert shop.receiver.types == ["invoice.overdue"]
    data = shop.receiver.received[0].payload["data"]
    assert data["invoice_id"] == inv_id and data["status"] == "sent"


def test_reporting_the_same_fact_again_sends_nothing_new(shop: Shop) -> None:
    shop.subscribe(EventType.ISSUED, EventType.SENT)
    inv_id = shop.issue()
    shop.work()
    assert len(shop.receiver.received) == 2

    with shop.app.uow() as uow:
        inv = uow.invoices.get(inv_id)
        now = shop.clock.now() + timedelta(minutes=1)
        assert outgoing.emit(uow, now, EventType.ISSUED, inv) == 0
        assert outgoing.emit(uow, now, EventType.SENT, inv_id) == 0
        uow.commit()
    shop.work()
    assert len(shop.receiver.received) == 2 and len(shop.deliveries()) == 2


def test_the_api_subscribes_lists_logs_and_removes(shop: Shop) -> None:
    app = shop.app
    uid = accounts.create_user(
        "owner@example.com", "a long password", "owner", uow=app.uow(), clock=app.clock,
        hasher=app.hasher, actor="test",
    )  # fmt: skip
    key = accounts.create_api_key(uid, "t", ["read", "write"], uow=app.uow(), clock=app.clock)
    with TestClient(create_app(app)) as web:
        web.headers["Authorization"] = f"Bearer {key}"
        refused = web.post("/api/v1/webhooks", json={"url": "http://10.0.0.1/x"})
        assert refused.status_code == 422 and refused.json()["field"] == "url"
        made = web.post(
            "/api/v1/webhooks", json={"url": shop.hook_url, "event_types": ["invoice.issued"]}
        )
        assert made.status_code == 201, made.text
        sub = made.json()
        assert sub["secret"].startswith("whsec_") and sub["event_types"] == ["invoice.issued"]
        shop.receiver.secret = sub["secret"]
        listed = web.get("/api/v1/webhooks").json()["items"]
        assert [s["id"] for s in listed] == [sub["id"]] and "secret" not in listed[0]

        shop.issue()
        shop.work()
        [log] = web.get(f"/api/v1/webhooks/{sub['id']}/deliveries").json()
        assert (log["event_type"], log["status"]) == ("invoice.issued", "delivered")
        assert log["message_id"] == shop.receiver.received[0].headers["webhook-id"]

        assert web.delete(f"/api/v1/webhooks/{sub['id']}").status_code == 204
        assert web.get("/api/v1/webhooks").json()["items"] == []
        assert web.get(f"/api/v1/webhooks/{sub['id']}/deliveries").status_code == 404
    assert shop.receiver.types == ["invoice.issued"]


def test_the_cli_prints_the_secret_once_and_lists_the_log(
    shop: Shop, database_url: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = {"AUTOINVOICE_DATA_DIR": str(tmp_path), "AUTOINVOICE_WEBHOOK_ALLOW": "127.0.0.1"}

    def run(*args: str) -> str:
        result = runner.invoke(cli, [*args, "--database-url", database_url], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    added = json.loads(run("webhooks", "add", shop.hook_url, "--event", "invoice.issued", "--json"))
    assert added["secret"].startswith("whsec_")
    shop.receiver.secret = added["secret"]
    listed = run("webhooks", "list", "--json")
    assert added["secret"] not in listed and json.loads(listed)[0]["url"] == shop.hook_url
    refused = runner.invoke(
        cli, ["webhooks", "add", "http://10.0.0.1/x", "--database-url", database_url], env=env
    )
    assert refused.exit_code == 2 and "not a public address" in refused.output

    shop.issue()
    shop.work()
    [log] = json.loads(run("webhooks", "deliveries", "--subscription", str(added["id"]), "--json"))
    assert (log["status"], log["attempts"]) == ("delivered", 1)
    run("webhooks", "remove", str(added["id"]))
    assert json.loads(run("webhooks", "list", "--json")) == []


def test_overdue_follows_the_clients_time_zone_not_the_issuing_entitys(shop: Shop) -> None:
    from autoinvoice.services.setup import add_client
    from builders import client_party

    shop.subscribe(EventType.OVERDUE)
    with shop.app.uow(read_only=True) as uow:
        berlin = uow.clients.get(shop.client_id)
    kiritimati = add_client(
        replace(berlin, timezone="Pacific/Kiritimati", party=client_party(name="Line Islands")),
        uow=shop.app.uow(),
        clock=shop.app.clock,
        actor="test",
    )
    shop.clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    ahead = draft_for(shop.app, kiritimati)
    issue_invoice(ahead, uow=shop.app.uow(), clock=shop.app.clock, actor="test")
    home = shop.issue()
    with shop.app.uow(read_only=True) as uow:
        due = uow.invoices.get(ahead).due_date
        assert due is not None and uow.invoices.get(home).due_date == due
    # 10:30 UTC the day it falls due: Berlin's date is still the due date, Kiritimati's
    # (UTC+14) is the day after — overdue there, and only there
    shop.clock.set(datetime(due.year, due.month, due.day, 9, 30, tzinfo=UTC))
    assert outgoing.emit_overdue(uow=shop.app.uow(), clock=shop.app.clock) == 0
    shop.clock.set(datetime(due.year, due.month, due.day, 10, 30, tzinfo=UTC))
    assert outgoing.emit_overdue(uow=shop.app.uow(), clock=shop.app.clock) == 1
    [told] = shop.deliveries()
    assert told.payload["data"]["invoice_id"] == ahead
