"""Emails of documents that are settled when they go out — a credit note (money the client
gets), an invoice paid at issue by the client's credit — never ask the client to pay them.
SQLite and PostgreSQL, a real SMTP server."""

from __future__ import annotations

import re

from sqlalchemy import update

from autoinvoice.adapters.db import tables as t
from autoinvoice.services.credit_notes import IssueCreditNote, issue_credit_note
from autoinvoice.services.payments import RecordPayment, record_payment
from reminder_support import issue
from trigger_world import World


def test_a_credit_note_email_does_not_ask_the_client_to_pay_it(world: World) -> None:
    inv_id = issue(world)  # its own email goes out here
    before = len(world.smtp.messages)
    out = issue_credit_note(
        IssueCreditNote(inv_id, "project cancelled"),
        uow=world.app.uow(),
        clock=world.app.clock,
        actor="test",
    )
    world.work()
    (mail,) = [m.message for m in world.smtp.messages[before:]]
    subject = mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert out.number in subject
    assert not subject.startswith("Invoice") and " due " not in subject, subject
    assert "RF" not in body and "due on" not in body, body


def test_an_invoice_settled_by_client_credit_at_issue_is_not_sent_as_due(world: World) -> None:
    first = issue(world)  # 1190.00
    record_payment(  # paid twice over: 1190.00 is kept as client credit
        RecordPayment(first, "2380.00"), uow=world.app.uow(), clock=world.app.clock, actor="t"
    )
    before = len(world.smtp.messages)
    second = issue(world)  # 1190.00, settled at once by the credit
    with world.app.uow(read_only=True) as uow:
        assert uow.invoices.get(second).status.value == "paid"
    (mail,) = [m.message for m in world.smtp.messages[before:]]
    body = mail.get_body(("plain",)).get_content()
    assert "due on" not in body and " due " not in mail["Subject"], (mail["Subject"], body)


def test_a_credit_note_email_and_portal_page_say_what_it_credits_in_the_clients_language(
    world: World,
) -> None:
    inv_id = issue(world)
    with world.app.engine.begin() as c:  # a German client
        c.execute(update(t.clients).values(language="de"))
    with world.app.uow(read_only=True) as uow:
        number = uow.invoices.get(inv_id).number
    before = len(world.smtp.messages)
    out = issue_credit_note(
        IssueCreditNote(inv_id, "Projekt abgesagt"),
        uow=world.app.uow(),
        clock=world.app.clock,
        actor="test",
    )
    world.work()
    (mail,) = [m.message for m in world.smtp.messages[before:]]
    assert mail["Subject"].startswith(f"Rechnungskorrektur {out.number} von ")
    subject = " ".join(mail["Subject"].split())  # the header folds at the non-breaking space
    assert subject.endswith(f"— 1.190,00 €, zur Rechnung {number}"), subject
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert f"zur Rechnung {number}" in text and "Sie müssen nichts zahlen" in text
    assert "Zahlbetrag" not in html and "Fällig" not in html and "Zahlungsreferenz" not in html
    assert "Gutschriftsbetrag" in html and "Rechnungskorrektur online ansehen" in html

    (portal,) = set(re.findall(r"https?://\S+/portal/invoices/[\w-]+", text))
    page = world.web.get(portal)
    assert page.status_code == 200
    assert "Amount credited" in page.text and f"Credits invoice {number}" in page.text
    for wrong in ("Paid in full", "Balance due", "Pay now", "How to pay"):
        assert wrong not in page.text, wrong


def test_an_invoice_paid_from_credit_says_so_in_its_email(world: World) -> None:
    first = issue(world)
    record_payment(
        RecordPayment(first, "2380.00"), uow=world.app.uow(), clock=world.app.clock, actor="t"
    )
    before = len(world.smtp.messages)
    issue(world)
    (mail,) = [m.message for m in world.smtp.messages[before:]]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert mail["Subject"].endswith("— €1,190.00, paid"), mail["Subject"]
    assert "paid in full from your credit balance — nothing to pay" in text
    assert "RF" not in text and "Amount due" not in html and "RF" not in html


def test_an_invoice_partly_paid_from_credit_asks_only_for_what_is_left(world: World) -> None:
    first = issue(world)  # 1190.00
    record_payment(  # 400.00 too much: kept as client credit
        RecordPayment(first, "1590.00"), uow=world.app.uow(), clock=world.app.clock, actor="t"
    )
    before = len(world.smtp.messages)
    second = issue(world)  # 1190.00, of which the 400.00 credit pays part at issue
    with world.app.uow(read_only=True) as uow:
        assert uow.invoices.get(second).status.value == "partially_paid"
    (mail,) = [m.message for m in world.smtp.messages[before:]]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "— €790.00 due " in mail["Subject"], mail["Subject"]
    assert "for €1,190.00 (€400.00 already paid or credited, €790.00 left to pay), due on" in text
    assert "<strong>€790.00</strong>" in html and "€400.00 / €1,190.00" in html
