"""A payment reversed after a credit note corrected its invoice, on real storage (SQLite and
PostgreSQL): the credit note still corrects the invoice — the client is not asked again for
money a credit note took off."""

from __future__ import annotations

from decimal import Decimal

from autoinvoice.services.client_credit import apply_credit
from autoinvoice.services.credit_notes import IssueCreditNote, issue_credit_note
from autoinvoice.services.reversals import reverse_payment
from ledger_world import check_ledger, credit, invoice, issued, receive

pytest_plugins = ["ledger_fixtures"]  # the app and client_id fixtures
D = Decimal


def test_a_payment_reversed_after_a_full_credit_note_leaves_nothing_owing(app, client_id) -> None:
    inv = issued(app, client_id, "100.00")  # 119.00
    paid = receive(app, client_id, "119.00", invoice_ids=(inv,))
    issue_credit_note(
        IssueCreditNote(inv, "service not delivered"), uow=app.uow(), clock=app.clock, actor="t"
    )
    assert credit(app, client_id) == D("119.00")  # the invoice was paid: the note is credit
    reverse_payment(paid.payment_id, "bank return MD06", uow=app.uow(), clock=app.clock, actor="t")
    assert check_ledger(app, client_id) == []
    # the money came back to the client and the invoice was credited in full: owed neither
    # way — the open balance and the free credit should not both stand at 119.00
    assert (invoice(app, inv).balance.amount, credit(app, client_id)) == (0, 0)


def test_credit_a_credit_note_made_that_was_spent_elsewhere_stays_owed_on_its_invoice(
    app, client_id
) -> None:
    other = issued(app, client_id, "50.00")  # 59.50, open
    inv = issued(app, client_id, "100.00")  # 119.00
    paid = receive(app, client_id, "119.00", invoice_ids=(inv,))
    issue_credit_note(
        IssueCreditNote(inv, "service not delivered"), uow=app.uow(), clock=app.clock, actor="t"
    )
    apply_credit(client_id, other, uow=app.uow(), clock=app.clock, actor="t")  # 59.50 spent
    out = reverse_payment(paid.payment_id, "chargeback", uow=app.uow(), clock=app.clock, actor="t")
    assert out.credit_notes_restored == {inv: D("59.50")}  # what was left of the note's credit
    assert check_ledger(app, client_id) == []
    assert (invoice(app, inv).balance.amount, credit(app, client_id)) == (D("59.50"), 0)
    assert invoice(app, other).balance.amount == 0  # the credit spent there stays spent


def test_a_reversal_leaves_other_client_credit_unapplied(app, client_id) -> None:
    inv = issued(app, client_id, "100.00")  # 119.00
    paid = receive(app, client_id, "119.00", invoice_ids=(inv,))
    receive(app, client_id, "30.00")  # nothing open: credit
    out = reverse_payment(paid.payment_id, "bank return", uow=app.uow(), clock=app.clock, actor="t")
    assert out.credit_notes_restored == {}
    assert (invoice(app, inv).balance.amount, credit(app, client_id)) == (D("119.00"), D("30.00"))
