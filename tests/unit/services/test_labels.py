"""Invoice labels, titles and legal notes in the client's language."""

from __future__ import annotations

import pytest

from autoinvoice.domain.tax import NOTE_EXEMPT, NOTE_EXPORT, NOTE_GST_EXPORT, NOTE_REVERSE_CHARGE
from autoinvoice.services.labels import LANGUAGES, labels_for, title_for, translate_note

DOMAIN_NOTES = (NOTE_REVERSE_CHARGE, NOTE_EXPORT, NOTE_EXEMPT, NOTE_GST_EXPORT)
TRANSLATED = tuple(lang for lang in LANGUAGES if lang != "en")


def is_devanagari(text: str) -> bool:
    return any("\u0900" <= ch <= "\u097f" for ch in text)


def test_the_four_languages_are_there() -> None:
    assert set(LANGUAGES) == {"en", "de", "fr", "hi"}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_language_has_exactly_the_english_keys(lang: str) -> None:
    assert labels_for(lang).keys() == labels_for("en").keys()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_label_is_blank(lang: str) -> None:
    assert all(value.strip() for value in labels_for(lang).values())


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_common_labels_are_translated_not_copied(lang: str) -> None:
    english, translated = labels_for("en"), labels_for(lang)

    for key in ("bill_to", "description", "amount_due", "payment_reference", "notes"):
        assert translated[key] != english[key], key


def test_the_labels_the_brief_names_exist() -> None:
    required = {"payment_reference", "scan_to_pay", "page", "of", "corrects", "draft"}
    required |= {"reference", "tax_summary", "taxable", "notes"}

    assert required <= labels_for("en").keys()


def test_hindi_labels_are_written_in_devanagari() -> None:
    labels = labels_for("hi")

    for key in ("bill_to", "description", "amount_due", "tax_summary", "payment"):
        assert is_devanagari(labels[key]), key


def test_an_unknown_language_falls_back_to_english() -> None:
    assert labels_for("sw") == labels_for("en")


@pytest.mark.parametrize("code", ["de_AT", "de-CH", "DE"])
def test_regional_variants_use_the_language(code: str) -> None:
    assert labels_for(code) == labels_for("de")


def test_a_returned_label_set_is_the_callers_to_change() -> None:
    labels_for("en")["total"] = "changed"

    assert labels_for("en")["total"] == "Total"


@pytest.mark.parametrize(
    ("kind", "lang", "tax_invoice", "title"),
    [
        ("invoice", "en", False, "Invoice"),
        ("invoice", "de", False, "Rechnung"),
        ("invoice", "fr", False, "Facture"),
        ("invoice", "hi", False, "बीजक"),
        ("credit_note", "en", False, "Credit note"),
        ("credit_note", "de", False, "Rechnungskorrektur"),
        ("credit_note", "fr", False, "Avoir"),
        ("credit_note", "hi", False, "क्रेडिट नोट"),
        ("invoice", "en", True, "Tax Invoice"),
        ("invoice", "hi", True, "कर बीजक"),
        ("credit_note", "hi", True, "क्रेडिट नोट"),
        ("invoice", "pt", False, "Invoice"),
    ],
)
def test_titles(kind: str, lang: str, tax_invoice: bool, title: str) -> None:
    assert title_for(kind, lang, tax_invoice=tax_invoice) == title


def test_an_unknown_document_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="receipt"):
        title_for("receipt", "en")


def test_the_reverse_charge_note_in_german_and_french() -> None:
    assert translate_note(NOTE_REVERSE_CHARGE, "de") == (
        "Steuerschuldnerschaft des Leistungsempfängers (Reverse-Charge-Verfahren, "
        "Art. 196 MwSt-Systemrichtlinie 2006/112/EG)."
    )
    assert translate_note(NOTE_REVERSE_CHARGE, "fr") == (
        "Autoliquidation : TVA due par le preneur (art. 196 de la directive 2006/112/CE)."
    )


@pytest.mark.parametrize("note", DOMAIN_NOTES)
@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_domain_note_is_translated(note: str, lang: str) -> None:
    translated = translate_note(note, lang)

    assert translated and translated != note
    assert is_devanagari(translated) == (lang == "hi")


@pytest.mark.parametrize("note", DOMAIN_NOTES)
def test_english_notes_stay_as_the_domain_wrote_them(note: str) -> None:
    assert translate_note(note, "en") == note


def test_the_article_cited_survives_translation() -> None:
    for lang in TRANSLATED:
        assert "196" in translate_note(NOTE_REVERSE_CHARGE, lang)
        assert "44" in translate_note(NOTE_EXPORT, lang)
        assert "IGST" in translate_note(NOTE_GST_EXPORT, lang)


def test_an_unknown_note_passes_through_unchanged() -> None:
    note = "Payable in two instalments as agreed on 3 Nov 2026."

    assert translate_note(note, "de") == note
    assert translate_note(note, "hi") == note
