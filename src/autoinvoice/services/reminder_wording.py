"""The words of a payment reminder in the client's language (en, de, fr, hi), escalating
with the step's tone: friendly (before the due date) → due → firm → urgent → final.

The reminder templates get these as ``t`` (over the invoice email's own words from
``labels.py``), and pick ``t["subject_" + tone]`` and ``t["intro_" + tone]``. German
follows the usual "Zahlungserinnerung → 1./2. Mahnung → Letzte Mahnung" ladder; French
"Rappel → Relance → Mise en demeure" (the formal notice before recovery); Hindi uses
"अनुस्मारक" (reminder) and "अंतिम सूचना" (final notice).

>>> reminder_labels_for("de")["subject_final"]
'Letzte Mahnung'
>>> reminder_labels_for("xx")["subject_due"] == reminder_labels_for("en")["subject_due"]
True
"""

from __future__ import annotations

from typing import Final

from .labels import email_labels_for

__all__ = ["reminder_labels_for"]

_EN: Final = {
    "subject_friendly": "Friendly reminder",
    "subject_due": "Payment due today",
    "subject_firm": "Payment reminder",
    "subject_urgent": "Second reminder",
    "subject_final": "Final notice",
    "intro_friendly": "a friendly note that invoice {number} falls due on {due}.",
    "intro_due": "invoice {number} falls due today.",
    "intro_firm": "we have not yet received payment for invoice {number}, which was due on "
    "{due}. Perhaps it was overlooked.",
    "intro_urgent": "invoice {number}, due on {due}, is still unpaid {days} days later. "
    "Please pay it now.",
    "intro_final": "despite our reminders, invoice {number}, due on {due}, remains unpaid. "
    "This is our final notice before we pass the claim on for collection.",
    "open_amount": "Open amount",
    "late_fee": "Late fee",
    "fee_invoiced": "A late fee of {fee} has been invoiced as {number}.",
    "total_due": "Total due",
    "pay_by": "Please pay by",
    "already_paid": "If you have paid in the meantime, thank you, and please disregard this email.",
    "dispute": "If something about this invoice is wrong, reply to this email and tell us.",
}

_WORDING: Final = {
    "de": {
        "subject_friendly": "Freundliche Erinnerung",
        "subject_due": "Zahlung heute fällig",
        "subject_firm": "Zahlungserinnerung",
        "subject_urgent": "2. Mahnung",
        "subject_final": "Letzte Mahnung",
        "intro_friendly": "wir möchten Sie freundlich daran erinnern, dass die Rechnung "
        "{number} am {due} fällig wird.",
        "intro_due": "die Rechnung {number} ist heute fällig.",
        "intro_firm": "für die Rechnung {number}, fällig am {due}, konnten wir noch keinen "
        "Zahlungseingang feststellen. Vielleicht ist sie Ihnen entgangen.",
        "intro_urgent": "die Rechnung {number}, fällig am {due}, ist seit {days} Tagen "
        "überfällig. Bitte begleichen Sie sie umgehend.",
        "intro_final": "trotz unserer Erinnerungen ist die Rechnung {number}, fällig am {due}, "
        "weiterhin offen. Dies ist unsere letzte Mahnung, bevor wir die Forderung an ein "
        "Inkassounternehmen übergeben.",
        "open_amount": "Offener Betrag",
        "late_fee": "Mahngebühr",
        "fee_invoiced": "Eine Mahngebühr von {fee} haben wir mit der Rechnung {number} berechnet.",
        "total_due": "Zu zahlen",
        "pay_by": "Bitte zahlen Sie bis",
        "already_paid": "Sollten Sie inzwischen gezahlt haben, danken wir Ihnen und bitten "
        "Sie, diese E-Mail als gegenstandslos zu betrachten.",
        "dispute": "Falls an dieser Rechnung etwas nicht stimmt, antworten Sie bitte auf "
        "diese E-Mail.",
    },
    "fr": {
        "subject_friendly": "Petit rappel",
        "subject_due": "Échéance aujourd'hui",
        "subject_firm": "Rappel de paiement",
        "subject_urgent": "Relance",
        "subject_final": "Mise en demeure",
        "intro_friendly": "nous vous rappelons que la facture {number} arrive à échéance le {due}.",
        "intro_due": "la facture {number} arrive à échéance aujourd'hui.",
        "intro_firm": "sauf erreur de notre part, la facture {number}, échue le {due}, n'a "
        "pas encore été réglée.",
        "intro_urgent": "la facture {number}, échue le {due}, reste impayée depuis {days} "
        "jours. Merci de la régler sans délai.",
        "intro_final": "malgré nos relances, la facture {number}, échue le {due}, reste "
        "impayée. Nous vous mettons en demeure de la régler avant de confier le recouvrement "
        "de la créance.",
        "open_amount": "Montant restant dû",
        "late_fee": "Indemnité de retard",
        "fee_invoiced": "Une indemnité de retard de {fee} a été facturée sous le numéro {number}.",
        "total_due": "Total à payer",
        "pay_by": "Merci de régler avant le",
        "already_paid": "Si vous avez réglé entre-temps, merci et ne tenez pas compte de cet "
        "e-mail.",
        "dispute": "Si quelque chose ne va pas sur cette facture, répondez à cet e-mail.",
    },
    "hi": {
        "subject_friendly": "विनम्र अनुस्मारक",
        "subject_due": "भुगतान आज देय है",
        "subject_firm": "भुगतान अनुस्मारक",
        "subject_urgent": "दूसरा अनुस्मारक",
        "subject_final": "अंतिम सूचना",
        "intro_friendly": "विनम्र सूचना: बीजक {number} की देय तिथि {due} है।",
        "intro_due": "बीजक {number} का भुगतान आज देय है।",
        "intro_firm": "बीजक {number} (देय तिथि {due}) का भुगतान हमें अभी तक प्राप्त नहीं हुआ "
        "है। संभवतः यह छूट गया हो।",
        "intro_urgent": "बीजक {number} (देय तिथि {due}) {days} दिन बाद भी अदत्त है। कृपया "
        "तुरंत भुगतान करें।",
        "intro_final": "हमारे अनुस्मारकों के बावजूद बीजक {number} (देय तिथि {due}) अदत्त है। "
        "वसूली के लिए दावा आगे भेजने से पहले यह हमारी अंतिम सूचना है।",
        "open_amount": "बकाया राशि",
        "late_fee": "विलंब शुल्क",
        "fee_invoiced": "{fee} का विलंब शुल्क चालान {number} के रूप में जारी किया गया है।",
        "total_due": "कुल देय",
        "pay_by": "कृपया इस तिथि तक भुगतान करें",
        "already_paid": "यदि आपने इस बीच भुगतान कर दिया है, तो धन्यवाद; कृपया इस ईमेल को अनदेखा करें।",
        "dispute": "यदि इस बीजक में कुछ गलत है, तो इस ईमेल का उत्तर देकर हमें बताएं।",
    },
}


def reminder_labels_for(lang: str) -> dict[str, str]:
    """The invoice email's words and the reminder's, in ``lang`` (English fills gaps)."""
    base = lang.split("_")[0].split("-")[0].lower()
    return {**email_labels_for(lang), **_EN, **_WORDING.get(base, {})}
