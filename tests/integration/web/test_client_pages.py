"""The client forms: /clients/new and /clients/{id}/edit."""

from __future__ import annotations

from pathlib import Path

from setup_support import CLIENT, audit_actions, demo, errors_on, signed_in
from web_support import add_user

from autoinvoice.bootstrap import App
from autoinvoice.services.ports import ClientRecord


def clients(app: App) -> list[ClientRecord]:
    with app.uow(read_only=True) as uow:
        return uow.clients.list()


def by_name(app: App, name: str) -> ClientRecord:
    return next(c for c in clients(app) if c.party.name == name)


def test_a_new_client_is_stored_with_all_its_billing_data(
    database_url: str, tmp_path: Path
) -> None:
    app = demo(database_url, tmp_path)
    data = {**CLIENT, "address_line2": "3e étage", "po_required": "1", "payment_method": "card"}
    with signed_in(app) as (web, token):
        form = web.get("/clients/new")
        assert form.status_code == 200
        assert '<option value="EUR" selected>' in form.text  # the organisation's currency
        r = web.post("/clients/new", data={**data, "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303, r.text
        listing = web.get(r.headers["location"]).text
    client = by_name(app, "Lumen Studio SARL")
    assert client.party.tax_id == "FR40303265045"
    assert client.party.address is not None
    assert client.party.address.lines == ("12 rue de la Paix", "3e étage")
    assert (client.currency, client.terms.code, client.language) == ("EUR", "net:30", "fr")
    assert (client.timezone, client.po_required, client.payment_method) == (
        "Europe/Paris",
        True,
        "card",
    )
    assert "client.created" in audit_actions(app)
    assert "Client Lumen Studio SARL added." in listing
    assert f'href="/clients/{client.id}/edit"' in listing
    assert 'href="/clients/new"' in listing


def test_a_wrong_client_form_shows_each_error_beside_its_field_and_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    app = demo(database_url, tmp_path)
    before, audited = len(clients(app)), len(audit_actions(app))
    bad = {**CLIENT, "tax_id": "FR00000000000", "city": "", "emails": "ap@", "timezone": "Paris"}
    with signed_in(app) as (web, token):
        r = web.post("/clients/new", data={**bad, "csrf_token": token})
    assert r.status_code == 422
    assert errors_on(r.text) == {"tax_id", "city", "emails", "timezone"}
    assert "not a valid VAT number in France" in r.text
    assert 'value="12 rue de la Paix"' in r.text
    assert len(clients(app)) == before
    assert len(audit_actions(app)) == audited


def test_a_business_abroad_in_the_eu_needs_its_vat_number_a_consumer_does_not(
    sqlite_url: str, tmp_path: Path
) -> None:
    app = demo(sqlite_url, tmp_path)
    with signed_in(app) as (web, token):
        r = web.post("/clients/new", data={**CLIENT, "tax_id": "", "csrf_token": token})
        assert r.status_code == 422
        assert errors_on(r.text) == {"tax_id"}
        consumer = {**CLIENT, "kind": "consumer", "tax_id": "", "csrf_token": token}
        assert web.post("/clients/new", data=consumer, follow_redirects=False).status_code == 303
    assert by_name(app, "Lumen Studio SARL").party.is_business is False


def test_editing_a_client_saves_and_audits_what_changed(database_url: str, tmp_path: Path) -> None:
    app = demo(database_url, tmp_path)
    client = clients(app)[0]
    with signed_in(app) as (web, token):
        form = web.get(f"/clients/{client.id}/edit").text
        assert f'value="{client.party.name}"' in form
        data = {
            **CLIENT,
            "legal_name": client.party.name,
            "emails": "new-ap@client.example",
            "terms": "net:14",
            "csrf_token": token,
        }
        r = web.post(f"/clients/{client.id}/edit", data=data, follow_redirects=False)
        assert r.status_code == 303, r.text
    after = by_name(app, client.party.name)
    assert after.party.emails == ("new-ap@client.example",)
    assert after.terms.code == "net:14"
    with app.uow(read_only=True) as uow:
        entry = next(e for e in uow.audit.recent(20) if e["action"] == "client.updated")
    assert entry["detail"]["changed"]["terms"] == {"from": client.terms.code, "to": "net:14"}
    assert entry["subject_id"] == str(client.id)


def test_a_wrong_edit_changes_nothing(sqlite_url: str, tmp_path: Path) -> None:
    app = demo(sqlite_url, tmp_path)
    client = clients(app)[0]
    with signed_in(app) as (web, token):
        data = {**CLIENT, "legal_name": "", "currency": "XXY", "csrf_token": token}
        r = web.post(f"/clients/{client.id}/edit", data=data)
    assert r.status_code == 422
    assert errors_on(r.text) == {"legal_name", "currency"}
    assert clients(app)[0] == client


def test_editing_a_missing_client_is_not_found(sqlite_url: str, tmp_path: Path) -> None:
    app = demo(sqlite_url, tmp_path)
    with signed_in(app) as (web, token):
        assert web.get("/clients/999/edit").status_code == 404
        r = web.post("/clients/999/edit", data={**CLIENT, "csrf_token": token})
        assert r.status_code == 404


def test_a_viewer_sees_no_client_buttons_and_cannot_post(sqlite_url: str, tmp_path: Path) -> None:
    app = demo(sqlite_url, tmp_path)
    add_user(app, "viewer@fjord.example", "only looking here", "viewer")
    before = clients(app)
    with signed_in(app, "viewer@fjord.example", "only looking here") as (web, token):
        listing = web.get("/clients").text
        assert "/clients/new" not in listing and "/edit" not in listing
        assert web.get("/clients/new").status_code == 403
        assert web.get(f"/clients/{before[0].id}/edit").status_code == 403
        r = web.post("/clients/new", data={**CLIENT, "csrf_token": token})
        assert r.status_code == 403
        r = web.post(f"/clients/{before[0].id}/edit", data={**CLIENT, "csrf_token": token})
        assert r.status_code == 403
    assert clients(app) == before


def test_an_accountant_may_add_clients(sqlite_url: str, tmp_path: Path) -> None:
    app = demo(sqlite_url, tmp_path)
    add_user(app, "acc@fjord.example", "counting the beans", "accountant")
    with signed_in(app, "acc@fjord.example", "counting the beans") as (web, token):
        r = web.post("/clients/new", data={**CLIENT, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert by_name(app, "Lumen Studio SARL")


def test_a_client_form_without_the_csrf_token_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    app = demo(sqlite_url, tmp_path)
    before = len(clients(app))
    with signed_in(app) as (web, _):
        assert web.post("/clients/new", data=CLIENT).status_code == 403
    assert len(clients(app)) == before


def test_without_an_organisation_the_client_form_sends_you_to_set_it_up(
    sqlite_url: str, tmp_path: Path
) -> None:
    from setup_support import fresh_app

    app = fresh_app(sqlite_url, tmp_path)
    with signed_in(app) as (web, _):
        r = web.get("/clients/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/setup/organisation"
