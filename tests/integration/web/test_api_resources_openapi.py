"""The OpenAPI document of the resource endpoints is exact enough for a generated client:
every operation has a unique operationId, a typed success answer and its problem answers."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

MINE = {
    ("get", "/api/v1/clients"),
    ("post", "/api/v1/clients"),
    ("get", "/api/v1/clients/{client_id}"),
    ("patch", "/api/v1/clients/{client_id}"),
    ("get", "/api/v1/contracts"),
    ("post", "/api/v1/contracts"),
    ("get", "/api/v1/contracts/{contract_id}"),
    ("get", "/api/v1/sources/{name}"),
    ("patch", "/api/v1/sources/{name}"),
    ("post", "/api/v1/sources/{name}/secret"),
    ("post", "/api/v1/sources/{name}/requests/{request_id}/replay"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/events/{event_id}"),
    ("post", "/api/v1/events/{event_id}/replay"),
    ("post", "/api/v1/invoices"),
    ("post", "/api/v1/invoices/{invoice_id}/send"),
    ("get", "/api/v1/payments"),
    ("get", "/api/v1/payments/{payment_id}"),
    ("get", "/api/v1/credit-notes"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("patch", "/api/v1/users/{user_id}"),
    ("delete", "/api/v1/users/{user_id}"),
    ("get", "/api/v1/api-keys"),
    ("post", "/api/v1/api-keys"),
    ("post", "/api/v1/api-keys/{key_id}/revoke"),
}


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if (method, path) in MINE
    ]


def test_every_resource_operation_has_a_unique_id_and_a_typed_answer(
    client: TestClient,
) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    ops = operations(doc)
    assert len(ops) == len(MINE)
    ids = [op["operationId"] for op in doc_ops(doc)]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for path, method, op in ops:
        success = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert success, f"{method} {path} declares no success answer"
        for code, answer in success.items():
            if code == "204":
                assert "content" not in answer or not answer["content"]
                continue
            schema = answer["content"]["application/json"]["schema"]
            typed = schema.get("$ref") or schema.get("items", {}).get("$ref")
            assert typed, f"{method} {path} {code} is untyped: {schema}"
        assert "422" in op["responses"], f"{method} {path}"
        if "{" in path:
            assert "404" in op["responses"], f"{method} {path} may answer 404"


def doc_ops(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in doc["paths"].values() for op in item.values() if "operationId" in op]


def test_secrets_are_write_only_in_the_document(client: TestClient) -> None:
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    for name in ("ApiKeyOut", "UserOut", "EventOut", "ClientOut"):
        props = schemas[name]["properties"]
        assert not {"key", "key_hash", "password", "password_hash"} & set(props), name
    assert "key" in schemas["ApiKeyCreatedOut"]["properties"]
    assert schemas["SecretsIn"]["properties"]["signing_secret"]["anyOf"][0]["format"] == "password"
