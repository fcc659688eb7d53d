"""The REST API for sources and rules: secrets go in once and never come out; rules are
validated with the field at fault and keep a history."""

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


def test_a_source_is_created_with_its_webhook_url_and_its_secrets_never_come_back(
    api: TestClient,
) -> None:
    r = api.post(
        "/api/v1/sources",
        json={
            "kind": "jira",
            "name": "jira-cloud",
            "signing_secret": "jira-Sup3r-secret",
            "max_age_seconds": 86400,
        },
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["webhook_url"].startswith("http://127.0.0.1:8000/webhooks/jira/")
    assert "jira-Sup3r-secret" not in r.text
    listed = api.get("/api/v1/sources")
    assert listed.status_code == 200
    assert [s["name"] for s in listed.json()["items"]] == ["jira-cloud"]
    assert "jira-Sup3r-secret" not in listed.text
    again = api.post("/api/v1/sources", json={"kind": "jira", "name": "jira-cloud"})
    assert again.status_code == 409
    unknown = api.post("/api/v1/sources", json={"kind": "salesforce", "name": "x"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "kind"


def test_rules_are_saved_with_versions_and_errors_name_the_field(api: TestClient) -> None:
    rule = {"name": "won", "when": {"event": "deal.won"}, "build": "deal"}
    r = api.post("/api/v1/rules", json=rule)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["version"] == 1
    rule["action"] = "draft"
    assert api.post("/api/v1/rules", json=rule).json()["items"][0]["version"] == 2
    history = api.get("/api/v1/rules/won/history").json()
    assert [h["version"] for h in history] == [1, 2]
    bad = api.post(
        "/api/v1/rules",
        json={
            "name": "bad",
            "when": {"event": "deal.won", "conditions": [{"field": "stage", "op": "like"}]},
            "build": "deal",
        },
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "rules.bad.when.conditions.0.op"
    assert [x["name"] for x in api.get("/api/v1/rules").json()["items"]] == ["won"]
