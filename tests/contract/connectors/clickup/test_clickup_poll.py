"""ClickUp polling over "Get Filtered Team Tasks" (``GET /api/v2/team/{id}/task``, pages from
0) against a local server answering like api.clickup.com."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.connectors import clickup, poller
from autoinvoice.adapters.connectors.clickup import CONNECTOR, POLLER, polled_task_event
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.events import WORK_COMPLETED, Subject
from autoinvoice.services.connectors import (
    PollResult,
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    VendorUnavailable,
)
from vendor_api import Recorded, VendorApi

HERE = Path(__file__).parent
TOKEN = "pk_183_QH3XW2V0J8K5L7M9N1P3R5T7V9X1Z3B5"
SECRETS = SourceSecrets(signing_secret="whsec", api_token=TOKEN)
NOW = datetime(2024, 6, 6, 12, 0, tzinfo=UTC)
TEAM = "9011012345"
PATH = f"/api/v2/team/{TEAM}/task"
PAGE0: dict[str, Any] = json.loads((HERE / "api_team_tasks_page0.json").read_text())
PAGE1: dict[str, Any] = json.loads((HERE / "api_team_tasks_page1.json").read_text())


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two tasks a page, so the recorded answers make two full pages."""
    monkeypatch.setattr(clickup, "PAGE_SIZE", 2)


def by_page(*pages: dict[str, Any]) -> Any:
    def route(req: Recorded) -> tuple[int, Any]:
        number = int(req.query["page"][0])
        return 200, pages[number] if number < len(pages) else {"tasks": [], "last_page": True}

    return route


def poll(
    route: Any, cursor: str | None = "2024-06-01T00:00:00Z", **options: Any
) -> tuple[PollResult, list[Recorded]]:
    with VendorApi({("GET", PATH): route}) as api:
        cfg = SourceConfig(name="cu", api_base=api.url, options={"team_id": TEAM, **options})
        result = POLLER.poll(SECRETS, cfg, cursor, now=NOW)
    return result, api.requests


def test_the_registry_names_the_clickup_poller() -> None:
    assert poller("clickup") is POLLER
    assert POLLER.kind == "clickup"


@pytest.mark.usefixtures("small_pages")
def test_closed_and_done_tasks_become_completed_work_and_others_nothing() -> None:
    result, requests = poll(by_page(PAGE0, PAGE1))
    assert len(requests) == 2
    assert [e.external_id for e in result.events] == ["1vj37mc", "1vj3b7k"]
    assert all(e.type == WORK_COMPLETED and e.subject is Subject.TASK for e in result.events)
    closed = result.events[0]
    assert closed.dedupe_key == "clickup:poll:1vj37mc:1717492811900"
    assert closed.version == datetime(2024, 6, 4, 9, 20, 11, 900000, tzinfo=UTC)
    assert closed.occurred_at == closed.version
    assert closed.raw["custom_id"] == "WEB-42"
    assert closed.fields == {
        "project_ref": "162641062",
        "project_name": "ACME website",
        "title": "Homepage redesign – final delivery",
        "key": "WEB-42",
        "status": "complete",
        "status_category": "done",
        "labels": ["billable", "fixed price"],
        "url": "https://app.clickup.com/t/1vj37mc",
    }
    done = result.events[1]
    assert done.fields["status"] == "delivered"
    assert done.fields["project_ref"] == "162641077"
    assert done.fields["key"] is None


@pytest.mark.usefixtures("small_pages")
def test_requests_carry_the_token_without_scheme_and_the_documented_query() -> None:
    _, (first, second) = poll(by_page(PAGE0, PAGE1))
    assert first.path == PATH
    assert first.headers["authorization"] == TOKEN
    assert first.query == {
        "date_updated_gt": ["1717200000000"],
        "include_closed": ["true"],
        "order_by": ["updated"],
        "subtasks": ["true"],
        "page": ["0"],
    }
    assert second.query["page"] == ["1"]
    assert second.query["date_updated_gt"] == first.query["date_updated_gt"]
    assert second.headers["authorization"] == TOKEN


@pytest.mark.usefixtures("small_pages")
def test_the_cursor_is_the_newest_update_seen_open_tasks_included() -> None:
    result, _ = poll(by_page(PAGE0, PAGE1))
    assert result.cursor == "2024-06-05T09:16:40Z"  # the open task's, rounded down


@pytest.mark.usefixtures("small_pages")
def test_last_page_ends_the_poll_even_when_the_page_is_full() -> None:
    _, requests = poll(by_page(PAGE0, PAGE1, PAGE0))
    assert [r.query["page"] for r in requests] == [["0"], ["1"]]


def test_a_page_of_fewer_than_100_tasks_ends_the_poll() -> None:
    _, requests = poll(by_page(PAGE0, PAGE1))  # last_page false, but only 2 of 100
    assert len(requests) == 1


def test_polling_again_from_the_cursor_repeats_the_newest_under_the_same_key() -> None:
    newest_closed = copy.deepcopy(PAGE1)
    newest_closed["tasks"] = newest_closed["tasks"][:1]
    once, _ = poll(newest_closed)
    again, requests = poll(newest_closed, once.cursor)
    assert requests[0].query["date_updated_gt"] == ["1717578330000"]  # 09:05:30, not .512
    assert [e.dedupe_key for e in again.events] == [e.dedupe_key for e in once.events]
    assert again.cursor == once.cursor == "2024-06-05T09:05:30Z"


def test_the_first_poll_starts_now_and_bills_no_history_unless_asked() -> None:
    _, requests = poll({"tasks": [], "last_page": True}, None)
    assert requests[0].query["date_updated_gt"] == ["1717675200000"]
    _, requests = poll({"tasks": [], "last_page": True}, None, since="2024-06-01")
    assert requests[0].query["date_updated_gt"] == ["1717200000000"]


def test_nothing_new_keeps_the_old_cursor() -> None:
    result, _ = poll({"tasks": [], "last_page": True}, "2024-06-05T09:16:40Z")
    assert result == PollResult(events=[], cursor="2024-06-05T09:16:40Z")


def test_a_polled_task_has_the_fields_of_its_fetched_webhook_event() -> None:
    task = json.loads((HERE / "api_task.json").read_text())
    body = (HERE / "status_closed.json").read_bytes()
    cfg = SourceConfig(name="cu", field_map={"space": "space.id"})
    [hooked] = CONNECTOR.parse({}, body, cfg)
    with VendorApi({("GET", f"/api/v2/task/{hooked.external_id}"): task}) as api:
        fetched = CONNECTOR.fetch(hooked, SECRETS, replace(cfg, api_base=api.url))
    polled = polled_task_event(task, cfg, where="task")
    assert polled is not None
    assert (polled.type, polled.subject, polled.external_id) == (
        fetched.type,
        fetched.subject,
        fetched.external_id,
    )
    assert polled.fields == fetched.fields
    assert polled.fields["space"] == "90110345678"


def test_a_poll_that_never_ends_is_refused(
    monkeypatch: pytest.MonkeyPatch, small_pages: None
) -> None:
    monkeypatch.setattr(clickup, "MAX_PAGES", 3)
    with pytest.raises(VendorRefused, match="after 3 pages"):
        poll(PAGE0)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_rate_limits_are_temporary(status: int) -> None:
    with pytest.raises(VendorUnavailable):
        poll((status, {"err": "Internal error", "ECODE": "ITEM_500"}))


@pytest.mark.parametrize("status", [400, 401, 403])
def test_a_refused_token_or_team_is_permanent_and_not_echoed(status: int) -> None:
    with pytest.raises(VendorRefused) as err:
        poll((status, {"err": "Token invalid", "ECODE": "OAUTH_025"}))
    assert TOKEN not in str(err.value)


def test_an_unreachable_api_is_temporary() -> None:
    with VendorApi() as api:
        cfg = SourceConfig(name="cu", api_base=api.url, options={"team_id": TEAM})
    with pytest.raises(VendorUnavailable) as err:
        POLLER.poll(SECRETS, cfg, None, now=NOW)
    assert TOKEN not in str(err.value)


@pytest.mark.parametrize("team", [None, "", "acme", "901/1"])
def test_a_source_without_a_numeric_team_id_is_refused(team: Any) -> None:
    cfg = SourceConfig(name="cu", api_base="http://127.0.0.1:9", options={"team_id": team})
    with pytest.raises(VendorRefused, match="team_id"):
        POLLER.poll(SECRETS, cfg, None, now=NOW)


def test_a_source_without_token_is_refused() -> None:
    cfg = SourceConfig(name="cu", api_base="http://127.0.0.1:9", options={"team_id": TEAM})
    with pytest.raises(VendorRefused, match="API token"):
        POLLER.poll(SourceSecrets(signing_secret="s"), cfg, None, now=NOW)


def test_a_task_without_date_updated_names_its_path() -> None:
    broken = copy.deepcopy(PAGE0)
    del broken["tasks"][1]["date_updated"]
    with pytest.raises(InvalidValue) as err:
        poll(broken)
    assert err.value.field == "page0.tasks.1.date_updated"


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ([], "page0.tasks"),
        ({"err": "x"}, "page0.tasks"),
        ({"tasks": {}}, "page0.tasks"),
        ({"tasks": ["1vj37mc"]}, "page0.tasks.0"),
        ({"tasks": [{"id": "a", "date_updated": "soon"}]}, "page0.tasks.0.date_updated"),
        (
            {"tasks": [{"id": "a", "date_updated": "1", "status": {"type": "closed"}}]},
            "page0.tasks.0.name",
        ),
    ],
)
def test_a_malformed_answer_names_where(answer: Any, field: str) -> None:
    with pytest.raises(InvalidValue) as err:
        poll(answer)
    assert err.value.field == field
