"""Linear polling: the GraphQL ``issues`` query (completed, updated after the cursor,
``first``/``after`` pages) against a local server answering like api.linear.app/graphql."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.connectors import linear, poller
from autoinvoice.adapters.connectors.linear import CONNECTOR, POLLER, polled_issue_event
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
KEY = "lin_api_7Hq2mV9xKpR4sT1uW6yZ0aB3cD5eF8gH2jK4lM6n"
SECRETS = SourceSecrets(api_token=KEY)
NOW = datetime(2024, 6, 6, 12, 0, tzinfo=UTC)
PATH = "/graphql"
PAGE1: dict[str, Any] = json.loads((HERE / "graphql_completed_issues_page1.json").read_text())
PAGE2: dict[str, Any] = json.loads((HERE / "graphql_completed_issues_page2.json").read_text())
AFTER = PAGE1["data"]["issues"]["pageInfo"]["endCursor"]


def request_body(req: Recorded) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(req.body)
    return body


def by_after(req: Recorded) -> tuple[int, Any]:
    after = request_body(req)["variables"].get("after")
    return 200, {None: PAGE1, AFTER: PAGE2}[after]


def poll(
    route: Any, cursor: str | None = "2024-06-01T00:00:00Z", **options: Any
) -> tuple[PollResult, list[Recorded]]:
    with VendorApi({("POST", PATH): route}) as api:
        cfg = SourceConfig(name="lin", api_base=api.url, options=options)
        result = POLLER.poll(SECRETS, cfg, cursor, now=NOW)
    return result, api.requests


def test_the_registry_names_the_linear_poller() -> None:
    assert poller("linear") is POLLER
    assert POLLER.kind == "linear"


def test_completed_issues_on_two_pages_become_completed_work() -> None:
    result, requests = poll(by_after)
    assert len(requests) == 2
    assert [e.fields["key"] for e in result.events] == ["NOR-128", "NOR-131", "NOR-140"]
    first = result.events[0]
    assert first.type == WORK_COMPLETED
    assert first.subject is Subject.TASK
    assert first.external_id == "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
    assert first.dedupe_key == (
        "linear:poll:b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e:2024-06-04T09:20:11.822Z"
    )
    assert first.version == datetime(2024, 6, 4, 9, 20, 11, 822000, tzinfo=UTC)
    assert first.occurred_at == first.version
    assert first.raw["labels"] == {"nodes": PAGE1["data"]["issues"]["nodes"][0]["labels"]["nodes"]}
    assert first.fields == {
        "project_ref": "NOR",
        "project_name": "Customer portal 2.0",
        "linear_project_id": "f4a5b6c7-d8e9-4f0a-1b2c-3d4e5f6a7b8c",
        "key": "NOR-128",
        "title": "Migrate invoices export to the new API",
        "status": "Done",
        "status_category": "completed",
        "labels": ["Billable", "Backend"],
        "url": "https://linear.app/nordlicht/issue/NOR-128/migrate-invoices-export-to-the-new-api",
    }


def test_an_issue_without_project_or_labels_falls_back_to_the_team() -> None:
    result, _ = poll(by_after)
    last = result.events[-1]
    assert last.fields["project_name"] == "Nordlicht"
    assert last.fields["linear_project_id"] is None
    assert last.fields["labels"] == []


def test_requests_send_the_key_without_bearer_and_the_documented_query() -> None:
    _, (first, second) = poll(by_after)
    assert first.path == PATH
    assert first.headers["authorization"] == KEY  # personal API keys: no "Bearer"
    assert first.headers["content-type"] == "application/json"
    body = request_body(first)
    assert (
        "issues(filter: $filter, first: $first, after: $after, orderBy: updatedAt)"
        in (body["query"])
    )
    assert "pageInfo { hasNextPage endCursor }" in body["query"]
    assert body["variables"] == {
        "filter": {
            "updatedAt": {"gt": "2024-06-01T00:00:00Z"},
            "state": {"type": {"eq": "completed"}},
        },
        "first": 50,
    }
    assert request_body(second)["variables"]["after"] == AFTER
    assert second.headers["authorization"] == KEY


def test_a_team_option_narrows_the_filter_to_that_team_key() -> None:
    _, requests = poll(PAGE2, team="NOR")
    assert request_body(requests[0])["variables"]["filter"]["team"] == {"key": {"eq": "NOR"}}


def test_the_cursor_is_the_newest_update_seen_in_whole_seconds() -> None:
    result, _ = poll(by_after)
    assert result.cursor == "2024-06-05T07:45:30Z"


def test_polling_again_from_the_cursor_repeats_the_newest_under_the_same_key() -> None:
    once, _ = poll(by_after)
    again, requests = poll(PAGE2, once.cursor)
    filt = request_body(requests[0])["variables"]["filter"]
    assert filt["updatedAt"] == {"gt": "2024-06-05T07:45:30Z"}
    assert [e.dedupe_key for e in again.events] == [once.events[-1].dedupe_key]
    assert again.cursor == once.cursor


def test_the_first_poll_starts_now_and_bills_no_history_unless_asked() -> None:
    _, requests = poll(PAGE2, None)
    assert request_body(requests[0])["variables"]["filter"]["updatedAt"] == {
        "gt": "2024-06-06T12:00:00Z"
    }
    _, requests = poll(PAGE2, None, since="2024-05-01")
    assert request_body(requests[0])["variables"]["filter"]["updatedAt"] == {
        "gt": "2024-05-01T00:00:00Z"
    }


def test_nothing_new_keeps_the_old_cursor() -> None:
    empty = {"data": {"issues": {"nodes": [], "pageInfo": {"hasNextPage": False}}}}
    result, requests = poll(empty, "2024-06-05T07:45:30Z")
    assert result == PollResult(events=[], cursor="2024-06-05T07:45:30Z")
    assert len(requests) == 1


def test_a_polled_issue_has_the_fields_of_its_completion_webhook() -> None:
    delivery = json.loads((HERE / "issue_update_completed.json").read_text())
    cfg = SourceConfig(name="lin", field_map={"estimate": "estimate"})
    [hooked] = CONNECTOR.parse({}, json.dumps(delivery).encode(), cfg)
    node = {**delivery["data"], "labels": {"nodes": delivery["data"]["labels"]}}
    polled = polled_issue_event(node, cfg, where="node")
    assert (polled.type, polled.subject, polled.external_id) == (
        hooked.type,
        hooked.subject,
        hooked.external_id,
    )
    assert polled.fields == hooked.fields
    assert polled.fields["estimate"] == 3
    assert polled.version == hooked.version


def test_a_repeating_end_cursor_ends_the_poll() -> None:
    looping = copy.deepcopy(PAGE2)
    looping["data"]["issues"]["pageInfo"] = {"hasNextPage": True, "endCursor": "same"}
    _, requests = poll(looping)
    assert len(requests) == 2


def test_a_poll_that_never_ends_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linear, "MAX_PAGES", 3)
    counter = iter(range(100))

    def endless(_: Recorded) -> tuple[int, Any]:
        page = copy.deepcopy(PAGE2)
        page["data"]["issues"]["pageInfo"] = {"hasNextPage": True, "endCursor": f"c{next(counter)}"}
        return 200, page

    with pytest.raises(VendorRefused, match="after 3 pages"):
        poll(endless)


RATELIMITED = {
    "errors": [
        {
            "message": "Rate limit exceeded",
            "extensions": {
                "type": "ratelimited",
                "code": "RATELIMITED",
                "userError": True,
                "userPresentableMessage": "Too many requests. Please try again later.",
            },
        }
    ]
}
NOT_AUTHENTICATED = {
    "errors": [
        {
            "message": "Authentication required, not authenticated",
            "extensions": {
                "type": "authentication error",
                "code": "AUTHENTICATION_ERROR",
                "userError": True,
                "userPresentableMessage": "You need to authenticate to access this operation.",
            },
        }
    ]
}


@pytest.mark.parametrize(
    "answer",
    [(500, {"errors": []}), (503, {}), (429, RATELIMITED), (400, RATELIMITED), (200, RATELIMITED)],
)
def test_server_errors_and_rate_limits_are_temporary(answer: tuple[int, Any]) -> None:
    with pytest.raises(VendorUnavailable):
        poll(answer)


@pytest.mark.parametrize("status", [400, 401, 200])
def test_a_refused_key_is_permanent_and_not_echoed(status: int) -> None:
    with pytest.raises(VendorRefused, match="not authenticated") as err:
        poll((status, NOT_AUTHENTICATED))
    assert KEY not in str(err.value)


def test_a_4xx_without_graphql_errors_is_permanent() -> None:
    with pytest.raises(VendorRefused, match="403"):
        poll((403, {"message": "Forbidden"}))


def test_an_unreachable_api_is_temporary() -> None:
    with VendorApi() as api:
        cfg = SourceConfig(name="lin", api_base=api.url)
    with pytest.raises(VendorUnavailable) as err:
        POLLER.poll(SECRETS, cfg, None, now=NOW)
    assert KEY not in str(err.value)


def test_a_source_without_api_key_is_refused() -> None:
    cfg = SourceConfig(name="lin", api_base="http://127.0.0.1:9")
    with pytest.raises(VendorRefused, match="API key"):
        POLLER.poll(SourceSecrets(signing_secret="s"), cfg, None, now=NOW)


def test_an_issue_without_updated_at_names_its_path() -> None:
    broken = copy.deepcopy(PAGE2)
    del broken["data"]["issues"]["nodes"][0]["updatedAt"]
    with pytest.raises(InvalidValue) as err:
        poll(broken)
    assert err.value.field == "page1.data.issues.nodes.0.updatedAt"


def test_an_issue_without_state_type_names_its_path() -> None:
    broken = copy.deepcopy(PAGE2)
    del broken["data"]["issues"]["nodes"][0]["state"]["type"]
    with pytest.raises(InvalidValue) as err:
        poll(broken)
    assert err.value.field == "page1.data.issues.nodes.0.state.type"


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ({"data": None}, "page1.data.issues.nodes"),
        ({"data": {"issues": {"nodes": {}}}}, "page1.data.issues.nodes"),
        ({"data": {"issues": {"nodes": ["NOR-1"]}}}, "page1.data.issues.nodes.0"),
        (
            {"data": {"issues": {"nodes": [{"id": "x", "updatedAt": "yesterday"}]}}},
            "page1.data.issues.nodes.0.updatedAt",
        ),
    ],
)
def test_a_malformed_answer_names_where(answer: Any, field: str) -> None:
    with pytest.raises(InvalidValue) as err:
        poll(answer)
    assert err.value.field == field
