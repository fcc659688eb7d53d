"""The first-run guide (/setup) and the organisation form (/setup/organisation)."""

from __future__ import annotations

from pathlib import Path

from setup_support import (
    CLIENT,
    ORGANISATION,
    audit_actions,
    demo,
    errors_on,
    fresh_app,
    signed_in,
)
from web_support import add_user

from autoinvoice.bootstrap import App
from autoinvoice.services.onboarding import setup_guide


def done(app: App) -> dict[str, bool]:
    return {s.key: s.done for s in setup_guide(uow=app.uow(read_only=True)).steps}


def record(app: App, action: str) -> None:
    with app.uow() as uow:
        uow.audit.record(
            at=app.clock.now(), actor="test", action=action, subject_type="x", subject_id=1
        )
        uow.commit()


def test_a_fresh_installation_has_every_step_to_do(database_url: str, tmp_path: Path) -> None:
    app = fresh_app(database_url, tmp_path)
    assert not any(done(app).values())
    with signed_in(app) as (client, _):
        page = client.get("/setup")
        assert page.status_code == 200
        assert "0 of 5 done" in page.text
        assert 'href="/setup/organisation"' in page.text
        assert "Missing: the organisation&#39;s legal name, address and tax ID" in page.text
        dashboard = client.get("/dashboard")
        assert "Finish setting up — 0 of 5 done" in dashboard.text
        assert 'href="/setup"' in dashboard.text


def test_the_organisation_form_creates_the_issuing_entity(
    database_url: str, tmp_path: Path
) -> None:
    app = fresh_app(database_url, tmp_path)
    with signed_in(app) as (client, token):
        r = client.post(
            "/setup/organisation",
            data={**ORGANISATION, "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/setup"
    with app.uow(read_only=True) as uow:
        entity = uow.entities.first()
        series = uow.numbering.default_series(entity.id) if entity else None
    assert entity is not None and series is not None
    assert (entity.party.name, entity.party.tax_id) == ("Fjord Digital GmbH", "DE136695976")
    assert entity.email == "billing@fjord.example"
    assert entity.bank["iban"] == "DE89370400440532013000"
    assert "entity.created" in audit_actions(app)
    # the organisation is complete; the step still waits for a contract
    guide = setup_guide(uow=app.uow(read_only=True))
    assert guide.steps[0].missing == (
        "a contract: how a client is billed (retainer, milestones, rates)",
    )


def test_changing_the_organisation_is_audited_with_what_changed(
    database_url: str, tmp_path: Path
) -> None:
    app = demo(database_url, tmp_path)
    with signed_in(app) as (client, token):
        form = client.get("/setup/organisation").text
        assert 'value="Nordlicht IT Services GmbH"' in form
        data = {**ORGANISATION, "legal_name": "Nordlicht IT GmbH", "csrf_token": token}
        assert client.post("/setup/organisation", data=data).status_code == 200
    with app.uow(read_only=True) as uow:
        assert uow.entities.first().party.name == "Nordlicht IT GmbH"  # type: ignore[union-attr]
        entry = next(e for e in uow.audit.recent(50) if e["action"] == "entity.updated")
    assert entry["detail"]["changed"]["name"] == {
        "from": "Nordlicht IT Services GmbH",
        "to": "Nordlicht IT GmbH",
    }
    assert entry["detail"]["bank"] == ["iban"]  # which fields, never the numbers


def test_a_wrong_organisation_form_is_drawn_again_and_nothing_is_stored(
    database_url: str, tmp_path: Path
) -> None:
    app = fresh_app(database_url, tmp_path)
    bad = {
        **ORGANISATION,
        "tax_id": "",
        "postal_code": "1011",
        "iban": "DE00 1234",
        "timezone": "Mars/Olympus",
        "emails": "a@x.example, b@x.example",
    }
    with signed_in(app) as (client, token):
        r = client.post("/setup/organisation", data={**bad, "csrf_token": token})
    assert r.status_code == 422
    assert errors_on(r.text) == {"tax_id", "postal_code", "iban", "timezone", "emails"}
    assert "invoices issued in this country must carry it" in r.text
    assert 'value="Torstraße 1"' in r.text  # what was typed is kept
    with app.uow(read_only=True) as uow:
        assert uow.entities.first() is None
    assert "entity.created" not in audit_actions(app)


def test_steps_turn_done_from_what_is_stored(database_url: str, tmp_path: Path) -> None:
    app = demo(database_url, tmp_path)
    before = done(app)
    assert before["organisation"] and not before["template"] and not before["test"]
    record(app, "entity.documents_changed")
    record(app, "rules.tested")
    after = done(app)
    assert after["template"] and after["test"]


def test_incomplete_clients_are_listed_with_links_to_their_forms(
    database_url: str, tmp_path: Path
) -> None:
    app = demo(database_url, tmp_path)
    with app.uow() as uow:
        client = next(c for c in uow.clients.list() if c.party.address is not None)
        uow.clients.update_billing(
            client.id,
            client.party.__class__(client.party.name, client.party.country),
            po_required=False,
            payment_method=None,
        )
        uow.commit()
    with signed_in(app) as (web, _):
        page = web.get("/setup").text
    assert f'href="/clients/{client.id}/edit"' in page
    assert "no billing address, billing email" in page


def test_a_viewer_sees_the_guide_but_no_buttons_and_cannot_save(
    sqlite_url: str, tmp_path: Path
) -> None:
    app = fresh_app(sqlite_url, tmp_path)
    add_user(app, "viewer@fjord.example", "only looking here", "viewer")
    add_user(app, "acc@fjord.example", "counting the beans", "accountant")
    with signed_in(app, "viewer@fjord.example", "only looking here") as (client, token):
        page = client.get("/setup").text
        assert "signed in as a viewer" in page
        assert 'href="/contracts/new"' not in page and 'class="button' not in page.split("<main")[
            1
        ].replace('class="button subtle small">Sign out', "")
        form = client.get("/setup/organisation").text
        assert "disabled" in form and "Save organisation" not in form
        r = client.post("/setup/organisation", data={**ORGANISATION, "csrf_token": token})
        assert r.status_code == 403
    with signed_in(app, "acc@fjord.example", "counting the beans") as (client, token):
        r = client.post("/setup/organisation", data={**ORGANISATION, "csrf_token": token})
        assert r.status_code == 403
    with app.uow(read_only=True) as uow:
        assert uow.entities.first() is None


def test_the_organisation_form_needs_the_csrf_token(sqlite_url: str, tmp_path: Path) -> None:
    app = fresh_app(sqlite_url, tmp_path)
    with signed_in(app) as (client, _):
        r = client.post("/setup/organisation", data={**ORGANISATION, "csrf_token": "forged"})
    assert r.status_code == 403
    with app.uow(read_only=True) as uow:
        assert uow.entities.first() is None


def test_a_new_owner_walks_the_guide(sqlite_url: str, tmp_path: Path) -> None:
    app = fresh_app(sqlite_url, tmp_path)
    with signed_in(app) as (client, token):
        client.post("/setup/organisation", data={**ORGANISATION, "csrf_token": token})
        client.post("/clients/new", data={**CLIENT, "csrf_token": token})
        assert "1 of 5 done" in client.get("/setup").text  # client data; contract missing
        data = {"csrf_token": token, "client_id": "1", "name": "Support", "model": "retainer"}
        client.post("/contracts/new", data={**data, "amount": "900", "schedule": "monthly"})
        page = client.get("/setup").text
    assert "2 of 5 done" in page
    assert done(app) == {
        "organisation": True,
        "sources": False,
        "template": False,
        "clients": True,
        "test": False,
    }
