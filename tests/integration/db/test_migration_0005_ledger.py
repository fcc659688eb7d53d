"""Migration 0005 carries the payments recorded before it into the ledger: one allocation per
payment applied to an invoice, one credit movement per credit row — on both databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text

from autoinvoice.adapters.db.engine import make_engine
from autoinvoice.adapters.db.ledger import SqlLedger
from autoinvoice.adapters.db.migrate import alembic_config, upgrade

PG_ADMIN_URL = os.environ.get(  # as in tests/conftest.py
    "AUTOINVOICE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ROWS = [
    "INSERT INTO issuing_entities (id, name, country, address, email, bank, timezone, locale,"
    " footer) VALUES (1, 'Seller', 'DE', '{}', 's@x.example', '{}', 'UTC', 'en', '')",
    "INSERT INTO number_series (id, entity_id, name, pattern, yearly_reset)"
    " VALUES (1, 1, 'default', 'INV-{seq:06d}', false)",
    "INSERT INTO clients (id, entity_id, name, country, emails, is_business, currency, terms,"
    " language, timezone, created_at) VALUES (1, 1, 'Buyer', 'DE', '[]', true, 'EUR',"
    " 'net:30', 'en', 'UTC', '2026-11-01 10:00:00')",
    "INSERT INTO invoices (id, entity_id, client_id, series_id, kind, status, currency, terms,"
    " rounding, seller, buyer, net_total, tax_total, gross_total, amount_paid, notes,"
    " created_at) VALUES (1, 1, 1, 1, 'invoice', 'paid', 'EUR', 'net:30', 'per_category',"
    " '{}', '{}', 100, 19, 119, 119, '[]', '2026-11-01 10:00:00')",
    "INSERT INTO payments (id, client_id, invoice_id, amount, applied, currency, method,"
    " received_at, recorded_at) VALUES (1, 1, 1, 150, 119, 'EUR', 'manual',"
    " '2026-11-02 10:00:00', '2026-11-02 10:00:00'), (2, 1, 1, 5, 0, 'EUR', 'manual',"
    " '2026-11-03 10:00:00', '2026-11-03 10:00:00')",
    "INSERT INTO client_credits (id, client_id, amount, currency, payment_id, note, created_at)"
    " VALUES (1, 1, 31, 'EUR', 1, 'overpayment', '2026-11-02 10:00:00'),"
    " (2, 1, 5, 'EUR', 2, 'overpayment', '2026-11-03 10:00:00')",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of this test's own."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    name = f"autoinvoice_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    yield engine
    engine.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_payments_from_before_the_ledger_become_allocations_and_credit_moves(
    fresh: Engine,
) -> None:
    upgrade(fresh, "0004")
    with fresh.begin() as conn:
        for row in ROWS:
            conn.execute(text(row))
    upgrade(fresh, "0005")
    with fresh.connect() as conn:
        ledger = SqlLedger(conn)
        [alloc] = ledger.allocations(invoice_id=1)
        totals = ledger.credit_totals(1, "EUR")
        balance = ledger.credit_balance(1, "EUR")
    assert (alloc.payment_id, alloc.kind, alloc.amount) == (1, "payment", Decimal(119))
    assert totals == {"overpayment": Decimal(36)} and balance == Decimal(36)


def test_the_ledger_tables_go_away_on_downgrade(fresh: Engine) -> None:
    upgrade(fresh, "0005")
    cfg = alembic_config()
    with fresh.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    with fresh.connect() as conn:
        assert "payment_allocations" not in fresh.dialect.get_table_names(conn)
