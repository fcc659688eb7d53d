"""The settings pages: numbering, taxes and terms, reminders, SMTP, sandbox, users, API keys —
who may change what, errors beside the field, secrets shown once and never again."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_support import ISSUED_AT, add_user, csrf_from, demo_app, sign_in

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.bootstrap import App, build
from autoinvoice.config import Settings
from autoinvoice.services import accounts
from smtp_server import SmtpTestServer

TABS = ("numbering", "taxes", "reminders", "email", "sandbox", "users", "api-keys")


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo installation built once; each test gets a copy (building takes seconds)."""
    folder = tmp_path_factory.mktemp("settings-demo")
    demo_app(folder).engine.dispose()
    return folder


@pytest.fixture
def app(demo_template: Path, tmp_path: Path) -> App:
    folder = tmp_path / "data"
    shutil.copytree(demo_template, folder)
    return build(Settings(data_dir=folder), clock=ManualClock(ISSUED_AT))


def audit_actions(app: App) -> list[str]:
    with app.uow(read_only=True) as uow:
        return [e["action"] for e in uow.audit.recent(limit=200)]


def audit_text(app: App) -> str:
    with app.uow(read_only=True) as uow:
        return repr(uow.audit.recent(limit=200))


def post(client: TestClient, path: str, token: str, **data: object) -> object:
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def signed_in_as(app: App, client: TestClient, role: str) -> str:
    email = f"{role}@nordlicht.example"
    add_user(app, email, "long enough password", role)
    return sign_in(client, email, "long enough password")


def test_settings_opens_on_numbering_and_every_tab_renders_for_the_owner(
    client: TestClient, owner: str
) -> None:
    assert client.get("/settings", follow_redirects=False).headers["location"] == (
        "/settings/numbering"
    )
    for tab in TABS:
        r = client.get(f"/settings/{tab}")
        assert r.status_code == 200, (tab, r.text)
        assert 'aria-current="page"' in r.text
    page = client.get("/settings/numbering").text
    assert "INV-2026-000003" in page  # two issued in the demo: the next is gapless


def test_changing_the_format_keeps_issued_numbers_and_the_counter(
    app: App, client: TestClient, owner: str
) -> None:
    with app.uow(read_only=True) as uow:
        series = uow.numbering.default_series(1)
    r = post(
        client,
        f"/settings/numbering/{series.id}",
        owner,
        pattern="NL-{yy}{mm}-{seq:04d}",
        yearly_reset="1",
    )
    assert r.status_code == 303, r.text
    page = client.get("/settings/numbering").text
    assert "NL-2612-0003" in page
    with app.uow(read_only=True) as uow:
        assert uow.invoices.by_number("INV-2026-000001").number == "INV-2026-000001"
    assert "settings.series_changed" in audit_actions(app)


def test_a_bad_format_is_refused_beside_the_field_and_nothing_changes(
    app: App, client: TestClient, owner: str
) -> None:
    with app.uow(read_only=True) as uow:
        series = uow.numbering.default_series(1)
    r = post(client, f"/settings/numbering/{series.id}", owner, pattern="INV-{year}-{seq}")
    assert r.status_code == 422
    assert "unknown placeholder {year}" in r.text
    with app.uow(read_only=True) as uow:
        assert uow.numbering.default_series(1).series == series.series


def test_the_number_preview_answers_htmx_with_a_fragment(client: TestClient, owner: str) -> None:
    r = client.post(
        "/settings/numbering/preview",
        data={"csrf_token": owner, "pattern": "X-{yyyy}-{seq:03d}", "seq": "7"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    assert "X-2026-007" in r.text and "<html" not in r.text
    bad = client.post(
        "/settings/numbering/preview",
        data={"csrf_token": owner, "pattern": "X-{yyyy}", "seq": "7"},
        headers={"HX-Request": "true"},
    )
    assert "must contain {seq}" in bad.text
    # without JavaScript: the whole page, with the preview in it
    page = client.post(
        "/settings/numbering/preview",
        data={"csrf_token": owner, "pattern": "X-{seq}", "seq": "1", "key": "new"},
    )
    assert "<html" in page.text and "X-1" in page.text


def test_adding_a_credit_note_series_with_a_pattern_another_series_uses_is_refused(
    client: TestClient, owner: str
) -> None:
    r = post(
        client,
        "/settings/numbering/new",
        owner,
        entity_id="1",
        name="credit_notes",
        pattern="INV-{yyyy}-{seq:06d}",
    )
    assert r.status_code == 422 and "already prints numbers" in r.text
    ok = post(
        client,
        "/settings/numbering/new",
        owner,
        entity_id="1",
        name="credit_notes",
        pattern="GS-{yyyy}-{seq:05d}",
    )
    assert ok.status_code == 303
    assert "GS-2026-00001" in client.get("/settings/numbering").text


def test_default_terms_and_tax_kind_are_stored_and_shown(
    app: App, client: TestClient, owner: str
) -> None:
    r = post(client, "/settings/taxes", owner, terms="eom:15", tax_kind_1="reduced")
    assert r.status_code == 303, r.text
    page = client.get("/settings/taxes").text
    assert 'value="eom:15" selected' in page and 'value="reduced" selected' in page
    assert "settings.defaults_changed" in audit_actions(app)
    bad = post(client, "/settings/taxes", owner, terms="net:999", tax_kind_1="reduced")
    assert bad.status_code == 422 and "between 0 and 365" in bad.text


def test_the_reminder_ladder_is_saved_in_day_order_and_a_day_used_twice_is_refused(
    app: App, client: TestClient, owner: str
) -> None:
    rows = {
        "rows": "3",
        "enabled": "1",
        "offset_0": "14",
        "tone_0": "urgent",
        "fee_0": "fixed",
        "amount_0": "5.00",
        "offset_1": "0",
        "tone_1": "due",
        "offset_2": "",
    }
    assert post(client, "/settings/reminders", owner, **rows).status_code == 303
    from autoinvoice.services.reminders import policy_for

    policy, source = policy_for(None, uow=app.uow())
    assert source == "organisation"
    assert [s.offset_days for s in policy.steps] == [0, 14]
    assert policy.steps[1].fee is not None
    twice = post(client, "/settings/reminders", owner, **{**rows, "offset_2": "14"})
    assert twice.status_code == 422
    assert "two steps on day 14" in twice.text and "row 3" in twice.text
    no_amount = post(client, "/settings/reminders", owner, **{**rows, "amount_0": ""})
    assert no_amount.status_code == 422 and "Step on row 1" in no_amount.text


def test_smtp_password_is_never_shown_again_and_the_test_email_goes_through_it(
    app: App, client: TestClient, owner: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "s3cret-Pa55word!"
    with SmtpTestServer(credentials=("mailer", secret)) as server:
        r = post(
            client,
            "/settings/email",
            owner,
            host=server.host,
            port=str(server.port),
            security="none",
            username="mailer",
            password=secret,
            from_address="billing@nordlicht.example",
        )
        assert r.status_code == 303, r.text
        page = client.get("/settings/email").text
        assert "password set" in page and secret not in page
        sent = post(client, "/settings/email/test", owner, to="me@nordlicht.example")
        assert sent.status_code == 200
        assert "Sent." in sent.text and secret not in sent.text
        [received] = server.wait_for(1)
        assert received.login == "mailer"
        assert received.rcpt_tos == ("me@nordlicht.example",)
        assert "billing@nordlicht.example" in received.message["From"]
        # saving again without a password keeps the stored one
        post(
            client,
            "/settings/email",
            owner,
            host=server.host,
            port=str(server.port),
            security="none",
            username="mailer",
            password="",
        )
        assert "Sent." in post(client, "/settings/email/test", owner, to="me@x.example").text
        # a wrong password: the server's answer, never the password
        server.credentials = ("mailer", "another one")
        failed = post(client, "/settings/email/test", owner, to="me@nordlicht.example")
        assert "Not sent." in failed.text and "535" in failed.text
        assert secret not in failed.text
    assert secret not in audit_text(app)
    assert secret not in caplog.text
    assert "settings.smtp_tested" in audit_actions(app)


def test_a_test_email_to_a_closed_port_says_the_connection_failed(
    client: TestClient, owner: str
) -> None:
    post(client, "/settings/email", owner, host="127.0.0.1", port="1", security="none")
    r = post(client, "/settings/email/test", owner, to="me@nordlicht.example")
    assert "Not sent." in r.text and "cannot connect to 127.0.0.1:1" in r.text


def test_bad_smtp_settings_are_refused_beside_the_field(client: TestClient, owner: str) -> None:
    r = post(client, "/settings/email", owner, host="smtp.example.com", port="99999")
    assert r.status_code == 422 and "between 1 and 65535" in r.text
    r = post(
        client,
        "/settings/email",
        owner,
        host="smtp.example.com",
        port="587",
        security="starttls",
        username="x",
    )
    assert r.status_code == 422 and "needs a password" in r.text
    assert "In use" not in client.get("/settings/email").text


def test_sandbox_mode_shows_a_banner_on_every_page_until_turned_off(
    app: App, client: TestClient, owner: str
) -> None:
    r = post(client, "/settings/sandbox/1", owner, action="on", sandbox_to="test@nordlicht.example")
    assert r.status_code == 303
    assert "Sandbox mode is on" in client.get("/invoices").text
    assert post(client, "/settings/sandbox/1", owner, action="on", sandbox_to="").status_code == 422
    post(client, "/settings/sandbox/1", owner, action="off")
    assert "Sandbox mode is on" not in client.get("/invoices").text
    assert audit_actions(app).count("entity.sandbox_changed") == 2


def test_the_owner_adds_a_user_whose_generated_password_is_shown_once(
    app: App, client: TestClient, owner: str
) -> None:
    r = post(client, "/settings/users", owner, email="new@nordlicht.example", role="viewer")
    assert r.status_code == 200
    password = re.search(r'<code class="secret">([^<]+)</code>', r.text)
    assert password
    assert password.group(1) not in client.get("/settings/users").text
    assert password.group(1) not in audit_text(app)
    user = accounts.authenticate(
        "new@nordlicht.example", password.group(1), uow=app.uow(), hasher=app.hasher
    )
    assert user.role == "viewer"
    dup = post(client, "/settings/users", owner, email="new@nordlicht.example", role="viewer")
    assert dup.status_code == 422 and "exists already" in dup.text


def test_the_last_owner_cannot_be_demoted_or_removed_and_nobody_locks_themselves_out(
    app: App, client: TestClient, owner: str
) -> None:
    me = app.uow()
    with me:
        owner_id = me.users.by_email("owner@nordlicht.example").id  # type: ignore[union-attr]
    r = post(client, f"/settings/users/{owner_id}/role", owner, role="viewer")
    assert r.status_code == 422 and "your own role" in r.text
    r = post(client, f"/settings/users/{owner_id}/remove", owner)
    assert r.status_code == 422 and "cannot remove yourself" in r.text
    other = add_user(app, "second@nordlicht.example", "long enough password", "owner")
    assert (
        post(client, f"/settings/users/{other}/role", owner, role="accountant").status_code == 303
    )
    # the other owner, now an accountant, is removed; they are signed out at once
    assert post(client, f"/settings/users/{other}/remove", owner).status_code == 303
    assert "user.role_changed" in audit_actions(app) and "user.removed" in audit_actions(app)


def test_an_api_key_is_shown_once_works_and_stops_working_when_revoked(
    app: App, client: TestClient, owner: str
) -> None:
    r = post(client, "/settings/api-keys", owner, name="HubSpot sync", scopes=["read"])
    assert r.status_code == 200
    key = re.search(r'<code class="secret">(ai_[^<]+)</code>', r.text)
    assert key
    listing = client.get("/settings/api-keys").text
    assert key.group(1) not in listing and "HubSpot sync" in listing
    assert key.group(1) not in audit_text(app)
    api = TestClient(client.app)
    headers = {"Authorization": f"Bearer {key.group(1)}"}
    assert api.get("/api/v1/invoices", headers=headers).status_code == 200
    key_id = re.search(r"/settings/api-keys/(\d+)/revoke", listing)
    assert key_id
    assert post(client, f"/settings/api-keys/{key_id.group(1)}/revoke", owner).status_code == 303
    assert api.get("/api/v1/invoices", headers=headers).status_code == 401
    no_scope = post(client, "/settings/api-keys", owner, name="x")
    assert no_scope.status_code == 422 and "scopes must be among" in no_scope.text


OWNER_ONLY = (
    ("/settings/email", {"host": "smtp.example.com", "port": "587"}),
    ("/settings/sandbox/1", {"action": "off"}),
    ("/settings/users", {"email": "x@nordlicht.example", "role": "owner"}),
    ("/settings/api-keys", {"name": "x", "scopes": "admin"}),
)


def test_the_accountant_changes_series_taxes_and_reminders_but_nothing_owner_only(
    app: App, client: TestClient
) -> None:
    token = signed_in_as(app, client, "accountant")
    for path, data in OWNER_ONLY:
        assert post(client, path, token, **data).status_code == 403, path
    page = client.get("/settings/users").text
    assert "Only the owner changes these settings" in page
    assert "/settings/users/" not in page  # no role or remove forms
    assert post(client, "/settings/taxes", token, terms="net:14").status_code == 303


def test_a_viewer_sees_every_tab_without_a_form_that_changes_something_and_posts_get_403(
    app: App, client: TestClient
) -> None:
    token = signed_in_as(app, client, "viewer")
    for tab in TABS:
        page = client.get(f"/settings/{tab}").text
        forms = re.findall(r'<form method="post" action="([^"]+)"', page)
        assert forms == ["/logout"], (tab, forms)
        assert "look at every setting" in page
    writes = ("/settings/taxes", "/settings/reminders", "/settings/numbering/new")
    for path in writes + tuple(p for p, _ in OWNER_ONLY):
        assert post(client, path, token, terms="net:14").status_code == 403, path


def test_a_post_without_the_csrf_token_is_refused(client: TestClient, owner: str) -> None:
    r = client.post("/settings/taxes", data={"terms": "net:14"}, follow_redirects=False)
    assert r.status_code == 403
    assert csrf_from(client, "/settings/taxes") == owner
