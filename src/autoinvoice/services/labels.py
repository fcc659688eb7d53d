"""The words printed on an invoice, in the client's language: labels, titles, legal notes.

Pure data, no I/O. The PDF templates (``adapters/documents/templates/invoice``) merge a
label set over their English defaults, so every key here is a key a template may print;
a language that is not listed falls back to English.

Vocabulary follows what invoices in each country really print: German "Rechnung", "USt-IdNr.",
"Leistungszeitraum" (§ 14 Abs. 4 UStG wording); French "Facture", "Avoir", "Total HT/TTC",
"Net à payer" (art. 242 nonies A annexe II CGI wording); Hindi "बीजक" for invoice and
"कर बीजक" for the GST "Tax Invoice" (Rule 46 CGST Rules), "GST" terms as in the official Hindi
text of the CGST Rules ("प्रदाय" supply, "संदाय" payment, "वचनपत्र" letter of undertaking).

>>> labels_for("de")["amount_due"]
'Zahlbetrag'
>>> title_for("invoice", "hi", tax_invoice=True)
'कर बीजक'
>>> translate_note("Exempt from VAT.", "fr")
'Exonéré de TVA.'
"""

from __future__ import annotations

from typing import Final

from ..domain.tax import NOTE_EXEMPT, NOTE_EXPORT, NOTE_GST_EXPORT, NOTE_REVERSE_CHARGE

__all__ = ["LANGUAGES", "labels_for", "title_for", "translate_note"]

_EN: Final = {
    "invoice": "Invoice",
    "credit_note": "Credit note",
    "tax_invoice": "Tax Invoice",
    "invoice_no": "Invoice no.",
    "credit_note_no": "Credit note no.",
    "issue_date": "Issue date",
    "due_date": "Due date",
    "service_period": "Service period",
    "bill_to": "Bill to",
    "from": "From",
    "reference": "Your reference",
    "tax_id": "Tax ID",
    "description": "Description",
    "qty": "Qty",
    "unit_price": "Unit price",
    "tax": "Tax",
    "amount": "Amount",
    "subtotal": "Subtotal",
    "total": "Total",
    "paid": "Paid",
    "amount_due": "Amount due",
    "amount_credited": "Amount credited",
    "tax_summary": "Tax summary",
    "taxable": "Taxable amount",
    "payment": "Payment",
    "terms": "Terms",
    "bank": "Bank",
    "account_holder": "Account holder",
    "account": "Account",
    "terms_receipt": "Due on receipt",
    "terms_net": "Net {days} days",
    "terms_eom": "End of month + {days} days",
    "payment_reference": "Payment reference",
    "scan_to_pay": "Scan to pay",
    "notes": "Notes",
    "corrects": "Corrects invoice",
    "draft": "DRAFT",
    "page": "Page",
    "of": "of",
    "facturx": "This PDF contains a structured e-invoice (Factur-X).",
}

_DE: Final = {
    "invoice": "Rechnung",
    "credit_note": "Rechnungskorrektur",  # "Gutschrift" is a self-billed invoice (§14 UStG)
    "tax_invoice": "Rechnung",
    "invoice_no": "Rechnungsnr.",
    "credit_note_no": "Korrektur-Nr.",
    "issue_date": "Datum",
    "due_date": "Fällig am",
    "service_period": "Leistungszeitraum",
    "bill_to": "Rechnungsempfänger",
    "from": "Von",
    "reference": "Ihre Referenz",
    "tax_id": "USt-IdNr.",
    "description": "Beschreibung",
    "qty": "Menge",
    "unit_price": "Einzelpreis",
    "tax": "USt.",
    "amount": "Betrag",
    "subtotal": "Nettobetrag",
    "total": "Gesamtbetrag",
    "paid": "Bereits bezahlt",
    "amount_due": "Zahlbetrag",
    "amount_credited": "Gutschriftsbetrag",
    "tax_summary": "Umsatzsteuer",
    "taxable": "Bemessungsgrundlage",
    "payment": "Zahlung",
    "terms": "Zahlungsbedingungen",
    "bank": "Bank",
    "account_holder": "Kontoinhaber",
    "account": "Konto",
    "terms_receipt": "Zahlbar sofort nach Erhalt",
    "terms_net": "Zahlbar innerhalb von {days} Tagen ohne Abzug",
    "terms_eom": "Zahlbar {days} Tage nach Monatsende",
    "payment_reference": "Verwendungszweck",
    "scan_to_pay": "Mit der Banking-App scannen",
    "notes": "Hinweise",
    "corrects": "Korrektur zur Rechnung",
    "draft": "ENTWURF",
    "page": "Seite",
    "of": "von",
    "facturx": "Dieses PDF enthält eine strukturierte E-Rechnung (Factur-X).",
}

_FR: Final = {
    "invoice": "Facture",
    "credit_note": "Avoir",
    "tax_invoice": "Facture",
    "invoice_no": "Facture n°",
    "credit_note_no": "Avoir n°",
    "issue_date": "Date d'émission",
    "due_date": "Date d'échéance",
    "service_period": "Période de prestation",
    "bill_to": "Facturé à",
    "from": "Émetteur",
    "reference": "Votre référence",
    "tax_id": "N° TVA",
    "description": "Désignation",
    "qty": "Qté",
    "unit_price": "Prix unitaire HT",
    "tax": "TVA",
    "amount": "Montant HT",
    "subtotal": "Total HT",
    "total": "Total TTC",
    "paid": "Déjà réglé",
    "amount_due": "Net à payer",
    "amount_credited": "Montant de l'avoir",
    "tax_summary": "Récapitulatif TVA",
    "taxable": "Base HT",
    "payment": "Règlement",
    "terms": "Conditions de paiement",
    "bank": "Banque",
    "account_holder": "Titulaire du compte",
    "account": "Compte",
    "terms_receipt": "Payable à réception",
    "terms_net": "Paiement à {days} jours",
    "terms_eom": "Paiement à {days} jours fin de mois",
    "payment_reference": "Référence de paiement",
    "scan_to_pay": "Scanner pour payer",
    "notes": "Mentions",
    "corrects": "Avoir relatif à la facture",
    "draft": "BROUILLON",
    "page": "Page",
    "of": "sur",
    "facturx": "Ce PDF contient une facture électronique structurée (Factur-X).",
}

_HI: Final = {
    "invoice": "बीजक",
    "credit_note": "क्रेडिट नोट",
    "tax_invoice": "कर बीजक",
    "invoice_no": "बीजक सं.",
    "credit_note_no": "क्रेडिट नोट सं.",
    "issue_date": "जारी करने की तिथि",
    "due_date": "देय तिथि",
    "service_period": "सेवा अवधि",
    "bill_to": "बिल प्राप्तकर्ता",
    "from": "आपूर्तिकर्ता",
    "reference": "आपका संदर्भ",
    "tax_id": "कर पहचान सं.",
    "description": "विवरण",
    "qty": "मात्रा",
    "unit_price": "दर",
    "tax": "कर",
    "amount": "राशि",
    "subtotal": "उप-योग",
    "total": "कुल राशि",
    "paid": "प्राप्त भुगतान",
    "amount_due": "देय राशि",
    "amount_credited": "क्रेडिट राशि",
    "tax_summary": "कर सारांश",
    "taxable": "कर योग्य मूल्य",
    "payment": "भुगतान",
    "terms": "भुगतान की शर्तें",
    "bank": "बैंक",
    "account_holder": "खाताधारक",
    "account": "खाता संख्या",
    "terms_receipt": "प्राप्ति पर देय",
    "terms_net": "{days} दिनों में देय",
    "terms_eom": "माह के अंत से {days} दिनों में देय",
    "payment_reference": "भुगतान संदर्भ",
    "scan_to_pay": "भुगतान के लिए स्कैन करें",
    "notes": "टिप्पणियाँ",
    "corrects": "मूल बीजक सं.",
    "draft": "प्रारूप",
    "page": "पृष्ठ",
    "of": "/",
    "facturx": "इस PDF में संरचित ई-बीजक (Factur-X) शामिल है।",
}

_LABELS: Final = {"en": _EN, "de": _DE, "fr": _FR, "hi": _HI}

LANGUAGES: Final = tuple(_LABELS)
"""Languages with a complete label set; any other falls back to English."""

# The legal notes the domain emits (domain/tax.py), in English, translated per language.
_GST_EXEMPT = "Exempt supply under GST."  # literal in domain/tax.py (no NOTE_ constant yet)

_NOTES: Final[dict[str, dict[str, str]]] = {
    NOTE_REVERSE_CHARGE: {
        "de": "Steuerschuldnerschaft des Leistungsempfängers (Reverse-Charge-Verfahren, "
        "Art. 196 MwSt-Systemrichtlinie 2006/112/EG).",
        "fr": "Autoliquidation : TVA due par le preneur (art. 196 de la directive 2006/112/CE).",
        "hi": "रिवर्स चार्ज: कर का संदाय प्राप्तकर्ता द्वारा किया जाएगा "
        "(परिषद निर्देश 2006/112/EC, अनुच्छेद 196)।",
    },
    NOTE_EXPORT: {
        "de": "Im Inland nicht steuerbare Leistung: Leistungsort ist das Land des "
        "Leistungsempfängers (Art. 44 MwSt-Systemrichtlinie 2006/112/EG).",
        "fr": "TVA non applicable dans le pays du prestataire : le lieu de la prestation est "
        "le pays du preneur (art. 44 de la directive 2006/112/CE).",
        "hi": "विक्रेता के देश में वैट देय नहीं: प्रदाय का स्थान प्राप्तकर्ता का देश है "
        "(परिषद निर्देश 2006/112/EC, अनुच्छेद 44)।",
    },
    NOTE_EXEMPT: {
        "de": "Von der Umsatzsteuer befreit.",
        "fr": "Exonéré de TVA.",
        "hi": "वैट से छूट प्राप्त।",
    },
    NOTE_GST_EXPORT: {
        "de": "Ausfuhrleistung unter LUT (Letter of Undertaking) ohne Zahlung der "
        "integrierten Steuer (IGST).",
        "fr": "Prestation destinée à l'exportation sous LUT (Letter of Undertaking), sans "
        "paiement de la taxe intégrée (IGST).",
        "hi": "एकीकृत कर (IGST) के संदाय के बिना वचनपत्र (LUT) के अधीन निर्यात के लिए आशयित प्रदाय।",
    },
    _GST_EXEMPT: {
        "de": "Nach GST steuerbefreite Leistung.",
        "fr": "Prestation exonérée de GST.",
        "hi": "जीएसटी के अंतर्गत छूट प्राप्त प्रदाय।",
    },
}


def _language(lang: str) -> str:
    """``"de_AT"``, ``"de-AT"`` and ``"DE"`` all mean German."""
    return lang.replace("-", "_").split("_")[0].lower()


def labels_for(lang: str) -> dict[str, str]:
    """The complete label set for ``lang`` (an ISO 639 code); English when unknown.

    Returns a fresh dict the caller may change.
    """
    return dict(_LABELS.get(_language(lang), _EN))


def title_for(kind: str, lang: str, tax_invoice: bool = False) -> str:
    """The document title: ``"invoice"`` or ``"credit_note"`` in ``lang``.

    ``tax_invoice`` asks for India's "Tax Invoice" (CGST Rules, Rule 46); languages without
    such a title (German, French) print their plain word for invoice.
    """
    labels = _LABELS.get(_language(lang), _EN)
    if kind == "credit_note":
        return labels["credit_note"]
    if kind != "invoice":
        raise ValueError(f"unknown document kind {kind!r} (invoice or credit_note)")
    return labels["tax_invoice" if tax_invoice else "invoice"]


def translate_note(note: str, lang: str) -> str:
    """A legal note from ``domain.tax`` in ``lang``; notes it does not know pass through."""
    translations = _NOTES.get(note)
    if translations is None:
        return note
    return translations.get(_language(lang), note)


# -- the invoice email's wording (templates get it as ``t``) ---------------------------------
_EMAIL_EN = {
    "invoice": "Invoice",
    "from": "from",
    "due": "due",
    "hello": "Hello",
    "attached": "Please find attached invoice",
    "for": "for",
    "due_on": "due on",
    "quote_reference": "When you pay by bank transfer, please quote the payment reference",
    "view_online": "You can also view and download it online:",
    "button": "View invoice online",
    "questions": "If you have any questions about this invoice, just reply to this email",
    "or_write": "or write to",
    "thanks": "Thank you for your business!",
    "regards": "Kind regards,",
    "amount_due": "Amount due",
    "due_date": "Due date",
    "payment_reference": "Payment reference",
    "link_help": "If the button does not work, copy this link into your browser:",
    # an invoice with nothing left to pay when it goes out
    "paid": "paid",
    "paid_label": "Paid",
    "paid_or_credited": "already paid or credited",
    "left_to_pay": "left to pay",
    "paid_from_credit": "paid in full from your credit balance — nothing to pay",
    "paid_in_full": "already paid in full — nothing to pay",
    # a credit note (money the client gets back or keeps as credit)
    "credit_note": "Credit note",
    "cn_attached": "Please find attached credit note",
    "cn_crediting": "crediting invoice",
    "cn_nothing_to_pay": "There is nothing to pay: the amount is taken off that invoice, and "
    "whatever you have already paid on it is kept as credit on your account.",
    "cn_view_online": "You can also view and download it online:",
    "cn_button": "View credit note online",
    "cn_questions": "If you have any questions about this credit note, just reply to this email",
    "amount_credited": "Amount credited",
    "credited_invoice": "Credits invoice",
}
_EMAIL = {
    "en": _EMAIL_EN,
    "de": {
        "invoice": "Rechnung",
        "from": "von",
        "due": "fällig am",
        "hello": "Guten Tag",
        "attached": "anbei erhalten Sie die Rechnung",
        "for": "über",
        "due_on": "fällig am",
        "quote_reference": "Bitte geben Sie bei der Überweisung die Zahlungsreferenz an:",
        "view_online": "Sie können die Rechnung auch online ansehen und herunterladen:",
        "button": "Rechnung online ansehen",
        "questions": "Bei Fragen zu dieser Rechnung antworten Sie einfach auf diese E-Mail",
        "or_write": "oder schreiben Sie an",
        "thanks": "Vielen Dank für Ihren Auftrag!",
        "regards": "Mit freundlichen Grüßen",
        "amount_due": "Zahlbetrag",
        "due_date": "Fällig am",
        "payment_reference": "Zahlungsreferenz",
        "link_help": "Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in "
        "Ihren Browser:",
        "paid": "bezahlt",
        "paid_label": "Bezahlt",
        "paid_or_credited": "bereits bezahlt oder gutgeschrieben",
        "left_to_pay": "noch offen",
        "paid_from_credit": "vollständig aus Ihrem Guthaben bezahlt – Sie müssen nichts zahlen",
        "paid_in_full": "bereits vollständig bezahlt – Sie müssen nichts zahlen",
        "credit_note": "Rechnungskorrektur",
        "cn_attached": "anbei erhalten Sie die Rechnungskorrektur",
        "cn_crediting": "zur Rechnung",
        "cn_nothing_to_pay": "Sie müssen nichts zahlen: Der Betrag wird von dieser Rechnung "
        "abgezogen, und was Sie darauf bereits gezahlt haben, bleibt als Guthaben auf Ihrem "
        "Kundenkonto.",
        "cn_view_online": "Sie können die Rechnungskorrektur auch online ansehen und "
        "herunterladen:",
        "cn_button": "Rechnungskorrektur online ansehen",
        "cn_questions": "Bei Fragen zu dieser Rechnungskorrektur antworten Sie einfach auf diese "
        "E-Mail",
        "amount_credited": "Gutschriftsbetrag",
        "credited_invoice": "Korrektur zur Rechnung",
    },
    "fr": {
        "invoice": "Facture",
        "from": "de",
        "due": "à régler avant le",
        "hello": "Bonjour",
        "attached": "veuillez trouver ci-joint la facture",
        "for": "d'un montant de",
        "due_on": "à régler avant le",
        "quote_reference": "Lors d'un paiement par virement, merci d'indiquer la référence",
        "view_online": "Vous pouvez aussi la consulter et la télécharger en ligne :",
        "button": "Voir la facture en ligne",
        "questions": "Pour toute question sur cette facture, répondez simplement à cet e-mail",
        "or_write": "ou écrivez à",
        "thanks": "Merci de votre confiance !",
        "regards": "Cordialement,",
        "amount_due": "Montant dû",
        "due_date": "Échéance",
        "payment_reference": "Référence de paiement",
        "link_help": "Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :",
        "paid": "réglée",
        "paid_label": "Réglé",
        "paid_or_credited": "déjà réglés ou crédités",
        "left_to_pay": "restant dû",
        "paid_from_credit": "entièrement réglée par votre solde créditeur — vous n'avez rien "
        "à payer",
        "paid_in_full": "déjà entièrement réglée — vous n'avez rien à payer",
        "credit_note": "Avoir",
        "cn_attached": "veuillez trouver ci-joint l'avoir",
        "cn_crediting": "relatif à la facture",
        "cn_nothing_to_pay": "Vous n'avez rien à payer : ce montant est déduit de cette "
        "facture, et ce que vous avez déjà réglé sur celle-ci reste à votre crédit.",
        "cn_view_online": "Vous pouvez aussi le consulter et le télécharger en ligne :",
        "cn_button": "Voir l'avoir en ligne",
        "cn_questions": "Pour toute question sur cet avoir, répondez simplement à cet e-mail",
        "amount_credited": "Montant de l'avoir",
        "credited_invoice": "Avoir relatif à la facture",
    },
    "hi": {
        "invoice": "बीजक",
        "from": "प्रेषक",
        "due": "देय तिथि",
        "hello": "नमस्ते",
        "attached": "कृपया संलग्न बीजक देखें",
        "for": "राशि",
        "due_on": "देय तिथि",
        "quote_reference": "बैंक अंतरण से भुगतान करते समय कृपया यह भुगतान संदर्भ लिखें",
        "view_online": "आप इसे ऑनलाइन भी देख और डाउनलोड कर सकते हैं:",
        "button": "बीजक ऑनलाइन देखें",
        "questions": "इस बीजक के बारे में कोई प्रश्न हो तो इस ईमेल का उत्तर दें",
        "or_write": "या लिखें",
        "thanks": "आपके व्यवसाय के लिए धन्यवाद!",
        "regards": "सादर,",
        "amount_due": "देय राशि",
        "due_date": "देय तिथि",
        "payment_reference": "भुगतान संदर्भ",
        "link_help": "यदि बटन काम न करे, तो यह लिंक अपने ब्राउज़र में कॉपी करें:",
        "paid": "भुगतान हो चुका",
        "paid_label": "भुगतान हो चुका",
        "paid_or_credited": "पहले ही भुगतान या क्रेडिट किया गया",
        "left_to_pay": "शेष देय",
        "paid_from_credit": "आपकी क्रेडिट शेष राशि से पूरा भुगतान हो चुका है — कुछ भी देय नहीं",
        "paid_in_full": "पूरा भुगतान पहले ही हो चुका है — कुछ भी देय नहीं",
        "credit_note": "क्रेडिट नोट",
        "cn_attached": "कृपया संलग्न क्रेडिट नोट देखें",
        "cn_crediting": "मूल बीजक सं.",
        "cn_nothing_to_pay": "आपको कुछ भी भुगतान नहीं करना है: यह राशि उस बीजक से घटा दी जाती "
        "है, और उस पर आपके द्वारा पहले से किया गया भुगतान आपके खाते में क्रेडिट के रूप में रहता है।",
        "cn_view_online": "आप इसे ऑनलाइन भी देख और डाउनलोड कर सकते हैं:",
        "cn_button": "क्रेडिट नोट ऑनलाइन देखें",
        "cn_questions": "इस क्रेडिट नोट के बारे में कोई प्रश्न हो तो इस ईमेल का उत्तर दें",
        "amount_credited": "क्रेडिट राशि",
        "credited_invoice": "मूल बीजक सं.",
    },
}


def email_labels_for(lang: str) -> dict[str, str]:
    """The invoice email's wording in ``lang`` (English words fill any gap)."""
    return {**_EMAIL_EN, **_EMAIL.get(_language(lang), {})}
