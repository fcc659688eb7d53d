"""Project trackers: a milestone (or project) completed in Jira, Linear, Asana, ClickUp or
GitHub becomes an issued, emailed invoice for that milestone of a fixed-price contract.

Each product's recorded webhook is re-dated to the test clock, its title set to a milestone
of the contract, and signed here as the vendor documents it (HMAC-SHA256 of the raw body, in
the header each product uses). Asana and ClickUp send only ids: the task is read back from a
local server answering like their REST API. The contract (Discovery 4,000.00 and Build
12,000.00 EUR) belongs to a German company billed by a German seller: 19 % VAT."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from autoinvoice.adapters.db import tables as t
from autoinvoice.domain.tax import TaxCategory
from autoinvoice.services.ingest import replay_inbound
from trigger_world import World, hex_sig, payload
from vendor_api import VendorApi

CONTRACT = "Website relaunch"
MILESTONES = [("Discovery", "4000.00"), ("Build", "12000.00")]
BILLABLE = {"field": "labels", "contains": "billable"}
CLIENT_EMAIL = "ap@hanseatic.example"


# -- shared setup and checks ----------------------------------------------------------------
def _contract(world: World) -> int:
    return world.contract("milestone", name=CONTRACT, milestones=MILESTONES)


def _rule(kind: str, *conditions: dict[str, Any]) -> dict[str, Any]:
    when: dict[str, Any] = {"source": kind, "event": "work.completed"}
    if conditions:
        when["conditions"] = list(conditions)
    return {"name": f"{kind}-milestones", "when": when, "build": "milestones"}


def _ms(world: World, seconds_ago: float = 0) -> int:
    return int((world.clock.now() - timedelta(seconds=seconds_ago)).timestamp() * 1000)


def _iso(world: World, seconds_ago: float = 0, *, millis: bool = False) -> str:
    at = (world.clock.now() - timedelta(seconds=seconds_ago)).astimezone(UTC)
    if millis:
        return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _assert_discovery_invoiced(world: World, contract_id: int) -> None:
    """One issued invoice: Discovery at 4,000.00 net + 19 % VAT, emailed to the client."""
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"
    assert inv.client_id == world.client_id
    assert inv.contract_id == contract_id
    assert inv.currency == "EUR"
    [line] = inv.lines
    assert line.description == f"{CONTRACT} — milestone: Discovery"
    assert line.quantity == Decimal("1")
    assert line.unit_price == Decimal("4000.00")
    assert line.tax.category is TaxCategory.STANDARD
    assert line.tax.rate == Decimal("19")
    totals = inv.totals()
    assert totals.net.amount == Decimal("4000.00")
    assert totals.tax.amount == Decimal("760.00")
    assert totals.gross.amount == Decimal("4760.00")
    [firing] = world.firings()
    assert firing["outcome"] == "issued"
    assert firing["invoice_id"] == inv.id
    assert firing["period"] == "Discovery"
    [mail] = world.smtp.wait_for(1)
    assert mail.rcpt_tos == (CLIENT_EMAIL,)
    assert "INV-2026-000001" in mail.message.get("Subject", "")


def _events(world: World) -> list[dict[str, Any]]:
    """The recorded canonical events (status and detail) in the order they were stored."""
    e = t.events.c
    with world.app.engine.connect() as conn:
        rows = conn.execute(select(e.id, e.type, e.status, e.detail, e.fields).order_by(e.id)).all()
    return [dict(r._mapping) for r in rows]


# -- Jira ----------------------------------------------------------------------------------
JIRA_SECRET = "jira-admin-webhook-secret-7c1e"


def test_a_jira_epic_moved_to_done_bills_its_milestone(world: World) -> None:
    contract_id = _contract(world)
    world.source("jira", "jira-cloud", secrets={"signing_secret": JIRA_SECRET})
    world.link("jira-cloud", project="WEB", contract=contract_id)  # fields.project.key
    world.rules(_rule("jira", BILLABLE))
    data = payload("jira", "epic_updated_done.json")
    data["timestamp"] = _ms(world, 2)
    data["issue"]["fields"]["summary"] = "Discovery"
    body = json.dumps(data).encode()
    r = world.post(
        "/webhooks/jira",
        body,
        {
            "Content-Type": "application/json",
            "X-Hub-Signature": "sha256=" + hex_sig(JIRA_SECRET, body),
            "X-Atlassian-Webhook-Identifier": "5b3e6a1c-8f2d-4e7b-9c0a-1d2e3f4a5b6c",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "accepted"}
    world.work()
    _assert_discovery_invoiced(world, contract_id)


# -- Linear --------------------------------------------------------------------------------
LINEAR_SECRET = "lin_wh_4f2a9c0e7b1d3e5f"


def _linear_headers(body: bytes, delivery: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "Linear-Signature": hex_sig(LINEAR_SECRET, body),
        "Linear-Delivery": delivery,
        "Linear-Event": json.loads(body)["type"],
    }


def test_a_linear_issue_completed_bills_its_milestone(world: World) -> None:
    contract_id = _contract(world)
    world.source("linear", "linear", secrets={"signing_secret": LINEAR_SECRET})
    world.link("linear", project="NOR", contract=contract_id)  # data.team.key
    world.rules(_rule("linear", BILLABLE))  # the issue's label is "Billable": case-insensitive
    data = payload("linear", "issue_update_completed.json")
    data["data"]["title"] = "Discovery"
    data["createdAt"] = data["data"]["updatedAt"] = _iso(world, 3, millis=True)
    data["data"]["completedAt"] = _iso(world, 3, millis=True)
    data["webhookTimestamp"] = _ms(world, 1)  # within Linear's one-minute window
    body = json.dumps(data).encode()
    r = world.post(
        "/webhooks/linear", body, _linear_headers(body, "234d1a4e-b617-4388-90fe-adc3633d6b72")
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "accepted"}
    world.work()
    _assert_discovery_invoiced(world, contract_id)


def test_a_linear_project_completed_bills_every_milestone_of_its_contract(world: World) -> None:
    contract_id = _contract(world)
    world.source("linear", "linear", secrets={"signing_secret": LINEAR_SECRET})
    project_id = "f4a5b6c7-d8e9-4f0a-1b2c-3d4e5f6a7b8c"  # a project event's ref is its id
    world.link("linear", project=project_id, contract=contract_id)
    world.rules(_rule("linear"))
    data = payload("linear", "project_update_completed.json")
    data["createdAt"] = data["data"]["updatedAt"] = _iso(world, 3, millis=True)
    data["webhookTimestamp"] = _ms(world, 1)
    body = json.dumps(data).encode()
    r = world.post(
        "/webhooks/linear", body, _linear_headers(body, "9c1f0e2d-3b4a-4c5d-8e6f-7a8b9c0d1e2f")
    )
    assert r.json() == {"status": "accepted"}
    world.work()
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"
    # (the event path lists the milestones by name, not in the contract's order)
    assert sorted((ln.description, ln.unit_price) for ln in inv.lines) == [
        (f"{CONTRACT} — milestone: Build", Decimal("12000.00")),
        (f"{CONTRACT} — milestone: Discovery", Decimal("4000.00")),
    ]
    assert all(ln.tax.rate == Decimal("19") for ln in inv.lines)
    totals = inv.totals()
    assert totals.net.amount == Decimal("16000.00")
    assert totals.tax.amount == Decimal("3040.00")
    assert totals.gross.amount == Decimal("19040.00")
    [mail] = world.smtp.wait_for(1)
    assert mail.rcpt_tos == (CLIENT_EMAIL,)


# -- Asana ---------------------------------------------------------------------------------
# The handshake secret from Asana's "Establish a webhook" example.
ASANA_HOOK_SECRET = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
ASANA_PAT = "2/1202178852626547/1207431964550001:9c1e0f3a7d"
ASANA_TASK = "1207431964551023"
ASANA_PROJECT = "1207431964550871"  # the task's first project: projects[0].gid


def _asana_api(world: World) -> VendorApi:
    task = payload("asana", "api_task_completed.json")
    task["data"]["name"] = "Discovery"
    task["data"]["completed_at"] = _iso(world, 5, millis=True)
    task["data"]["modified_at"] = _iso(world, 4, millis=True)
    return VendorApi({("GET", f"/api/1.0/tasks/{ASANA_TASK}"): task})


def _asana_body(world: World) -> bytes:
    completion = payload("asana", "asana_task_events.json")["events"][0]
    assert completion["change"]["field"] == "completed"
    completion["created_at"] = _iso(world, 5, millis=True)
    return json.dumps({"events": [completion]}).encode()


def _asana_signed(body: bytes, secret: str = ASANA_HOOK_SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=UTF-8",
        "X-Hook-Signature": hex_sig(secret, body),
    }


def test_an_asana_task_completed_is_read_back_and_bills_its_milestone(world: World) -> None:
    contract_id = _contract(world)
    with _asana_api(world) as api:
        src = world.source(
            "asana",
            "asana",
            secrets={"signing_secret": ASANA_HOOK_SECRET, "api_token": ASANA_PAT},
            api_base=api.url,
        )
        world.link("asana", project=ASANA_PROJECT, contract=contract_id)
        world.rules(_rule("asana", BILLABLE))
        body = _asana_body(world)
        r = world.post(f"/webhooks/asana/{src.url_token}", body, _asana_signed(body))
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "accepted"}
        world.work()
        [call] = api.requests
    assert call.path == f"/api/1.0/tasks/{ASANA_TASK}"
    assert call.headers["authorization"] == f"Bearer {ASANA_PAT}"
    assert "opt_fields" in call.query
    _assert_discovery_invoiced(world, contract_id)


def test_the_asana_handshake_hands_over_the_secret_once_and_never_again(world: World) -> None:
    contract_id = _contract(world)
    with _asana_api(world) as api:
        src = world.source("asana", "asana", secrets={"api_token": ASANA_PAT}, api_base=api.url)
        world.link("asana", project=ASANA_PROJECT, contract=contract_id)
        world.rules(_rule("asana", BILLABLE))
        url = f"/webhooks/asana/{src.url_token}"
        body = _asana_body(world)
        # before the handshake there is no key to check a signature with
        assert world.post(url, body, _asana_signed(body)).status_code == 401

        shake = world.post(url, b"", {"X-Hook-Secret": ASANA_HOOK_SECRET})
        assert shake.status_code == 200, shake.text
        assert shake.headers["x-hook-secret"] == ASANA_HOOK_SECRET
        assert len(world.audit("source.handshake")) == 1

        r = world.post(url, body, _asana_signed(body))
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "accepted"}

        again = world.post(url, b"", {"X-Hook-Secret": "a-strangers-secret"})
        assert again.status_code == 401
        assert again.headers["content-type"].startswith("application/problem+json")
        assert "x-hook-secret" not in again.headers
        # the stranger's secret did not replace the handed-over one
        assert world.post(url, body, _asana_signed(body, "a-strangers-secret")).status_code == 401
        world.work()
    assert len(world.audit("source.handshake")) == 1
    assert len(world.audit("webhook.rejected")) == 3
    _assert_discovery_invoiced(world, contract_id)


# -- ClickUp -------------------------------------------------------------------------------
CLICKUP_SECRET = "O5A8JK2EDKPXTU91W4MLVJ1QHVHA9W0M"
CLICKUP_TOKEN = "pk_183_7XQM5UJDV2M45MPF0YHH5YHOEXP7MPOJ"


def test_a_clickup_task_closed_is_read_back_and_bills_its_milestone(world: World) -> None:
    contract_id = _contract(world)
    task = payload("clickup", "api_task.json")
    task["name"] = "Discovery"
    with VendorApi({("GET", "/api/v2/task/1vj37mc"): task}) as api:
        world.source(
            "clickup",
            "clickup",
            secrets={"signing_secret": CLICKUP_SECRET, "api_token": CLICKUP_TOKEN},
            api_base=api.url,
        )
        world.link("clickup", project="162641062", contract=contract_id)  # the List id
        world.rules(_rule("clickup", BILLABLE))
        data = payload("clickup", "status_closed.json")
        data["history_items"][0]["date"] = str(_ms(world, 2))
        body = json.dumps(data).encode()
        r = world.post(
            "/webhooks/clickup",
            body,
            {"Content-Type": "application/json", "X-Signature": hex_sig(CLICKUP_SECRET, body)},
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "accepted"}
        world.work()
        [call] = api.requests
    assert call.path == "/api/v2/task/1vj37mc"
    assert call.headers["authorization"] == CLICKUP_TOKEN  # personal tokens go bare
    _assert_discovery_invoiced(world, contract_id)


# -- GitHub --------------------------------------------------------------------------------
GITHUB_SECRET = "gh-webhook-secret-3d9a1f"
REPO = "Codertocat/Hello-World"


def _github_setup(world: World) -> int:
    contract_id = _contract(world)
    world.source("github", "github", secrets={"signing_secret": GITHUB_SECRET})
    world.link("github", project=REPO, contract=contract_id)  # repository.full_name
    world.rules(_rule("github"))
    return contract_id


def _github_milestone(
    world: World,
    action: str = "closed",
    *,
    title: str = "Discovery",
    seconds_ago: float = 5,
    repo: str = REPO,
) -> bytes:
    data = payload("github", f"milestone_{'closed' if action == 'closed' else 'opened'}.json")
    assert data["action"] == action
    m = data["milestone"]
    m["title"] = title
    m["updated_at"] = _iso(world, seconds_ago)
    m["closed_at"] = _iso(world, seconds_ago) if action == "closed" else None
    data["repository"]["full_name"] = repo
    data["repository"]["name"] = repo.split("/")[1]
    return json.dumps(data).encode()


def _github_post(world: World, body: bytes, delivery: str, signature: str | None = None) -> Any:
    return world.post(
        "/webhooks/github",
        body,
        {
            "Content-Type": "application/json",
            "X-GitHub-Event": "milestone",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature or "sha256=" + hex_sig(GITHUB_SECRET, body),
        },
    )


def test_a_github_milestone_closed_bills_it(world: World) -> None:
    contract_id = _github_setup(world)
    r = _github_post(world, _github_milestone(world), "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "accepted"}
    world.work()
    _assert_discovery_invoiced(world, contract_id)


def test_the_same_github_delivery_posted_twice_makes_one_invoice(world: World) -> None:
    contract_id = _github_setup(world)
    body = _github_milestone(world)
    delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert _github_post(world, body, delivery).json() == {"status": "accepted"}
    assert _github_post(world, body, delivery).json() == {"status": "duplicate"}
    world.work()
    _assert_discovery_invoiced(world, contract_id)
    assert len(_events(world)) == 1


def test_a_billed_milestone_reopened_and_closed_again_is_not_billed_twice(world: World) -> None:
    contract_id = _github_setup(world)
    closed = _github_milestone(world, "closed", seconds_ago=60)
    assert _github_post(world, closed, "0e1c0a4e-0001-11ef-8000-000000000001").status_code == 200
    world.work()
    _assert_discovery_invoiced(world, contract_id)

    reopened = _github_milestone(world, "opened", seconds_ago=30)
    closed_again = _github_milestone(world, "closed", seconds_ago=10)
    assert _github_post(world, reopened, "0e1c0a4e-0001-11ef-8000-000000000002").json() == {
        "status": "accepted"
    }
    assert _github_post(world, closed_again, "0e1c0a4e-0001-11ef-8000-000000000003").json() == {
        "status": "accepted"
    }
    world.work()
    assert len(world.invoices()) == 1
    assert [f["outcome"] for f in world.firings()] == ["issued", "skipped"]
    assert [(e["type"], e["status"]) for e in _events(world)] == [
        ("work.completed", "applied"),
        ("work.reopened", "applied"),
        ("work.completed", "applied"),
    ]
    with world.app.uow(read_only=True) as uow:
        [inv] = world.invoices()
        completed_at, invoice_id = uow.milestones.states(contract_id)["Discovery"]
    assert completed_at is not None
    assert invoice_id == inv.id
    assert len(world.smtp.wait_for(1)) == 1


def test_a_forged_github_signature_is_refused_and_nothing_is_processed(world: World) -> None:
    _github_setup(world)
    body = _github_milestone(world)
    forged = "sha256=" + hex_sig("not-the-secret", body)
    r = _github_post(world, body, "72d3162e-cc78-11e3-81ab-4c9367dc0958", signature=forged)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert world.work() == 0
    assert world.invoices() == []
    assert world.firings() == []
    assert _events(world) == []
    [rejected] = world.audit("webhook.rejected")
    assert GITHUB_SECRET not in json.dumps(rejected["detail"])


def test_a_github_milestone_named_unlike_any_milestone_fails_naming_them(world: World) -> None:
    _github_setup(world)
    body = _github_milestone(world, title="v1.0")
    assert _github_post(world, body, "72d3162e-cc78-11e3-81ab-4c9367dc0958").json() == {
        "status": "accepted"
    }
    world.work()
    assert world.invoices() == []
    [event] = _events(world)
    assert event["status"] == "failed"  # kept to be tried again on replay
    assert "github-milestones: failed" in event["detail"]
    assert "no milestone named 'v1.0'" in event["detail"]
    assert "milestones: Discovery, Build" in event["detail"]
    [alert] = world.audit("rule.failed")
    assert "milestones: Discovery, Build" in alert["detail"]["reason"]


def test_a_github_milestone_named_unlike_any_milestone_is_recorded_as_a_failed_firing(
    world: World,
) -> None:
    _github_setup(world)
    body = _github_milestone(world, title="v1.0")
    _github_post(world, body, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    world.work()
    [failed] = world.firings()
    assert failed["outcome"] == "failed"
    assert "milestones: Discovery, Build" in failed["detail"]


def test_a_completion_in_an_unlinked_repository_is_recorded_as_unmapped(world: World) -> None:
    contract_id = _contract(world)
    world.source("github", "github", secrets={"signing_secret": GITHUB_SECRET})
    world.link("github", project=REPO, contract=contract_id)
    # no rule yet: what is recorded is the mapping alone (with a rule, see the next test)
    body = _github_milestone(world, repo="Codertocat/Another-Repo")
    assert _github_post(world, body, "72d3162e-cc78-11e3-81ab-4c9367dc0958").json() == {
        "status": "accepted"
    }
    world.work()
    assert world.invoices() == []
    now = world.clock.now()
    with world.app.uow(read_only=True) as uow:
        recorded = uow.events.between(now - timedelta(hours=1), now + timedelta(hours=1))
    [(_, _, event, status)] = recorded
    assert status == "unmapped"
    assert event.fields["project_ref"] == "Codertocat/Another-Repo"
    [row] = _events(world)
    assert "project 'Codertocat/Another-Repo' (Another-Repo) map to nothing" in row["detail"]
    assert "autoinvoice sources link" in row["detail"]
    assert world.firings() == []
    assert world.smtp.messages == []


def test_an_unlinked_completion_fails_its_rule_and_bills_once_linked_and_replayed(
    world: World,
) -> None:
    _github_setup(world)
    other = world.contract("milestone", name="Intranet", milestones=MILESTONES)
    body = _github_milestone(world, repo="Codertocat/Another-Repo")
    assert _github_post(world, body, "72d3162e-cc78-11e3-81ab-4c9367dc0958").json() == {
        "status": "accepted"
    }
    world.work()
    assert world.invoices() == []
    [event] = _events(world)
    assert event["status"] == "failed"
    assert "the event maps to no contract" in event["detail"]
    assert "link its project to a milestone contract" in event["detail"]

    world.link("github", project="Codertocat/Another-Repo", contract=other)
    with world.app.uow(read_only=True) as uow:
        [req] = uow.inbound.recent(uow.sources.by_name("github").id)
    for _ in range(2):  # a second replay changes nothing
        replay_inbound(req["id"], uow=world.app.uow(), clock=world.app.clock, actor="test")
        world.work()
    [inv] = world.invoices()
    assert inv.number == "INV-2026-000001"
    assert inv.contract_id == other
    assert [ln.description for ln in inv.lines] == ["Intranet — milestone: Discovery"]
    assert inv.totals().gross.amount == Decimal("4760.00")
    # the attempt before the link failed and is marked resolved by the one that billed
    assert [f["outcome"] for f in world.firings()] == ["resolved", "issued"]
    assert [e["status"] for e in _events(world)] == ["applied"]
    assert len(world.smtp.wait_for(1)) == 1
