"""Schemathesis against the OpenAPI document: every operation under ``/api/v1`` is called with
data generated from its own description — the document's examples, the boundaries of every
schema (coverage), random data (fuzzing) and chains of calls (stateful) — on the demo
installation, with an owner's API key of every scope. No answer may be a server error, and
every answer must be one the document declares: its status code, its content type, its
headers and the schema of its body.

The operations come from the document, so ones added later are tested by themselves;
nothing is excluded. Hypothesis runs deterministically (the same cases every run) with a
small example budget, so the run stays short.

Not checked: ``negative_data_rejection``. Pydantic's lax mode accepts ``0`` for a boolean
and a number for a string by design; schemathesis calls those "schema-violating requests
accepted", which is noise rather than a bug.

Schemathesis runs through its engine (as its CLI does) rather than its pytest plugin:
``schemathesis.pytest.from_fixture`` fails on pytest 9 (it sets ``Function._nodeid``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.engine import events, from_schema
from web_support import demo_app

from autoinvoice.entrypoints.web.app import create_app
from autoinvoice.services import accounts

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
]
PHASES = ["examples", "coverage", "fuzzing", "stateful"]
# per operation and phase: fewer on PostgreSQL, which adds what SQLite lets pass (64-bit
# ids, NUL characters in text); together well under two minutes on a busy machine
MAX_EXAMPLES = {"sqlite": 10, "postgresql": 4}


def _failures(event: events.ScenarioFinished) -> list[str]:
    found = []
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.failure_info is None:
                continue
            failure = check.failure_info.failure
            case = event.recorder.cases[case_id].value
            response = event.recorder.find_response(case_id=case_id)
            answer = (
                f"{response.status_code} {response.content[:300]!r}" if response else "no answer"
            )
            body = "" if isinstance(case.body, schemathesis.core.NotSet) else f" {case.body!r:.200}"
            found.append(
                f"{event.recorder.label}: {check.name}: {failure.title}\n"
                f"  {failure.message[:300]}\n"
                f"  sent {case.method} {case.formatted_path} {case.query or ''}{body}\n"
                f"  got {answer}"
            )
    return found


@pytest.mark.slow
def test_every_operation_answers_as_its_document_says(database_url: str, tmp_path: Path) -> None:
    app = demo_app(tmp_path, database_url=database_url, webhook_allow="127.0.0.1")
    with app.uow() as uow:
        owner = uow.users.by_email("owner@nordlicht.example")
    assert owner is not None
    key = accounts.create_api_key(
        owner.id, "schemathesis", ["read", "write", "admin"], uow=app.uow(), clock=app.clock
    )
    web = create_app(app)
    with TestClient(web):  # start-up once, as a server would
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", web)
        schema.config.update(headers={"Authorization": f"Bearer {key}"})
        schema.config.phases.update(phases=PHASES)
        examples = MAX_EXAMPLES[app.engine.dialect.name]
        schema.config.generation.update(max_examples=examples, deterministic=True)
        schema.config.checks.update(included_check_names=CHECKS)
        failures: list[str] = []
        errors: Counter[str] = Counter()
        tested: set[str] = set()
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                tested.add(event.recorder.label)
                failures += _failures(event)
            elif isinstance(event, events.NonFatalError | events.FatalError):
                # an exception out of the app, i.e. a 500 the error handlers did not catch
                label = getattr(event, "label", "the run")
                errors[f"{label}: {type(event.value).__name__}: {event.value}"[:300]] += 1
    assert not errors, "\n".join(f"{n}× {e}" for e, n in errors.items())
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(sorted(set(failures))[:30])
    documented = {
        f"{method.upper()} {path}"
        for path, item in web.openapi()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert documented <= tested, f"not tested: {sorted(documented - tested)}"
