"""Review of issue 7 (money and external effects): each test shows one bug and fails now."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from api_resources_support import key_for, with_key
from fastapi.testclient import TestClient
from sqlalchemy import text

from autoinvoice.bootstrap import App
from autoinvoice.services import installation_settings, jobs
from autoinvoice.services.invoice_batches import BatchAction, run_batch, send_again

HANSEATIC = 1  # demo client: DE business, EUR; the seller is a German GmbH (VAT 19 %, 7 %)
WORK = {"description": "Development work, November", "quantity": "10", "unit_price": "100"}


@pytest.fixture
def api(app: App, client: TestClient) -> TestClient:
    return with_key(client, key_for(app))


# -- POST /api/v1/invoices: the tax of a hand-made draft ---------------------------------------
def test_a_draft_for_a_contract_is_taxed_as_the_contract_says(api: TestClient) -> None:
    made = api.post(
        "/api/v1/contracts",
        json={"client_id": HANSEATIC, "name": "Training (reduced rate)",
              "model": "time_and_materials", "tax_kind": "reduced",
              "rates": [{"role": "trainer", "hourly": "100"}]},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    r = api.post(
        "/api/v1/invoices",
        json={"client_id": HANSEATIC, "contract_id": made.json()["id"], "lines": [WORK]},
    )
    assert r.status_code == 201, r.text
    draft = r.json()
    # the contract's tax treatment, as a draft made by a rule from this contract would have;
    # today: VAT 19 %, gross 1190.00, and no hold_reason warns anyone
    assert draft["lines"][0]["tax"]["rate"] == "7", draft["lines"][0]["tax"]
    assert draft["totals"]["gross"] == "1070.00"


def test_a_draft_without_contract_takes_the_default_tax_kind(app: App, api: TestClient) -> None:
    installation_settings.set_defaults(
        "net:30", {1: "exempt"}, uow=app.uow(), clock=app.clock, actor="test"
    )
    r = api.post("/api/v1/invoices", json={"client_id": HANSEATIC, "lines": [WORK]})
    assert r.status_code == 201, r.text
    # an exempt business (e.g. a Kleinunternehmer) must not charge VAT; today 190.00 VAT
    assert r.json()["totals"]["tax"] == "0.00", r.json()["totals"]


def test_a_contract_made_by_the_api_takes_the_default_tax_kind(app: App, api: TestClient) -> None:
    installation_settings.set_defaults(
        "net:30", {1: "exempt"}, uow=app.uow(), clock=app.clock, actor="test"
    )
    r = api.post(
        "/api/v1/contracts",
        json={"client_id": HANSEATIC, "name": "Support", "model": "time_and_materials",
              "rates": [{"role": "engineer", "hourly": "95"}]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["tax_kind"] == "exempt"  # as the web form's default (admin_contracts.py)


# -- the contract form: amounts as typed -------------------------------------------------------
@pytest.mark.parametrize(("typed", "meant"), [("4.500,00", "4500"), ("1,5", "1.5")])
def test_the_contract_form_never_stores_another_amount_than_typed(
    app: App, client: TestClient, owner: str, typed: str, meant: str
) -> None:
    data = {"client_id": str(HANSEATIC), "name": f"Retainer {typed}", "model": "retainer",
            "pricing": "amount", "amount": typed, "schedule": "monthly",
            "tax_kind": "standard", "csrf_token": owner}  # fmt: skip
    r = client.post("/contracts/new", data=data, follow_redirects=False)
    with app.uow(read_only=True) as uow:
        stored = [c for c in uow.contracts.list() if c.name == f"Retainer {typed}"]
    # refused (422), or stored as meant — never a retainer of 4.50 or 15.00 a month
    assert r.status_code == 422 or (stored and stored[0].amount == Decimal(meant)), (
        r.status_code,
        stored and stored[0].amount,
    )


# -- bulk "Remind" ------------------------------------------------------------------------------
def _reminder_rows(app: App, invoice_id: int) -> list[tuple[int, str, str]]:
    with app.engine.connect() as c:
        rows = c.execute(
            text("SELECT step, tone, status FROM reminders WHERE invoice_id = :i ORDER BY step"),
            {"i": invoice_id},
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_remind_twice_does_not_queue_a_second_reminder_while_one_waits(app: App) -> None:
    app.clock.set(datetime(2027, 1, 5, 9, tzinfo=UTC))  # type: ignore[attr-defined]  # 5 days late
    # two people (or one after reloading the list) press Remind on INV-2026-000001
    first = run_batch(BatchAction.REMIND, [1], key="page-a", uow=app.uow(), clock=app.clock,
                      actor="user:1")  # fmt: skip
    second = run_batch(BatchAction.REMIND, [1], key="page-b", uow=app.uow(), clock=app.clock,
                       actor="user:2")  # fmt: skip
    third = run_batch(BatchAction.REMIND, [1], key="page-c", uow=app.uow(), clock=app.clock,
                      actor="user:1")  # fmt: skip
    assert len(first.done) == 1
    jobs.run_jobs_once(uow=app.uow(), clock=app.clock, worker="t", handlers=app.handlers("t"))
    # today: 'due', 'firm' and 'urgent' (the +14-day step, 5 days after the due date) all
    # go out in the same minute
    assert [tone for _, tone, _ in _reminder_rows(app, 1)] == ["due"], _reminder_rows(app, 1)
    assert not second.done and not third.done


# -- "Send again" (bulk and POST /invoices/{id}/send) -----------------------------------------
def _deliver_jobs(app: App, invoice_id: int) -> list[tuple[str, str]]:
    with app.engine.connect() as c:
        rows = c.execute(
            text("SELECT idempotency_key, status FROM jobs WHERE idempotency_key LIKE :k"),
            {"k": f"deliver_invoice:{invoice_id}:%"},
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_two_copies_of_one_invoice_both_go_out_in_one_worker_run(app: App) -> None:
    # e.g. POST /api/v1/invoices/1/send twice without a key, or Send again from two pages
    assert send_again(1, key="page-a", uow=app.uow(), clock=app.clock, actor="user:1")
    assert send_again(1, key="page-b", uow=app.uow(), clock=app.clock, actor="user:1")
    jobs.run_jobs_once(uow=app.uow(), clock=app.clock, worker="t", handlers=app.handlers("t"))
    # today one copy is sent; the other job is left 'running' (its attempt spent) until its
    # lease runs out, and goes out only on a later run — services/delivery.py:_prepare
    # keys the claimed jobs by invoice id
    assert [status for _, status in _deliver_jobs(app, 1)] == ["done", "done"]
