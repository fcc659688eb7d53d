"""The payments ledger through HTTP: multi-invoice receipts with Idempotency-Key, the payment
list, reversals, refunds and credit notes — problem+json on every refusal."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from autoinvoice.bootstrap import App
from autoinvoice.services import accounts


@pytest.fixture
def api(app: App, client: TestClient) -> TestClient:
    with app.uow() as uow:
        user = uow.users.by_email("owner@nordlicht.example")
    assert user is not None
    key = accounts.create_api_key(user.id, "ci", ["read", "write"], uow=app.uow(), clock=app.clock)
    client.headers["Authorization"] = f"Bearer {key}"
    return client


def invoice(api: TestClient, invoice_id: int) -> dict[str, object]:
    r = api.get(f"/api/v1/invoices/{invoice_id}")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def receipt_body(api: TestClient, invoice_id: int, amount: str, **kw: object) -> dict[str, object]:
    inv = invoice(api, invoice_id)
    return {"client_id": inv["client_id"], "amount": amount, "currency": inv["currency"], **kw}


def test_a_receipt_settles_the_invoice_and_keeps_the_rest_as_credit_once(api: TestClient) -> None:
    inv = invoice(api, 1)
    total = inv["total"]
    body = receipt_body(api, 1, "99999.00", invoice_ids=[1], reference="TX-1")
    headers = {"Idempotency-Key": "bank-2026-12-05-1"}
    first = api.post("/api/v1/payments", json=body, headers=headers)
    again = api.post("/api/v1/payments", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    out = first.json()
    assert out["allocations"] == [{"invoice_id": 1, "amount": total}]
    assert again.json()["payment_id"] == out["payment_id"] and again.json()["duplicate"]
    assert out["credited"] != "0.00"
    assert invoice(api, 1)["status"] == "paid"
    listed = api.get("/api/v1/payments", params={"client_id": inv["client_id"]}).json()
    assert [p["id"] for p in listed["items"]] == [out["payment_id"]]
    assert listed["items"][0]["allocations"] == out["allocations"]


def test_reversing_a_payment_reopens_the_invoice_and_twice_is_a_409(api: TestClient) -> None:
    r = api.post("/api/v1/payments", json=receipt_body(api, 2, "10.00", invoice_ids=[2]))
    pid = r.json()["payment_id"]
    assert invoice(api, 2)["status"] == "partially_paid"
    rev = api.post(f"/api/v1/payments/{pid}/reverse", json={"reason": "bank return R01"})
    assert rev.status_code == 200, rev.text
    assert rev.json()["reopened"] == [{"invoice_id": 2, "amount": "10.00"}]
    assert invoice(api, 2)["status"] in ("issued", "sent", "viewed")
    twice = api.post(f"/api/v1/payments/{pid}/reverse", json={"reason": "again"})
    assert twice.status_code == 409
    assert twice.headers["content-type"].startswith("application/problem+json")
    assert twice.json()["field"] == "payment_id"
    listed = api.get("/api/v1/payments").json()["items"][0]
    assert listed["reversal_reason"] == "bank return R01" and listed["allocations"] == []
    [shown] = [p for p in invoice(api, 2)["payments"] if p["id"] == pid]  # type: ignore[union-attr]
    assert shown["reversed_at"] is not None


def test_a_refund_pays_back_credit_and_more_is_a_422_naming_the_amount(api: TestClient) -> None:
    body = receipt_body(api, 2, "50.00")
    client_id, currency = body["client_id"], body["currency"]
    api.post("/api/v1/invoices/2/payments", json={"amount": invoice(api, 2)["balance"]})
    api.post("/api/v1/payments", json=body)  # nothing open: all credit
    too_much = api.post(
        f"/api/v1/clients/{client_id}/refunds",
        json={"amount": "50.01", "currency": currency, "reason": "client asked"},
    )
    assert too_much.status_code == 422 and too_much.json()["field"] == "amount"
    ok = api.post(
        f"/api/v1/clients/{client_id}/refunds",
        json={"amount": "20.00", "currency": currency, "reason": "client asked"},
    )
    assert ok.status_code == 201 and ok.json()["credit_left"] == "30.00"


def test_a_credit_note_reduces_the_invoices_balance(api: TestClient) -> None:
    before = invoice(api, 1)
    r = api.post(
        "/api/v1/invoices/1/credit-notes", json={"reason": "rate agreed lower", "amount": "100"}
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["number"].startswith("CN-") and out["credited"] == "0.00"
    after = invoice(api, 1)
    assert after["status"] == "partially_paid" and after["paid"] == out["applied"]
    note = invoice(api, out["credit_note_id"])
    assert note["kind"] == "credit_note" and note["total"] == out["gross"]
    assert before["balance"] != after["balance"]


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/api/v1/payments", {"client_id": 1, "amount": 5, "currency": "EUR"}, 422, "amount"),
        (
            "/api/v1/payments",
            {"client_id": 999, "amount": "5", "currency": "EUR"},
            404,
            "client_id",
        ),
        ("/api/v1/payments/999/reverse", {"reason": "x"}, 404, "payment_id"),
        (
            "/api/v1/invoices/1/credit-notes",
            {"reason": "x", "lines": [{"position": 9}]},
            422,
            "lines[0].position",
        ),
    ],
)
def test_bad_requests_are_problems_naming_the_field(
    api: TestClient, path: str, body: dict[str, object], status: int, field: str
) -> None:
    r = api.post(path, json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["field"] == field or field in str(problem.get("errors"))


def test_the_ledger_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/payments",
        "/api/v1/payments/{payment_id}/reverse",
        "/api/v1/clients/{client_id}/refunds",
        "/api/v1/invoices/{invoice_id}/credit-notes",
    ):
        assert path in paths


def test_the_invoice_page_marks_a_reversed_payment(api: TestClient, owner: str) -> None:
    r = api.post("/api/v1/payments", json=receipt_body(api, 2, "10.00", invoice_ids=[2]))
    api.post(f"/api/v1/payments/{r.json()['payment_id']}/reverse", json={"reason": "R01"})
    page = api.get("/invoices/2")
    assert page.status_code == 200
    assert "reversed — no longer applied" in page.text
