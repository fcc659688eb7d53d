"""The email adapter against a real SMTP server (aiosmtpd on a free local port)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import jinja2.exceptions
import pytest

from autoinvoice.adapters.email.smtp import (
    MailConfigurationError,
    MailFolderMailer,
    SmtpMailer,
    build_message,
)
from autoinvoice.adapters.email.templates import EmailTemplates
from autoinvoice.services.ports import (
    Attachment,
    OutgoingEmail,
    PermanentMailError,
    TemporaryMailError,
)

# tests/ is on sys.path once tests/conftest.py exists (pytest inserts a rootless conftest's
# folder); until then, put it there so this module runs on its own.
_TESTS = str(Path(__file__).resolve().parents[2])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from smtp_server import SmtpTestServer  # noqa: E402

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
PASSWORD = "s3cret"


def make_email(**overrides: Any) -> OutgoingEmail:
    fields: dict[str, Any] = {
        "message_id": "<delivery-42.inv-17@autoinvoice.example>",
        "sender": "Acme GmbH <billing@acme.example>",
        "to": ("Jane Client <jane@client.example>",),
        "subject": "Invoice INV-2026-000123 from Acme GmbH",
        "text_body": "Hello Jane,\nplease find the invoice attached.\n",
        "html_body": "<p>Hello Jane,</p><p>please find the invoice attached.</p>\n",
        "attachments": (Attachment("INV-2026-000123.pdf", PDF, "application/pdf"),),
        "date": datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content()).replace("\r\n", "\n")


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(**options: Any) -> Iterator[tuple[SmtpTestServer, SmtpMailer]]:
    """A test server with ``options`` and a mailer pointed at it, without credentials."""
    with (
        SmtpTestServer(**options) as server,
        SmtpMailer(server.host, server.port, local_hostname="worker.test", timeout=5) as mailer,
    ):
        yield server, mailer


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as running:
        yield running


@pytest.fixture
def mailer(server: SmtpTestServer) -> Iterator[SmtpMailer]:
    with SmtpMailer(server.host, server.port, local_hostname="worker.test", timeout=5) as m:
        yield m


# Round trip


def test_message_arrives_with_text_html_and_the_pdf_bytes_intact(
    server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    result = mailer.send(make_email())

    [received] = server.wait_for(1)
    message = received.message
    assert result.accepted
    assert message.get_content_type() == "multipart/mixed"
    assert body(message, "plain") == "Hello Jane,\nplease find the invoice attached.\n"
    assert body(message, "html") == "<p>Hello Jane,</p><p>please find the invoice attached.</p>\n"
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == "INV-2026-000123.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF


def test_message_id_is_the_callers_verbatim(server: SmtpTestServer, mailer: SmtpMailer) -> None:
    mailer.send(make_email())

    [received] = server.wait_for(1)
    assert received.message["Message-ID"] == "<delivery-42.inv-17@autoinvoice.example>"


def test_cc_is_a_header_and_bcc_is_only_in_the_envelope(
    server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    mailer.send(make_email(cc=("ap@client.example",), bcc=("Archive <archive@acme.example>",)))

    [received] = server.wait_for(1)
    assert received.message["Cc"] == "ap@client.example"
    assert "Bcc" not in received.message
    assert b"archive@acme.example" not in received.raw
    assert received.mail_from == "billing@acme.example"
    assert received.rcpt_tos == ("jane@client.example", "ap@client.example", "archive@acme.example")


def test_date_reply_to_and_extra_headers_come_from_the_email(
    server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    vienna = timezone(timedelta(hours=1))
    mailer.send(
        make_email(
            date=datetime(2026, 12, 1, 8, 0, tzinfo=vienna),
            reply_to="Accounts <accounts@acme.example>",
            headers=(("X-Autoinvoice-Invoice", "INV-2026-000123"),),
        )
    )

    message = server.wait_for(1)[0].message
    assert message["Date"] == "Tue, 01 Dec 2026 08:00:00 +0100"
    assert message["Reply-To"] == "Accounts <accounts@acme.example>"
    assert message["X-Autoinvoice-Invoice"] == "INV-2026-000123"


def test_non_ascii_names_subject_and_bodies_arrive_intact(
    server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    mailer.send(
        make_email(
            sender="Müller & Söhne GmbH <billing@mueller.example>",
            subject="Rechnung RE-2026-000123 — 1.428,00 € fällig am 25.12.2026",
            text_body="Grüße aus Köln — 1.428,00 €\n",
            attachments=(Attachment("Rechnung-Müller.pdf", PDF, "application/pdf"),),
        )
    )

    received = server.wait_for(1)[0]
    assert received.raw.isascii()  # 7-bit clean without SMTPUTF8
    assert received.message["From"] == "Müller & Söhne GmbH <billing@mueller.example>"
    assert (
        received.message["Subject"] == "Rechnung RE-2026-000123 — 1.428,00 € fällig am 25.12.2026"
    )
    assert body(received.message, "plain") == "Grüße aus Köln — 1.428,00 €\n"
    assert next(received.message.iter_attachments()).get_filename() == "Rechnung-Müller.pdf"


def test_non_ascii_address_is_sent_with_smtputf8(
    server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    mailer.send(make_email(to=("Jörg <jörg@kunde.example>",)))

    received = server.wait_for(1)[0]
    assert received.rcpt_tos == ("jörg@kunde.example",)
    assert received.message["To"] == "Jörg <jörg@kunde.example>"


def test_non_ascii_address_fails_permanently_without_smtputf8() -> None:
    with (
        serving(smtputf8=False) as (_, mailer),
        pytest.raises(PermanentMailError, match="SMTPUTF8"),
    ):
        mailer.send(make_email(to=("jörg@kunde.example",)))


# Authentication


def test_login_with_the_right_credentials_sends_as_that_user() -> None:
    with SmtpTestServer(credentials=("billing", PASSWORD)) as server:
        with SmtpMailer(server.host, server.port, username="billing", password=PASSWORD) as m:
            m.send(make_email())

        assert server.wait_for(1)[0].login == "billing"


def test_rejected_login_raises_without_revealing_the_password() -> None:
    with SmtpTestServer(credentials=("billing", "another")) as server:
        mailer = SmtpMailer(server.host, server.port, username="billing", password=PASSWORD)
        with pytest.raises(MailConfigurationError) as caught:
            mailer.send(make_email())

    error = caught.value
    assert error.code == 535
    # retried with back-off: the owner fixes the settings and the invoices still go out
    assert isinstance(error, TemporaryMailError)
    assert PASSWORD not in str(error) and PASSWORD not in repr(error)
    assert PASSWORD not in repr(error.args)
    assert error.__cause__ is None and error.__context__ is None


def test_repr_does_not_reveal_the_password() -> None:
    mailer = SmtpMailer("smtp.example", 587, username="billing", password=PASSWORD)

    assert PASSWORD not in repr(mailer)
    assert "billing" in repr(mailer)


def test_starttls_is_required_when_configured_and_never_skipped(server: SmtpTestServer) -> None:
    mailer = SmtpMailer(server.host, server.port, security="starttls", timeout=5)

    with pytest.raises(MailConfigurationError, match="does not offer STARTTLS"):
        mailer.send(make_email())
    assert server.messages == []


def test_server_that_requires_login_refuses_an_anonymous_sender() -> None:
    with (
        serving(credentials=("billing", PASSWORD)) as (_, mailer),
        pytest.raises(MailConfigurationError) as caught,
    ):
        mailer.send(make_email())

    assert caught.value.code == 530


# Refusals and failures


def test_451_reply_to_data_raises_temporary_mail_error_with_the_server_text() -> None:
    with (
        serving(data_reply="451 4.3.0 Mailbox busy, try again later") as (_, mailer),
        pytest.raises(TemporaryMailError) as caught,
    ):
        mailer.send(make_email())

    assert caught.value.code == 451
    assert "Mailbox busy, try again later" in caught.value.message


def test_550_reply_to_data_raises_permanent_mail_error_with_the_server_text() -> None:
    with (
        serving(data_reply="550 5.7.1 Message rejected as spam") as (_, mailer),
        pytest.raises(PermanentMailError) as caught,
    ):
        mailer.send(make_email())

    assert caught.value.code == 550
    assert "Message rejected as spam" in caught.value.message
    assert not isinstance(caught.value, MailConfigurationError)


def test_all_recipients_refused_raises_permanent_mail_error() -> None:
    refuse = {"jane@client.example": "550 5.1.1 No such user"}
    with serving(rcpt_replies=refuse) as (_, mailer), pytest.raises(PermanentMailError) as caught:
        mailer.send(make_email())

    assert caught.value.code == 550
    assert "jane@client.example: 550 5.1.1 No such user" in caught.value.message


def test_a_recipient_refused_for_now_makes_the_whole_refusal_temporary() -> None:
    refuse = {"jane@client.example": "550 5.1.1 No such user", "ap@client.example": "452 Full"}
    with serving(rcpt_replies=refuse) as (_, mailer), pytest.raises(TemporaryMailError) as caught:
        mailer.send(make_email(cc=("ap@client.example",)))

    assert caught.value.code == 452


def test_some_recipients_refused_still_delivers_to_the_others() -> None:
    refuse = {"gone@client.example": "550 5.1.1 No such user"}
    with serving(rcpt_replies=refuse) as (server, mailer):
        result = mailer.send(make_email(cc=("gone@client.example",)))

        assert server.wait_for(1)[0].rcpt_tos == ("jane@client.example",)
    assert result.accepted
    assert "refused gone@client.example (550 5.1.1 No such user)" in result.detail


def test_unused_port_raises_temporary_mail_error() -> None:
    mailer = SmtpMailer("127.0.0.1", unused_port(), timeout=2)

    with pytest.raises(TemporaryMailError) as caught:
        mailer.send(make_email())

    assert caught.value.code == 0
    assert "cannot connect" in caught.value.message


def test_server_slower_than_the_timeout_raises_temporary_mail_error() -> None:
    seen: list[str] = []
    with SmtpTestServer(delay_rcpt_seconds=2, on_rcpt=seen.append) as server:
        mailer = SmtpMailer(server.host, server.port, timeout=0.3)
        with pytest.raises(TemporaryMailError, match="lost"):
            mailer.send(make_email())

        assert server.rcpt_seen.is_set()
        assert seen == ["jane@client.example"]
        assert server.messages == []


# Connection reuse


def test_fifty_messages_share_one_connection(server: SmtpTestServer, mailer: SmtpMailer) -> None:
    for n in range(50):
        mailer.send(make_email(message_id=f"<delivery-{n}@autoinvoice.example>"))

    received = server.wait_for(50)
    assert server.connections == 1
    assert [r.message["Message-ID"] for r in received] == [
        f"<delivery-{n}@autoinvoice.example>" for n in range(50)
    ]


def test_mailer_reconnects_when_the_server_dropped_the_connection(
    server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    mailer.send(make_email(message_id="<first@autoinvoice.example>"))
    server.wait_for(1)
    server.drop_connections()

    mailer.send(make_email(message_id="<second@autoinvoice.example>"))

    assert [r.message["Message-ID"] for r in server.wait_for(2)] == [
        "<first@autoinvoice.example>",
        "<second@autoinvoice.example>",
    ]
    assert server.connections == 2


def test_connection_stays_usable_after_a_refused_message(
    server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    server.data_reply = "451 4.3.0 Try again later"
    with pytest.raises(TemporaryMailError):
        mailer.send(make_email())
    server.data_reply = None

    mailer.send(make_email())

    assert len(server.wait_for(1)) == 1
    assert server.connections == 1


# Building messages


def test_naive_date_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_message(make_email(date=datetime(2026, 11, 25, 9, 30)))  # noqa: DTZ001


def test_a_single_address_string_instead_of_a_tuple_is_refused() -> None:
    with pytest.raises(TypeError, match="to must be a tuple"):
        build_message(make_email(to="jane@client.example"))


@pytest.mark.parametrize("message_id", ["delivery-42@x", "<no-at-sign>", "<a b@x>", ""])
def test_malformed_message_id_is_refused(message_id: str) -> None:
    with pytest.raises(ValueError, match="message_id"):
        build_message(make_email(message_id=message_id))


@pytest.mark.parametrize("address", ["not an address", "jane@", "@client.example", ""])
def test_malformed_address_fails_the_message_permanently(
    server: SmtpTestServer, mailer: SmtpMailer, address: str
) -> None:
    with pytest.raises(PermanentMailError, match="invalid To address"):
        mailer.send(make_email(to=(address,)))
    assert server.connections == 0


def test_line_break_in_the_subject_cannot_inject_headers() -> None:
    with pytest.raises(ValueError):
        build_message(make_email(subject="Invoice\r\nBcc: victim@example.com"))


def test_extra_headers_cannot_override_the_emails_own_fields() -> None:
    with pytest.raises(ValueError, match="Bcc"):
        build_message(make_email(headers=(("Bcc", "someone@example.com"),)))


# Mail folder


def test_mail_folder_writes_one_eml_per_message_id(tmp_path: Path) -> None:
    mailer = MailFolderMailer(tmp_path / "outbox")

    mailer.send(make_email(message_id="<a@autoinvoice.example>"))
    mailer.send(make_email(message_id="<b@autoinvoice.example>"))

    names = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert names == ["a@autoinvoice.example.eml", "b@autoinvoice.example.eml"]


def test_mail_folder_overwrites_when_the_same_message_is_sent_twice(tmp_path: Path) -> None:
    mailer = MailFolderMailer(tmp_path)

    mailer.send(make_email(subject="First try"))
    result = mailer.send(make_email(subject="Second try"))

    [path] = tmp_path.iterdir()
    message = BytesParser(policy=default_policy).parsebytes(path.read_bytes())
    assert message["Subject"] == "Second try"
    assert message["Message-ID"] == "<delivery-42.inv-17@autoinvoice.example>"
    assert next(message.iter_attachments()).get_content() == PDF
    assert result.accepted and str(path) in result.detail


def test_mail_folder_keeps_unusual_message_ids_apart(tmp_path: Path) -> None:
    mailer = MailFolderMailer(tmp_path)

    mailer.send(make_email(message_id="<a/b@autoinvoice.example>"))
    mailer.send(make_email(message_id="<a_b@autoinvoice.example>"))
    mailer.send(make_email(message_id="<..@autoinvoice.example>"))

    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == 3
    assert all(p.parent == tmp_path and not p.name.startswith(".") for p in tmp_path.iterdir())


# Templates


def invoice_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "invoice": {
            "number": "INV-2026-000123",
            "total": "€1,428.00",
            "due_date": "25 Dec 2026",
            "currency": "EUR",
        },
        "client": {"name": "Globex Corporation", "contact_name": "Jane Doe"},
        "seller": {"name": "Acme GmbH", "email": "billing@acme.example"},
        "portal_url": "https://invoices.acme.example/p/3f9a?token=abc&lang=en",
    }
    context.update(overrides)
    return context


def test_default_invoice_email_names_number_seller_total_and_due_date() -> None:
    subject, text, html = EmailTemplates().render_email("invoice_email", invoice_context())

    assert subject == "Invoice INV-2026-000123 from Acme GmbH — €1,428.00 due 25 Dec 2026"
    assert text.startswith("Hello Jane Doe,\n")
    assert "https://invoices.acme.example/p/3f9a?token=abc&lang=en" in text
    assert 'href="https://invoices.acme.example/p/3f9a?token=abc&amp;lang=en"' in html
    assert "€1,428.00" in html and "25 Dec 2026" in html


def test_invoice_email_greets_the_client_when_there_is_no_contact_name() -> None:
    client = {"name": "Globex Corporation", "contact_name": None}

    _, text, _ = EmailTemplates().render_email("invoice_email", invoice_context(client=client))

    assert text.startswith("Hello Globex Corporation,\n")


def test_html_body_escapes_names_and_text_body_does_not() -> None:
    client = {"name": "Smith & <Sons>", "contact_name": None}

    _, text, html = EmailTemplates().render_email("invoice_email", invoice_context(client=client))

    assert "Hello Smith & <Sons>," in text
    assert "Hello Smith &amp; &lt;Sons&gt;," in html


def test_missing_context_value_raises_instead_of_rendering_blank() -> None:
    context = invoice_context()
    del context["portal_url"]

    with pytest.raises(jinja2.exceptions.UndefinedError):
        EmailTemplates().render_email("invoice_email", context)


def test_override_folder_replaces_only_the_templates_it_holds(tmp_path: Path) -> None:
    (tmp_path / "invoice_email.subject.txt").write_text("Rechnung {{ invoice.number }}\n")

    subject, text, _ = EmailTemplates(tmp_path).render_email("invoice_email", invoice_context())

    assert subject == "Rechnung INV-2026-000123"
    assert text.startswith("Hello Jane Doe,")


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ invoice.__class__.__init__.__globals__ }}",
        "{{ seller.email.format.__globals__ }}",
    ],
)
def test_user_template_cannot_escape_the_sandbox(tmp_path: Path, source: str) -> None:
    (tmp_path / "invoice_email.txt").write_text(source)

    with pytest.raises(jinja2.exceptions.SecurityError):
        EmailTemplates(tmp_path).render_email("invoice_email", invoice_context())


def test_rendered_invoice_email_goes_out_as_a_message(
    server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    subject, text, html = EmailTemplates().render_email("invoice_email", invoice_context())

    mailer.send(replace(make_email(), subject=subject, text_body=text, html_body=html))

    message = server.wait_for(1)[0].message
    assert message["Subject"] == subject
    assert body(message, "plain") == text
    assert "View invoice online" in body(message, "html")
