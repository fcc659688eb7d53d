"""The statement of account against the ledger, on real storage (SQLite and PostgreSQL): its
closing balance is what the client owes (positive) or is owed (negative) — so money paid
back to the client is on it as well as money received."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from autoinvoice.services.account_statements import statement_of_account
from autoinvoice.services.reversals import RefundCredit, refund_credit, reverse_payment
from ledger_world import credit, issued, receive

pytest_plugins = ["ledger_fixtures"]  # the app and client_id fixtures
D = Decimal


def test_a_refund_of_an_overpayment_brings_the_statement_back_to_zero(app, client_id) -> None:
    issued(app, client_id, "100.00")  # 119.00
    receive(app, client_id, "150.00")  # 31.00 kept as client credit
    refund_credit(
        RefundCredit(client_id, "31.00", "EUR", "paid twice by mistake"),
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )
    assert credit(app, client_id) == 0
    today = app.clock.now().date()
    (st,) = statement_of_account(
        client_id, start=today - timedelta(days=30), end=today + timedelta(days=1), uow=app.uow()
    )
    # 119.00 invoiced − 150.00 received + 31.00 paid back: the client owes nothing, and
    # is owed nothing
    assert st.closing == 0, [(r.what, r.debit, r.credit, r.balance) for r in st.rows]


def test_a_payment_reversed_later_stays_on_the_statement_of_its_own_period(app, client_id) -> None:
    issued(app, client_id, "100.00")  # 119.00
    paid = receive(app, client_id, "119.00")
    day = app.clock.now().date()
    app.clock.set(app.clock.now() + timedelta(days=20))
    reverse_payment(paid.payment_id, "chargeback", uow=app.uow(), clock=app.clock, actor="t")
    (then,) = statement_of_account(client_id, start=day, end=day, uow=app.uow())
    assert then.closing == 0  # what that day's statement said: paid
    later = app.clock.now().date()
    (now,) = statement_of_account(client_id, start=day, end=later, uow=app.uow())
    assert now.closing == D("119.00")  # owed again since the reversal
