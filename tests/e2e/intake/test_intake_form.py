"""The client intake form end to end, on both databases: a link is made, the client opens
the form, a wrong answer comes back next to its field with nothing stored, a right one
updates the client, is audited, mails the owner through a real SMTP server and issues the
draft that was held for the missing address. Dead links show the not-found page."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import lxml.html
import pytest
from typer.testing import CliRunner

from autoinvoice.domain.invoice import InvoiceStatus
from autoinvoice.domain.lint import NeedsAttention
from autoinvoice.entrypoints.cli import cli
from autoinvoice.services import accounts, intake, invoicing
from builders import draft_for, make_client
from trigger_world import BASE, World

PRIVATE = {
    "referrer-policy": "no-referrer",
    "x-robots-tag": "noindex, nofollow",
    "cache-control": "private, no-store",
}
VALID = {
    "legal_name": "Neukunde Software GmbH",
    "address_line1": "Brooktorkai 20",
    "address_line2": "4. OG",
    "postal_code": "20457",
    "city": "Hamburg",
    "country": "DE",
    "subdivision": "",
    "emails": "ap@neukunde.example, archive@neukunde.example",
    "tax_id": "DE 811 907 980",
    "peppol_id": "9930:DE811907980",
    "po_required": "1",
    "payment_method": "direct_debit",
}


def held_client(world: World) -> tuple[int, int]:
    """A client with no billing address and a draft held for it."""
    cid = make_client(
        world.app,
        world.entity_id,
        name="Neukunde GmbH",
        address=None,
        emails=("ap@neukunde.example",),
    )
    inv_id = draft_for(world.app, cid)
    with pytest.raises(NeedsAttention):
        invoicing.issue_invoice(inv_id, uow=world.app.uow(), clock=world.clock, actor="test")
    with world.app.uow(read_only=True) as uow:
        assert "no billing address" in (uow.invoices.get(inv_id).hold_reason or "")
    return cid, inv_id


def new_link(world: World, client_id: int) -> str:
    link = intake.create_intake_link(
        client_id, uow=world.app.uow(), clock=world.clock, actor="test", base_url=BASE
    )
    assert link.url.startswith(f"{BASE}/intake/")
    assert link.expires_at == world.clock.now() + timedelta(days=14)
    return link.url.removeprefix(BASE)


def page(response: Any) -> Any:
    return lxml.html.fromstring(response.text)


def form_fields(response: Any) -> dict[str, str]:
    """What the browser would send back: every input's value, checked boxes, selections."""
    doc = page(response)
    [form] = doc.forms
    return {k: v for k, v in form.form_values()}


def test_a_client_fills_in_the_form_and_their_held_draft_is_issued(world: World) -> None:
    cid, inv_id = held_client(world)
    path = new_link(world, cid)
    before = len(world.smtp.messages)

    shown = world.web.get(path)
    assert shown.status_code == 200
    assert {k: shown.headers[k] for k in PRIVATE} == PRIVATE
    prefilled = form_fields(shown)
    assert prefilled["legal_name"] == "Neukunde GmbH"
    assert prefilled["emails"] == "ap@neukunde.example"
    assert prefilled["country"] == "DE" and prefilled["tax_id"] == "DE811907980"
    assert "Nordlicht IT Services GmbH" in shown.text

    # wrong answers: each message next to its field, what was typed kept, nothing stored
    wrong = {
        **prefilled,
        "address_line1": "",
        "postal_code": "2045",
        "tax_id": "DE811907981",
        "payment_method": "card",
    }
    refused = world.web.post(path, data=wrong)
    assert refused.status_code == 422
    doc = page(refused)
    for field, text in (
        ("address_line1", "Enter the street address"),
        ("postal_code", "'2045' is not a postal code of Germany"),
        ("city", "Enter the city"),
        ("tax_id", "This is not a valid VAT number in Germany"),
    ):
        message = doc.get_element_by_id(f"error-{field}")
        assert message.get("role") == "alert" and text in message.text_content()
        described = doc.get_element_by_id(field).get("aria-describedby").split()
        assert f"error-{field}" in described
        assert doc.get_element_by_id(field).get("aria-invalid") == "true"
        # the message sits in the field's own block, right before its input
        assert message.getparent() is doc.get_element_by_id(field).getparent()
    assert form_fields(refused)["tax_id"] == "DE811907981"
    summary = doc.get_element_by_id("error-summary-title").text_content()
    assert summary == "4 answers need correcting"
    with world.app.uow(read_only=True) as uow:
        assert uow.clients.get(cid).party.address is None
        assert uow.invoices.get(inv_id).status is InvoiceStatus.DRAFT
    assert world.audit("client.intake_submitted") == []

    # right answers
    sent = world.web.post(path, data={**form_fields(refused), **VALID}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == f"{path}/done"
    done = world.web.get(sent.headers["location"])
    assert done.status_code == 200 and "Thank you" in done.text
    assert "Brooktorkai 20" in done.text and {k: done.headers[k] for k in PRIVATE} == PRIVATE

    with world.app.uow(read_only=True) as uow:
        client = uow.clients.get(cid)
        inv = uow.invoices.get(inv_id)
    party = client.party
    assert party.name == "Neukunde Software GmbH"
    assert party.address is not None and party.address.lines == ("Brooktorkai 20", "4. OG")
    assert (party.address.postal_code, party.address.city) == ("20457", "Hamburg")
    assert party.emails == ("ap@neukunde.example", "archive@neukunde.example")
    assert (party.tax_id, party.peppol_id) == ("DE811907980", "9930:DE811907980")
    assert (client.po_required, client.payment_method) == (True, "direct_debit")

    [audit] = world.audit("client.intake_submitted")
    changed = audit["detail"]["changed"]
    assert set(changed) == {
        "name",
        "address",
        "emails",
        "peppol_id",
        "po_required",
        "payment_method",
    }
    assert changed["payment_method"] == {"from": None, "to": "direct_debit"}
    token = path.rsplit("/", 1)[1]
    all_audit = json.dumps([a["detail"] for a in world.audit("client.intake_link_created")])
    assert token not in all_audit and token not in json.dumps(audit, default=str)

    # the held draft was issued with the new address
    assert inv.status is InvoiceStatus.ISSUED and inv.number == "INV-2026-000001"
    assert inv.hold_reason is None and inv.buyer.address == party.address

    world.work()
    mails = {m.message["Subject"]: m for m in world.smtp.messages[before:]}
    owner = mails["[autoinvoice] Neukunde Software GmbH sent their billing details"]
    assert owner.rcpt_tos == ("billing@nordlicht.example",)
    body = owner.message.get_content()
    assert "payment_method: (none) → direct_debit" in body and "issued again" in body
    [invoice_mail] = [m for s, m in mails.items() if "INV-2026-000001" in s]
    assert set(invoice_mail.rcpt_tos) == {"ap@neukunde.example", "archive@neukunde.example"}

    # the link works once
    again = world.web.post(path, data=VALID)
    assert again.status_code == 404 and "does not work any more" in again.text
    assert world.web.get(path).status_code == 404
    assert len(world.audit("client.intake_submitted")) == 1


def test_a_draft_that_still_cannot_be_issued_stays_held_with_its_new_reason(world: World) -> None:
    cid, inv_id = held_client(world)
    path = new_link(world, cid)
    # a different VAT number changes the tax details the draft's lines were made with
    data = {**form_fields(world.web.get(path)), **VALID, "tax_id": "DE136695976"}
    assert world.web.post(path, data=data, follow_redirects=False).status_code == 303
    with world.app.uow(read_only=True) as uow:
        inv = uow.invoices.get(inv_id)
        assert uow.clients.get(cid).party.tax_id == "DE136695976"
    assert inv.status is InvoiceStatus.DRAFT and inv.number is None
    assert "tax details of the client" in (inv.hold_reason or "")
    reasons = [a["detail"]["reason"] for a in world.audit("invoice.needs_attention")]
    assert any("tax details of the client" in r for r in reasons)


def test_dead_links_show_the_not_found_page(world: World) -> None:
    cid, _ = held_client(world)
    first = new_link(world, cid)
    second = new_link(world, cid)  # a new link revokes the open one
    for path in (first, "/intake/" + "x" * 43, "/intake/short", f"{second}/done"):
        response = world.web.get(path)
        assert response.status_code == 404, path
        assert "does not work any more" in response.text
        assert {k: response.headers[k] for k in PRIVATE} == PRIVATE
        assert "/invoices" not in response.text  # no way into the admin pages
    assert world.web.post(first, data=VALID).status_code == 404

    assert world.web.get(second).status_code == 200
    world.clock.advance(timedelta(days=14))
    assert world.web.get(second).status_code == 404
    assert world.web.post(second, data=VALID).status_code == 404
    with world.app.uow(read_only=True) as uow:
        assert uow.clients.get(cid).party.address is None


def test_a_post_without_the_forms_own_token_stores_nothing(world: World) -> None:
    cid, _ = held_client(world)
    path = new_link(world, cid)
    other = new_link(world, make_client(world.app, world.entity_id, name="Other AG"))
    fields = form_fields(world.web.get(path))
    other_token = form_fields(world.web.get(other))["form_token"]

    own = fields["form_token"]
    altered = own[:-1] + ("1" if own.endswith("0") else "0")  # one hex digit off
    for token in ("", other_token, "123.abc", altered):
        response = world.web.post(path, data={**fields, **VALID, "form_token": token})
        assert response.status_code == 400, token
        assert form_fields(response)["legal_name"] == VALID["legal_name"]  # kept
        assert "send it again" in response.text

    world.clock.advance(timedelta(hours=25))  # a stale form
    response = world.web.post(path, data={**fields, **VALID})
    assert response.status_code == 400
    with world.app.uow(read_only=True) as uow:
        assert uow.clients.get(cid).party.address is None

    # the fresh token the page came back with is accepted
    fresh = {**form_fields(response), **VALID}
    assert world.web.post(path, data=fresh, follow_redirects=False).status_code == 303


def test_the_api_and_the_cli_make_links(world: World, database_url: str, tmp_path: Any) -> None:
    cid, _ = held_client(world)
    user = accounts.create_user(
        "owner@nordlicht.example",
        "correct horse battery",
        "owner",
        uow=world.app.uow(),
        clock=world.clock,
        hasher=world.app.hasher,
        actor="test",
    )
    key = accounts.create_api_key(
        user, "t", ["read", "write"], uow=world.app.uow(), clock=world.clock
    )
    auth = {"Authorization": f"Bearer {key}"}

    made = world.web.post(f"/api/v1/clients/{cid}/intake-link", headers=auth)
    assert made.status_code == 201
    body = made.json()
    assert body["url"].startswith(f"{BASE}/intake/")
    assert body["expires_at"] == "2026-12-04T09:00:00Z"
    assert world.web.get(body["url"].removeprefix(BASE)).status_code == 200
    missing = world.web.post("/api/v1/clients/9999/intake-link", headers=auth)
    assert missing.status_code == 404
    assert world.web.post(f"/api/v1/clients/{cid}/intake-link").status_code == 401
    reader = accounts.create_api_key(user, "r", ["read"], uow=world.app.uow(), clock=world.clock)
    read_only = {"Authorization": f"Bearer {reader}"}
    assert (
        world.web.post(f"/api/v1/clients/{cid}/intake-link", headers=read_only).status_code == 403
    )

    result = CliRunner().invoke(
        cli,
        ["clients", "intake-link", str(cid), "--database-url", database_url],
        env={"AUTOINVOICE_BASE_URL": BASE, "AUTOINVOICE_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert re.fullmatch(rf"{re.escape(BASE)}/intake/[A-Za-z0-9_-]{{43}}", url)
    with world.app.uow(read_only=True) as uow:
        link = uow.intake_links.by_hash(intake.token_hash(url.rsplit("/", 1)[1]))
    assert link is not None and link.client_id == cid
    # the CLI's link revoked the API's
    assert world.web.get(body["url"].removeprefix(BASE)).status_code == 404

    unknown = CliRunner().invoke(
        cli,
        ["clients", "intake-link", "9999", "--database-url", database_url],
        env={"AUTOINVOICE_DATA_DIR": str(tmp_path)},
    )
    assert unknown.exit_code == 2 and "client 9999 does not exist" in unknown.output
