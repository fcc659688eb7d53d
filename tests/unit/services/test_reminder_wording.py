"""The reminder's words in every language and tone, rendered through the real (sandboxed,
strict) email templates: nothing missing, and the wording escalates."""

from __future__ import annotations

import pytest

from autoinvoice.adapters.email.templates import EmailTemplates
from autoinvoice.domain.dunning import Tone
from autoinvoice.services.reminder_wording import reminder_labels_for

LANGS = ("en", "de", "fr", "hi")


def context(lang: str, tone: Tone, fee: str | None = None) -> dict[str, object]:
    return {
        "invoice": {
            "number": "INV-2026-000123",
            "total": "€1,190.00",
            "due_date": "20 Dec 2026",
            "currency": "EUR",
            "balance": "€1,190.00",
            "payment_reference": "RF18 INV2 0260 0012 3",
        },
        "client": {"name": "Hanseatic Logistics AG", "contact_name": None},
        "seller": {"name": "Nordlicht IT Services GmbH", "email": "billing@nordlicht.example"},
        "portal_url": "https://billing.example.com/portal/invoices/abc",
        "lang": lang,
        "t": reminder_labels_for(lang),
        "reminder": {
            "tone": tone.value,
            "step": 2,
            "days_overdue": 9,
            "fee": fee,
            "fee_invoice": "INV-2026-000124" if fee else None,
            "total_due": "€1,230.00" if fee else "€1,190.00",
            "pay_by": "3 Jan 2027",
        },
    }


@pytest.mark.parametrize("lang", LANGS)
def test_every_language_has_every_word_of_every_tone(lang: str) -> None:
    words = reminder_labels_for(lang)
    english = reminder_labels_for("en")
    assert set(words) == set(english)
    for tone in Tone:
        assert words[f"subject_{tone}"] and words[f"intro_{tone}"]
        if lang != "en":
            assert words[f"subject_{tone}"] != english[f"subject_{tone}"], (lang, tone)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("tone", list(Tone))
def test_the_templates_render_each_tone_in_each_language(lang: str, tone: Tone) -> None:
    subject, text, html = EmailTemplates().render_email(
        "reminder_email", context(lang, tone, fee="€40.00")
    )
    t = reminder_labels_for(lang)
    assert subject.startswith(t[f"subject_{tone}"]) and "INV-2026-000123" in subject
    assert "{number}" not in text and "INV-2026-000123" in text and "€40.00" in text
    assert "€1,230.00" in html and t["late_fee"] in html
    assert "INV-2026-000124" in text and "INV-2026-000124" in html  # the fee's own invoice


def test_a_reminder_without_a_fee_prints_no_fee_line() -> None:
    _, text, _ = EmailTemplates().render_email("reminder_email", context("de", Tone.FIRM))
    assert "Mahngebühr" not in text and "Offener Betrag: €1,190.00" in text
