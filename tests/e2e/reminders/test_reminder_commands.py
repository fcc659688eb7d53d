"""Reminders through their entry points, on SQLite and PostgreSQL: the REST API (policy,
dispute, pause) under a real TestClient, and the `autoinvoice reminders …` / `invoices
dispute` commands in-process against the same database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from autoinvoice.entrypoints.cli import cli
from autoinvoice.services import accounts
from reminder_support import issue
from trigger_world import World


def api_key(world: World) -> dict[str, str]:
    app = world.app
    uid = accounts.create_user(
        "owner@example.com", "a long password", "owner", uow=app.uow(), clock=app.clock,
        hasher=app.hasher, actor="test",
    )  # fmt: skip
    key = accounts.create_api_key(uid, "t", ["read", "write"], uow=app.uow(), clock=app.clock)
    return {"Authorization": f"Bearer {key}"}


def test_the_api_sets_the_policy_disputes_and_pauses(world: World) -> None:
    auth = api_key(world)
    web = world.web
    shown = web.get("/api/v1/settings/reminders", headers=auth).json()
    assert shown["source"] == "built-in" and len(shown["steps"]) == 5

    bad = web.put(
        "/api/v1/settings/reminders",
        json={"steps": [{"offset_days": 7}, {"offset_days": 3}]},
        headers=auth,
    )
    assert bad.status_code == 422 and bad.json()["field"] == "steps.offset_days"
    assert web.get("/api/v1/settings/reminders", headers=auth).json()["source"] == "built-in"
    bad_rules = web.put(
        "/api/v1/settings/reminders",
        json={"steps": [], "rules": {"NO": {"fee_cap": "lots"}}},
        headers=auth,
    )
    assert bad_rules.status_code == 422 and bad_rules.json()["field"] == "rules.NO.fee_cap"
    org = web.put(
        "/api/v1/settings/reminders",
        json={"steps": [{"offset_days": 10}], "rules": {"NO": {"max_fees": 1}}},
        headers=auth,
    ).json()
    assert org["source"] == "organisation" and org["rules"] == {"NO": {"max_fees": 1}}

    ladder = {"steps": [{"offset_days": 7, "tone": "firm", "fee": {"kind": "statutory"}}]}
    put = web.put(
        f"/api/v1/settings/reminders?client_id={world.client_id}", json=ladder, headers=auth
    )
    assert put.status_code == 200, put.text
    assert put.json()["source"] == "client"
    assert put.json()["steps"] == [{"offset_days": 7, "tone": "firm", "fee": {"kind": "statutory"}}]
    assert web.get("/api/v1/settings/reminders", headers=auth).json()["source"] == "organisation"

    inv_id = issue(world)
    disputed = web.post(
        f"/api/v1/invoices/{inv_id}/dispute", json={"reason": "wrong rate"}, headers=auth
    )
    assert disputed.status_code == 201
    again = web.post(f"/api/v1/invoices/{inv_id}/dispute", json={"reason": "x"}, headers=auth)
    assert again.status_code == 409
    assert (
        web.post(f"/api/v1/invoices/{inv_id}/dispute/resolve", json={}, headers=auth).status_code
        == 204
    )

    paused = web.post(
        f"/api/v1/clients/{world.client_id}/reminders/pause",
        json={"reason": "holiday", "until": "2027-01-10"},
        headers=auth,
    )
    assert paused.status_code == 201
    missing = web.post("/api/v1/clients/999/reminders/pause", json={"reason": "x"}, headers=auth)
    assert missing.status_code == 404
    resumed = web.post(f"/api/v1/clients/{world.client_id}/reminders/resume", headers=auth)
    assert resumed.json() == {"pauses_ended": 1}
    assert web.get(f"/api/v1/invoices/{inv_id}/reminders", headers=auth).json() == []
    assert len(world.audit("invoice.disputed")) == 1 and len(world.audit("reminders.paused")) == 1


def test_the_commands_run_the_scan_list_pause_and_dispute(
    world: World, database_url: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = {"AUTOINVOICE_DATA_DIR": str(tmp_path)}

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, [*args, "--database-url", database_url], env=env)
        assert result.exit_code == code, result.output
        return result.output

    # the commands run on the wall clock: issue 40 days ago, net 30
    world.clock.set(datetime.now(UTC) - timedelta(days=40))
    first, second = issue(world), issue(world)
    with world.app.uow(read_only=True) as uow:
        number = uow.invoices.get(second).number or ""

    run("invoices", "dispute", number, "--reason", "not delivered")
    assert "no open dispute" in run("invoices", "undispute", str(first), code=2)
    report = json.loads(run("reminders", "run", "--json"))
    assert report["queued"] == 1  # the disputed one waits
    listed = json.loads(run("reminders", "list", "--json"))
    assert [(r["invoice_id"], r["step"], r["tone"]) for r in listed] == [(first, 2, "firm")]
    assert json.loads(run("reminders", "run", "--json"))["queued"] == 0

    run("invoices", "undispute", number, "--resolution", "delivered")
    run("reminders", "pause", str(world.client_id), "--reason", "CFO on leave")
    assert json.loads(run("reminders", "run", "--json"))["queued"] == 0
    run("reminders", "resume", str(world.client_id))
    assert json.loads(run("reminders", "run", "--json"))["queued"] == 1
    assert len(json.loads(run("reminders", "list", "--invoice", number, "--json"))) == 1

    refused = run(
        "reminders", "pause", str(world.client_id), "--reason", "x", "--until", "soon", code=2
    )
    assert "until" in refused
    run(
        "reminders",
        "policy",
        "set",
        '{"steps": [{"offset_days": 5}]}',
        "--client",
        str(world.client_id),
    )
    shown = json.loads(run("reminders", "policy", "show", "--client", str(world.client_id)))
    assert shown["source"] == "client" and shown["steps"] == [{"offset_days": 5, "tone": "firm"}]
    bad = run("reminders", "policy", "set", '{"steps": [{"offset_days": "x"}]}', code=2)
    assert "steps[0].offset_days" in bad
