"""The template editor page: it opens on the newest draft with a preview PNG and the email;
a preview shows unsaved values and stores nothing; a save stores what changed (audited); a
bad template is refused beside its field with its line; a viewer sees a read-only editor
but may preview; the HTML email is served for a sandboxed iframe only."""

from __future__ import annotations

import base64
import re

from fastapi.testclient import TestClient
from web_support import add_user, milestone_draft, sign_in

from autoinvoice.bootstrap import App

PNG = re.compile(r'id="preview-page" src="data:image/png;base64,([^"]+)"')
FRAME = re.compile(r'src="(/templates/preview/email\?p=[^"]+)"')


def _form(app: App, client: TestClient, token: str, **changes: str) -> dict[str, str]:
    """The editor's fields as stored (what the page shows), with ``changes``."""
    from autoinvoice.services import user_templates as ut

    draft = ut.current_draft("invoice_email", uow=app.uow(), templates=app.templates)
    with app.uow(read_only=True) as uow:
        entity = uow.entities.first()
        drafts = uow.invoices.summaries(status="draft", limit=1)
    assert entity is not None
    form = {
        "csrf_token": token,
        "email": "invoice_email",
        "invoice": str(drafts[0].id) if drafts else "",
        "layout": entity.branding.layout,
        "accent": entity.branding.accent,
        "font": entity.branding.font or "",
        "footer": entity.footer,
        "subject": draft.subject,
        "text": draft.text,
        "html": draft.html,
    }
    return {**form, **changes}


def _versions(app: App) -> list[int]:
    with app.uow(read_only=True) as uow:
        return [v.version for v in uow.user_templates.history("invoice_email")]


def _audit(app: App, action: str) -> int:
    with app.uow(read_only=True) as uow:
        return len(uow.audit.search(action=action, limit=500))


def test_the_editor_opens_on_the_newest_draft_with_its_first_page_and_email(
    app: App, client: TestClient, owner: str
) -> None:
    draft = milestone_draft(app)
    r = client.get("/templates")
    assert r.status_code == 200
    assert f'<option value="{draft}" selected' in r.text  # drafts first, the newest chosen
    png = base64.b64decode(PNG.search(r.text).group(1))  # type: ignore[union-attr]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "Invoice INV-(number at issue) from Nordlicht IT Services GmbH" in r.text
    assert "{% extends &#34;_email_layout.html&#34; %}" in r.text  # the shipped source
    assert "frame-src 'self'" in r.headers["content-security-policy"]
    assert "<code>{{ invoice.number }}</code>" in r.text  # the variables list
    frame = client.get(FRAME.search(r.text).group(1).replace("&amp;", "&"))  # type: ignore[union-attr]
    assert frame.status_code == 200
    assert frame.headers["content-security-policy"].startswith("default-src 'none'; ")
    assert "script-src" not in frame.headers["content-security-policy"]
    assert frame.headers["x-frame-options"] == "SAMEORIGIN"
    assert "Brightwave" in frame.text
    for layout in ("classic", "modern"):  # the layouts' thumbnails
        thumbnail = client.get(f"/templates/layouts/{layout}.png")
        assert thumbnail.status_code == 200 and thumbnail.content.startswith(b"\x89PNG")
    assert client.get("/templates/layouts/nope.png").status_code == 404
    gone = client.get("/templates?invoice=999999")  # no such invoice: said in the pane
    assert gone.status_code == 200 and "invoice 999999 does not exist" in gone.text


def test_a_preview_shows_unsaved_values_and_stores_nothing(
    app: App, client: TestClient, owner: str
) -> None:
    milestone_draft(app)
    form = _form(app, client, owner, subject="Hello {{ client.name }}", accent="#c2185b")
    r = client.post("/templates/preview", data=form, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "<html" not in r.text  # the pane only
    assert '<strong id="preview-subject">Hello Brightwave Analytics Inc.</strong>' in r.text
    assert PNG.search(r.text)
    assert _versions(app) == [] and _audit(app, "entity.documents_changed") == 0
    # without JavaScript: the Preview button re-draws the whole page with the preview
    page = client.post("/templates/preview", data=form)
    assert page.status_code == 200 and "<h1>Templates</h1>" in page.text
    assert 'value="Hello {{ client.name }}"' in page.text
    # a preview changes nothing, but the form's token is checked all the same
    forged = {**form, "csrf_token": "forged"}
    assert client.post("/templates/preview", data=forged).status_code == 403


def test_saving_stores_the_email_and_the_design_and_says_so(
    app: App, client: TestClient, owner: str
) -> None:
    milestone_draft(app)
    form = _form(app, client, owner, subject="Invoice {{ invoice.number }}", accent="#c2185b")
    r = client.post("/templates/save", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "Saved: the invoice design and the invoice email (version 1)." in page
    assert _versions(app) == [1]
    assert _audit(app, "template.saved") == 1
    assert _audit(app, "entity.documents_changed") == 1
    with app.uow(read_only=True) as uow:
        assert uow.entities.first().branding.accent == "#c2185b"  # type: ignore[union-attr]
    assert "Version 1 · owner@nordlicht.example" in page
    # the same form again: nothing changed, nothing stored
    r = client.post("/templates/save", data=_form(app, client, owner), follow_redirects=True)
    assert "Nothing had changed." in r.text
    assert _versions(app) == [1]

    # a logo: shown in the preview at once, kept only when saved
    logo = client.get("/templates/layouts/modern.png").content  # any PNG will do
    upload = {"logo": ("logo.png", logo, "image/png")}
    r = client.post("/templates/preview", data=_form(app, client, owner), files=upload)
    assert PNG.search(r.text)
    r = client.post("/templates/save", data=_form(app, client, owner), files=upload)
    assert r.status_code == 200 and "Saved: the invoice design." in r.text
    with app.uow(read_only=True) as uow:
        assert uow.entities.first().branding.logo == logo  # type: ignore[union-attr]
    fake = {"logo": ("logo.png", b"not an image", "image/png")}
    r = client.post("/templates/save", data=_form(app, client, owner), files=fake)
    assert r.status_code == 422 and "the logo file is not a PNG image" in r.text

    r = client.post(
        "/templates/reset",
        data={"csrf_token": owner, "email": "invoice_email"},
        follow_redirects=True,
    )
    assert "The invoice email is back to the default text." in r.text
    assert _versions(app) == [2, 1] and _audit(app, "template.reset") == 1
    assert "Invoice INV-(number at issue) from Nordlicht" in r.text  # the shipped subject again


def test_a_broken_template_is_refused_beside_its_field_and_nothing_is_stored(
    app: App, client: TestClient, owner: str
) -> None:
    milestone_draft(app)
    form = _form(app, client, owner, text="Hello\n{% if invoice.number %}", accent="#000000")
    r = client.post("/templates/save", data=form)
    assert r.status_code == 422
    assert '<p class="field-error" id="error-text">line 2: Unexpected end of template.' in r.text
    assert 'aria-invalid="true" aria-describedby="error-text"' in r.text
    assert "Nothing was saved" in r.text
    assert _versions(app) == [] and _audit(app, "entity.documents_changed") == 0

    r = client.post("/templates/save", data=_form(app, client, owner, accent="red"))
    assert r.status_code == 422
    assert "&#39;red&#39; is not a colour; write it as #RRGGBB" in r.text
    escape = _form(app, client, owner, subject="{{ ''.__class__.__mro__ }}")
    r = client.post("/templates/save", data=escape)
    assert r.status_code == 422
    assert "&#39;__mro__&#39; is not allowed" in r.text
    assert _versions(app) == []


def test_a_viewer_sees_the_editor_read_only_but_may_preview(app: App, client: TestClient) -> None:
    milestone_draft(app)
    add_user(app, "viewer@nordlicht.example", "a long viewer password", "viewer")
    token = sign_in(client, "viewer@nordlicht.example", "a long viewer password")
    page = client.get("/templates").text
    assert "Only an owner or an accountant can change them." in page
    assert "Save changes" not in page and "Reset this email" not in page
    assert re.search(r'<textarea id="text" name="text" [^>]* readonly>', page)
    assert 'type="color"' not in page and 'type="file"' not in page
    form = _form(app, client, token, subject="Peek {{ invoice.number }}")
    r = client.post("/templates/preview", data=form, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Peek INV-(number at issue)" in r.text
    assert client.post("/templates/save", data=form).status_code == 403
    reset = {"csrf_token": token, "email": "invoice_email"}
    assert client.post("/templates/reset", data=reset).status_code == 403
    assert _versions(app) == []


def test_the_email_preview_link_works_only_for_who_made_it(
    app: App, client: TestClient, owner: str
) -> None:
    link = FRAME.search(client.get("/templates").text).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert client.get(link[:-3] + "abc").status_code == 404  # tampered
    client.post("/logout", data={"csrf_token": owner})
    add_user(app, "acc@nordlicht.example", "a long accountant password", "accountant")
    sign_in(client, "acc@nordlicht.example", "a long accountant password")
    assert client.get(link).status_code == 404  # another user's preview
