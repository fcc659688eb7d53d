"""The audit log page: filters, labels, links to subjects, paging, CSV export, and no secret
ever shown; its query on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from demo_copy import copied_demo_app, demo_template
from fastapi.testclient import TestClient
from web_support import add_user, demo_app, sign_in

from autoinvoice.bootstrap import App
from autoinvoice.entrypoints.web import admin_audit
from autoinvoice.entrypoints.web.admin_audit import HIDDEN, redact

SECRET = "s3cr3t-value-never-shown"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_template(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def app(template: Path, tmp_path: Path) -> App:
    return copied_demo_app(template, tmp_path / "app")


def _record(app: App, **entry: object) -> None:
    with app.uow() as uow:
        uow.audit.record(
            **{
                "at": app.clock.now(),
                "actor": "user:owner@nordlicht.example",
                "subject_id": None,
                "detail": {},
                **entry,
            }  # type: ignore[arg-type]
        )
        uow.commit()


def test_redact_hides_secret_keys_at_any_depth_but_keeps_what_happened() -> None:
    detail = {
        "name": "hubspot",
        "client_secret": SECRET,
        "config": {"api_token": SECRET, "items": [{"password": SECRET}]},
        "smtp": {"password": "changed", "use_tls": True},
    }
    assert redact(detail) == {
        "name": "hubspot",
        "client_secret": HIDDEN,
        "config": {"api_token": HIDDEN, "items": [{"password": HIDDEN}]},
        "smtp": {"password": "changed", "use_tls": True},
    }


def test_a_list_of_secret_names_is_shown_and_a_list_of_values_hidden() -> None:
    # what source.added records: which secrets were set, by name (this crashed the page)
    assert redact({"secrets": ["api_token", "webhook_secret"]}) == {
        "secrets": ["api_token", "webhook_secret"]
    }
    assert redact({"tokens": [SECRET, "x"]}) == {"tokens": HIDDEN}
    assert redact({"password": ["changed"]}) == {"password": ["changed"]}


def test_the_page_lists_entries_with_labels_and_links_newest_first(
    client: TestClient, owner: str, app: App
) -> None:
    page = client.get("/audit").text
    assert "Issued" in page and "invoice.issued" in page
    assert 'href="/invoices/1"' in page
    rows = page.split("<tbody>", 1)[1]
    assert rows.index("User added") < rows.index("Emailed to client")  # newest first
    options = re.findall(r'<option value="([a-z_.]+)"', page)
    assert "invoice.issued" in options and "user.created" in options


def test_filters_combine_and_paging_keeps_them(
    client: TestClient, owner: str, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    only = client.get("/audit?action=invoice.issued&subject_type=invoice&subject_id=2").text
    assert only.count('id="entry-') == 1
    assert client.get("/audit?actor=OWNER@nordlicht").text.count('id="entry-') == 0
    _record(app, action="client.updated", subject_type="client", subject_id="1")
    assert client.get("/audit?actor=OWNER@nordlicht").text.count('id="entry-') == 1
    assert "No entries match" in client.get("/audit?from=2030-01-01").text
    assert "is not a date" in client.get("/audit?to=tomorrow").text

    monkeypatch.setattr(admin_audit, "PAGE_SIZE", 1)
    page = client.get("/audit?subject_type=invoice").text
    older = re.search(r'href="(/audit\?[^"]*before=\d+[^"]*)">Older', page)
    assert older and "subject_type=invoice" in older.group(1)
    second = client.get(older.group(1).replace("&amp;", "&")).text
    assert second.count('id="entry-') == 1 and "← Newest" in second


def test_secrets_in_an_entry_are_never_shown_nor_exported(
    client: TestClient, owner: str, app: App
) -> None:
    _record(
        app,
        action="source.connected",
        subject_type="source",
        subject_id="99",
        detail={"kind": "hubspot", "webhook_secret": SECRET, "nested": {"token": SECRET}},
    )
    page = client.get("/audit").text
    assert SECRET not in page and HIDDEN in page and "hubspot" in page
    export = client.get("/audit.csv")
    assert export.status_code == 200 and SECRET not in export.text


def test_the_csv_export_keeps_formulas_from_running_in_a_spreadsheet(
    client: TestClient, owner: str, app: App
) -> None:
    _record(app, actor='=HYPERLINK("http://evil")', action="x.y", subject_type="client")
    rows = list(csv.DictReader(io.StringIO(client.get("/audit.csv?action=x.y").text)))
    assert rows[0]["actor"] == '\'=HYPERLINK("http://evil")'


def test_the_csv_export_follows_the_filters(client: TestClient, owner: str) -> None:
    export = client.get("/audit.csv?action=invoice.issued")
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["subject_id"] for r in rows] == ["2", "1"]
    assert {r["label"] for r in rows} == {"Issued"}


def test_a_viewer_may_read_the_log(client: TestClient, app: App) -> None:
    add_user(app, "viewer@nordlicht.example", "viewer password 1", "viewer")
    sign_in(client, "viewer@nordlicht.example", "viewer password 1")
    assert client.get("/audit").status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    r = client.get("/audit?action=invoice.issued", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/audit.csv", follow_redirects=False).status_code == 303


def test_audit_search_on_both_databases(tmp_path: Path, database_url: str) -> None:
    app = demo_app(tmp_path, database_url=database_url)
    later = app.clock.now() + timedelta(days=3)
    with app.uow() as uow:
        uow.audit.record(
            at=later,
            actor="user:Ann@Example.com",
            action="payment.reversed",
            subject_type="payment",
            subject_id=7,
            detail={"reason": "bank return"},
        )
        uow.commit()
    with app.uow(read_only=True) as uow:
        search = uow.audit.search
        everything = search(limit=1000)
        assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
        assert [e["action"] for e in search(actor="ann@")] == ["payment.reversed"]
        assert search(actor="%") == []  # a wildcard is text, not a pattern
        assert len(search(action="invoice.issued")) == 2
        assert [e["subject_id"] for e in search(subject_type="payment", subject_id="7")] == ["7"]
        assert [e["action"] for e in search(since=later)] == ["payment.reversed"]
        assert all(e["at"] < later for e in search(before=later))
        newest = everything[0]["id"]
        assert all(e["id"] < newest for e in search(before_id=newest))
        assert len(search(limit=2)) == 2
        actions = uow.audit.actions()
    assert actions == sorted(set(actions)) and "payment.reversed" in actions
