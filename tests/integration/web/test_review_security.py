"""Review (issue 7, security and access): each test shows one real bug and fails today."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jinja2.sandbox import SecurityError
from sqlalchemy import select
from web_support import ISSUED_AT, OWNER, add_user, demo_app, sign_in

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.adapters.db import tables
from autoinvoice.adapters.documents.pdf import PdfRenderError
from autoinvoice.adapters.email.templates import EmailTemplates
from autoinvoice.bootstrap import App, build
from autoinvoice.config import Settings
from autoinvoice.entrypoints.web.app import create_app
from autoinvoice.services import user_templates
from autoinvoice.services.documents import invoice_document

PASSWORD = "long enough password"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("review-security-demo")
    demo_app(folder).engine.dispose()
    return folder


@pytest.fixture
def app(demo_template: Path, tmp_path: Path) -> App:
    folder = tmp_path / "data"
    shutil.copytree(demo_template, folder)
    return build(Settings(data_dir=folder), clock=ManualClock(ISSUED_AT))


def audit(app: App) -> list[dict[str, object]]:
    with app.uow(read_only=True) as uow:
        return uow.audit.recent(limit=500)


def user_id(app: App, email: str) -> int:
    with app.uow(read_only=True) as uow:
        found = uow.users.by_email(email)
    assert found is not None
    return found.id


def test_an_edited_html_email_still_escapes_client_data() -> None:
    templates = EmailTemplates()
    context = user_templates.sample_context("invoice_email")
    # the client's name comes from outside: the public intake form, a CRM deal
    context["client"] = {
        "name": '<a href="https://evil.example/pay">Pay here</a>',
        "contact_name": None,
    }
    shipped = templates.default_source("invoice_email.html")
    assert "{{ seller.name }}" in shipped
    # the operator's edit: greet the client by name in the intro (what the editor is for)
    edited = shipped.replace("{% block intro %}", "{% block intro %}Dear {{ client.name }}, ", 1)
    html = templates.render_email("invoice_email", context, {"invoice_email.html": edited}).html
    assert "Dear &lt;a href" in html, "the client's text went into the email as HTML"
    # the same holds for what is already there: '&' in a seller name is not escaped either
    context["seller"] = {**context["seller"], "name": "Smith & <Sons>"}
    same = templates.render_email("invoice_email", context, {"invoice_email.html": shipped}).html
    assert "Smith & <Sons>" not in same


def test_a_removed_users_session_does_not_become_the_next_user(app: App) -> None:
    web = create_app(app)
    with (
        TestClient(web, base_url="http://testserver") as owner,
        TestClient(web, base_url="http://testserver") as gone,
    ):
        token = sign_in(owner)
        add_user(app, "temp@nordlicht.example", PASSWORD, "viewer")
        gone_token = sign_in(gone, "temp@nordlicht.example", PASSWORD)
        temp_id = user_id(app, "temp@nordlicht.example")
        r = owner.post(
            f"/settings/users/{temp_id}/remove", data={"csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        r = owner.post(
            "/settings/users",
            data={
                "csrf_token": token,
                "email": "new-owner@nordlicht.example",
                "role": "owner",
                "password": PASSWORD,
            },
        )
        assert r.status_code == 200, r.text
        # the removed viewer's browser, untouched since: it must be signed out
        switched = gone.post(
            "/settings/sandbox/1",
            data={"csrf_token": gone_token, "action": "on", "sandbox_to": "x@evil.example"},
            follow_redirects=False,
        )
        assert switched.status_code == 303  # to /login would be right; today to /settings
        with app.uow(read_only=True) as uow:
            sandbox_to = uow.entities.get(1).sandbox_to
        assert sandbox_to is None, "the removed viewer's old cookie acted as the new owner"


def test_a_key_made_for_another_user_is_audited_as_the_owners_act(app: App) -> None:
    add_user(app, "acc@nordlicht.example", PASSWORD, "accountant")
    acc = user_id(app, "acc@nordlicht.example")
    with TestClient(create_app(app), base_url="http://testserver") as c:
        token = sign_in(c)
        r = c.post(
            "/api/v1/api-keys",
            json={"name": "export", "scopes": ["read"], "user_id": acc},
            headers={"X-CSRF-Token": token},
        )
        assert r.status_code == 201, r.text
    made = next(e for e in audit(app) if e["action"] == "api_key.created")
    assert made["actor"] == f"user:{OWNER[0]}", made


def test_a_template_preview_cannot_make_the_server_build_huge_values(app: App) -> None:
    add_user(app, "viewer@nordlicht.example", PASSWORD, "viewer")
    with TestClient(create_app(app), base_url="http://testserver") as c:
        token = sign_in(c, "viewer@nordlicht.example", PASSWORD)
        r = c.post(
            "/templates/preview",
            data={
                "csrf_token": token,
                "email": "invoice_email",
                "subject": "Invoice",
                # 100 MB built in the web process by a viewer's preview; 9 ** 9 ** 9 never ends
                "text": '{{ ("x" * 100000000) | length }}',
                "html": "<p>hi</p>",
            },
            headers={"HX-Request": "true"},
        )
    assert r.status_code == 200, r.text
    assert "100000000" not in r.text, "the sandbox built a 100 MB string"


@pytest.mark.parametrize(
    "source",
    [
        '{{ "x".ljust(100000000) | length }}',
        '{{ "x" | center(100000000) | length }}',
        '{{ "x" | indent(100000000) | length }}',
        '{{ "%100000000s" | format(1) | length }}',
        '{{ ("%100000000s" % 1) | length }}',
        '{{ "{:100000000}".format(1) | length }}',
    ],
)
def test_string_methods_filters_and_formats_cannot_build_huge_values(source: str) -> None:
    templates = EmailTemplates()
    with pytest.raises(SecurityError):
        templates._env.from_string(source).render()


def test_the_size_bound_leaves_ordinary_numbers_and_formats_alone() -> None:
    source = (
        '{{ "%d" | format(5000000) }} {{ "{:,}".format(1234567) }} {{ "Acme 1000000" | upper }}'
    )
    assert EmailTemplates()._env.from_string(source).render() == "5000000 1,234,567 ACME 1000000"


def test_an_intake_link_is_not_kept_in_clear_by_the_idempotency_store(app: App) -> None:
    with TestClient(create_app(app), base_url="http://testserver") as c:
        token = sign_in(c)
        r = c.post(
            "/api/v1/clients/1/intake-link",
            headers={"X-CSRF-Token": token, "Idempotency-Key": "intake-1"},
        )
        assert r.status_code == 201, r.text
        secret = r.json()["url"].rsplit("/", 1)[1]
    with app.engine.connect() as conn:
        kept = conn.execute(select(tables.api_idempotency_keys)).all()
    assert kept, "the key was claimed"
    # the link's token is stored only as a hash (services/intake.py); a retry may not need it
    assert not [row for row in kept if secret in repr(row)], "the working link is in the DB"


def _alias_bomb(depth: int) -> str:
    """A rule of a few hundred characters whose YAML aliases unfold to 10**(depth+1) items."""
    parts = ["&a0 [x, x, x, x, x, x, x, x, x, x]"]
    parts += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, depth + 1)]
    return (
        "name: bomb\nwhen:\n  event: deal.won\n"
        f"  conditions: [{{field: p, gt: [{', '.join(parts)}]}}]\nbuild: deal\n"
    )


def test_a_small_rule_cannot_make_the_rule_check_unfold_aliases(app: App) -> None:
    add_user(app, "viewer@nordlicht.example", PASSWORD, "viewer")
    bomb = _alias_bomb(5)  # depth 9 (still < 700 characters) would need ~60 GB
    assert len(bomb) < 1000
    with TestClient(create_app(app), base_url="http://testserver") as c:
        token = sign_in(c, "viewer@nordlicht.example", PASSWORD)
        r = c.post(
            "/rules/validate",
            data={"csrf_token": token, "yaml": bomb},
            headers={"HX-Request": "true"},
        )
    assert r.status_code == 200
    assert len(r.content) < 100_000, f"{len(bomb)} characters in, {len(r.content):,} bytes out"


LINKED_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    b'width="10" height="10"><image xlink:href="../../../logo.png" width="10" height="10"/>'
    b"</svg>"
)


def test_a_logo_the_renderer_refuses_is_not_saved(app: App) -> None:
    files = {"subject": ".subject.txt", "text": ".txt", "html": ".html"}
    draft = {k: app.templates.default_source(f"invoice_email{v}") for k, v in files.items()}
    with TestClient(create_app(app), base_url="http://testserver") as c:
        token = sign_in(c)
        r = c.post(
            "/templates/save",
            data={
                "csrf_token": token,
                "email": "invoice_email",
                "invoice": "1",
                "layout": "classic",
                "accent": "#1d4e89",
                "font": "",
                "footer": "",
                **draft,
            },
            files={"logo": ("logo.svg", LINKED_SVG, "image/svg+xml")},
            follow_redirects=False,
        )
    with app.uow(read_only=True) as uow:
        entity = uow.entities.first()
        invoice = uow.invoices.get(1)
        client = uow.clients.get(invoice.client_id or 0)
    assert entity is not None
    if entity.branding.logo is not None:  # saved: the issued invoice can no longer be drawn
        with pytest.raises(PdfRenderError, match="links to a file"):
            app.renderer.render(invoice_document(invoice, entity, client.language))
    assert r.status_code == 422, "the preview said it cannot be drawn, and it was saved"
    assert entity.branding.logo is None
