"""Email templates edited in the web app, on both databases: a saved edit is what the next
invoice email says; every save is a version, a reset goes back to the shipped text; a
template that does not parse, reaches for Python internals or names an unknown variable is
refused with its line and never stored."""

from __future__ import annotations

from decimal import Decimal

import pytest

from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.invoice import Invoice, InvoiceLine
from autoinvoice.domain.tax import TaxKind, determine_tax
from autoinvoice.services import user_templates as ut
from autoinvoice.services.invoicing import issue_invoice, save_draft
from trigger_world import World

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _draft(world: World) -> int:
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
    return inv_id


def _defaults(world: World, name: str = "invoice_email") -> ut.EmailDraft:
    return ut.current_draft(name, uow=world.app.uow(), templates=world.app.templates)


def _save(world: World, draft: ut.EmailDraft, invoice_id: int | None, name: str = "invoice_email"):  # type: ignore[no-untyped-def]
    return ut.save_email_template(
        name,
        draft,
        invoice_id=invoice_id,
        uow=world.app.uow(),
        clock=world.app.clock,
        actor="user:owner@nordlicht.example",
        templates=world.app.templates,
        config=world.app.delivery_config,
    )


def _versions(world: World, name: str = "invoice_email") -> list[ut.UserTemplate]:
    with world.app.uow(read_only=True) as uow:
        return uow.user_templates.history(name)


def test_the_next_invoice_email_uses_the_saved_subject_and_bodies(world: World) -> None:
    draft_id = _draft(world)
    edited = ut.EmailDraft(
        subject="Rechnung {{ invoice.number }}: {{ invoice.total }}",
        text="Moin {{ client.name }},\nanbei {{ invoice.number }}.\n{{ portal_url }}\n",
        html='{% extends "_email_layout.html" %}{% block intro %}Edited intro for '
        "{{ invoice.number }}{% endblock %}",
    )
    saved = _save(world, edited, draft_id)
    assert saved.version == 1

    issue_invoice(draft_id, uow=world.app.uow(), clock=world.app.clock, actor="test")
    world.work()
    [received] = world.smtp.messages
    mail = received.message
    with world.app.uow(read_only=True) as uow:
        number = uow.invoices.get(draft_id).number
    assert mail["Subject"].startswith(f"Rechnung {number}: ")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert f"anbei {number}." in text
    assert f"Edited intro for {number}" in html
    [audit] = world.audit("template.saved")
    assert audit["subject_id"] == "invoice_email"
    assert audit["actor"] == "user:owner@nordlicht.example"


def test_each_save_is_a_version_and_reset_brings_back_the_shipped_text(world: World) -> None:
    draft_id = _draft(world)
    shipped = _defaults(world)
    for n in (1, 2):
        _save(world, ut.EmailDraft(f"Subject {n} {{{{ invoice.number }}}}", "t", "h"), draft_id)
    assert [v.version for v in _versions(world)] == [2, 1]
    assert _defaults(world).subject == "Subject 2 {{ invoice.number }}"
    with world.app.uow(read_only=True) as uow:
        assert uow.user_templates.sources()["invoice_email.subject.txt"].startswith("Subject 2")

    reset = ut.reset_email_template(
        "invoice_email", uow=world.app.uow(), clock=world.app.clock, actor="test"
    )
    assert reset.version == 3 and reset.is_reset
    assert _defaults(world) == shipped
    with world.app.uow(read_only=True) as uow:
        assert uow.user_templates.sources() == {}
        assert uow.user_templates.current("invoice_email") is None
    assert [v.version for v in _versions(world)] == [3, 2, 1]  # the history stays
    assert len(world.audit("template.reset")) == 1


BAD = [
    ("subject", "{{ ''.__class__.__mro__ }}", "line 1: '__mro__' is not allowed"),
    ("text", "Hi\n{{ cycler.__init__.__globals__ }}", "line 2: '__globals__' is not allowed"),
    ("html", "{% include '/etc/passwd' %}", "cannot include or import other files"),
    ("html", "{% extends '/etc/passwd' %}", "may only extend '_email_layout.html'"),
    ("text", "{{ ''|attr('__class__') }}", "not allowed in a template"),
    ("text", "{% import 'invoice_email.txt' as x %}", "cannot include or import"),
    ("subject", "{{ invoice.number }", "line 1: unexpected '}'"),
    ("text", "Hello\n\n{{ invoice.totl }}", "line 3: there is no variable 'invoice.totl'"),
    ("text", "{{ settings.smtp_password }}", "there is no variable 'settings'"),
    ("text", "{{ config }}{{ self.__dict__ }}", "'__dict__' is not allowed"),
    ("text", "{% for i in range(100000) %}{% endfor %}", "range() is limited"),
    ("subject", "  ", "the subject is empty"),
]


def test_a_bad_template_is_refused_with_its_line_and_never_stored(world: World) -> None:
    draft_id = _draft(world)
    good = _defaults(world)
    for field, source, message in BAD:
        parts = {"subject": good.subject, "text": good.text, "html": good.html, field: source}
        with pytest.raises(InvalidValue) as err:
            _save(world, ut.EmailDraft(**parts), draft_id)
        assert message in err.value.message, (source, err.value.message)
        assert err.value.field == field
    assert _versions(world) == []
    assert world.audit("template.saved") == []


@SQLITE_ONLY  # reads only: nothing here is stored
def test_a_template_is_checked_against_a_sample_when_there_is_no_invoice_yet(
    world: World,
) -> None:
    draft = ut.EmailDraft("{{ t.reminder_subject if false else 'Reminder' }}", "x", "y")
    saved = _save(world, draft, None, name="reminder_email")
    assert saved.version == 1
    with pytest.raises(InvalidValue, match=r"there is no variable 'reminder\.nope'"):
        _save(world, ut.EmailDraft("{{ reminder.nope }}", "x", "y"), None, name="reminder_email")


@SQLITE_ONLY  # reads only: nothing here is stored
def test_the_context_offers_what_the_email_prints_and_no_secret(world: World) -> None:
    draft_id = _draft(world)
    context = ut.email_context(
        "invoice_email", draft_id, uow=world.app.uow(), config=world.app.delivery_config
    )
    assert set(context) == {"invoice", "client", "seller", "portal_url", "lang", "t"}
    names = [name for name, _ in ut.variables(context)]
    assert "invoice.number" in names and "seller.email" in names
    assert not any("password" in n or "secret" in n or "token" in n for n in names)
    assert context["invoice"]["number"] == "INV-(number at issue)"  # a draft has none yet


@SQLITE_ONLY  # reads only: nothing here is stored
def test_the_pdf_preview_uses_the_unsaved_branding_and_is_marked_draft(world: World) -> None:
    from autoinvoice.domain.documents import Branding

    draft_id = _draft(world)
    issue_invoice(draft_id, uow=world.app.uow(), clock=world.app.clock, actor="test")
    doc = ut.preview_document(
        draft_id, Branding(layout="modern", accent="#c2185b"), "HRB 1", uow=world.app.uow()
    )
    assert doc["branding"]["accent"] == "#c2185b" and doc["branding"]["layout"] == "modern"
    assert doc["footer"] == "HRB 1"
    assert doc["number"] is None  # an issued invoice previewed is marked DRAFT
    with world.app.uow(read_only=True) as uow:  # nothing stored
        assert uow.entities.get(uow.clients.get(world.client_id).entity_id).footer != "HRB 1"
    with pytest.raises(InvalidValue, match="the limit is 500"):
        ut.preview_document(draft_id, Branding(), "x" * 501, uow=world.app.uow())


def test_a_reminder_uses_the_saved_reminder_template(world: World) -> None:
    from datetime import UTC, date, datetime, timedelta

    from autoinvoice.services import reminders as rem
    from reminder_support import issue

    inv_id = issue(world)
    _save(
        world,
        ut.EmailDraft(
            "Bitte zahlen: {{ invoice.number }}",
            "Offen: {{ reminder.total_due }}\n",
            "<p>Offen: {{ reminder.total_due }}</p>",
        ),
        inv_id,
        name="reminder_email",
    )
    due = date(2026, 12, 20) - timedelta(days=3)
    world.clock.set(datetime(due.year, due.month, due.day, 9, tzinfo=UTC))
    assert rem.run_reminders(uow=world.app.uow(), clock=world.app.clock).queued == 1
    world.work()
    world.work()
    [mail] = [
        m.message for m in world.smtp.messages if m.message["Message-ID"].startswith("<reminder-")
    ]
    assert mail["Subject"].startswith("Bitte zahlen: INV-2026-")
    assert "Offen: €1,190.00" in mail.get_body(("plain",)).get_content()
