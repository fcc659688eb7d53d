"""The emails of settled documents in every language the wording knows: a credit note names
the invoice it credits and says there is nothing to pay; an invoice paid from the client's
credit says so. Neither prints a due date, an amount due or a payment reference."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest

from autoinvoice.adapters.email.templates import EmailTemplates
from autoinvoice.services.labels import email_labels_for

LANGUAGES = ("en", "de", "fr", "hi")


def _context(lang: str, **invoice: Any) -> dict[str, Any]:
    return {
        "t": email_labels_for(lang),
        "client": {"name": "Acme GmbH", "contact_name": None},
        "seller": {"name": "Nordlicht IT", "email": "billing@nordlicht.example"},
        "portal_url": "https://ai.example/portal/invoices/tok",
        "lang": lang,
        "invoice": {
            "number": "INV-2026-000002",
            "kind": "invoice",
            "total": "€1,190.00",
            "due_date": "",
            "currency": "EUR",
            "balance": "€0.00",
            "settled": True,
            "paid_from_credit": False,
            "corrects": None,
            "payment_reference": None,
            **invoice,
        },
    }


def _due_words(t: dict[str, str]) -> list[str]:
    return [t["due_on"], t["amount_due"], t["quote_reference"], t["payment_reference"]]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_credit_note_email_names_the_credited_invoice_and_asks_for_nothing(lang: str) -> None:
    t = email_labels_for(lang)
    ctx = _context(lang, number="CN-2026-000001", kind="credit_note", corrects="INV-2026-000001")
    mail = EmailTemplates().render_email("credit_note_email", ctx)
    assert mail.subject.startswith(f"{t['credit_note']} CN-2026-000001 ")
    assert mail.subject.endswith(f"€1,190.00, {t['cn_crediting']} INV-2026-000001")
    for body in (mail.text, unescape(mail.html)):
        assert "INV-2026-000001" in body and t["cn_nothing_to_pay"].split(":")[0] in body
        assert not [w for w in _due_words(t) if w in body], body
    assert t["cn_button"] in unescape(mail.html) and t["amount_credited"] in unescape(mail.html)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_invoice_paid_from_credit_says_there_is_nothing_to_pay(lang: str) -> None:
    t = email_labels_for(lang)
    mail = EmailTemplates().render_email("invoice_email", _context(lang, paid_from_credit=True))
    assert mail.subject.endswith(f"€1,190.00, {t['paid']}") and t["due"] not in mail.subject
    for body in (mail.text, unescape(mail.html)):
        assert t["paid_from_credit"] in body
        assert not [w for w in _due_words(t) if w in body], body


def test_an_invoice_paid_otherwise_before_its_email_says_it_is_paid() -> None:
    mail = EmailTemplates().render_email("invoice_email", _context("en"))
    assert "already paid in full — nothing to pay" in mail.text
