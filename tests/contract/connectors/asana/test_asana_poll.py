"""Asana polling over the Events API (``GET /api/1.0/events?resource=…&sync=…``): the sync
token is the cursor, 412 hands out a fresh one, completion changes are read back."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.connectors import asana, poller
from autoinvoice.adapters.connectors.asana import CONNECTOR, POLLER, TASK_FIELDS
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import WORK_CHANGED, WORK_COMPLETED, WORK_REOPENED, Subject
from autoinvoice.services.connectors import (
    PollResult,
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    VendorUnavailable,
)
from vendor_api import Recorded, Route, VendorApi

HERE = Path(__file__).parent
TOKEN = "2/1202178852626547/1207431964550001:9c1e0f4b7a2d8e6c3f5a1b9d0e7c4a2f"
SECRETS = SourceSecrets(signing_secret="hook-secret", api_token=TOKEN)
NOW = datetime(2024, 5, 30, 15, 0, tzinfo=UTC)
PROJECT = "1207431964550871"
EVENTS = "/api/1.0/events"
TASK = "/api/1.0/tasks/1207431964551023"
MILESTONE = "/api/1.0/tasks/1207431964551180"


def load(name: str) -> Any:
    return json.loads((HERE / name).read_text())


PAGE1 = load("api_events_page1.json")
PAGE2 = load("api_events_page2.json")
EXPIRED = load("api_events_412.json")
TASK_DONE = load("api_task_completed.json")
MILESTONE_DONE = load("api_task_milestone_completed.json")
START = "0d4c6f1e2b3a49587766554433221100"
SYNC1 = PAGE1["sync"]


def by_sync(req: Recorded) -> tuple[int, Any]:
    sync = req.query.get("sync", [None])[0]
    answers: dict[str | None, tuple[int, Any]] = {
        None: (412, EXPIRED),
        START: (200, PAGE1),
        SYNC1: (200, PAGE2),
    }
    return answers.get(sync, (412, EXPIRED))


def poll(
    events: Route,
    cursor: str | None = START,
    tasks: dict[str, Any] | None = None,
    **options: Any,
) -> tuple[PollResult, list[Recorded]]:
    routes: dict[tuple[str, str], Route] = {("GET", EVENTS): events}
    for path, answer in (tasks or {TASK: TASK_DONE, MILESTONE: MILESTONE_DONE}).items():
        routes[("GET", path)] = answer
    with VendorApi(routes) as api:
        cfg = SourceConfig(
            name="asana", api_base=api.url, options={"project_gid": PROJECT, **options}
        )
        result = POLLER.poll(SECRETS, cfg, cursor, now=NOW)
    return result, api.requests


def test_the_registry_names_the_asana_poller() -> None:
    assert poller("asana") is POLLER
    assert POLLER.kind == "asana"


def test_the_first_poll_only_takes_a_sync_token_and_bills_nothing() -> None:
    result, requests = poll(by_sync, None)
    assert result == PollResult(events=[], cursor=EXPIRED["sync"])
    [call] = requests
    assert call.path == EVENTS
    assert call.query == {"resource": [PROJECT]}  # no sync token: Asana answers 412
    assert call.headers["authorization"] == f"Bearer {TOKEN}"


def test_since_cannot_replay_history_from_the_event_stream() -> None:
    result, requests = poll(by_sync, None, since="2024-01-01")
    assert result.events == []
    assert len(requests) == 1


def test_events_are_pulled_while_has_more_and_completions_are_read_back() -> None:
    result, requests = poll(by_sync)
    events_calls = [r for r in requests if r.path == EVENTS]
    assert [r.query["sync"] for r in events_calls] == [[START], [SYNC1]]
    assert all(r.query["resource"] == [PROJECT] for r in events_calls)
    assert [(e.type, e.subject, e.external_id) for e in result.events] == [
        (WORK_COMPLETED, Subject.TASK, "1207431964551023"),
        (WORK_CHANGED, Subject.TASK, "1207431964551023"),
        (WORK_COMPLETED, Subject.MILESTONE, "1207431964551180"),
    ]
    assert result.cursor == PAGE2["sync"]


def test_a_completed_task_carries_the_fields_of_the_read_back() -> None:
    result, requests = poll(by_sync)
    done = result.events[0]
    assert not done.needs_fetch
    assert done.version == datetime(2024, 5, 30, 14, 3, 47, 905000, tzinfo=UTC)
    assert done.occurred_at == datetime(2024, 5, 30, 14, 2, 11, 318000, tzinfo=UTC)
    assert done.fields == {
        "title": "Design review – phase 2",
        "project_ref": "1207431964550871",
        "project_name": "ACME website relaunch",
        "status": "Done",
        "status_category": "done",
        "labels": ["billable", "phase-2"],
        "url": "https://app.asana.com/0/1207431964550871/1207431964551023",
        "completed_at": "2024-05-30T14:02:11.210Z",
    }
    [task_call] = [r for r in requests if r.path == TASK]
    assert task_call.headers["authorization"] == f"Bearer {TOKEN}"
    assert task_call.query["opt_fields"] == [TASK_FIELDS]


def test_a_task_found_incomplete_on_read_back_is_reopened_work() -> None:
    reopened = {"data": {**TASK_DONE["data"], "completed": False, "completed_at": None}}
    result, _ = poll(by_sync, tasks={TASK: reopened, MILESTONE: MILESTONE_DONE})
    assert result.events[0].type == WORK_REOPENED
    assert result.events[0].fields["status_category"] == "open"


def test_an_event_seen_by_webhook_and_by_poll_has_the_same_dedupe_key() -> None:
    body = (HERE / "asana_task_events.json").read_bytes()
    hooked = CONNECTOR.parse({}, body, SourceConfig(name="asana"))
    result, _ = poll(by_sync)
    assert result.events[0].dedupe_key == hooked[0].dedupe_key
    assert result.events[1].dedupe_key == hooked[1].dedupe_key


def test_an_expired_sync_token_resyncs_from_now_without_events() -> None:
    result, requests = poll(by_sync, "a-token-from-last-week")
    assert result == PollResult(events=[], cursor=EXPIRED["sync"])
    assert len(requests) == 1


def test_a_token_expiring_between_batches_keeps_the_events_already_read() -> None:
    def expires(req: Recorded) -> tuple[int, Any]:
        return (200, PAGE1) if req.query["sync"] == [START] else (412, EXPIRED)

    result, _ = poll(expires)
    assert [e.type for e in result.events] == [WORK_COMPLETED, WORK_CHANGED]
    assert result.cursor == EXPIRED["sync"]


def test_nothing_new_moves_to_the_next_sync_token() -> None:
    quiet = {"data": [], "sync": "c0ffee00c0ffee00c0ffee00c0ffee00", "has_more": False}
    result, requests = poll(quiet)
    assert result == PollResult(events=[], cursor=quiet["sync"])
    assert len(requests) == 1


def test_a_stream_that_never_ends_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asana, "MAX_PAGES", 3)
    endless = {"data": [], "sync": "next", "has_more": True}
    with pytest.raises(VendorRefused, match="after 3 batches"):
        poll(endless)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_rate_limits_are_temporary(status: int) -> None:
    with pytest.raises(VendorUnavailable):
        poll((status, {"errors": [{"message": "Server Error"}]}))


def test_a_read_back_failing_with_5xx_is_temporary() -> None:
    with pytest.raises(VendorUnavailable):
        poll(by_sync, tasks={TASK: (503, {"errors": []}), MILESTONE: MILESTONE_DONE})


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404])
def test_a_refused_token_or_project_is_permanent_and_not_echoed(status: int) -> None:
    body = {
        "errors": [
            {
                "message": "Not Authorized",
                "help": "For more information on API status codes and how to handle them, "
                "read the docs on errors: https://developers.asana.com/docs/errors",
            }
        ]
    }
    with pytest.raises(VendorRefused) as err:
        poll((status, body))
    assert TOKEN not in str(err.value)


def test_an_unreachable_api_is_temporary() -> None:
    with VendorApi() as api:
        cfg = SourceConfig(name="asana", api_base=api.url, options={"project_gid": PROJECT})
    with pytest.raises(VendorUnavailable) as err:
        POLLER.poll(SECRETS, cfg, None, now=NOW)
    assert TOKEN not in str(err.value)


def test_a_source_without_token_or_project_is_refused() -> None:
    cfg = SourceConfig(name="asana", api_base="http://127.0.0.1:9", options={"project_gid": "1"})
    with pytest.raises(VendorRefused, match="API token"):
        POLLER.poll(SourceSecrets(signing_secret="s"), cfg, None, now=NOW)
    with pytest.raises(VendorRefused, match="project_gid"):
        POLLER.poll(SECRETS, SourceConfig(name="asana"), None, now=NOW)


def test_an_event_without_created_at_names_its_path() -> None:
    broken = copy.deepcopy(PAGE1)
    del broken["data"][0]["created_at"]
    with pytest.raises(InvalidValue) as err:
        poll((200, broken))
    assert err.value.field == "page1.data.0.created_at"


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ((200, {"data": [], "has_more": False}), "page1.sync"),
        ((412, {"errors": [{"message": "Sync token invalid or too old."}]}), "page1.sync"),
        ((200, {"data": [], "sync": 42}), "page1.sync"),
        ((200, {"data": {}, "sync": "s"}), "page1.data"),
        ((200, {"sync": "s"}), "page1.data"),
        ((200, {"data": ["1207431964551023"], "sync": "s"}), "page1.data.0"),
    ],
)
def test_a_malformed_answer_names_where(answer: tuple[int, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as err:
        poll(answer)
    assert err.value.field == field
