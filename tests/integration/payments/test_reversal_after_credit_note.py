"""A payment reversed after a credit note corrected its invoice, on real storage (SQLite and
PostgreSQL): the credit note still corrects the invoice — the client is not asked again for
money a credit note took off."""

from __future__ import annotations

from decimal import Decimal

import pytest

from autoinvoice.services.credit_notes import IssueCreditNote, issue_credit_note
from autoinvoice.services.reversals import reverse_payment
from ledger_world import check_ledger, credit, invoice, issued, receive

pytest_plugins = ["ledger_fixtures"]  # the app and client_id fixtures
D = Decimal


@pytest.mark.xfail(
    strict=True,
    reason="reverse_payment reopens the invoice for its whole gross and leaves the credit "
    "note's amount as free client credit: the invoice is dunned and aged as owing 119.00 "
    "while the client's net position is zero",
)
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
