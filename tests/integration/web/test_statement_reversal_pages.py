"""A reversed payment on the statement pages, on SQLite and PostgreSQL: the owner's CSV and
PDF and the client's portal page show the payment on the day it came and its reversal, a
debit, on the day it was undone — and a period stated before the reversal reads the same."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pypdf
import pytest
from fastapi.testclient import TestClient
from web_support import OWNER, add_user, sign_in

from autoinvoice.entrypoints.web.app import create_app
from autoinvoice.services import portal
from autoinvoice.services.reversals import reverse_payment
from cashflow_world import TODAY, Ledger, make_ledger
from ledger_world import receive

LATER = TODAY + timedelta(days=20)


@pytest.fixture
def ledger(database_url: str, tmp_path: Path) -> Iterator[Ledger]:
    """Acme: invoiced 500.00, paid today, the payment charged back 20 days later."""
    ledger = make_ledger(database_url, tmp_path)
    cid = ledger.client("Acme")
    ledger.invoice("Acme", "500.00", issued=TODAY - timedelta(days=3), due=TODAY + timedelta(27))
    paid = receive(ledger.app, cid, "500.00", reference="ACME-4711")
    ledger.clock.set(ledger.clock.now() + timedelta(days=20))
    reverse_payment(
        paid.payment_id, "chargeback", uow=ledger.app.uow(), clock=ledger.clock, actor="t"
    )
    add_user(ledger.app, *OWNER, "owner")
    yield ledger
    ledger.app.engine.dispose()


@pytest.fixture
def web(ledger: Ledger) -> Iterator[TestClient]:
    with TestClient(create_app(ledger.app), base_url="http://testserver") as c:
        sign_in(c)
        yield c


def _csv(web: TestClient, client_id: int, start: object, end: object) -> list[list[str]]:
    r = web.get(f"/clients/{client_id}/statement.csv?from={start}&to={end}")
    assert r.status_code == 200, r.text
    return list(csv.reader(io.StringIO(r.text)))


def test_the_csv_keeps_the_payment_on_its_day_and_shows_the_reversal_on_its_own(
    ledger: Ledger, web: TestClient
) -> None:
    acme = ledger.clients["Acme"]
    payment = [TODAY.isoformat(), "Payment (manual)", "ACME-4711", "", "500.00", "0.00"]
    assert [r[1:] for r in _csv(web, acme, TODAY, TODAY)[2:]] == [
        payment,
        [TODAY.isoformat(), "Closing balance", "", "", "", "0.00"],  # what that day said
    ]
    assert [r[1:] for r in _csv(web, acme, TODAY, LATER)[2:]] == [
        payment,
        [
            LATER.isoformat(),
            "Payment (manual) reversed: chargeback",
            "ACME-4711",
            "500.00",
            "",
            "500.00",
        ],
        [LATER.isoformat(), "Closing balance", "", "", "", "500.00"],  # owed again
    ]


def test_the_pdf_and_the_portal_show_the_reversal(ledger: Ledger, web: TestClient) -> None:
    acme = ledger.clients["Acme"]
    r = web.get(f"/clients/{acme}/statement.pdf?from={TODAY}&to={LATER}")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    assert "reversed: chargeback" in text, text
    page = web.get(f"/portal/clients/{portal.client_link(acme, uow=ledger.app.uow())}")
    assert page.status_code == 200
    assert "reversed: chargeback" in page.text and "€500.00" in page.text
