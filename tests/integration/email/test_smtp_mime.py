"""The faster MIME writing in the SMTP adapter writes exactly what the standard library does."""

from __future__ import annotations

import email
import email.policy
import io
from datetime import UTC, datetime
from email.generator import BytesGenerator

import pytest

from autoinvoice.adapters.email.smtp import _POLICY, _build, _Envelope, _Generator
from autoinvoice.services.ports import Attachment, OutgoingEmail

PDF = bytes(range(256)) * 180  # 45 KB of every byte value


def mail(text: str, html: str | None) -> OutgoingEmail:
    return OutgoingEmail(
        message_id="<invoice-7.1@autoinvoice.local>",
        to=("Zoë Müller <ap@kunde.example>",),
        cc=("cc@kunde.example",),
        bcc=("archive@seller.example",),
        sender="Nordlicht IT Services GmbH <billing@nordlicht.example>",
        subject="Rechnung INV-2026-000123 — €5.355,00 fällig am 25.12.2026",
        text_body=text,
        html_body=html,
        reply_to="billing@nordlicht.example",
        attachments=(
            Attachment("INV-2026-000123.pdf", PDF, "application/pdf"),
            Attachment("INV-2026-000123.xml", b"<Invoice/>\n" * 50, "application/xml"),
        ),
        headers=(("X-Autoinvoice-Invoice", "INV-2026-000123"),),
        date=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "text, html",
    [
        ("Hallo,\n\nanbei die Rechnung über €5.355,00.\n" * 30, "<p>Grüße</p>\n" * 80),
        ("plain ascii\r\nwith CRLF\rand a lone CR\n", None),
        ("नमस्ते, चालान संलग्न है।\n" + "x" * 300 + "\n", "<p>" + "y" * 500 + "</p>"),
    ],
)
def test_the_generator_writes_what_the_standard_one_writes(text: str, html: str | None) -> None:
    message, _, _ = _build(mail(text, html))
    ours, theirs = io.BytesIO(), io.BytesIO()
    _Generator(ours, policy=_POLICY).flatten(message)
    BytesGenerator(theirs, policy=_POLICY).flatten(message)
    assert ours.getvalue() == theirs.getvalue()


def test_the_sent_bytes_read_back_as_the_email_that_was_built() -> None:
    envelope = _Envelope.of(mail("Hallo,\nanbei die Rechnung.\n", "<p>Grüße</p>"))
    assert b"\r\n" in envelope.data and b"\n\n" not in envelope.data.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(envelope.data, policy=email.policy.default)
    assert parsed["Subject"] == "Rechnung INV-2026-000123 — €5.355,00 fällig am 25.12.2026"
    assert "Bcc" not in parsed and envelope.recipients[-1] == "archive@seller.example"
    boundaries = {p.get_boundary() for p in parsed.walk() if p.is_multipart()}
    assert len(boundaries) == 2 and all(b.startswith("=_") for b in boundaries)
    body = parsed.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "Hallo,\nanbei die Rechnung.\n"
    pdf, xml = (p.get_content() for p in parsed.iter_attachments())
    assert pdf == PDF and xml == b"<Invoice/>\n" * 50
