"""Reading a completed task back: ``GET /api/v2/task/{id}`` with ``Authorization: pk_…``
(ClickUp personal tokens are sent bare, without ``Bearer``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoinvoice.adapters.connectors.clickup import CONNECTOR
from autoinvoice.domain.events import Event
from autoinvoice.services.connectors import (
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    VendorUnavailable,
)
from vendor_api import VendorApi

HERE = Path(__file__).parent
TASK = json.loads((HERE / "api_task.json").read_text())
PATH = "/api/v2/task/1vj37mc"
TOKEN = "pk_183_7XQM5UJDV2M45MPF0YHH5YHOEXP7MPOJ"
SECRETS = SourceSecrets(signing_secret="s", api_token=TOKEN)


def completed() -> Event:
    body = (HERE / "status_closed.json").read_bytes()
    return CONNECTOR.parse({}, body, SourceConfig(name="clickup"))[0]


def test_the_task_name_link_and_tags_are_filled_in() -> None:
    with VendorApi({("GET", PATH): TASK}) as api:
        event = CONNECTOR.fetch(completed(), SECRETS, SourceConfig("c", api_base=api.url))
    [call] = api.requests
    assert call.headers["authorization"] == TOKEN
    assert event.type == "work.completed"
    assert not event.needs_fetch
    assert event.fields["title"] == "Homepage redesign – final delivery"
    assert event.fields["url"] == "https://app.clickup.com/t/1vj37mc"
    assert event.fields["labels"] == ["billable", "fixed price"]
    assert event.fields["project_name"] == "ACME website"
    assert event.fields["key"] == "WEB-42"
    assert event.fields["project_ref"] == "162641062"  # kept from the webhook


def test_an_event_that_needs_no_fetch_is_returned_as_is() -> None:
    body = (HERE / "status_reopened.json").read_bytes()
    [event] = CONNECTOR.parse({}, body, SourceConfig(name="clickup"))
    assert CONNECTOR.fetch(event, SECRETS, SourceConfig("c")) is event


def test_a_server_error_means_try_again_later() -> None:
    down = (502, {"err": "Bad gateway"})
    with VendorApi({("GET", PATH): down}) as api, pytest.raises(VendorUnavailable):
        CONNECTOR.fetch(completed(), SECRETS, SourceConfig("c", api_base=api.url))


def test_a_refused_token_is_not_retried() -> None:
    refused = (401, {"err": "Token invalid", "ECODE": "OAUTH_025"})
    with VendorApi({("GET", PATH): refused}) as api, pytest.raises(VendorRefused) as caught:
        CONNECTOR.fetch(completed(), SECRETS, SourceConfig("c", api_base=api.url))
    assert TOKEN not in str(caught.value)


def test_without_an_api_token_the_fetch_is_refused() -> None:
    with pytest.raises(VendorRefused, match="no ClickUp API token"):
        CONNECTOR.fetch(completed(), SourceSecrets(signing_secret="s"), SourceConfig("c"))
