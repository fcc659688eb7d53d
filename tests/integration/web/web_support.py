"""Helpers for the web tests: the demo organisation on SQLite with two invoices issued on
1 December 2026 and emailed, an owner who can sign in, and signing in through the form."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.bootstrap import App, build
from autoinvoice.config import Settings
from autoinvoice.domain.assembly import assemble_milestones
from autoinvoice.entrypoints.demo_data import load_demo_data
from autoinvoice.services import accounts, invoicing, jobs

OWNER = ("owner@nordlicht.example", "correct horse battery")
ISSUED_AT = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def demo_app(tmp_path: Path, **settings: object) -> App:
    app = build(
        Settings(data_dir=tmp_path, **settings),  # type: ignore[arg-type]
        clock=ManualClock(datetime(2026, 11, 20, 9, tzinfo=UTC)),
    )
    load_demo_data(app)
    app.clock.set(ISSUED_AT)  # type: ignore[attr-defined]
    report = invoicing.fire_due_schedules(uow=app.uow(), clock=app.clock)
    assert report.issued == ["INV-2026-000001", "INV-2026-000002"]
    jobs.run_jobs_once(uow=app.uow(), clock=app.clock, worker="t", handlers=app.handlers("t"))
    add_user(app, *OWNER, "owner")
    return app


def add_user(app: App, email: str, password: str, role: str) -> int:
    return accounts.create_user(
        email, password, role, uow=app.uow(), clock=app.clock, hasher=app.hasher, actor="test"
    )


def milestone_draft(app: App) -> int:
    """A draft for Brightwave (USD, export): the first milestone of its contract."""
    uow = app.uow()
    with uow:
        contract = next(c for c in uow.contracts.list() if c.milestones)
        client = uow.clients.get(contract.client_id or 0)
        entity = uow.entities.get(client.entity_id)
        draft = assemble_milestones(
            contract, entity.party, client.party, [contract.milestones[0].name]
        )
        inv_id = invoicing.save_draft(
            draft, uow=uow, client_id=client.id, now=app.clock.now(), actor="test"
        )
        uow.commit()
    return inv_id


def csrf_from(client: TestClient, path: str) -> str:
    match = CSRF.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: TestClient, email: str = OWNER[0], password: str = OWNER[1]) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    token = csrf_from(client, "/login")
    r = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/invoices"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_from(client, "/invoices")
