"""The admin pages: the invoice list, one invoice and its forms, the PDF, clients."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from web_support import milestone_draft, sign_in

from autoinvoice.bootstrap import App
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.terms import PaymentTerms
from autoinvoice.entrypoints.web.app import create_app
from autoinvoice.services.ports import ClientRecord
from autoinvoice.services.setup import add_client


def status_of(app: App, invoice_id: int) -> str:
    uow = app.uow()
    with uow:
        return uow.invoices.get(invoice_id).status.value


def pay(client: TestClient, token: str, amount: str, **extra: str) -> object:
    return client.post(
        "/invoices/1/payments",
        data={
            "csrf_token": token,
            "amount": amount,
            "method": "bank_transfer",
            "received_on": "2026-12-01",
            "idempotency_key": extra.pop("key", amount),
            **extra,
        },
    )


def test_the_home_page_is_the_dashboard(client: TestClient, owner: str) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"


def test_the_list_shows_numbers_clients_totals_and_status(client: TestClient, owner: str) -> None:
    page = client.get("/invoices").text
    assert "INV-2026-000001" in page and "Hanseatic Logistics AG" in page
    assert "€5,355.00" in page and "€1,020.00" in page
    assert 'class="badge status-sent">Sent<' in page
    assert "Overdue</span>" not in page
    assert "Dec 31, 2026" in page


def test_the_list_marks_invoices_past_due_as_overdue(
    app: App, client: TestClient, owner: str
) -> None:
    app.clock.set(datetime(2027, 1, 2, 9, tzinfo=UTC))  # type: ignore[attr-defined]
    page = client.get("/invoices?status=overdue").text
    assert "INV-2026-000001" in page and "INV-2026-000002" not in page
    assert 'class="badge overdue">Overdue<' in page


def test_the_list_filters_by_status(app: App, client: TestClient, owner: str) -> None:
    milestone_draft(app)
    page = client.get("/invoices?status=draft").text
    assert "Draft #3" in page and "INV-2026-000001" not in page
    assert "No invoices with the status “Paid”" in client.get("/invoices?status=paid").text
    assert "There is no status" in client.get("/invoices?status=nonsense").text


def test_an_invoice_page_shows_lines_totals_emails_and_its_activity(
    client: TestClient, owner: str
) -> None:
    page = client.get("/invoices/1").text
    assert "Managed IT services retainer" in page
    assert "VAT 19 %" in page and "€855.00" in page
    assert "Balance due" in page
    assert "ap@hanseatic-logistics.example" in page  # the email that was sent
    assert "Emailed to client" in page and "Issued" in page  # activity
    assert "/portal/invoices/" in page
    assert "Record payment" in page and "Void invoice" in page


def test_an_unknown_invoice_page_is_a_404_page(client: TestClient, owner: str) -> None:
    r = client.get("/invoices/999")
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]
    assert "Invoice 999 does not exist" in r.text
    assert client.get("/invoices/abc").status_code == 404


def test_recording_payments_moves_the_invoice_to_partially_paid_then_paid(
    app: App, client: TestClient, owner: str
) -> None:
    r = pay(client, owner, "1355.00", reference="SEPA 1")
    assert r.status_code == 200  # followed the redirect back to the invoice
    assert "Payment recorded — the invoice is now partly paid." in r.text
    assert status_of(app, 1) == "partially_paid"
    assert "SEPA 1" in r.text and "€1,355.00" in r.text
    r = pay(client, owner, "4000.00")
    assert status_of(app, 1) == "paid"
    assert "now paid" in r.text
    assert "Record payment" not in r.text  # nothing left to collect


def test_a_double_submitted_payment_form_records_one_payment(
    app: App, client: TestClient, owner: str
) -> None:
    pay(client, owner, "100.00", key="same-form")
    pay(client, owner, "100.00", key="same-form")
    uow = app.uow()
    with uow:
        assert len(uow.payments.for_invoice(1)) == 1


def test_a_bad_amount_is_shown_next_to_the_form(app: App, client: TestClient, owner: str) -> None:
    r = pay(client, owner, "abc")
    assert r.status_code == 422
    assert "&#39;abc&#39; is not a number" in r.text
    assert 'value="abc"' in r.text  # what was typed stays in the field
    assert status_of(app, 1) == "sent"


def test_a_payment_dated_in_the_future_is_refused(client: TestClient, owner: str) -> None:
    r = pay(client, owner, "10", received_on="2027-03-01")
    assert r.status_code == 422
    assert "in the future" in r.text


def test_a_draft_is_issued_from_its_page(app: App, client: TestClient, owner: str) -> None:
    draft = milestone_draft(app)
    page = client.get(f"/invoices/{draft}").text
    assert "Issue invoice" in page and "Record payment" not in page
    r = client.post(f"/invoices/{draft}/issue", data={"csrf_token": owner})
    assert "Issued as INV-2026-000003" in r.text
    assert status_of(app, draft) == "issued"


def test_an_invoice_is_voided_with_a_reason_from_its_page(
    app: App, client: TestClient, owner: str
) -> None:
    r = client.post("/invoices/2/void", data={"csrf_token": owner, "reason": ""})
    assert r.status_code == 422
    assert "say why the invoice is voided" in r.text
    r = client.post("/invoices/2/void", data={"csrf_token": owner, "reason": "duplicate"})
    assert status_of(app, 2) == "void"
    assert "duplicate" in r.text


def test_the_pdf_of_a_sent_invoice_is_the_stored_one(
    app: App, client: TestClient, owner: str
) -> None:
    r = client.get("/invoices/1/pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert 'filename="INV-2026-000001.pdf"' in r.headers["content-disposition"]
    uow = app.uow()
    with uow:
        assert r.content == uow.documents.get(1, "pdf")


def test_a_drafts_pdf_is_rendered_but_never_stored(
    app: App, client: TestClient, owner: str
) -> None:
    draft = milestone_draft(app)
    r = client.get(f"/invoices/{draft}/pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert 'filename="draft-3.pdf"' in r.headers["content-disposition"]
    uow = app.uow()
    with uow:
        assert uow.documents.get(draft, "pdf") is None


def test_the_clients_page_checks_billing_data(client: TestClient, owner: str) -> None:
    page = client.get("/clients").text
    assert "Kaveri Software Pvt Ltd" in page and "29AAGCB7383J1Z4" in page
    assert "India" in page and "Net 15 days" in page
    assert page.count("✓ Complete") == 4  # Brightwave lacks its tax id
    assert "missing tax ID" in page  # Brightwave: a US business without a tax id


def test_names_are_escaped_on_pages(app: App, client: TestClient, owner: str) -> None:
    add_client(
        ClientRecord(
            0,
            1,
            Party(
                name="<script>alert(1)</script> GmbH",
                country="DE",
                address=Address(("Weg 1",), "Kiel", "24103", "DE"),
            ),
            "EUR",
            PaymentTerms.parse("net:14"),
        ),
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )
    page = client.get("/clients").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; GmbH" in page
    assert "missing email" in page


def test_an_unexpected_error_shows_a_plain_page_without_details(app: App) -> None:
    class Broken:
        def render(self, document: dict[str, object], *, pdf_standard: str | None = None) -> bytes:
            raise RuntimeError("secret internals /etc/passwd")

    app.__dict__["renderer"] = Broken()
    draft = milestone_draft(app)
    with TestClient(create_app(app), raise_server_exceptions=False) as c:
        sign_in(c)
        r = c.get(f"/invoices/{draft}/pdf")
    assert r.status_code == 500
    assert "Something went wrong" in r.text
    assert "secret internals" not in r.text and "Traceback" not in r.text
