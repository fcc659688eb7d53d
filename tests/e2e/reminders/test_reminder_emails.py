"""Payment reminders end to end, on SQLite and PostgreSQL, through a real SMTP server with a
moved clock: every step of the ladder on its day and once, the stops (paid, paid between
the scan and the send, void, disputed, paused), several scanners at once, the fee, the
client's language and time zone, sandbox mode."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from autoinvoice.domain.money import Money
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.terms import PaymentTerms
from autoinvoice.services import reminders as rem
from autoinvoice.services import setup
from autoinvoice.services.invoicing import void_invoice
from autoinvoice.services.payments import RecordPayment, record_payment
from autoinvoice.services.ports import ClientRecord
from reminder_support import issue
from trigger_world import World

DUE = date(2026, 12, 20)  # issued 2026-11-20 (the world's clock), net 30


def on(world: World, day: date, hour: int = 9) -> None:
    world.clock.set(datetime(day.year, day.month, day.day, hour, tzinfo=UTC))


def scan(world: World) -> rem.ScanReport:
    return rem.run_reminders(uow=world.app.uow(), clock=world.app.clock)


def reminder_mails(world: World) -> list[Any]:
    return [
        m.message for m in world.smtp.messages if m.message["Message-ID"].startswith("<reminder-")
    ]


def rows(world: World, inv_id: int) -> list[rem.ReminderRecord]:
    with world.app.uow(read_only=True) as uow:
        return uow.reminders.list(inv_id)


def test_every_step_goes_out_on_its_day_and_only_once(world: World) -> None:
    inv_id = issue(world)
    subjects = []
    for offset, subject in [
        (-3, "Friendly reminder"),
        (0, "Payment due today"),
        (7, "Payment reminder"),
        (14, "Second reminder"),
        (30, "Final notice"),
    ]:
        on(world, DUE + timedelta(days=offset - 1))
        assert scan(world).queued == 0  # not the day before
        on(world, DUE + timedelta(days=offset))
        assert scan(world).queued == 1
        assert scan(world).queued == 0  # a second scan the same day adds nothing
        world.work()
        world.work()
        subjects.append(reminder_mails(world)[-1]["Subject"])
        assert subjects[-1].startswith(f"{subject}: Invoice INV-2026-")
    assert len(reminder_mails(world)) == 5
    assert len({m["Message-ID"] for m in reminder_mails(world)}) == 5
    on(world, DUE + timedelta(days=90))
    assert scan(world).queued == 0  # every step was sent
    sent = rows(world, inv_id)
    assert sorted(r.step for r in sent) == [0, 1, 2, 3, 4]
    assert {r.status for r in sent} == {"sent"}
    assert len(world.audit("reminder.sent")) == 5
    body = reminder_mails(world)[-1].get_body(("plain",)).get_content()
    assert "final notice" in body and "€1,190.00" in body  # 1000 + 19 % VAT


def test_a_payment_stops_the_reminders(world: World) -> None:
    inv_id = issue(world)
    on(world, DUE)
    scan(world)
    world.work()
    record_payment(
        RecordPayment(inv_id, "1190.00"), uow=world.app.uow(), clock=world.app.clock, actor="test"
    )
    on(world, DUE + timedelta(days=7))
    report = scan(world)
    assert report.queued == 0
    assert len(reminder_mails(world)) == 1


def test_a_payment_between_the_scan_and_the_send_is_recorded_not_sent(world: World) -> None:
    inv_id = issue(world)
    on(world, DUE + timedelta(days=7))
    assert scan(world).queued == 1
    record_payment(
        RecordPayment(inv_id, "1190.00"), uow=world.app.uow(), clock=world.app.clock, actor="test"
    )
    world.work()
    assert reminder_mails(world) == []
    # not stored as taken: should the payment be reversed, the step is due again
    assert rows(world, inv_id) == []
    assert world.audit("reminder.skipped")[0]["detail"]["reason"] == "paid"


def test_a_voided_invoice_gets_no_reminder(world: World) -> None:
    inv_id = issue(world)
    on(world, DUE + timedelta(days=7))
    scan(world)
    void_invoice(inv_id, "wrong client", uow=world.app.uow(), clock=world.app.clock, actor="t")
    world.work()
    assert reminder_mails(world) == []
    assert [r.detail for r in rows(world, inv_id)] == ["void"]
    on(world, DUE + timedelta(days=14))
    assert scan(world).queued == 0


def test_a_dispute_stops_reminders_until_it_is_resolved(world: World) -> None:
    inv_id = issue(world)
    ctx = dict(uow=world.app.uow(), clock=world.app.clock, actor="test")
    on(world, DUE + timedelta(days=7))
    scan(world)  # queued, then disputed before the worker sends it
    rem.dispute_invoice(inv_id, "hours for October billed twice", **ctx)  # type: ignore[arg-type]
    world.work()
    assert reminder_mails(world) == [] and rows(world, inv_id) == []  # the step is free again
    on(world, DUE + timedelta(days=20))
    assert scan(world).queued == 0
    rem.resolve_dispute(inv_id, "credit note issued for the difference", **ctx)  # type: ignore[arg-type]
    assert scan(world).queued == 1
    world.work()
    [mail] = reminder_mails(world)
    assert mail["Subject"].startswith("Second reminder")  # the latest step due, not the first


def test_a_paused_client_gets_nothing_until_resumed_or_the_pause_ends(world: World) -> None:
    inv_id = issue(world)
    ctx = dict(uow=world.app.uow(), clock=world.app.clock, actor="test")
    rem.pause_client(world.client_id, "talking to their CFO", until=None, **ctx)  # type: ignore[arg-type]
    on(world, DUE + timedelta(days=7))
    assert scan(world).queued == 0
    rem.resume_client(world.client_id, **ctx)  # type: ignore[arg-type]
    assert scan(world).queued == 1
    world.work()
    # a pause with an end: nothing through that day, the next step after it
    rem.pause_client(world.client_id, "holiday", until=DUE + timedelta(days=15), **ctx)  # type: ignore[arg-type]
    on(world, DUE + timedelta(days=15))
    assert scan(world).queued == 0
    on(world, DUE + timedelta(days=16))
    assert scan(world).queued == 1
    world.work()
    assert [r.step for r in rows(world, inv_id)] == [3, 2]


def test_several_scanners_at_once_queue_each_step_once(world: World) -> None:
    for _ in range(3):
        issue(world)
    on(world, DUE + timedelta(days=7))
    reports: list[rem.ScanReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(scan(world))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert sum(r.queued for r in reports) == 3
    world.work()
    assert len(reminder_mails(world)) == 3


def test_a_job_retried_after_sending_does_not_send_again(world: World) -> None:
    inv_id = issue(world)
    world.smtp.drop_after_data = 1  # the server keeps the mail, the answer never arrives
    on(world, DUE)
    scan(world)
    world.work()
    world.clock.advance(timedelta(minutes=5))
    world.work()
    mails = reminder_mails(world)
    assert len({m["Message-ID"] for m in mails}) == 1  # a retry is the same message
    assert [r.status for r in rows(world, inv_id)] == ["sent"]


def test_the_fee_is_invoiced_on_its_own_and_named_in_the_reminder(world: World) -> None:
    ctx = dict(uow=world.app.uow(), clock=world.app.clock, actor="test")
    rem.set_policy(
        {"steps": [{"offset_days": 7, "tone": "firm", "fee": {"kind": "statutory"}}]},
        client_id=None,
        **ctx,  # type: ignore[arg-type]
    )
    inv_id = issue(world)
    on(world, DUE + timedelta(days=7))
    scan(world)
    world.work()
    [mail] = reminder_mails(world)
    body = mail.get_body(("plain",)).get_content()
    assert "Late fee: €40.00" in body and "Total due: €1,230.00" in body
    [row] = rows(world, inv_id)
    assert row.fee == Money.of("40.00", "EUR") and row.fee_kind == "statutory"
    with world.app.uow(read_only=True) as uow:
        fee = uow.invoices.get(uow.reminders.fee_invoice_of(row.id) or 0)
    assert fee.gross == row.fee and fee.number and fee.number != mail["Subject"].split()[-1]
    assert f"A late fee of €40.00 has been invoiced as {fee.number}." in body


def norwegian_client(world: World, **kw: Any) -> int:
    party = Party(
        name="Fjordkraft Digital AS",
        country="NO",
        address=Address(("Karl Johans gate 1",), "Oslo", "0154", "NO"),
        emails=("faktura@fjordkraft.example",),
    )
    rec = ClientRecord(
        0, world.entity_id, party, "NOK", PaymentTerms.parse("net:30"), "en", "Europe/Oslo"
    )
    return setup.add_client(rec, uow=world.app.uow(), clock=world.app.clock, actor="test")


def test_a_client_policy_overrides_the_organisations_and_norway_moves_the_deadline(
    world: World,
) -> None:
    ctx = dict(uow=world.app.uow(), clock=world.app.clock, actor="test")
    oslo = norwegian_client(world)
    rem.set_policy(
        {
            "steps": [
                {"offset_days": 7, "tone": "firm", "fee": {"kind": "statutory"}},
                {"offset_days": 14, "tone": "final", "fee": {"kind": "statutory"}},
            ]
        },
        client_id=oslo,
        **ctx,  # type: ignore[arg-type]
    )
    inv_id = issue(world, oslo)
    german = issue(world)
    on(world, DUE + timedelta(days=7))
    assert scan(world).queued == 2  # Oslo's firm step, and Hamburg's built-in +7
    world.work()
    [first] = rows(world, inv_id)
    assert first.pay_by == DUE + timedelta(days=21) and first.fee is None  # too early for a fee
    on(world, DUE + timedelta(days=14))
    assert scan(world).queued == 1  # Hamburg's +14; Oslo waits for its new deadline
    on(world, DUE + timedelta(days=22))
    assert scan(world).queued == 1
    world.work()
    final = rows(world, inv_id)[0]
    assert final.step == 1 and final.fee == Money.of("70.00", "NOK")
    body = reminder_mails(world)[-1].get_body(("plain",)).get_content()
    assert "Please pay by:" in body
    assert [r.step for r in rows(world, german)] == [3, 2]


def test_the_reminder_is_in_the_clients_language_and_goes_by_their_clock(world: World) -> None:
    party = Party(
        name="Atelier Lumière SAS",
        country="FR",
        tax_id="FR40303265045",
        address=Address(("18 rue de la République",), "Lyon", "69002", "FR"),
        emails=("compta@atelier-lumiere.example",),
    )
    rec = ClientRecord(
        0, world.entity_id, party, "EUR", PaymentTerms.parse("net:30"), "fr", "Pacific/Auckland"
    )
    cid = setup.add_client(rec, uow=world.app.uow(), clock=world.app.clock, actor="test")
    issue(world, cid)
    # 11:30 UTC on the 19th is already the 20th, the due date, in Auckland (UTC+13)
    world.clock.set(datetime(2026, 12, 19, 11, 30, tzinfo=UTC))
    assert scan(world).queued == 1
    world.work()
    [mail] = reminder_mails(world)
    assert mail["Subject"].startswith("Échéance aujourd'hui: Facture")
    assert "arrive à échéance aujourd'hui" in mail.get_body(("plain",)).get_content()


def test_sandbox_mode_sends_reminders_to_the_test_inbox(world: World) -> None:
    ctx = dict(uow=world.app.uow(), clock=world.app.clock, actor="test")
    setup.set_sandbox(world.entity_id, "qa-inbox@nordlicht.example", **ctx)  # type: ignore[arg-type]
    issue(world)
    on(world, DUE)
    scan(world)
    world.work()
    [received] = [
        m for m in world.smtp.messages if m.message["Message-ID"].startswith("<reminder-")
    ]
    assert received.rcpt_tos == ("qa-inbox@nordlicht.example",)
    assert received.message["X-Autoinvoice-Intended-To"] == "ap@hanseatic.example"


def test_the_scheduler_tick_runs_the_scan(world: World) -> None:
    from autoinvoice.entrypoints.scheduler import tick

    issue(world)
    on(world, DUE)
    assert tick(world.app).reminders.queued == 1
    assert tick(world.app).reminders.queued == 0  # however often it ticks
    world.work()
    assert len(reminder_mails(world)) == 1


def test_a_refused_address_fails_the_reminder_and_tells_the_owner(world: World) -> None:
    inv_id = issue(world)
    world.smtp.rcpt_replies = {"ap@hanseatic.example": "550 5.1.1 No such user"}
    on(world, DUE)
    scan(world)
    world.work()
    [row] = rows(world, inv_id)
    assert row.status == "failed" and "No such user" in (row.detail or "")
    assert len(world.audit("job.dead")) == 1
    alert = world.smtp.messages[-1].message
    assert alert["To"] == "billing@nordlicht.example"
    assert "Sending a payment reminder failed" in alert["Subject"]


def test_the_organisation_can_change_a_countrys_rules(world: World) -> None:
    ctx = dict(uow=world.app.uow(), clock=world.app.clock, actor="test")
    oslo = norwegian_client(world)
    rem.set_policy(
        {
            "steps": [{"offset_days": 14, "fee": {"kind": "fixed", "amount": "150"}}],
            "rules": {"NO": {"fee_cap": "75.00"}},  # the inkassosats went up
        },
        client_id=None,
        **ctx,  # type: ignore[arg-type]
    )
    inv_id = issue(world, oslo)
    on(world, DUE + timedelta(days=14))
    scan(world)
    [row] = rows(world, inv_id)
    assert row.fee == Money.of("75.00", "NOK")
    import pytest

    from autoinvoice.domain.errors import InvalidValue

    with pytest.raises(InvalidValue) as caught:
        rem.set_policy({"steps": [], "rules": {"NO": {"fees": 3}}}, client_id=None, **ctx)  # type: ignore[arg-type]
    assert caught.value.field == "rules.NO.fees"
    assert rem.country_rules(uow=world.app.uow()) == {"NO": {"fee_cap": "75.00"}}


def test_several_workers_send_each_reminder_once(world: World) -> None:
    from autoinvoice.services.jobs import run_jobs_once

    for _ in range(6):
        issue(world)
    on(world, DUE + timedelta(days=7))
    assert scan(world).queued == 6
    errors: list[BaseException] = []

    def work(name: str) -> None:
        handlers = world.app.handlers(name)
        try:
            while run_jobs_once(
                uow=world.app.uow(), clock=world.app.clock, worker=name, handlers=handlers, batch=2
            ):
                pass
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    mails = reminder_mails(world)
    assert len(mails) == 6 and len({m["Message-ID"] for m in mails}) == 6
    assert len(world.audit("reminder.sent")) == 6
