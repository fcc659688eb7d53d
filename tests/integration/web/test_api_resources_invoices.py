"""REST API: drafts made by hand, sending again, the payments list and credit notes."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_resources_support import api_on, audit_actions, key_for, walk, with_key
from fastapi.testclient import TestClient
from sqlalchemy import text
from web_support import milestone_draft

from autoinvoice.bootstrap import App

LINES = [
    {"description": "Network audit, 3 sites", "quantity": "2", "unit_price": "100.00"},
    {"description": "Firewall licence", "unit_price": "50.00", "tax_category": "S",
     "tax_rate": "19"},
]  # fmt: skip


@pytest.fixture
def api(app: App, client: TestClient) -> TestClient:
    return with_key(client, key_for(app))


def client_id(api: TestClient, name: str) -> int:
    found: int = api.get("/api/v1/clients", params={"q": name}).json()["items"][0]["id"]
    return found


def deliver_jobs(app: App, invoice_id: int) -> int:
    with app.engine.connect() as c:
        n: int = c.execute(
            text("SELECT count(*) FROM jobs WHERE idempotency_key LIKE :k"),
            {"k": f"deliver_invoice:{invoice_id}%"},
        ).scalar_one()
    return n


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_draft_is_made_by_hand_and_issued_on_both_databases(
    tmp_path: Path, database_url: str
) -> None:
    with api_on(tmp_path, database_url) as (app, api):
        body = {"client_id": client_id(api, "Hanseatic"), "lines": LINES, "notes": ["PO 4711"],
                "buyer_reference": "PO-4711"}  # fmt: skip
        r = api.post("/api/v1/invoices", json=body)
        assert r.status_code == 201, r.text
        draft = r.json()
        assert r.headers["location"] == f"/api/v1/invoices/{draft['id']}"
        assert draft["status"] == "draft" and draft["number"] is None
        assert draft["currency"] == "EUR"
        assert draft["totals"] == {
            "net": "250.00", "tax": "47.50", "gross": "297.50", "paid": "0.00",
            "balance": "297.50",
        }  # fmt: skip
        assert draft["hold_reason"] is None
        assert draft["buyer_reference"] == "PO-4711"
        assert "invoice.drafted" in audit_actions(app, 3)
        issued = api.post(f"/api/v1/invoices/{draft['id']}/issue")
        assert issued.status_code == 200, issued.text
        assert issued.json()["number"].startswith("INV-2026-")


def test_a_draft_that_would_not_issue_is_kept_with_its_reason(api: TestClient) -> None:
    made = api.post("/api/v1/clients", json={"name": "Tiny", "country": "DE", "currency": "EUR"})
    body = {"client_id": made.json()["id"], "lines": LINES[:1]}
    r = api.post("/api/v1/invoices", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft"
    assert "address" in r.json()["hold_reason"]  # no billing address yet


BAD_DRAFTS: list[tuple[dict[str, object], int, str | None]] = [
    ({"lines": []}, 422, "lines"),
    ({"lines": [{"description": "x", "unit_price": 10.5}]}, 422, "lines[0].unit_price"),
    (
        {"lines": [{"description": "x", "unit_price": "1", "quantity": "0"}]},
        422,
        "lines[0].quantity",
    ),
    ({"lines": [{"description": "  ", "unit_price": "1"}]}, 422, "lines[0].description"),
    ({"lines": [{"description": "x", "unit_price": "1", "tax_category": "S"}]}, 422, "lines[0]"),
    (
        {"lines": [{"description": "x", "unit_price": "1", "tax_category": "E", "tax_rate": "7"}]},
        422,
        "lines[0].tax_rate",
    ),
    ({"currency": "XYZ"}, 422, "currency"),
    ({"client_id": 9999}, 404, "client_id"),
    ({"contract_id": 9999}, 404, None),
]


def test_a_bad_draft_is_refused_naming_the_field_and_nothing_is_stored(api: TestClient) -> None:
    before = len(walk(api, "/api/v1/invoices"))
    for change, status, field in BAD_DRAFTS:
        body = {"client_id": client_id(api, "Hanseatic"), "lines": LINES, **change}
        r = api.post("/api/v1/invoices", json=body)
        assert r.status_code == status, (change, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        if field:
            assert r.json()["field"] == field, change
    assert len(walk(api, "/api/v1/invoices")) == before


def test_another_clients_contract_is_refused(api: TestClient) -> None:
    contracts = api.get("/api/v1/contracts").json()["items"]
    other = next(c for c in contracts if c["client_id"] != client_id(api, "Hanseatic"))
    body = {"client_id": client_id(api, "Hanseatic"), "lines": LINES, "contract_id": other["id"]}
    r = api.post("/api/v1/invoices", json=body)
    assert r.status_code == 422
    assert r.json()["field"] == "contract_id"


def test_an_issued_invoice_is_sent_again_once_per_idempotency_key(
    app: App, api: TestClient
) -> None:
    before = deliver_jobs(app, 1)
    r = api.post("/api/v1/invoices/1/send", headers={"Idempotency-Key": "resend-1"})
    assert r.status_code == 202, r.text
    assert r.json() == {"invoice_id": 1, "queued": True}
    again = api.post("/api/v1/invoices/1/send", headers={"Idempotency-Key": "resend-1"})
    assert again.status_code in (200, 202)
    assert deliver_jobs(app, 1) == before + 1
    assert api.post("/api/v1/invoices/1/send").json()["queued"] is True  # no key: a new send
    assert deliver_jobs(app, 1) == before + 2
    assert "invoice.send_again" in audit_actions(app, 3)


def test_a_draft_or_void_invoice_is_not_sent(app: App, api: TestClient) -> None:
    draft = milestone_draft(app)
    r = api.post(f"/api/v1/invoices/{draft}/send")
    assert r.status_code == 409
    assert "draft" in r.json()["detail"]
    api.post("/api/v1/invoices/2/void", json={"reason": "wrong client"})
    assert api.post("/api/v1/invoices/2/send").status_code == 409
    assert api.post("/api/v1/invoices/9999/send").status_code == 404


# -- payments and credit notes --------------------------------------------------------------
def test_payments_are_filtered_by_invoice_client_and_date_and_read_by_id(
    api: TestClient,
) -> None:
    for invoice_id, amount, when in (
        (1, "100.00", "2026-12-02T10:00:00Z"),
        (1, "50.00", "2026-12-10T10:00:00Z"),
        (2, "10.00", "2026-12-05T10:00:00Z"),
    ):
        r = api.post(
            f"/api/v1/invoices/{invoice_id}/payments",
            json={"amount": amount, "received_at": when, "reference": f"ref {amount}"},
        )
        assert r.status_code == 201, r.text
    every = walk(api, "/api/v1/payments", limit=1)
    assert len(every) == len({p["id"] for p in every}) >= 3
    on_1 = api.get("/api/v1/payments", params={"invoice_id": 1}).json()["items"]
    assert [p["amount"] for p in on_1] == ["50.00", "100.00"]
    december = api.get(
        "/api/v1/payments", params={"from": "2026-12-03T00:00:00Z", "to": "2026-12-09T00:00:00Z"}
    ).json()["items"]
    assert [p["amount"] for p in december] == ["10.00"]
    cid = on_1[0]["client_id"]
    assert all(p["client_id"] == cid for p in walk(api, "/api/v1/payments", client_id=cid))
    one = api.get(f"/api/v1/payments/{on_1[0]['id']}").json()
    assert one == on_1[0]
    assert one["allocations"] == [{"invoice_id": 1, "amount": "50.00"}]
    assert api.get("/api/v1/payments/9999").status_code == 404
    naive = api.get("/api/v1/payments", params={"from": "2026-12-03T00:00:00"})
    assert naive.status_code == 422
    assert naive.json()["field"] == "from"


def test_credit_notes_are_listed_with_the_invoice_they_correct(api: TestClient) -> None:
    r = api.post("/api/v1/invoices/1/credit-notes", json={"reason": "hours billed twice",
                                                        "amount": "100.00"})  # fmt: skip
    assert r.status_code == 201, r.text
    notes = api.get("/api/v1/credit-notes").json()
    assert notes["next_cursor"] is None
    [note] = notes["items"]
    assert note["id"] == r.json()["credit_note_id"]
    assert note["invoice_id"] == 1
    assert note["kind"] == "credit_note"
    assert note["number"].startswith("CN-")
    other = api.get("/api/v1/credit-notes", params={"client_id": 9999}).json()
    assert other == {"items": [], "next_cursor": None}
