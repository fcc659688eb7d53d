"""Jira Cloud polling (``GET /rest/api/3/search/jql``, enhanced search with
``nextPageToken``) against a local server answering like <site>.atlassian.net."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.connectors import poller
from autoinvoice.adapters.connectors.jira import CONNECTOR, POLLER, search_event, search_jql
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
EMAIL = "billing@acme-it.example"
TOKEN = "ATATT3xFfGF0T4r0Yk9wQ2mLrT4s8WzYb1NcHfEjPqRs=5C1D2E3F"
SECRETS = SourceSecrets(basic_user=EMAIL, api_token=TOKEN)
NOW = datetime(2024, 3, 7, 12, 0, tzinfo=UTC)
PATH = "/rest/api/3/search/jql"
PAGE1: dict[str, Any] = json.loads((HERE / "api_search_jql_page1.json").read_text())
PAGE2: dict[str, Any] = json.loads((HERE / "api_search_jql_page2.json").read_text())


def by_token(req: Recorded) -> tuple[int, Any]:
    token = req.query.get("nextPageToken", [None])[0]
    return 200, {None: PAGE1, "CAEaAggD": PAGE2}[token]


def config(api: VendorApi, **options: Any) -> SourceConfig:
    return SourceConfig(name="jira", api_base=api.url, options={"projects": ["WEB"], **options})


def poll(
    route: Any, cursor: str | None = "2024-03-01T00:00:00Z", **options: Any
) -> tuple[PollResult, list[Recorded]]:
    with VendorApi({("GET", PATH): route}) as api:
        result = POLLER.poll(SECRETS, config(api, **options), cursor, now=NOW)
    return result, api.requests


def test_the_registry_names_the_jira_poller() -> None:
    assert poller("jira") is POLLER
    assert POLLER.kind == "jira"


def test_two_pages_of_done_issues_become_completed_work() -> None:
    result, requests = poll(by_token)
    assert len(requests) == 2
    assert [e.external_id for e in result.events] == ["10342", "10296", "10377"]
    first = result.events[0]
    assert first.type == WORK_COMPLETED
    assert first.subject is Subject.TASK
    assert first.dedupe_key == "jira:poll:10342:2024-03-05T11:20:14.211+0100"
    assert first.version == datetime(2024, 3, 5, 10, 20, 14, 211000, tzinfo=UTC)
    assert first.occurred_at == first.version
    assert first.raw["key"] == "WEB-42"
    assert first.fields == {
        "project_ref": "WEB",
        "project_name": "Website Relaunch Acme",
        "key": "WEB-42",
        "title": "Checkout: address validation",
        "status": "Done",
        "status_category": "done",
        "labels": ["phase-2", "billable"],
        "url": "https://acme-it.atlassian.net/browse/WEB-42",
    }


def test_an_epic_is_a_milestone_and_a_closed_issue_counts_as_done() -> None:
    result, _ = poll(by_token)
    epic, closed = result.events[1], result.events[2]
    assert epic.subject is Subject.MILESTONE
    assert epic.fields["title"] == "Phase 2 – Order export"
    assert closed.fields["status"] == "Closed"
    assert closed.type == WORK_COMPLETED


def test_requests_carry_basic_auth_the_jql_and_the_page_token() -> None:
    _, (first, second) = poll(by_token)
    expected = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    assert first.path == PATH
    assert first.headers["authorization"] == f"Basic {expected}"
    assert first.query["jql"] == [
        'project in ("WEB") AND statusCategory = Done AND updated >= "2024-02-29 10:00" '
        "ORDER BY updated ASC"
    ]
    assert first.query["fields"] == ["summary,status,labels,project,issuetype,updated"]
    assert first.query["maxResults"] == ["100"]
    assert "nextPageToken" not in first.query
    assert second.query["nextPageToken"] == ["CAEaAggD"]
    assert second.query["jql"] == first.query["jql"]
    assert second.headers["authorization"] == f"Basic {expected}"


def test_the_cursor_is_the_newest_update_seen() -> None:
    result, _ = poll(by_token)
    assert result.cursor == "2024-03-06T15:45:09Z"


def test_the_jql_uses_the_users_time_zone_when_configured() -> None:
    cfg = SourceConfig(
        name="jira", options={"projects": ["WEB", 'A"B'], "timezone": "Europe/Berlin"}
    )
    jql = search_jql(cfg, datetime(2024, 3, 6, 15, 45, 9, tzinfo=UTC))
    assert jql == (
        'project in ("WEB", "A\\"B") AND statusCategory = Done '
        'AND updated >= "2024-03-06 16:45" ORDER BY updated ASC'
    )


def test_without_projects_the_jql_is_still_bounded_by_time() -> None:
    jql = search_jql(SourceConfig(name="jira", options={"timezone": "UTC"}), NOW)
    assert jql == 'statusCategory = Done AND updated >= "2024-03-07 12:00" ORDER BY updated ASC'


def test_polling_again_from_the_cursor_repeats_the_same_keys() -> None:
    once, _ = poll(by_token)
    again, _ = poll(by_token, once.cursor)
    assert [e.dedupe_key for e in again.events] == [e.dedupe_key for e in once.events]
    assert again.cursor == once.cursor


def test_the_first_poll_starts_now_and_bills_no_history_unless_asked() -> None:
    _, requests = poll(PAGE2, None, timezone="UTC")
    assert 'updated >= "2024-03-07 12:00"' in requests[0].query["jql"][0]
    _, requests = poll(PAGE2, None, timezone="UTC", since="2024-01-01")
    assert 'updated >= "2024-01-01 00:00"' in requests[0].query["jql"][0]


def test_nothing_new_keeps_the_old_cursor() -> None:
    result, _ = poll({"issues": [], "isLast": True}, "2024-03-06T15:45:09Z")
    assert result == PollResult(events=[], cursor="2024-03-06T15:45:09Z")


def test_field_map_fields_are_requested_and_mapped() -> None:
    with VendorApi({("GET", PATH): by_token}) as api:
        cfg = SourceConfig(
            name="jira",
            api_base=api.url,
            options={"projects": ["WEB"]},
            field_map={"po_number": "fields.customfield_10042"},
        )
        result = POLLER.poll(SECRETS, cfg, "2024-03-01T00:00:00Z", now=NOW)
    assert api.requests[0].query["fields"] == [
        "summary,status,labels,project,issuetype,updated,customfield_10042"
    ]
    assert result.events[1].fields["po_number"] == "PO-2024-118"


def test_a_polled_issue_matches_the_webhook_fields() -> None:
    delivery = json.loads((HERE / "issue_updated_done.json").read_text())
    headers = {"x-atlassian-webhook-identifier": "w-1"}
    cfg = SourceConfig(name="jira")
    [hooked] = CONNECTOR.parse(headers, json.dumps(delivery).encode(), cfg)
    polled = search_event(delivery["issue"], cfg, where="body.issue")
    assert polled.fields == hooked.fields
    assert (polled.type, polled.subject, polled.external_id) == (
        hooked.type,
        hooked.subject,
        hooked.external_id,
    )


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_rate_limits_are_temporary(status: int) -> None:
    with pytest.raises(VendorUnavailable):
        poll((status, {"errorMessages": ["Service unavailable"], "errors": {}}))


@pytest.mark.parametrize("status", [400, 401, 403])
def test_a_refused_token_or_query_is_permanent_and_not_echoed(status: int) -> None:
    body = {"errorMessages": ["Client must be authenticated to access this resource."]}
    with pytest.raises(VendorRefused) as err:
        poll((status, body))
    assert TOKEN not in str(err.value) and EMAIL not in str(err.value)


def test_an_unreachable_api_is_temporary() -> None:
    with VendorApi() as api:
        cfg = config(api)
    with pytest.raises(VendorUnavailable) as err:
        POLLER.poll(SECRETS, cfg, None, now=NOW)
    assert TOKEN not in str(err.value)


def test_a_source_without_credentials_or_site_is_refused() -> None:
    with pytest.raises(VendorRefused, match="basic_user"):
        POLLER.poll(SourceSecrets(api_token=TOKEN), SourceConfig(name="jira"), None, now=NOW)
    with pytest.raises(VendorRefused, match="site"):
        POLLER.poll(SECRETS, SourceConfig(name="jira"), None, now=NOW)


def test_an_issue_without_updated_names_its_path() -> None:
    broken = copy.deepcopy(PAGE2)
    del broken["issues"][0]["fields"]["updated"]
    with pytest.raises(InvalidValue) as err:
        poll(broken)
    assert err.value.field == "page1.issues.0.fields.updated"


def test_an_answer_without_issues_names_the_page() -> None:
    with pytest.raises(InvalidValue) as err:
        poll({"errorMessages": []})
    assert err.value.field == "page1.issues"
