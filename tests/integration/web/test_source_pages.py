"""The sources pages: connect a product (secrets entered once, never shown again), watch its
health and raw requests, replay one without repeating its effects, and edit the field map
with a preview against a recorded request. Tests that store something run on SQLite and
PostgreSQL (``world``); those that only look or are refused run on SQLite (``page``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import add_user, sign_in

from trigger_world import World, make_world, payload

WHSEC = "whsec_" + base64.b64encode(b"generic-webhook-key-for-page-test").decode()
OWNER = ("owner@pages.example", "correct horse battery staple")
VIEWER = ("viewer@pages.example", "viewer horse battery staple")
HX = {"HX-Request": "true"}


@pytest.fixture
def page(sqlite_url: str, tmp_path: Path) -> Iterator[World]:
    yield from make_world(sqlite_url, tmp_path)


def _sig(msg_id: str, ts: int, body: bytes) -> str:
    key = base64.b64decode(WHSEC.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def _owner(world: World) -> str:
    add_user(world.app, *OWNER, "owner")
    return sign_in(world.web, *OWNER)


def _connect(world: World, token: str, **form: str) -> Any:
    data = {
        "csrf_token": token,
        "kind": "generic",
        "name": "shop",
        "secret_signing_secret": WHSEC,
        "max_age": "2d",
        **form,
    }
    return world.web.post("/sources/new", data=data, follow_redirects=False)


def _won_deal(world: World, msg_id: str = "msg_1", po: str = "PO-4471") -> None:
    """The recorded generic batch's won deal, with a PO number, signed and posted."""
    deal = payload("generic", "events_batch.json")["events"][1]
    deal["occurred_at"] = world.clock.now().isoformat()
    deal.pop("version", None)
    deal["fields"]["po_number"] = po
    body = json.dumps(deal).encode()
    ts = int(world.clock.now().timestamp())
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts)}
    headers["webhook-signature"] = _sig(msg_id, ts, body)
    with world.app.uow(read_only=True) as uow:
        src = uow.sources.by_name("shop")
    r = world.post(f"/webhooks/generic/{src.url_token}", body, headers)
    assert r.status_code == 200, r.text
    world.work()


def _audit_text(world: World) -> str:
    with world.app.uow(read_only=True) as uow:
        return json.dumps(uow.audit.recent(1000), default=str)


def _inbound_ids(world: World) -> list[int]:
    with world.app.uow(read_only=True) as uow:
        return [r["id"] for r in uow.inbound.recent(uow.sources.by_name("shop").id)]


def test_connecting_a_source_shows_its_webhook_url_and_never_its_secret(world: World) -> None:
    token = _owner(world)
    r = _connect(world, token)
    assert r.status_code == 303
    assert r.headers["location"] == "/sources/shop?connected=1"
    page = world.web.get(r.headers["location"]).text
    with world.app.uow(read_only=True) as uow:
        src = uow.sources.by_name("shop")
    assert f"/webhooks/generic/{src.url_token}" in page
    assert "One more step" in page and "Secrets last set on" in page
    assert src.max_age is not None and src.max_age.days == 2
    listing = world.web.get("/sources").text
    assert "Never heard from" in listing and src.url_token in listing
    for html in (page, listing, _audit_text(world)):
        assert WHSEC not in html and WHSEC.removeprefix("whsec_") not in html
    assert "source.added" in _audit_text(world)
    _won_deal(world)  # the stored secret verifies the vendor's signature
    assert "Healthy" in world.web.get("/sources").text


BAD_INPUT = [
    ({"name": "  "}, "a source needs a name"),
    ({"max_age": "soon"}, "is not a duration like 15m"),
    ({"options": "no equals sign"}, "is not key=value"),
    ({"kind": "fax"}, "unknown source kind"),
    ({"name": "a/b"}, "no “/”"),
]


def test_bad_input_or_a_taken_name_is_refused_beside_the_field_and_stores_nothing(
    page: World,
) -> None:
    token = _owner(page)
    for form, message in BAD_INPUT:
        r = _connect(page, token, **form)
        assert r.status_code == 422, form
        assert message in r.text and 'class="field-error"' in r.text
        assert WHSEC not in r.text
    with page.app.uow(read_only=True) as uow:
        assert uow.sources.list() == []
    assert _connect(page, token).status_code == 303
    r = _connect(page, token)
    assert r.status_code == 422 and "exists already" in r.text


def test_a_request_is_shown_with_its_signature_redacted_and_the_events_it_made(
    page: World,
) -> None:
    token = _owner(page)
    _connect(page, token)
    _won_deal(page)
    [inbound_id] = _inbound_ids(page)
    html = page.web.get("/sources/shop").text
    assert f'id="request-{inbound_id}"' in html and "deal.won" in html
    detail = page.web.get(f"/sources/shop/requests/{inbound_id}").text
    assert "webhook-signature" in detail and "redacted" in detail
    assert "v1," not in detail
    assert "&#34;po_number&#34;: &#34;PO-4471&#34;" in detail  # the body, indented JSON
    assert "deal.won" in detail
    assert page.web.get("/sources/other/requests/1").status_code == 404


def test_replay_processes_a_request_again_without_a_second_invoice(world: World) -> None:
    token = _owner(world)
    _connect(world, token)
    world.link("shop", company="acme", client=world.client_id)
    world.rules(
        {"name": "won-deals", "when": {"source": "generic", "event": "deal.won"}, "build": "deal"}
    )
    _won_deal(world)
    assert len(world.invoices()) == 1
    [inbound_id] = _inbound_ids(world)
    r = world.web.post(
        f"/sources/shop/requests/{inbound_id}/replay",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "queued to be processed again" in world.web.get("/sources/shop").text
    world.work()
    assert len(world.invoices()) == 1
    assert world.audit("inbound.replayed")


def test_the_mapping_preview_finds_a_path_and_suggests_one_for_a_typo(page: World) -> None:
    token = _owner(page)
    _connect(page, token)
    _won_deal(page)
    rows = {
        "field_name": ["po", "cost_centre"],
        "field_path": ["fields.po_number", "fields.po_nmber"],
    }
    r = page.web.post(
        "/sources/shop/mapping/preview", data={"csrf_token": token, **rows}, headers=HX
    )
    assert r.status_code == 200
    assert "<html" not in r.text  # a fragment for htmx
    assert "= PO-4471" in r.text
    assert "not found in this event" in r.text
    assert "did you mean <code>fields.po_number</code>" in r.text
    assert 'hx-swap-oob="true"' in r.text and "fields.po_number" in r.text
    # without htmx the same form gives the whole page with the preview
    full = page.web.post("/sources/shop/mapping/preview", data={"csrf_token": token, **rows})
    assert "<html" in full.text and "= PO-4471" in full.text
    # no CSRF token, no preview
    bad = page.web.post("/sources/shop/mapping/preview", data=rows, headers=HX)
    assert bad.status_code == 403


def test_a_pasted_sample_is_previewed_when_nothing_was_recorded(page: World) -> None:
    token = _owner(page)
    _connect(page, token)
    assert "No request recorded yet" in page.web.get("/sources/shop/mapping").text
    sample = json.dumps(payload("generic", "event_single.json"))
    r = page.web.post(
        "/sources/shop/mapping/preview",
        data={
            "csrf_token": token,
            "field_name": "title_copy",
            "field_path": "fields.title",
            "sample": sample,
        },
        headers=HX,
    )
    assert "Phase 2" in r.text and "the pasted sample" in r.text
    r = page.web.post(
        "/sources/shop/mapping/preview",
        data={"csrf_token": token, "sample": "{broken"},
        headers=HX,
    )
    assert "not valid JSON" in r.text


def test_saving_the_mapping_round_trips_and_new_events_carry_the_field(world: World) -> None:
    token = _owner(world)
    _connect(world, token)
    r = world.web.post(
        "/sources/shop/mapping",
        data={
            "csrf_token": token,
            "field_name": ["po", ""],
            "field_path": ["fields.po_number", ""],
            "action": "save",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = world.web.get("/sources/shop/mapping").text
    assert 'value="po"' in page and 'value="fields.po_number"' in page
    with world.app.uow(read_only=True) as uow:
        assert dict(uow.sources.by_name("shop").config.field_map) == {"po": "fields.po_number"}
    [entry] = world.audit("source.mapping_updated")
    assert entry["detail"] == {"before": {}, "after": {"po": "fields.po_number"}}
    _won_deal(world)
    with world.app.uow(read_only=True) as uow:
        [event] = uow.events.of_requests(_inbound_ids(world))
    assert event["fields"]["po"] == "PO-4471"


def test_bad_mapping_rows_are_refused_and_rows_are_added_or_removed_without_saving(
    page: World,
) -> None:
    token = _owner(page)
    _connect(page, token)
    r = page.web.post(
        "/sources/shop/mapping",
        data={
            "csrf_token": token,
            "field_name": ["PO Number", "amount"],
            "field_path": ["fields..po", "properties.amount"],
            "action": "save",
        },
    )
    assert r.status_code == 422
    assert "is not a field name" in r.text and "is not a dotted path" in r.text
    assert "filled by the connector itself" in r.text
    assert 'value="PO Number"' in r.text  # what was typed comes back
    with page.app.uow(read_only=True) as uow:
        assert dict(uow.sources.by_name("shop").config.field_map) == {}
    assert not page.audit("source.mapping_updated")
    base = {"csrf_token": token, "field_name": ["a", "b"], "field_path": ["x", "y"]}
    added = page.web.post("/sources/shop/mapping", data={**base, "action": "add"}).text
    assert len(re.findall(r'name="field_name"', added)) == 3
    removed = page.web.post("/sources/shop/mapping", data={**base, "remove": "0"}).text
    assert 'value="a"' not in removed and 'value="b"' in removed
    assert not page.audit("source.mapping_updated")


def test_turning_a_source_off_and_replacing_its_secret_are_audited(world: World) -> None:
    token = _owner(world)
    _connect(world, token)
    r = world.web.post("/sources/shop/enabled", data={"csrf_token": token, "enabled": "0"})
    assert "is off" in r.text
    with world.app.uow(read_only=True) as uow:
        assert not uow.sources.by_name("shop").enabled
    assert world.audit("source.disabled")
    new_secret = "whsec_" + base64.b64encode(b"a-brand-new-signing-key-123456").decode()
    r = world.web.post(
        "/sources/shop/secrets",
        data={"csrf_token": token, "field": "signing_secret", "value": new_secret},
    )
    assert "Secret replaced" in r.text and new_secret not in r.text
    assert new_secret not in _audit_text(world)
    assert world.audit("source.secrets_changed")


def test_a_viewer_sees_everything_but_no_form_and_cannot_change_anything(page: World) -> None:
    token = _owner(page)
    _connect(page, token)
    _won_deal(page)
    [inbound_id] = _inbound_ids(page)
    add_user(page.app, *VIEWER, "viewer")
    page.web.cookies.clear()
    vtoken = sign_in(page.web, *VIEWER)
    for path in ("/sources", "/sources/shop", f"/sources/shop/requests/{inbound_id}"):
        html = page.web.get(path).text
        assert 'action="/sources' not in html, path
        assert "Replay" not in html and "Turn off" not in html
    mapping = page.web.get("/sources/shop/mapping").text
    assert "Save field map" not in mapping and "readonly" in mapping
    assert "Connect a product" not in page.web.get("/sources").text
    for path, data in [
        ("/sources/new", {"kind": "generic", "name": "x"}),
        ("/sources/shop/enabled", {"enabled": "0"}),
        ("/sources/shop/secrets", {"field": "signing_secret", "value": "x"}),
        (f"/sources/shop/requests/{inbound_id}/replay", {}),
        ("/sources/shop/mapping", {"field_name": "a", "field_path": "b", "action": "save"}),
    ]:
        r = page.web.post(path, data={"csrf_token": vtoken, **data}, follow_redirects=False)
        assert r.status_code == 403, path
    preview = page.web.post(
        "/sources/shop/mapping/preview", data={"csrf_token": vtoken}, headers=HX
    )
    assert preview.status_code == 200  # a preview changes nothing
    with page.app.uow(read_only=True) as uow:
        assert [s.name for s in uow.sources.list()] == ["shop"]
        assert uow.sources.by_name("shop").enabled
