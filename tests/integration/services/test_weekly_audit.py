"""The weekly audit on both databases: each section finds what it should (and not what it
should not), every item links to where it is fixed, and the owner's email goes out once per
ISO week through the outbox and a real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, update

from autoinvoice.adapters.db import tables as t
from autoinvoice.bootstrap import App
from autoinvoice.domain.invoice import Invoice, InvoiceLine
from autoinvoice.domain.tax import TaxKind, determine_tax
from autoinvoice.domain.terms import PaymentTerms
from autoinvoice.services import invoicing
from autoinvoice.services.jobs import run_jobs_once
from autoinvoice.services.weekly_audit import AuditSection, send_weekly_audit, weekly_audit
from builders import make_app, make_entity, make_retainer
from cashflow_world import NOW, TODAY, Ledger, make_ledger
from smtp_server import SmtpTestServer


def _section(ledger: Ledger, key: str) -> AuditSection:
    audit = weekly_audit(uow=ledger.app.uow(read_only=True), clock=ledger.clock)
    return next(s for s in audit.sections if s.key == key)


def _links(section: AuditSection) -> list[str]:
    return [item.link for item in section.items]


def test_drafts_held_for_attention_are_listed_with_their_reason(
    database_url: str, tmp_path: Path
) -> None:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    held = ledger.invoice("Acme", "100", due=TODAY, status="draft", hold_reason="no tax id")
    ledger.invoice("Acme", "100", due=TODAY, status="draft")  # a plain draft is fine
    section = _section(ledger, "held")
    assert _links(section) == [f"/invoices/{held}"]
    assert section.items[0].detail == "no tax id"


def test_failed_emails_of_the_week_and_dead_jobs_are_failed_deliveries(
    database_url: str, tmp_path: Path
) -> None:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    inv = ledger.invoice("Acme", "100", due=TODAY)
    old = ledger.invoice("Acme", "100", due=TODAY)
    with ledger.app.uow() as uow:
        for mid, invoice_id, at in [("<a@x>", inv, NOW), ("<b@x>", old, NOW - timedelta(days=9))]:
            uow.messages.start(
                message_id=mid,
                invoice_id=invoice_id,
                job_id=None,
                recipients=["ap@acme.example"],
                subject="Invoice",
                at=at,
            )
            uow.messages.mark(mid, "failed", "550 no such user", at)
        uow.outbox.enqueue("deliver", {"invoice_id": inv}, "k1", NOW, NOW)
        [job] = uow.outbox.claim("w", NOW, 60, 1)
        uow.outbox.fail(job.id, "w", "SMTP refused", NOW, None)
        uow.commit()
    section = _section(ledger, "failed_deliveries")
    assert _links(section) == [f"/invoices/{inv}", f"/invoices/{inv}"]
    assert "550 no such user" in section.items[0].detail
    assert "jobs retry" in section.items[1].detail


def test_enabled_rules_that_never_fired_are_listed(database_url: str, tmp_path: Path) -> None:
    ledger = make_ledger(database_url, tmp_path)
    with ledger.app.engine.begin() as c:
        for name, enabled in [("idle", True), ("busy", True), ("off", False)]:
            c.execute(
                insert(t.rules).values(
                    name=name,
                    kind="event",
                    definition={},
                    version=1,
                    enabled=enabled,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        busy = c.execute(t.rules.select().where(t.rules.c.name == "busy")).one().id
        c.execute(
            insert(t.rule_firings).values(
                rule_id=busy, subject="deal:1", period="-", fired_at=NOW, outcome="issued"
            )
        )
    section = _section(ledger, "idle_rules")
    assert [i.title for i in section.items] == ["Rule idle (event)"]
    assert _links(section) == ["/api/v1/rules"]


def _source(c, name: str, **kw) -> None:  # type: ignore[no-untyped-def]
    values = dict(
        kind="toggl",
        name=name,
        url_token=name,
        secrets="x",
        config={},
        enabled=True,
        created_at=NOW - timedelta(days=30),
        max_age_seconds=86400,
        error_count=0,
        consecutive_errors=0,
        stale_alerted=False,
    )
    c.execute(insert(t.sources).values(**{**values, **kw}))


def test_stale_and_failing_sources_are_listed_and_healthy_ones_not(
    database_url: str, tmp_path: Path
) -> None:
    ledger = make_ledger(database_url, tmp_path)
    with ledger.app.engine.begin() as c:
        _source(c, "stale", last_success_at=NOW - timedelta(days=3))
        _source(c, "fresh", last_success_at=NOW - timedelta(hours=1))
        _source(c, "failing", last_success_at=NOW, consecutive_errors=3, last_error="401")
        _source(c, "off", enabled=False, last_success_at=NOW - timedelta(days=9))
    section = _section(ledger, "stale_sources")
    assert [i.title for i in section.items] == [
        "Source stale (toggl) is stale",
        "Source failing (toggl) is failing",
    ]
    assert set(_links(section)) == {"/api/v1/sources"}


def test_billed_time_edited_this_week_points_at_the_invoice_that_billed_it(
    database_url: str, tmp_path: Path
) -> None:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    inv = ledger.invoice("Acme", "100", due=TODAY)
    with ledger.app.engine.begin() as c:
        _source(c, "toggl", last_success_at=NOW)
        src = c.execute(t.sources.select()).one().id
        for ext, edited, at in [
            ("1", True, NOW),
            ("2", False, NOW),
            ("3", True, NOW - timedelta(days=8)),
        ]:
            c.execute(
                insert(t.time_entries).values(
                    source_id=src,
                    external_id=ext,
                    person="Ana",
                    task=f"Task {ext}",
                    hours=Decimal("3.5"),
                    day=TODAY,
                    billable=True,
                    deleted=False,
                    version_at=at,
                    invoice_id=inv,
                    billed_hours=Decimal(3),
                    edited_after_billing=edited,
                    recorded_at=at,
                )
            )
    section = _section(ledger, "edited_time")
    assert _links(section) == [f"/invoices/{inv}"]
    assert "billed 3 h" in section.items[0].detail and "now 3.5 h" in section.items[0].detail


def test_clients_missing_billing_data_are_listed(database_url: str, tmp_path: Path) -> None:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Complete")
    bare = ledger.client("Bare", address=None, emails=())
    ledger.client("Abroad", country="FR", tax_id=None)
    section = _section(ledger, "incomplete_clients")
    details = {i.title: i.detail for i in section.items}
    assert details == {"Bare": "missing billing address, email", "Abroad": "missing tax ID"}
    assert f"/clients#client-{bare}" in _links(section)


def _issue_under_contract(app: App, client: int, contract: int, price: str) -> int:
    with app.uow() as uow:
        c = uow.clients.get(client)
        seller = uow.entities.get(c.entity_id).party
        tax = determine_tax(seller.tax_profile, c.party.tax_profile, TaxKind.STANDARD)
        inv = Invoice(seller, c.party, "EUR", PaymentTerms.parse("net:30"))
        inv.add_line(
            InvoiceLine("Managed IT retainer, November 2026", Decimal(1), Decimal(price), tax)
        )
        inv.id = invoicing.save_draft(
            inv, uow=uow, client_id=client, now=NOW, actor="test", contract_id=contract
        )
        invoicing.issue(inv, uow=uow, now=NOW, actor="test")
        uow.commit()
    return inv.id


def test_issued_invoices_priced_off_their_contract_are_listed(
    database_url: str, tmp_path: Path
) -> None:
    ledger = make_ledger(database_url, tmp_path)
    client = ledger.client("Acme")
    contract = make_retainer(ledger.app, client, amount="4500.00")
    with ledger.app.engine.begin() as c:  # the owner switched the pre-flight check off
        c.execute(update(t.issuing_entities).values(checks={"contract_amount": {"enabled": False}}))
    right = _issue_under_contract(ledger.app, client, contract, "4500.00")
    wrong = _issue_under_contract(ledger.app, client, contract, "4000.00")
    section = _section(ledger, "contract_mismatch")
    assert _links(section) == [f"/invoices/{wrong}"]
    assert "4500" in section.items[0].detail and right != wrong


def test_overdue_invoices_are_listed_oldest_first(database_url: str, tmp_path: Path) -> None:
    ledger = make_ledger(database_url, tmp_path)
    ledger.client("Acme")
    recent = ledger.invoice(
        "Acme", "100.10", due=TODAY - timedelta(days=2), status="partially_paid", paid="0.05"
    )
    oldest = ledger.invoice("Acme", "50", due=TODAY - timedelta(days=40))
    ledger.invoice("Acme", "70", due=TODAY)
    section = _section(ledger, "overdue")
    assert _links(section) == [f"/invoices/{oldest}", f"/invoices/{recent}"]
    assert section.items[1].detail == "€100.05 open, 2 days past due"


def test_the_owner_gets_the_audit_by_email_once_per_iso_week(
    database_url: str, tmp_path: Path
) -> None:
    with SmtpTestServer() as smtp:
        app = make_app(
            database_url,
            tmp_path,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            base_url="https://ai.example",
        )
        app.clock.set(NOW)  # type: ignore[attr-defined]
        ledger = Ledger(app, make_entity(app))
        ledger.client("Acme")
        late = ledger.invoice("Acme", "100", due=TODAY - timedelta(days=3))

        def tick() -> str | None:
            return send_weekly_audit(uow=app.uow(), clock=app.clock, base_url="https://ai.example")

        assert tick() is None  # Wednesday: the audit goes out on Mondays
        app.clock.set(datetime(2026, 11, 30, 5, 30, tzinfo=UTC))  # Monday 06:30 in Hamburg
        assert tick() is None
        app.clock.set(datetime(2026, 11, 30, 6, 0, tzinfo=UTC))  # 07:00
        assert tick() == "2026-W49"
        assert tick() is None
        app.clock.set(datetime(2026, 11, 30, 18, 0, tzinfo=UTC))
        assert tick() is None  # once per ISO week
        handlers = app.handlers("test")
        while run_jobs_once(uow=app.uow(), clock=app.clock, worker="test", handlers=handlers):
            pass
        [mail] = smtp.wait_for(1)
        assert mail.message["Subject"] == "[autoinvoice] Weekly audit 2026-W49: 1 item to look at"
        assert list(mail.rcpt_tos) == ["billing@nordlicht.example"]
        assert f"https://ai.example/invoices/{late}" in mail.message.get_content()
        app.clock.set(datetime(2026, 12, 7, 7, 0, tzinfo=UTC))  # the next Monday
        assert tick() == "2026-W50"
        app.engine.dispose()


def test_the_scheduler_tick_queues_the_weeks_audit_on_monday_morning(
    database_url: str, tmp_path: Path
) -> None:
    from autoinvoice.entrypoints.scheduler import tick

    ledger = make_ledger(database_url, tmp_path, now=datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    ledger.client("Acme")
    assert tick(ledger.app).weekly_audit == "2026-W49"
    assert tick(ledger.app).weekly_audit is None
    with ledger.app.uow(read_only=True) as uow:
        assert [a["action"] for a in uow.audit.recent(limit=5)].count("weekly_audit.queued") == 1
