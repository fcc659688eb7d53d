"""Invoices, numbering and payments on real storage — each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from autoinvoice.domain.errors import (
    InvalidTransition,
    InvalidValue,
    InvoiceImmutable,
    UnknownCurrency,
)
from autoinvoice.domain.invoice import InvoiceStatus
from autoinvoice.domain.lint import NeedsAttention
from autoinvoice.services.errors import Conflict, NotFound
from autoinvoice.services.invoicing import delete_draft, issue_invoice, void_invoice
from autoinvoice.services.payments import RecordPayment, record_payment
from builders import draft_for, make_app, make_client, make_entity


@pytest.fixture
def app(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    a = make_app(database_url, tmp_path)
    yield a
    a.engine.dispose()


@pytest.fixture
def client_id(app) -> int:  # type: ignore[no-untyped-def]
    return make_client(app, make_entity(app))


def _issue(app, inv_id: int) -> str:  # type: ignore[no-untyped-def]
    return issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="test")


def test_a_draft_round_trips_with_exact_decimals_and_aware_datetimes(app, client_id) -> None:
    inv_id = draft_for(
        app,
        client_id,
        lines=[
            ("Consulting, senior engineer", "7.125", "0.0001"),
            ("Licences", "3", "1234567.8912"),
        ],
    )
    with app.uow(read_only=True) as uow:
        inv = uow.invoices.get(inv_id)
    assert [ln.quantity for ln in inv.lines] == [Decimal("7.125"), Decimal("3")]
    assert inv.lines[1].unit_price == Decimal("1234567.8912")
    assert inv.totals().net.amount == Decimal("3703703.67")
    assert inv.created_at is not None and inv.created_at.tzinfo is not None
    assert inv.number is None and inv.status is InvoiceStatus.DRAFT


def test_issuing_takes_consecutive_numbers_and_enqueues_one_delivery_each(app, client_id) -> None:
    numbers = [_issue(app, draft_for(app, client_id)) for _ in range(3)]
    assert numbers == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]
    with app.uow(read_only=True) as uow:
        assert uow.outbox.counts() == {"pending": 3}
        inv = uow.invoices.by_number("INV-2026-000002")
    assert inv.status is InvoiceStatus.ISSUED
    assert inv.issue_date == app.clock.now().date()
    assert inv.due_date == inv.issue_date + timedelta(days=30)


def test_drafts_and_deleted_drafts_never_consume_a_number(app, client_id) -> None:
    doomed = draft_for(app, client_id)
    kept = draft_for(app, client_id)
    delete_draft(doomed, uow=app.uow(), clock=app.clock, actor="test")
    assert _issue(app, kept) == "INV-2026-000001"
    with pytest.raises(NotFound), app.uow(read_only=True) as uow:
        uow.invoices.get(doomed)


def test_a_failed_issue_consumes_no_number_and_changes_nothing(app, tmp_path) -> None:
    entity = make_entity(app)
    no_address = make_client(app, entity, address=None)
    ok = make_client(app, entity)
    bad = draft_for(app, no_address)
    with pytest.raises(NeedsAttention) as err:
        _issue(app, bad)
    assert err.value.field == "client.address"
    assert [f.check for f in err.value.findings] == ["client_address"]
    with app.uow(read_only=True) as uow:
        assert uow.invoices.get(bad).status is InvoiceStatus.DRAFT
        assert uow.outbox.counts() == {"pending": 1}  # the owner's alert; nothing delivered
    assert _issue(app, draft_for(app, ok)) == "INV-2026-000001"


def test_numbers_restart_each_year_when_the_series_resets_yearly(app, client_id) -> None:
    assert _issue(app, draft_for(app, client_id)) == "INV-2026-000001"
    app.clock.set(datetime(2027, 1, 1, 9, tzinfo=UTC))
    assert _issue(app, draft_for(app, client_id)) == "INV-2027-000001"
    assert _issue(app, draft_for(app, client_id)) == "INV-2027-000002"


def test_the_issue_date_is_the_sellers_local_date(app, client_id) -> None:
    app.clock.set(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))  # already 2027 in Berlin
    assert _issue(app, draft_for(app, client_id)) == "INV-2027-000001"


def test_an_issued_invoice_cannot_be_changed_or_issued_again(app, client_id) -> None:
    inv_id = draft_for(app, client_id)
    _issue(app, inv_id)
    with pytest.raises(InvalidTransition):
        _issue(app, inv_id)
    with app.uow() as uow:
        inv = uow.invoices.get(inv_id)
        with pytest.raises(InvoiceImmutable):
            inv.replace_lines([])
        with pytest.raises(InvoiceImmutable):
            uow.invoices.delete_draft(inv_id)


def test_storage_keeps_issued_figures_even_if_a_caller_tampers_with_the_object(
    app, client_id
) -> None:
    inv_id = draft_for(app, client_id)
    number = _issue(app, inv_id)
    with app.uow() as uow:
        inv = uow.invoices.get(inv_id)
        inv.number = "FORGED-1"
        inv.lines[0] = type(inv.lines[0])("Changed", Decimal(9), Decimal(9), inv.lines[0].tax)
        uow.invoices.save(inv)
        uow.commit()
    with app.uow(read_only=True) as uow:
        again = uow.invoices.get(inv_id)
    assert again.number == number
    assert again.lines[0].description != "Changed"
    assert again.gross.amount == Decimal("5355.00")


def test_a_partial_then_full_payment_moves_the_status_to_paid(app, client_id) -> None:
    inv_id = draft_for(app, client_id)
    _issue(app, inv_id)
    r1 = record_payment(
        RecordPayment(inv_id, "2000.00"), uow=app.uow(), clock=app.clock, actor="test"
    )
    assert (r1.invoice_status, r1.balance) == ("partially_paid", Decimal("3355.00"))
    r2 = record_payment(
        RecordPayment(inv_id, "3355.00"), uow=app.uow(), clock=app.clock, actor="test"
    )
    assert (r2.invoice_status, r2.balance) == ("paid", Decimal("0.00"))


def test_an_overpayment_is_kept_as_client_credit(app, client_id) -> None:
    inv_id = draft_for(app, client_id)
    _issue(app, inv_id)
    r = record_payment(
        RecordPayment(inv_id, "5400.00"), uow=app.uow(), clock=app.clock, actor="test"
    )
    assert r.invoice_status == "paid" and r.credited == Decimal("45.00")
    with app.uow(read_only=True) as uow:
        assert uow.credits.balance(client_id, "EUR") == Decimal("45.00")
        [p] = uow.payments.for_invoice(inv_id)
    assert (p["amount"], p["applied"]) == (Decimal("5400"), Decimal("5355"))


def test_the_same_payment_arriving_twice_is_recorded_once(app, client_id) -> None:
    inv_id = draft_for(app, client_id)
    _issue(app, inv_id)
    cmd = RecordPayment(inv_id, "1000", idempotency_key="bank:tx-42")
    first = record_payment(cmd, uow=app.uow(), clock=app.clock, actor="test")
    second = record_payment(cmd, uow=app.uow(), clock=app.clock, actor="test")
    assert second.duplicate and second.payment_id == first.payment_id
    with app.uow(read_only=True) as uow:
        assert len(uow.payments.for_invoice(inv_id)) == 1
        assert uow.invoices.get(inv_id).amount_paid == Decimal("1000")


@pytest.mark.parametrize(
    ("amount", "currency", "error", "field"),
    [
        ("abc", None, InvalidValue, "amount"),
        ("-5", None, InvalidValue, "amount"),
        ("10", "XYZ", UnknownCurrency, "currency"),
        ("10", "USD", InvalidValue, "currency"),
    ],
)
def test_a_bad_payment_is_refused_naming_the_field_and_stores_nothing(
    app, client_id, amount, currency, error, field
) -> None:
    inv_id = draft_for(app, client_id)
    _issue(app, inv_id)
    with pytest.raises(error) as err:
        record_payment(
            RecordPayment(inv_id, amount, currency), uow=app.uow(), clock=app.clock, actor="test"
        )
    assert err.value.field == field
    with app.uow(read_only=True) as uow:
        assert uow.payments.for_invoice(inv_id) == []
        assert uow.invoices.get(inv_id).status is InvoiceStatus.ISSUED


def test_a_payment_on_a_void_invoice_is_refused(app, client_id) -> None:
    inv_id = draft_for(app, client_id)
    _issue(app, inv_id)
    void_invoice(inv_id, "issued to the wrong client", uow=app.uow(), clock=app.clock, actor="test")
    with pytest.raises(InvalidTransition):
        record_payment(RecordPayment(inv_id, "10"), uow=app.uow(), clock=app.clock, actor="test")
    with app.uow(read_only=True) as uow:
        inv = uow.invoices.get(inv_id)
    assert inv.status is InvoiceStatus.VOID and inv.void_reason == "issued to the wrong client"


def test_every_change_leaves_an_audit_record(app, client_id) -> None:
    inv_id = draft_for(app, client_id)
    _issue(app, inv_id)
    record_payment(RecordPayment(inv_id, "5355.00"), uow=app.uow(), clock=app.clock, actor="alice")
    with app.uow(read_only=True) as uow:
        actions = [
            a["action"] for a in uow.audit.recent(subject_type="invoice", subject_id=str(inv_id))
        ]
    assert actions == ["invoice.payment_received", "invoice.issued", "invoice.drafted"]


def test_a_key_used_for_another_invoices_payment_is_refused_not_swallowed(app, client_id) -> None:
    first, second = draft_for(app, client_id), draft_for(app, client_id)
    _issue(app, first)
    _issue(app, second)
    record_payment(
        RecordPayment(first, "1000", idempotency_key="BANK-TX-7781"),
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )
    with pytest.raises(Conflict) as err:
        record_payment(
            RecordPayment(second, "2000", idempotency_key="BANK-TX-7781"),
            uow=app.uow(),
            clock=app.clock,
            actor="test",
        )
    assert err.value.field == "idempotency_key"
    with app.uow(read_only=True) as uow:
        assert uow.invoices.get(second).amount_paid == Decimal(0)


def test_money_for_an_invoice_already_paid_becomes_client_credit(app, client_id) -> None:
    inv_id = draft_for(app, client_id)
    _issue(app, inv_id)
    record_payment(RecordPayment(inv_id, "5355.00"), uow=app.uow(), clock=app.clock, actor="test")
    again = record_payment(
        RecordPayment(inv_id, "5355.00", reference="second transfer"),
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )
    assert (again.invoice_status, again.credited) == ("paid", Decimal("5355.00"))
    with app.uow(read_only=True) as uow:
        assert uow.credits.balance(client_id, "EUR") == Decimal("5355.00")
        assert [p["applied"] for p in uow.payments.for_invoice(inv_id)] == [
            Decimal("5355"),
            Decimal("0"),
        ]


def test_an_invoice_is_not_issued_to_a_client_without_an_email_address(app) -> None:
    no_email = make_client(app, make_entity(app), emails=())
    inv_id = draft_for(app, no_email)
    with pytest.raises(NeedsAttention) as err:
        _issue(app, inv_id)
    assert err.value.field == "client.emails"
