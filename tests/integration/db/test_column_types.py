"""The column types that keep money exact and time zones explicit, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import StatementError

from autoinvoice.adapters.db import tables as t
from autoinvoice.adapters.db.engine import make_engine
from builders import make_app, make_client, make_entity


@pytest.fixture
def client_id(database_url: str, tmp_path) -> int:  # type: ignore[no-untyped-def]
    app = make_app(database_url, tmp_path)
    cid = make_client(app, make_entity(app))
    app.engine.dispose()
    return cid


def _credit(conn, client_id, amount, at):  # type: ignore[no-untyped-def]
    return conn.execute(
        insert(t.client_credits).values(
            client_id=client_id, amount=amount, currency="EUR", note="x", created_at=at
        )
    )


def test_amounts_come_back_exactly_and_times_come_back_aware_utc(
    database_url: str, client_id: int
) -> None:
    engine = make_engine(database_url)
    berlin = timezone(timedelta(hours=1))
    with engine.connect() as conn:
        _credit(conn, client_id, Decimal("0.000001"), datetime(2026, 12, 1, 6, tzinfo=berlin))
        _credit(
            conn, client_id, Decimal("123456789012345678.12"), datetime(2026, 12, 1, 5, tzinfo=UTC)
        )
        rows = conn.execute(
            select(t.client_credits.c.amount, t.client_credits.c.created_at).order_by(
                t.client_credits.c.id
            )
        ).all()
        conn.rollback()
    engine.dispose()
    assert [r.amount for r in rows] == [Decimal("0.000001"), Decimal("123456789012345678.12")]
    assert all(isinstance(r.amount, Decimal) for r in rows)
    assert [r.created_at for r in rows] == [datetime(2026, 12, 1, 5, tzinfo=UTC)] * 2


@pytest.mark.parametrize(
    ("amount", "at"),
    [
        (0.1, datetime(2026, 12, 1, tzinfo=UTC)),  # a float is not money
        (Decimal("1"), datetime(2026, 12, 1)),  # noqa: DTZ001 — a naive time is refused
    ],
)
def test_floats_and_naive_datetimes_are_refused_before_they_reach_the_database(
    database_url: str, client_id: int, amount, at
) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    with engine.connect() as conn, pytest.raises(StatementError):
        _credit(conn, client_id, amount, at)
    engine.dispose()
