"""Delivering issued invoices through a real SMTP server (aiosmtpd), on both databases."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from autoinvoice.domain.invoice import InvoiceStatus
from autoinvoice.services.invoicing import issue_invoice, void_invoice
from autoinvoice.services.jobs import backoff, run_jobs_once
from builders import draft_for, make_app, make_client, make_entity
from smtp_server import SmtpTestServer


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def app(database_url: str, tmp_path: Path, smtp):  # type: ignore[no-untyped-def]
    a = make_app(
        database_url,
        tmp_path,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        base_url="https://billing.nordlicht.example",
    )
    yield a
    a.engine.dispose()


@pytest.fixture
def issued(app) -> int:  # type: ignore[no-untyped-def]
    inv_id = draft_for(app, make_client(app, make_entity(app)))
    issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="test")
    return inv_id


def _work(app) -> int:  # type: ignore[no-untyped-def]
    return run_jobs_once(uow=app.uow(), clock=app.clock, worker="w", handlers=app.handlers("w"))


def test_an_issued_invoice_is_emailed_with_its_pdf_and_marked_sent(app, smtp, issued) -> None:
    assert _work(app) == 1
    [msg] = smtp.wait_for(1)
    m = msg.message
    assert msg.rcpt_tos == ("ap@hanseatic.example",)
    assert m["Message-ID"] == f"<invoice-{issued}.1@autoinvoice.local>"
    assert "INV-2026-000001" in m["Subject"]
    assert m["From"].addresses[0].addr_spec == "billing@nordlicht.example"
    [pdf] = [p for p in m.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "INV-2026-000001.pdf"
    assert pdf.get_content().startswith(b"%PDF")
    text = m.get_body(("plain",)).get_content()
    assert "https://billing.nordlicht.example/portal/invoices/" in text
    assert m.get_body(("html",)) is not None
    with app.uow(read_only=True) as uow:
        inv = uow.invoices.get(issued)
        stored = uow.documents.get(issued, "pdf")
        [logged] = uow.messages.for_invoice(issued)
        assert uow.outbox.counts() == {"done": 1}
    assert inv.status is InvoiceStatus.SENT and inv.sent_at == app.clock.now()
    assert stored == pdf.get_content()  # the PDF sent is the PDF kept
    assert logged["status"] == "sent"


def test_a_temporary_smtp_failure_is_retried_later_and_then_delivered_once(
    app, smtp, issued
) -> None:
    smtp.data_reply = "451 4.3.0 Mailbox temporarily unavailable"
    _work(app)
    with app.uow(read_only=True) as uow:
        assert uow.invoices.get(issued).status is InvoiceStatus.ISSUED
        assert uow.outbox.counts() == {"pending": 1}
    smtp.data_reply = None
    assert _work(app) == 0  # backing off
    app.clock.advance(backoff(1))
    assert _work(app) == 1
    assert len(smtp.wait_for(1)) == 1
    with app.uow(read_only=True) as uow:
        assert uow.invoices.get(issued).status is InvoiceStatus.SENT


def test_a_permanent_smtp_failure_marks_the_delivery_failed_and_alerts(app, smtp, issued) -> None:
    smtp.rcpt_replies = {"ap@hanseatic.example": "550 5.1.1 No such user"}
    _work(app)
    with app.uow(read_only=True) as uow:
        [logged] = uow.messages.for_invoice(issued)
        actions = [a["action"] for a in uow.audit.recent()]
        assert uow.outbox.counts() == {"dead": 1, "pending": 1}  # the owner's alert waits
        assert uow.invoices.get(issued).status is InvoiceStatus.ISSUED
    assert logged["status"] == "failed" and "No such user" in logged["detail"]
    assert "delivery.failed" in actions and "job.dead" in actions
    assert _work(app) == 1
    [alert] = smtp.wait_for(1)
    assert alert.rcpt_tos == ("billing@nordlicht.example",)
    assert "Sending an invoice email failed" in alert.message["Subject"]
    assert "No such user" in alert.message.get_content()


def test_a_retry_after_the_mail_went_out_does_not_send_it_again(app, smtp, issued) -> None:
    # the worker dies after SMTP accepted the mail but before the job was marked done
    with app.uow() as uow:
        [job] = uow.outbox.claim("crashed", app.clock.now(), 60, 1)
        uow.commit()
    handlers = app.handlers("crashed")
    original = app.mailer.send

    def send_then_crash(mail):  # type: ignore[no-untyped-def]
        original(mail)
        with app.uow() as uow:
            uow.messages.mark(mail.message_id, "sent", "250", app.clock.now())
            uow.commit()
        raise SystemExit("worker killed")

    app.mailer.send = send_then_crash  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        handlers["deliver_invoice"]([job])
    app.mailer.send = original  # type: ignore[method-assign]
    app.clock.advance(timedelta(seconds=app.settings.worker_lease_seconds + 1))
    assert _work(app) == 1
    assert len(smtp.messages) == 1
    with app.uow(read_only=True) as uow:
        assert uow.invoices.get(issued).status is InvoiceStatus.SENT
        assert uow.outbox.counts() == {"done": 1}


def test_a_voided_invoice_is_not_delivered(app, smtp, issued) -> None:
    void_invoice(issued, "duplicate", uow=app.uow(), clock=app.clock, actor="test")
    _work(app)
    assert smtp.messages == []
    with app.uow(read_only=True) as uow:
        assert uow.outbox.counts() == {"done": 1}


def test_sandbox_mode_sends_to_the_test_inbox_and_names_the_intended_recipient(
    database_url, tmp_path, smtp
) -> None:
    app = make_app(
        database_url,
        tmp_path,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        mail_sandbox_to="inbox@test.example",
    )
    inv_id = draft_for(app, make_client(app, make_entity(app)))
    issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="test")
    _work(app)
    [msg] = smtp.wait_for(1)
    assert msg.rcpt_tos == ("inbox@test.example",)
    assert msg.message["X-Autoinvoice-Intended-To"] == "ap@hanseatic.example"
    app.engine.dispose()


def test_without_smtp_settings_mail_is_written_to_the_mail_folder(database_url, tmp_path) -> None:
    app = make_app(database_url, tmp_path)
    inv_id = draft_for(app, make_client(app, make_entity(app)))
    issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="test")
    _work(app)
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1 and b"INV-2026-000001" in files[0].read_bytes()
    app.engine.dispose()


def test_one_refused_address_in_a_batch_does_not_hold_up_the_others(app, smtp) -> None:
    entity = make_entity(app)
    good = [
        make_client(app, entity, name=f"Client {i} AG", emails=(f"ap{i}@ok.example",))
        for i in range(3)
    ]
    bad = make_client(app, entity, name="Gone AG", emails=("nobody@gone.example",))
    ids = [draft_for(app, c) for c in [*good[:2], bad, good[2]]]
    for inv_id in ids:
        issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="test")
    smtp.rcpt_replies = {"nobody@gone.example": "550 5.1.1 No such user"}
    assert _work(app) == 4
    assert sorted(m.rcpt_tos[0] for m in smtp.wait_for(3)) == [
        "ap0@ok.example",
        "ap1@ok.example",
        "ap2@ok.example",
    ]
    with app.uow(read_only=True) as uow:
        statuses = [uow.invoices.get(i).status for i in ids]
        assert uow.outbox.counts() == {"done": 3, "dead": 1, "pending": 1}  # + owner's alert
    assert statuses == [
        InvoiceStatus.SENT,
        InvoiceStatus.SENT,
        InvoiceStatus.ISSUED,
        InvoiceStatus.SENT,
    ]


def test_a_batch_that_outlives_its_lease_never_sends_an_invoice_twice(app, smtp) -> None:
    client = make_client(app, make_entity(app))
    for inv_id in [draft_for(app, client), draft_for(app, client), draft_for(app, client)]:
        issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="test")
    lease = app.settings.worker_lease_seconds
    real_send, calls = app.mailer.send, []

    def slow_send(mail):  # type: ignore[no-untyped-def]
        """Each of worker A's sends takes over half a lease (each within its own renewed
        lease, as SMTP's timeout is shorter than the lease). After the second, jobs 1 and 3
        have been A's for longer than a lease, and worker B takes them over."""
        calls.append(mail.message_id)
        result = real_send(mail)
        app.clock.advance(timedelta(seconds=lease // 2 + 1))
        if len(calls) == 2:
            run_jobs_once(uow=app.uow(), clock=app.clock, worker="B", handlers=app.handlers("B"))
        return result

    with app.uow() as uow:
        jobs = uow.outbox.claim("A", app.clock.now(), lease, 10)
        uow.commit()
    handlers_a = app.handlers("A")
    app.mailer.send = slow_send  # type: ignore[method-assign]
    handlers_a["deliver_invoice"](jobs)
    app.mailer.send = real_send  # type: ignore[method-assign]
    time.sleep(0.3)
    ids = [m.message["Message-ID"] for m in smtp.messages]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 3, ids
    with app.uow(read_only=True) as uow:
        assert uow.outbox.counts() == {"done": 3}
        sent = [a for a in uow.audit.recent() if a["action"] == "invoice.sent"]
    assert len(sent) == 3
