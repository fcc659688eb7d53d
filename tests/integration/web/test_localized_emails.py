"""Invoice emails speak the client's language: the demo's German and French clients get
their subject and body in German and French, with figures formatted the same way."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from autoinvoice.bootstrap import App


def _mail(app: App, invoice_id: int) -> EmailMessage:
    path = app.settings.data_dir / "mail" / f"invoice-{invoice_id}.1@autoinvoice.local.eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_german_client_reads_german_and_a_french_client_french(app: App) -> None:
    german, french = _mail(app, 1), _mail(app, 2)
    assert german["Subject"].startswith("Rechnung INV-2026-000001 von Nordlicht")
    assert "5.355,00 € fällig am 31.12.2026" in german["Subject"]  # one line, plain spaces
    text = german.get_body(("plain",)).get_content()
    assert text.startswith("Guten Tag Hanseatic Logistics AG,")
    assert "Bitte geben Sie bei der Überweisung die Zahlungsreferenz an: RF" in text
    html = german.get_body(("html",)).get_content()
    assert '<html lang="de">' in html and "Rechnung online ansehen" in html
    assert french["Subject"].startswith("Facture INV-2026-000002 de Nordlicht")
    assert "Bonjour Atelier Lumière SAS," in french.get_body(("plain",)).get_content()
