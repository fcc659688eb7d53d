"""The bank statement API over real HTTP (TestClient) on SQLite and PostgreSQL: upload,
review list, confirm, and a broken upload that is a 422 naming the element at fault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_support import sign_in

from autoinvoice.entrypoints.web.app import create_app
from autoinvoice.services import accounts
from bank_world import SAMPLES, BankWorld, make_bank_world


@pytest.fixture
def bank(database_url: str, tmp_path: Path) -> BankWorld:
    return make_bank_world(database_url, tmp_path)


@pytest.fixture
def api(bank: BankWorld) -> Iterator[TestClient]:
    app = bank.app
    uid = accounts.create_user(
        "owner@nordlicht.example",
        "correct horse battery",
        "owner",
        uow=app.uow(),
        clock=app.clock,
        hasher=app.hasher,
        actor="test",
    )
    key = accounts.create_api_key(uid, "ci", ["read", "write"], uow=app.uow(), clock=app.clock)
    with TestClient(create_app(app), base_url="http://testserver") as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


def _upload(api: TestClient, name: str, **form: str) -> object:
    files = {"file": (name, (SAMPLES / name).read_bytes(), "application/octet-stream")}
    return api.post("/api/v1/bank/statements", files=files, data=form)


def test_a_statement_is_uploaded_matched_reviewed_and_confirmed(
    api: TestClient, bank: BankWorld
) -> None:
    r = _upload(api, "camt053_valid.xml")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["imported"], body["matched"], body["review"], body["outgoing"]) == (10, 6, 3, 1)
    assert _upload(api, "camt053_valid.xml").json()["duplicates"] == 10
    waiting = api.get("/api/v1/bank/review").json()
    nordsee = next(w for w in waiting if w["payer"] == "Nordsee Foods GmbH")
    assert [c["number"] for c in nordsee["candidates"]] == ["INV-2026-000007", "INV-2026-000008"]
    done = api.post(
        f"/api/v1/bank/transactions/{nordsee['id']}/confirm",
        json={"invoice_ids": [bank.invoices[7]]},
    )
    assert done.status_code == 200, done.text
    again = api.post(
        f"/api/v1/bank/transactions/{nordsee['id']}/confirm",
        json={"invoice_ids": [bank.invoices[7]]},
    )
    assert again.status_code == 409
    assert len(api.get("/api/v1/bank/review").json()) == 2


def test_a_broken_upload_is_a_422_naming_the_element_and_stores_nothing(api: TestClient) -> None:
    r = _upload(api, "camt053_broken_amount.xml", format="camt")
    assert r.status_code == 422
    problem = r.json()
    assert "Ntry[3]/Amt" in str(problem) and "59O.00" in str(problem)
    assert api.get("/api/v1/bank/review").json() == []


def test_the_review_page_lists_waiting_lines_and_confirms_the_ticked_invoice(
    api: TestClient, bank: BankWorld
) -> None:
    _upload(api, "camt053_valid.xml")
    del api.headers["Authorization"]
    token = sign_in(api)
    page = api.get("/bank")
    assert page.status_code == 200
    assert "INV-2026-000007" in page.text and "J. Smith" in page.text
    smith = next(w for w in api_review(bank) if w.tx.counterparty_name == "J. Smith")
    r = api.post(
        f"/bank/{smith.id}/confirm",
        data={"csrf_token": token, "invoice_id": str(bank.invoices[10])},
        follow_redirects=False,
    )
    assert r.status_code == 303
    after = api.get("/bank").text
    assert f"Line {smith.id} applied as payment" in after and "J. Smith" not in after


def api_review(bank: BankWorld) -> list[Any]:
    from autoinvoice.services.bank import review_list

    return review_list(uow=bank.app.uow())
