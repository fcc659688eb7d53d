"""GitHub milestone polling (``GET /repos/{owner}/{repo}/milestones?state=closed``) against a
local server answering like api.github.com."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.connectors import github, poller
from autoinvoice.adapters.connectors.github import CONNECTOR, POLLER, milestone_event
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
TOKEN = "github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789abcdefGHIJKLMNOP"
SECRETS = SourceSecrets(api_token=TOKEN)
NOW = datetime(2024, 3, 7, 12, 0, tzinfo=UTC)
REPO = "nordwind-digital/fleet-portal"
PATH = f"/repos/{REPO}/milestones"
PAGE1: list[dict[str, Any]] = json.loads((HERE / "api_milestones_closed_page1.json").read_text())
PAGE2: list[dict[str, Any]] = json.loads((HERE / "api_milestones_closed_page2.json").read_text())


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two milestones a page, so the recorded answers make two pages."""
    monkeypatch.setattr(github, "PER_PAGE", 2)


def by_page(*pages: list[dict[str, Any]]) -> Any:
    def route(req: Recorded) -> tuple[int, Any]:
        number = int(req.query["page"][0])
        return 200, pages[number - 1] if number <= len(pages) else []

    return route


def poll(
    route: Any, cursor: str | None = "2024-03-01T00:00:00Z", **options: Any
) -> tuple[PollResult, list[Recorded]]:
    with VendorApi({("GET", PATH): route}) as api:
        cfg = SourceConfig(name="gh", api_base=api.url, options={"repository": REPO, **options})
        result = POLLER.poll(SECRETS, cfg, cursor, now=NOW)
    return result, api.requests


def test_the_registry_names_the_github_poller() -> None:
    assert poller("github") is POLLER
    assert POLLER.kind == "github"


def test_milestones_closed_since_the_cursor_become_completed_work() -> None:
    result, requests = poll(by_page(PAGE1, PAGE2))
    assert len(requests) == 2
    assert [e.external_id for e in result.events] == ["10551907", "10612550"]
    first = result.events[0]
    assert first.type == WORK_COMPLETED
    assert first.subject is Subject.MILESTONE
    assert first.dedupe_key == "github:poll:milestone:10551907:2024-03-05T14:48:33Z"
    assert first.version == datetime(2024, 3, 5, 14, 48, 33, tzinfo=UTC)
    assert first.raw["closed_issues"] == 23
    assert first.fields == {
        "project_ref": REPO,
        "project_name": "fleet-portal",
        "title": "Phase 2 – Order export",
        "key": "2",
        "status": "closed",
        "status_category": "done",
        "url": f"https://github.com/{REPO}/milestone/2",
    }


def test_a_milestone_closed_before_the_cursor_is_left_out() -> None:
    result, _ = poll(by_page(PAGE1, PAGE2))
    assert "10482231" not in {e.external_id for e in result.events}


def test_requests_carry_the_documented_headers_and_paging() -> None:
    _, (first, second) = poll(by_page(PAGE1, PAGE2))
    assert first.path == PATH
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.headers["accept"] == "application/vnd.github+json"
    assert first.headers["x-github-api-version"] == "2022-11-28"
    assert first.query["state"] == ["closed"]
    assert first.query["per_page"] == ["2"]
    assert first.query["page"] == ["1"]
    assert "sort" not in first.query  # GitHub sorts milestones by due_on or completeness only
    assert second.query["page"] == ["2"]
    assert second.headers["authorization"] == f"Bearer {TOKEN}"


def test_the_cursor_is_the_newest_update_seen() -> None:
    result, _ = poll(by_page(PAGE1, PAGE2))
    assert result.cursor == "2024-03-06T09:20:02Z"


def test_polling_again_from_the_cursor_repeats_only_the_newest_with_the_same_key() -> None:
    once, _ = poll(by_page(PAGE1, PAGE2))
    again, _ = poll(by_page(PAGE1, PAGE2), once.cursor)
    assert [e.dedupe_key for e in again.events] == [once.events[-1].dedupe_key]
    assert again.cursor == once.cursor


def test_the_first_poll_starts_now_and_bills_no_history_unless_asked() -> None:
    result, _ = poll(by_page(PAGE1, PAGE2), None)
    assert result.events == []  # closed before the first poll: billed by hand already
    result, _ = poll(by_page(PAGE1, PAGE2), None, since="2024-01-01")
    assert len(result.events) == 3


def test_nothing_new_keeps_the_old_cursor() -> None:
    result, requests = poll([], "2024-03-06T09:20:02Z")
    assert result == PollResult(events=[], cursor="2024-03-06T09:20:02Z")
    assert len(requests) == 1


def test_a_polled_milestone_matches_the_webhook_fields() -> None:
    delivery = json.loads((HERE / "milestone_closed.json").read_text())
    headers = {"x-github-event": "milestone", "x-github-delivery": "d-1"}
    [hooked] = CONNECTOR.parse(headers, json.dumps(delivery).encode(), SourceConfig(name="gh"))
    polled = milestone_event(
        delivery["milestone"],
        delivery["repository"]["full_name"],
        SourceConfig(name="gh"),
        where="body",
    )
    assert polled.fields == hooked.fields
    assert polled.version == hooked.version
    assert polled.external_id == hooked.external_id
    assert polled.dedupe_key != hooked.dedupe_key


def test_field_map_reads_the_milestone_as_in_a_webhook_body() -> None:
    cfg = SourceConfig(name="gh", field_map={"due": "milestone.due_on"})
    event = milestone_event(PAGE1[1], REPO, cfg, where="body")
    assert event.fields["due"] == "2024-03-08T08:00:00Z"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_rate_limits_are_temporary(status: int) -> None:
    with pytest.raises(VendorUnavailable):
        poll((status, {"message": "Server Error"}))


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_refused_token_or_unknown_repository_is_permanent(status: int) -> None:
    body = {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": str(status),
    }
    with pytest.raises(VendorRefused) as err:
        poll((status, body))
    assert TOKEN not in str(err.value)


def test_an_unreachable_api_is_temporary() -> None:
    with VendorApi() as api:
        cfg = SourceConfig(name="gh", api_base=api.url, options={"repository": REPO})
    with pytest.raises(VendorUnavailable) as err:
        POLLER.poll(SECRETS, cfg, None, now=NOW)
    assert TOKEN not in str(err.value)


def test_a_source_without_token_or_repository_is_refused() -> None:
    cfg = SourceConfig(name="gh", api_base="http://127.0.0.1:9", options={"repository": "x"})
    with pytest.raises(VendorRefused, match="API token"):
        POLLER.poll(SourceSecrets(), cfg, None, now=NOW)
    with pytest.raises(VendorRefused, match="owner/name"):
        POLLER.poll(SECRETS, cfg, None, now=NOW)


def test_a_milestone_without_updated_at_names_its_path() -> None:
    broken = copy.deepcopy(PAGE2)
    del broken[0]["updated_at"]
    with pytest.raises(InvalidValue) as err:
        poll(by_page(PAGE1, broken))
    assert err.value.field == "page2.0.updated_at"


def test_an_answer_that_is_not_a_list_names_the_page() -> None:
    with pytest.raises(InvalidValue) as err:
        poll({"message": "Moved Permanently"})
    assert err.value.field == "page1"
