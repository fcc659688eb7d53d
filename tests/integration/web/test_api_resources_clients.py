"""REST API: clients (list, one, create, change) and contracts (list, one, create)."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_resources_support import api_on, audit_actions, key_for, walk, with_key
from fastapi.testclient import TestClient

from autoinvoice.bootstrap import App

NEW_CLIENT = {
    "name": "Elbe Robotics GmbH",
    "country": "DE",
    "currency": "EUR",
    "address_lines": ["Große Elbstraße 145"],
    "city": "Hamburg",
    "postal_code": "22767",
    "emails": ["billing@elbe-robotics.example"],
    "tax_id": "DE136695976",
    "terms": "net:14",
    "language": "de",
    "timezone": "Europe/Berlin",
}


@pytest.fixture
def api(app: App, client: TestClient) -> TestClient:
    return with_key(client, key_for(app))


def test_clients_page_by_cursor_with_no_duplicates_or_gaps(api: TestClient) -> None:
    every = api.get("/api/v1/clients", params={"limit": 200}).json()["items"]
    paged = walk(api, "/api/v1/clients", limit=2)
    assert [c["id"] for c in paged] == [c["id"] for c in every]
    assert len({c["id"] for c in paged}) == len(every) >= 4
    assert [c["id"] for c in paged] == sorted((c["id"] for c in paged), reverse=True)


def test_clients_filter_by_name_and_by_missing_billing_data(api: TestClient) -> None:
    found = api.get("/api/v1/clients", params={"q": "hanse"}).json()["items"]
    assert [c["name"] for c in found] == ["Hanseatic Logistics AG"]
    incomplete = api.get("/api/v1/clients", params={"incomplete": "true"}).json()["items"]
    assert "Brightwave Analytics Inc." in {c["name"] for c in incomplete}
    assert all(not c["billing_data_complete"] and c["missing"] for c in incomplete)
    complete = api.get("/api/v1/clients", params={"incomplete": "false"}).json()["items"]
    assert all(c["billing_data_complete"] for c in complete)


def test_a_client_is_read_by_id_and_an_unknown_one_is_a_404(api: TestClient) -> None:
    first = api.get("/api/v1/clients").json()["items"][0]
    assert api.get(f"/api/v1/clients/{first['id']}").json() == first
    r = api.get("/api/v1/clients/9999")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_client_is_created_and_changed_on_both_databases(
    tmp_path: Path, database_url: str
) -> None:
    with api_on(tmp_path, database_url) as (app, api):
        r = api.post("/api/v1/clients", json=NEW_CLIENT)
        assert r.status_code == 201, r.text
        made = r.json()
        assert r.headers["location"] == f"/api/v1/clients/{made['id']}"
        assert made["tax_id"] == "DE136695976"
        assert made["billing_data_complete"] is True
        assert made["address"]["postal_code"] == "22767"

        r = api.patch(f"/api/v1/clients/{made['id']}", json={"terms": "eom:15", "emails": []})
        assert r.status_code == 200, r.text
        changed = r.json()
        assert changed["terms"] == "eom:15"
        assert changed["emails"] == []
        assert changed["missing"]  # no email address any more
        assert changed["name"] == NEW_CLIENT["name"]  # untouched
        assert changed["language"] == "de"
        assert {"client.created", "client.updated"} <= set(audit_actions(app))


def test_a_client_may_be_created_with_billing_data_missing(api: TestClient) -> None:
    r = api.post("/api/v1/clients", json={"name": "Tiny Co", "country": "US", "currency": "USD"})
    assert r.status_code == 201, r.text
    assert r.json()["billing_data_complete"] is False
    assert r.json()["terms"] == "net:30"


def test_a_bad_tax_id_is_a_422_naming_the_field_and_nothing_is_stored(api: TestClient) -> None:
    before = len(walk(api, "/api/v1/clients"))
    r = api.post("/api/v1/clients", json={**NEW_CLIENT, "tax_id": "DE123"})
    assert r.status_code == 422
    assert r.json()["field"] == "tax_id"
    assert "VAT" in r.json()["detail"]
    assert len(walk(api, "/api/v1/clients")) == before


BAD_CHANGES: list[tuple[dict[str, object], str]] = [
    ({"country": "XX"}, "country"),
    ({"postal_code": "ABC"}, "postal_code"),
    ({"emails": ["not-an-address"]}, "emails"),
    ({"currency": "EURO"}, "currency"),
    ({"terms": "soon"}, "terms"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"name": None}, "name"),
    ({"colour": "blue"}, "colour"),
    ({"city": "Ham\x00burg"}, "city"),
]


def test_a_bad_change_is_a_422_naming_the_field_and_changes_nothing(api: TestClient) -> None:
    client = api.get("/api/v1/clients", params={"q": "Hanseatic"}).json()["items"][0]
    for change, field in BAD_CHANGES:
        r = api.patch(f"/api/v1/clients/{client['id']}", json=change)
        assert r.status_code == 422, (change, r.text)
        assert r.json()["field"] == field, change
    assert api.get(f"/api/v1/clients/{client['id']}").json() == client


def test_changing_nothing_stores_nothing(app: App, api: TestClient) -> None:
    client = api.get("/api/v1/clients").json()["items"][0]
    r = api.patch(f"/api/v1/clients/{client['id']}", json={"name": client["name"]})
    assert r.status_code == 200
    assert "client.updated" not in audit_actions(app, 5)


# -- contracts ------------------------------------------------------------------------------
def test_contracts_are_listed_filtered_and_read(api: TestClient) -> None:
    every = walk(api, "/api/v1/contracts", limit=1)
    assert {c["model"] for c in every} == {"retainer", "milestone", "time_and_materials"}
    retainers = api.get("/api/v1/contracts", params={"model": "retainer"}).json()["items"]
    assert retainers and all(c["model"] == "retainer" for c in retainers)
    assert retainers[0]["rrule"] == "FREQ=MONTHLY;BYMONTHDAY=1"
    one = api.get(f"/api/v1/contracts/{retainers[0]['id']}").json()
    assert one == retainers[0]
    mine = api.get("/api/v1/contracts", params={"client_id": one["client_id"]}).json()["items"]
    assert {c["client_id"] for c in mine} == {one["client_id"]}
    assert api.get("/api/v1/contracts/9999").status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_contracts_of_each_model_are_created_on_both_databases(
    tmp_path: Path, database_url: str
) -> None:
    with api_on(tmp_path, database_url) as (app, api):
        client_id = api.get("/api/v1/clients", params={"q": "Hanseatic"}).json()["items"][0]["id"]
        bodies = [
            {"model": "retainer", "name": "Support", "amount": "900.00",
             "rrule": "FREQ=MONTHLY;BYMONTHDAY=1", "starts_on": "2027-01-01"},
            {"model": "retainer", "name": "Seats", "seats": 10, "seat_price": "42.50",
             "rrule": "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"},
            {"model": "milestone", "name": "Migration",
             "milestones": [{"name": "Plan", "amount": "5000"},
                            {"name": "Move", "amount": "8000"}]},
            {"model": "time_and_materials", "name": "T&M", "terms": "net:15",
             "rates": [{"role": "Engineer", "hourly": "95"}]},
        ]  # fmt: skip
        made = []
        for body in bodies:
            r = api.post("/api/v1/contracts", json={"client_id": client_id, **body})
            assert r.status_code == 201, r.text
            assert r.headers["location"].endswith(f"/contracts/{r.json()['id']}")
            made.append(r.json())
        assert made[0]["amount"] == "900.00"
        assert made[0]["currency"] == "EUR"  # the client's
        assert made[0]["timezone"] == "Europe/Berlin"
        assert made[1]["seats"] == 10
        assert [m["amount"] for m in made[2]["milestones"]] == ["5000.00", "8000.00"]
        assert made[3]["rates"] == [{"role": "Engineer", "hourly": "95"}]
        assert made[3]["terms"] == "net:15"
        assert audit_actions(app, 4) == ["contract.created"] * 4


BAD_CONTRACTS: list[tuple[dict[str, object], str]] = [
    ({"model": "retainer", "name": "x", "amount": "10"}, "recurrence"),
    ({"model": "retainer", "name": "x", "amount": "10", "rrule": "FREQ=SOMETIMES"}, "rrule"),
    ({"model": "retainer", "name": "x", "amount": "-5", "rrule": "FREQ=MONTHLY"}, "amount"),
    ({"model": "retainer", "name": "x", "amount": 10.5, "rrule": "FREQ=MONTHLY"}, "amount"),
    ({"model": "milestone", "name": "x"}, "milestones"),
    ({"model": "time_and_materials", "name": "x"}, "rates"),
    (
        {
            "model": "milestone",
            "name": "x",
            "rrule": "FREQ=MONTHLY",
            "milestones": [{"name": "a", "amount": "1"}],
        },
        "rrule",
    ),
    ({"model": "barter", "name": "x"}, "model"),
    (
        {
            "model": "retainer",
            "name": "x",
            "amount": "10",
            "rrule": "FREQ=YEARLY",
            "starts_on": "9999-12-31",
        },
        "starts_on",
    ),
    ({"model": "retainer", "name": "x", "amount": "1" * 20, "rrule": "FREQ=YEARLY"}, "amount"),
]


def test_a_bad_contract_is_a_422_naming_the_field(api: TestClient) -> None:
    client_id = api.get("/api/v1/clients").json()["items"][0]["id"]
    before = len(walk(api, "/api/v1/contracts"))
    for body, field in BAD_CONTRACTS:
        r = api.post("/api/v1/contracts", json={"client_id": client_id, **body})
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == field, body
    assert len(walk(api, "/api/v1/contracts")) == before


def test_a_contract_for_an_unknown_client_is_a_404(api: TestClient) -> None:
    r = api.post(
        "/api/v1/contracts",
        json={"client_id": 9999, "model": "time_and_materials", "name": "x",
              "rates": [{"role": "a", "hourly": "1"}]},
    )  # fmt: skip
    assert r.status_code == 404
