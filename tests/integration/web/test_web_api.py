"""The REST API: lists with cursors, money as strings, commands, problem+json errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from web_support import milestone_draft, sign_in

from autoinvoice.bootstrap import App
from autoinvoice.services import accounts


@pytest.fixture
def api(app: App, client: TestClient) -> TestClient:
    """``client`` carrying a read+write API key of the owner."""
    uow = app.uow()
    with uow:
        user = uow.users.by_email("owner@nordlicht.example")
    assert user is not None
    key = accounts.create_api_key(user.id, "ci", ["read", "write"], uow=app.uow(), clock=app.clock)
    client.headers["Authorization"] = f"Bearer {key}"
    return client


def payments_of(app: App, invoice_id: int) -> list[dict[str, object]]:
    uow = app.uow()
    with uow:
        return uow.payments.for_invoice(invoice_id)


def test_invoices_are_listed_newest_first_with_money_as_strings(api: TestClient) -> None:
    body = api.get("/api/v1/invoices").json()
    assert [i["number"] for i in body["items"]] == ["INV-2026-000002", "INV-2026-000001"]
    first = body["items"][1]
    assert first["total"] == "5355.00" and first["paid"] == "0.00"
    assert first["balance"] == "5355.00" and first["currency"] == "EUR"
    assert first["due_date"] == "2026-12-31" and first["overdue"] is False
    assert body["next_cursor"] is None


def test_the_list_pages_by_cursor(api: TestClient) -> None:
    page1 = api.get("/api/v1/invoices", params={"limit": 1}).json()
    assert [i["id"] for i in page1["items"]] == [2]
    assert page1["next_cursor"] == "2"
    page2 = api.get("/api/v1/invoices", params={"limit": 1, "after": page1["next_cursor"]}).json()
    assert [i["id"] for i in page2["items"]] == [1]
    assert page2["next_cursor"] is None


def test_the_list_filters_by_status_and_client(app: App, api: TestClient) -> None:
    milestone_draft(app)
    drafts = api.get("/api/v1/invoices", params={"status": "draft"}).json()["items"]
    assert [i["number"] for i in drafts] == [None]
    one = api.get("/api/v1/invoices", params={"client_id": 1}).json()["items"]
    assert [i["number"] for i in one] == ["INV-2026-000001"]


def test_an_unknown_status_filter_is_a_422_naming_the_field(api: TestClient) -> None:
    r = api.get("/api/v1/invoices", params={"status": "lost"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "status"


def test_a_limit_out_of_range_is_a_422_naming_the_field(api: TestClient) -> None:
    r = api.get("/api/v1/invoices", params={"limit": 0})
    assert r.status_code == 422
    assert r.json()["field"] == "limit"


def test_an_invoice_shows_lines_taxes_and_totals(api: TestClient) -> None:
    inv = api.get("/api/v1/invoices/1").json()
    assert inv["lines"][0]["net"] == "4500.00"
    assert inv["lines"][0]["tax"] == {"category": "S", "rate": "19", "label": "VAT 19 %"}
    assert inv["tax_summary"][0]["amount"] == "855.00"
    assert inv["totals"] == {
        "net": "4500.00",
        "tax": "855.00",
        "gross": "5355.00",
        "paid": "0.00",
        "balance": "5355.00",
    }
    assert inv["buyer"]["name"] == "Hanseatic Logistics AG"
    assert inv["status"] == "sent" and inv["sent_at"]


def test_an_unknown_invoice_is_a_404_problem(api: TestClient) -> None:
    r = api.get("/api/v1/invoices/999")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    assert r.json()["type"] == "urn:autoinvoice:problem:not_found"


def test_a_payment_with_an_idempotency_key_is_recorded_once(app: App, api: TestClient) -> None:
    headers = {"Idempotency-Key": "bank-tx-20261205-0001"}
    body = {"amount": "1000.00", "method": "bank_transfer", "reference": "TX 1"}
    first = api.post("/api/v1/invoices/1/payments", json=body, headers=headers)
    again = api.post("/api/v1/invoices/1/payments", json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["duplicate"] is True
    assert first.json()["payment_id"] == again.json()["payment_id"]
    assert len(payments_of(app, 1)) == 1
    assert api.get("/api/v1/invoices/1").json()["paid"] == "1000.00"


def test_the_same_idempotency_key_on_another_invoice_is_another_payment(
    app: App, api: TestClient
) -> None:
    headers = {"Idempotency-Key": "retry-1"}
    api.post("/api/v1/invoices/1/payments", json={"amount": "10"}, headers=headers)
    r = api.post("/api/v1/invoices/2/payments", json={"amount": "10"}, headers=headers)
    assert r.status_code == 201
    assert len(payments_of(app, 2)) == 1


def test_payments_move_the_invoice_to_partially_paid_then_paid(api: TestClient) -> None:
    r = api.post("/api/v1/invoices/2/payments", json={"amount": "20.00"})
    assert r.json()["invoice_status"] == "partially_paid"
    r = api.post(
        "/api/v1/invoices/2/payments",
        json={"amount": "1100.00", "received_at": "2026-12-01T06:00:00+00:00"},
    )
    assert r.json()["invoice_status"] == "paid"
    assert r.json()["balance"] == "0.00"
    assert r.json()["credited"] == "100.00"


def test_a_bad_amount_is_a_422_problem_naming_the_field(api: TestClient) -> None:
    r = api.post("/api/v1/invoices/1/payments", json={"amount": "abc"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["field"] == "amount"
    assert problem["code"] == "invalid_value"
    assert problem["title"] == "Invalid value"
    assert "not a number" in problem["detail"]


def test_an_amount_sent_as_a_json_number_is_refused(api: TestClient) -> None:
    r = api.post("/api/v1/invoices/1/payments", json={"amount": 10.5})
    assert r.status_code == 422
    assert r.json()["field"] == "amount"


def test_a_naive_received_at_is_refused(api: TestClient) -> None:
    r = api.post(
        "/api/v1/invoices/1/payments", json={"amount": "1", "received_at": "2026-12-01T10:00:00"}
    )
    assert r.status_code == 422
    assert r.json()["field"] == "received_at"


def test_a_payment_in_another_currency_is_refused(api: TestClient) -> None:
    r = api.post("/api/v1/invoices/1/payments", json={"amount": "1", "currency": "USD"})
    assert r.status_code == 422
    assert r.json()["field"] == "currency"


def test_a_malformed_json_body_is_a_422_problem(api: TestClient) -> None:
    r = api.post(
        "/api/v1/invoices/1/payments",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"


def test_a_draft_is_issued_through_the_api(app: App, api: TestClient) -> None:
    draft = milestone_draft(app)
    r = api.post(f"/api/v1/invoices/{draft}/issue")
    assert r.status_code == 200
    assert r.json()["number"] == "INV-2026-000003"
    assert r.json()["status"] == "issued"
    again = api.post(f"/api/v1/invoices/{draft}/issue")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert again.json()["field"] == "status"


def test_an_invoice_is_voided_with_a_reason(api: TestClient) -> None:
    r = api.post("/api/v1/invoices/2/void", json={"reason": "wrong seat count"})
    assert r.status_code == 200
    assert r.json()["status"] == "void" and r.json()["void_reason"] == "wrong seat count"
    assert r.json()["balance"] == "0.00"


def test_voiding_a_paid_invoice_is_a_409(api: TestClient) -> None:
    api.post("/api/v1/invoices/2/payments", json={"amount": "1020.00"})
    r = api.post("/api/v1/invoices/2/void", json={"reason": "changed our mind"})
    assert r.status_code == 409
    assert r.json()["code"] == "invalid_transition"


def test_a_void_without_a_reason_names_the_field(api: TestClient) -> None:
    r = api.post("/api/v1/invoices/2/void", json={"reason": "   "})
    assert r.status_code == 422
    assert r.json()["field"] == "reason"


def test_clients_are_listed_with_billing_completeness(api: TestClient) -> None:
    items = {c["name"]: c for c in api.get("/api/v1/clients").json()["items"]}
    assert items["Hanseatic Logistics AG"]["billing_data_complete"] is True
    assert items["Brightwave Analytics Inc."]["missing"] == ["tax_id"]
    assert items["Kaveri Software Pvt Ltd"]["terms"] == "net:15"


def test_overdue_is_derived_from_the_business_date(app: App, api: TestClient) -> None:
    app.clock.set(datetime(2027, 1, 1, 12, tzinfo=UTC))  # type: ignore[attr-defined]
    items = {i["number"]: i for i in api.get("/api/v1/invoices").json()["items"]}
    assert items["INV-2026-000001"]["overdue"] is True
    assert items["INV-2026-000002"]["overdue"] is False


@pytest.mark.parametrize(
    "zone, overdue", [("Pacific/Auckland", True), ("UTC", True), ("America/Los_Angeles", False)]
)
def test_overdue_goes_by_the_date_where_the_client_is(
    app: App, api: TestClient, client: TestClient, zone: str, overdue: bool
) -> None:
    """At 05:00 UTC the day after the due date it is that day in Auckland and in London, but
    still the due date in Los Angeles: the list, the invoice, the admin page and the portal
    agree with the invoice.overdue webhook and the reminders, which go by the client's date."""
    first = api.get("/api/v1/invoices/1").json()
    due = date.fromisoformat(first["due_date"])
    with app.engine.begin() as conn:
        conn.execute(
            text("UPDATE clients SET timezone = :z WHERE id = :c"),
            {"z": zone, "c": first["client_id"]},
        )
    at = datetime.combine(due + timedelta(days=1), time(5), tzinfo=UTC)
    app.clock.set(at)  # type: ignore[attr-defined]
    items = {i["id"]: i for i in api.get("/api/v1/invoices").json()["items"]}
    assert items[1]["overdue"] is overdue
    assert api.get("/api/v1/invoices/1").json()["overdue"] is overdue
    sign_in(client)
    admin = client.get("/invoices?status=overdue").text
    assert (first["number"] in admin) is overdue
    with app.uow(read_only=True) as uow:
        token = uow.invoices.portal_token(1)
    portal = client.get(f"/portal/invoices/{token}").text
    assert ("overdue" in portal.lower()) is overdue


def test_the_openapi_document_describes_the_api_only(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert set(doc["paths"]) == {
        "/api/v1/invoices",
        "/api/v1/invoices/{invoice_id}",
        "/api/v1/invoices/{invoice_id}/issue",
        "/api/v1/invoices/{invoice_id}/void",
        "/api/v1/invoices/{invoice_id}/payments",
        "/api/v1/invoices/{invoice_id}/credit-notes",
        "/api/v1/payments",
        "/api/v1/payments/{payment_id}/reverse",
        "/api/v1/clients/{client_id}/refunds",
        "/api/v1/invoices/{invoice_id}/documents/{fmt}",
        "/api/v1/invoices/{invoice_id}/checks",
        "/api/v1/settings/branding",
        "/api/v1/settings/checks",
        "/api/v1/clients/{client_id}/documents",
        "/api/v1/clients/{client_id}/intake-link",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{subscription_id}",
        "/api/v1/webhooks/{subscription_id}/deliveries",
        "/api/v1/clients",
        "/api/v1/sources",
        "/api/v1/sources/{name}/links",
        "/api/v1/sources/{name}/requests",
        "/api/v1/rules",
        "/api/v1/rules/{name}/history",
        "/api/v1/rules/firings",
        "/api/v1/settings/reminders",
        "/api/v1/invoices/{invoice_id}/reminders",
        "/api/v1/invoices/{invoice_id}/dispute",
        "/api/v1/invoices/{invoice_id}/dispute/resolve",
        "/api/v1/clients/{client_id}/reminders/pause",
        "/api/v1/clients/{client_id}/reminders/resume",
        "/api/v1/bank/statements",
        "/api/v1/bank/review",
        "/api/v1/bank/transactions/{tx_id}/confirm",
        "/api/v1/bank/transactions/{tx_id}/dismiss",
        "/api/v1/reports/aging",
        "/api/v1/reports/dso",
        "/api/v1/reports/forecast",
        "/api/v1/reports/overdue-clients",
        "/api/v1/clients/{client_id}",
        "/api/v1/contracts",
        "/api/v1/contracts/{contract_id}",
        "/api/v1/sources/{name}",
        "/api/v1/sources/{name}/secret",
        "/api/v1/sources/{name}/requests/{request_id}/replay",
        "/api/v1/events",
        "/api/v1/events/{event_id}",
        "/api/v1/events/{event_id}/replay",
        "/api/v1/invoices/{invoice_id}/send",
        "/api/v1/payments/{payment_id}",
        "/api/v1/credit-notes",
        "/api/v1/users",
        "/api/v1/users/{user_id}",
        "/api/v1/api-keys",
        "/api/v1/api-keys/{key_id}/revoke",
    }
    assert "Problem" in doc["components"]["schemas"]
    amount = doc["components"]["schemas"]["PaymentIn"]["properties"]["amount"]
    assert amount["type"] == "string"
    assert "ApiKey" in doc["components"]["securitySchemes"]
