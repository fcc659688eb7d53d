"""A deal closed-won in a CRM becomes an invoice — from Pipedrive (webhooks v2 with HTTP
Basic auth on the source's token URL) and from anything else through the generic,
Standard-Webhooks-signed intake — exactly once, in the order the deal really changed.

Rules decide what happens with the invoice: issue and email it, keep it as a draft, or
(shadow mode) only record what would have been issued; a client without a billing address
holds the invoice instead of issuing it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from autoinvoice.adapters.db.tables import events as events_table
from autoinvoice.adapters.db.tables import subject_states
from autoinvoice.services.ports import SourceRecord
from trigger_world import World, make_world, payload

PD_USER, PD_PASSWORD = "pipedrive-hook", "Vx7!kq2-Pd-basic-9931"
ORG = "412"  # the organisation of the recorded deal
DEAL_TITLE = "Managed hosting 2025 – Nordlicht AG"
WHSEC = "whsec_" + base64.b64encode(b"generic-webhook-key-for-e2e-test!").decode()
CLIENT_EMAIL = "ap@hanseatic.example"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rule(**kw: Any) -> dict[str, Any]:
    return {
        "name": "won-deals",
        "when": {"source": "pipedrive", "event": "deal.won"},
        "build": "deal",
        **kw,
    }


# -- Pipedrive ------------------------------------------------------------------------------
def _pipedrive(world: World, **rule: Any) -> SourceRecord:
    source = world.source(
        "pipedrive", "pipedrive", secrets={"basic_user": PD_USER, "basic_password": PD_PASSWORD}
    )
    world.link("pipedrive", company=ORG, client=world.client_id)
    world.rules(_rule(**rule))
    return source


def _won(at: datetime) -> bytes:
    """The recorded v2 ``change.deal`` of the deal marked won, happening at ``at``."""
    body = payload("pipedrive", "change_deal_won.json")
    body["meta"]["timestamp"] = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    data = body["data"]
    for key in ("update_time", "won_time", "close_time", "first_won_time"):
        data[key] = _iso(at)
    data["local_won_date"] = data["local_close_date"] = at.date().isoformat()
    return json.dumps(body).encode()


def _moved_to_stage(at: datetime) -> bytes:
    """An earlier change of the same deal: moved to its last open stage (still open)."""
    body = payload("pipedrive", "change_deal_title_of_won_deal.json")
    body["meta"].update(id="0c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5", timestamp=int(at.timestamp()))
    body["meta"]["attempt"] = 1
    data = body["data"]
    data.update(
        status="open",
        title=DEAL_TITLE,
        update_time=_iso(at),
        stage_change_time=_iso(at),
        won_time=None,
        close_time=None,
    )
    body["previous"] = {"stage_id": 4}
    return json.dumps(body).encode()


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Content-Type": "application/json", "Authorization": f"Basic {token}"}


def _post_pd(world: World, source: SourceRecord, body: bytes) -> Any:
    return world.post(f"/webhooks/pipedrive/{source.url_token}", body, _basic(PD_USER, PD_PASSWORD))


def test_a_pipedrive_deal_won_is_invoiced_with_its_value_and_emailed(world: World) -> None:
    source = _pipedrive(world)
    r = _post_pd(world, source, _won(world.clock.now() - timedelta(seconds=3)))
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "accepted"}
    world.work()
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"
    assert inv.client_id == world.client_id  # through data.org_id 412
    assert inv.currency == "EUR"
    assert [(ln.description, ln.quantity, ln.unit_price) for ln in inv.lines] == [
        (DEAL_TITLE, Decimal("1"), Decimal("18400.75"))
    ]
    totals = inv.totals()
    assert totals.net.amount == Decimal("18400.75")
    assert totals.tax.amount == Decimal("3496.14")
    assert totals.gross.amount == Decimal("21896.89")
    [firing] = world.firings()
    assert (firing["rule"], firing["outcome"]) == ("won-deals", "issued")
    [mail] = world.smtp.wait_for(1)
    assert mail.rcpt_tos == (CLIENT_EMAIL,)
    assert "INV-2026-000001" in mail.message.get("Subject", "")
    with world.app.uow(read_only=True) as uow:
        [stored] = [uow.inbound.get(x["id"]) for x in uow.inbound.recent(source.id)]
    assert "authorization" not in stored.headers  # the Basic credentials are not kept


def test_pipedrive_without_the_right_basic_credentials_or_url_token_is_refused(
    world: World,
) -> None:
    source = _pipedrive(world)
    body = _won(world.clock.now())
    url = f"/webhooks/pipedrive/{source.url_token}"
    wrong_password = world.post(url, body, _basic(PD_USER, "Vx7!kq2-Pd-basic-9932"))
    assert wrong_password.status_code == 401
    assert wrong_password.headers["content-type"].startswith("application/problem+json")
    assert world.post(url, body, {"Content-Type": "application/json"}).status_code == 401
    no_token = world.post("/webhooks/pipedrive", body, _basic(PD_USER, PD_PASSWORD))
    assert no_token.status_code == 401
    assert "token" in no_token.json()["detail"]
    other_token = world.post(
        "/webhooks/pipedrive/x" + source.url_token, body, _basic(PD_USER, PD_PASSWORD)
    )
    assert other_token.status_code == 401
    assert world.work() == 0
    assert world.invoices() == []
    rejected = world.audit("webhook.rejected")
    assert len(rejected) == 4
    assert all(PD_PASSWORD not in json.dumps(a["detail"]) for a in rejected)


def test_an_older_deal_change_arriving_after_the_win_changes_nothing(world: World) -> None:
    source = _pipedrive(world)
    won_at = world.clock.now() - timedelta(minutes=1)
    assert _post_pd(world, source, _won(won_at)).json() == {"status": "accepted"}
    world.work()
    # the stage move of an hour before, delivered late (a retry after a timeout)
    late = _moved_to_stage(won_at - timedelta(hours=1))
    assert _post_pd(world, source, late).json() == {"status": "accepted"}
    world.work()
    assert len(world.invoices()) == 1
    assert [f["outcome"] for f in world.firings()] == ["issued"]
    s = subject_states.c
    e = events_table.c
    with world.app.engine.connect() as conn:
        state = conn.execute(
            select(s.event_type, s.version_at).where(s.subject == "deal", s.external_id == "1187")
        ).one()
        statuses = conn.execute(select(e.type, e.status).order_by(e.id)).all()
    assert state.event_type == "deal.won"
    assert state.version_at == won_at.replace(microsecond=0)
    assert [tuple(r) for r in statuses] == [
        ("deal.won", "applied"),
        ("deal.changed", "applied"),  # news about the deal, not a state: it undoes nothing
    ]


def test_a_win_processed_after_a_newer_change_is_still_billed(world: World) -> None:
    source = _pipedrive(world)
    won_at = world.clock.now() - timedelta(minutes=5)
    # the edit made after the win is processed first (the win's delivery was retried)
    assert _post_pd(world, source, _moved_to_stage(won_at + timedelta(minutes=2))).json() == {
        "status": "accepted"
    }
    world.work()
    assert _post_pd(world, source, _won(won_at)).json() == {"status": "accepted"}
    world.work()
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"


# -- generic (Standard Webhooks) ------------------------------------------------------------
def _standard_sig(secret: str, msg_id: str, ts: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{ts}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _generic_headers(msg_id: str, ts: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": _standard_sig(WHSEC, msg_id, ts, body),
    }


def _generic_batch(now: datetime) -> bytes:
    """The recorded batch (a milestone, a won deal, a time entry), happening just now; the
    deal sold two products."""
    batch = payload("generic", "events_batch.json")
    for i, event in enumerate(batch["events"]):
        event["occurred_at"] = _iso(now - timedelta(minutes=3 - i))
        event.pop("version", None)
    deal = batch["events"][1]["fields"]
    deal["products"].append(
        {"name": "Onboarding workshop", "quantity": "1", "unit_price": "1500.00"}
    )
    deal["amount"] = "13500.00"
    deal["close_date"] = now.date().isoformat()
    return json.dumps(batch).encode()


def test_a_generic_deal_won_is_invoiced_with_a_line_per_product(world: World) -> None:
    world.source("generic", "shop", secrets={"signing_secret": WHSEC})
    world.link("shop", company="acme", client=world.client_id)
    world.rules(
        {"name": "won-deals", "when": {"source": "generic", "event": "deal.won"}, "build": "deal"}
    )
    body = _generic_batch(world.clock.now())
    ts = int(world.clock.now().timestamp())
    r = world.post("/webhooks/generic", body, _generic_headers("msg_2kT8x0Qe", ts, body))
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "accepted"}
    world.work()
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"
    assert [(ln.description, ln.quantity, ln.unit_price, ln.net("EUR")) for ln in inv.lines] == [
        ("Support retainer (monthly)", Decimal("12"), Decimal("1000.00"), Decimal("12000.00")),
        ("Onboarding workshop", Decimal("1"), Decimal("1500.00"), Decimal("1500.00")),
    ]
    totals = inv.totals()
    assert (totals.net.amount, totals.gross.amount) == (Decimal("13500.00"), Decimal("16065.00"))
    [mail] = world.smtp.wait_for(1)
    assert "INV-2026-000001" in mail.message.get("Subject", "")


def test_a_generic_request_signed_ten_minutes_ago_is_a_replay(world: World) -> None:
    world.source("generic", "shop", secrets={"signing_secret": WHSEC})
    world.link("shop", company="acme", client=world.client_id)
    world.rules(
        {"name": "won-deals", "when": {"source": "generic", "event": "deal.won"}, "build": "deal"}
    )
    body = _generic_batch(world.clock.now())
    old = int((world.clock.now() - timedelta(minutes=10)).timestamp())
    r = world.post("/webhooks/generic", body, _generic_headers("msg_2kT8x0Qe", old, body))
    assert r.status_code == 401
    assert "5 minutes old" in r.json()["detail"]
    forged = _generic_headers("msg_2kT8x0Qe", int(world.clock.now().timestamp()), body)
    forged["webhook-id"] = "msg_other"  # the id is signed too
    assert world.post("/webhooks/generic", body, forged).status_code == 401
    assert world.work() == 0
    assert world.invoices() == []
    assert len(world.audit("webhook.rejected")) == 2


# -- what a rule does with the invoice ------------------------------------------------------
def test_a_draft_rule_makes_a_draft_without_number_or_email(world: World) -> None:
    source = _pipedrive(world, action="draft")
    _post_pd(world, source, _won(world.clock.now()))
    world.work()
    [inv] = world.invoices()
    assert inv.status == "draft"
    assert inv.number is None
    assert inv.hold_reason is None
    assert inv.totals().gross.amount == Decimal("21896.89")
    [firing] = world.firings()
    assert (firing["outcome"], firing["invoice_id"]) == ("draft", inv.id)
    assert len(world.audit("invoice.drafted")) == 1
    assert world.audit("invoice.issued") == []
    assert world.smtp.messages == []


def test_a_shadow_rule_records_what_it_would_have_issued_and_nothing_else(
    world: World,
) -> None:
    source = _pipedrive(world, shadow=True)
    _post_pd(world, source, _won(world.clock.now()))
    world.work()
    assert world.invoices() == []
    [firing] = world.firings()
    assert firing["outcome"] == "shadow"
    assert firing["invoice_id"] is None
    assert (firing["currency"], firing["net_total"], firing["gross_total"]) == (
        "EUR",
        Decimal("18400.75"),
        Decimal("21896.89"),
    )
    assert firing["lines"] == [
        {"description": DEAL_TITLE, "quantity": "1", "unit_price": "18400.75"}
    ]
    assert world.audit("invoice.issued") == []
    assert world.smtp.messages == []


@pytest.fixture
def addressless(database_url: str, tmp_path: Path) -> Iterator[World]:
    """A world whose client has no billing address yet."""
    yield from make_world(database_url, tmp_path, address=None)


def test_a_client_without_billing_address_holds_the_invoice(addressless: World) -> None:
    world = addressless
    source = _pipedrive(world)
    _post_pd(world, source, _won(world.clock.now()))
    world.work()
    [inv] = world.invoices()
    assert inv.status == "draft"
    assert inv.number is None
    assert inv.hold_reason == (
        "client_address: client 'Hanseatic Logistics AG' has no billing address — add the "
        "client's billing address (street, postal code, city, country)"
    )
    assert inv.totals().gross.amount == Decimal("21896.89")
    [firing] = world.firings()
    assert (firing["outcome"], firing["invoice_id"]) == ("held", inv.id)
    [attention] = world.audit("invoice.needs_attention")
    assert attention["detail"]["reason"] == inv.hold_reason
    assert [f["check"] for f in attention["detail"]["findings"]] == ["client_address"]
    # nothing went to the client; the owner was told what to fix
    for received in world.smtp.messages:
        assert "needs attention" in received.message["Subject"]
        assert "billing address" in received.message.get_content()
