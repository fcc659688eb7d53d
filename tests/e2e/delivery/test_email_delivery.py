"""Invoice emails through a real SMTP server (aiosmtpd), on both databases: copies to the
client's cc and bcc, the organisation's sender identity and reply-to, sandbox mode per
organisation, and one invoice even when the server's answer to DATA is lost."""

from __future__ import annotations

from decimal import Decimal

from autoinvoice.domain.invoice import Invoice, InvoiceLine
from autoinvoice.domain.tax import TaxKind, determine_tax
from autoinvoice.services import setup
from autoinvoice.services.invoicing import issue_invoice, save_draft
from autoinvoice.services.jobs import backoff
from trigger_world import World


def _issue(world: World) -> int:
    with world.app.uow() as uow:
        client = uow.clients.get(world.client_id)
        seller = uow.entities.get(client.entity_id).party
        inv = Invoice(seller, client.party, "EUR", client.terms)
        tax = determine_tax(seller.tax_profile, client.party.tax_profile, TaxKind.STANDARD)
        inv.add_line(
            InvoiceLine("Managed IT services, November 2026", Decimal(1), Decimal(900), tax)
        )
        inv_id = save_draft(
            inv, uow=uow, client_id=world.client_id, now=world.clock.now(), actor="test"
        )
        uow.commit()
    issue_invoice(inv_id, uow=world.app.uow(), clock=world.app.clock, actor="test")
    return inv_id


def test_copies_go_to_cc_and_bcc_and_replies_to_the_organisation(world: World) -> None:
    setup.set_client_recipients(
        world.client_id,
        cc=["controller@hanseatic.example"],
        bcc=["archive@hanseatic.example"],
        uow=world.app.uow(),
        clock=world.app.clock,
        actor="test",
    )
    _issue(world)
    world.work()
    [received] = world.smtp.messages
    assert set(received.rcpt_tos) == {
        "ap@hanseatic.example",
        "controller@hanseatic.example",
        "archive@hanseatic.example",
    }
    mail = received.message
    assert mail["To"] == "ap@hanseatic.example"
    assert mail["Cc"] == "controller@hanseatic.example"
    assert mail["Bcc"] is None  # blind: in the envelope only
    assert mail["Reply-To"] == "billing@nordlicht.example"
    assert mail["From"] == "Nordlicht IT Services GmbH <billing@nordlicht.example>"


def test_sandbox_mode_sends_everything_to_the_test_inbox(world: World) -> None:
    setup.set_client_recipients(
        world.client_id,
        cc=["controller@hanseatic.example"],
        bcc=[],
        uow=world.app.uow(),
        clock=world.app.clock,
        actor="test",
    )
    setup.set_sandbox(
        world.entity_id,
        "qa-inbox@nordlicht.example",
        uow=world.app.uow(),
        clock=world.app.clock,
        actor="test",
    )
    _issue(world)
    world.work()
    [received] = world.smtp.messages
    assert received.rcpt_tos == ("qa-inbox@nordlicht.example",)
    mail = received.message
    assert mail["To"] == "qa-inbox@nordlicht.example" and mail["Cc"] is None
    assert mail["X-Autoinvoice-Intended-To"] == "ap@hanseatic.example"
    assert mail["X-Autoinvoice-Intended-Cc"] == "controller@hanseatic.example"
    body = mail.get_body(("plain",)).get_content()
    assert body.startswith("[Sandbox: this email was not sent to the client.")
    assert "To: ap@hanseatic.example" in body
    # sandbox off: the next invoice goes to the client again
    setup.set_sandbox(
        world.entity_id, None, uow=world.app.uow(), clock=world.app.clock, actor="test"
    )
    _issue(world)
    world.work()
    assert world.smtp.messages[-1].rcpt_tos[0] == "ap@hanseatic.example"


def test_a_lost_answer_to_data_does_not_make_two_invoices(world: World) -> None:
    world.smtp.drop_after_data = 1  # the server keeps the mail, the answer never arrives
    inv_id = _issue(world)
    world.work()
    with world.app.uow(read_only=True) as uow:
        assert uow.invoices.get(inv_id).status == "issued"  # not known to be sent
    world.clock.advance(backoff(1))
    world.work()
    first, second = world.smtp.messages
    # the retry is the same message: a mailbox keyed on Message-ID shows one invoice
    assert first.message["Message-ID"] == second.message["Message-ID"]
    assert first.message["Subject"] == second.message["Subject"]
    assert len({m.message["Message-ID"] for m in world.smtp.messages}) == 1
    with world.app.uow(read_only=True) as uow:
        assert uow.invoices.get(inv_id).status == "sent"
        [logged] = uow.messages.for_invoice(inv_id)
        assert logged["status"] == "sent"
    assert len(world.audit("invoice.sent")) == 1


def test_the_organisations_own_email_templates_are_used(tmp_path, database_url) -> None:  # type: ignore[no-untyped-def]
    from autoinvoice.adapters.clock import ManualClock
    from builders import START, make_app

    folder = tmp_path / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "invoice_email.subject.txt").write_text(
        "Rechnung {{ invoice.number }} — {{ invoice.total }}"
    )
    app = make_app(database_url, tmp_path, clock=ManualClock(START))
    rendered = app.templates.render_email(
        "invoice_email",
        {
            "invoice": {
                "number": "INV-1",
                "total": "€10.00",
                "due_date": "1 Jan 2027",
                "currency": "EUR",
                "balance": "€10.00",
                "payment_reference": "RF47 INV1",
            },
            "client": {"name": "A", "contact_name": None},
            "seller": {"name": "B", "email": "b@example.com"},
            "portal_url": "https://x.example/p",
        },
    )
    assert rendered.subject == "Rechnung INV-1 — €10.00"  # the override
    assert "RF47 INV1" in rendered.text  # the package's body, with the payment reference
    app.engine.dispose()


def test_bad_recipient_or_sandbox_addresses_are_refused_and_change_nothing(world: World) -> None:
    import pytest

    from autoinvoice.domain.errors import InvalidValue

    with pytest.raises(InvalidValue, match="'not an address' is not an email address") as err:
        setup.set_client_recipients(
            world.client_id,
            cc=["controller@hanseatic.example", "not an address"],
            bcc=[],
            uow=world.app.uow(),
            clock=world.app.clock,
            actor="test",
        )
    assert err.value.field == "cc[1]"
    with pytest.raises(InvalidValue, match="is not an email address"):
        setup.set_sandbox(
            world.entity_id, "qa-inbox", uow=world.app.uow(), clock=world.app.clock, actor="test"
        )
    with world.app.uow(read_only=True) as uow:
        assert uow.clients.get(world.client_id).cc == ()
        assert uow.entities.get(world.entity_id).sandbox_to is None
