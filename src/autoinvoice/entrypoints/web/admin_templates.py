"""The template editor: how invoices look (PDF branding) and what the emails say, with a
live preview of a real invoice.

Routes::

    GET  /templates                      the editor (?email=invoice_email&invoice=ID)
    POST /templates/preview              the preview pane (htmx) or, without JS, the page
    POST /templates/save                 save the branding and/or the email (writers)
    POST /templates/reset                the email back to its default (writers)
    GET  /templates/preview/email?p=…    the HTML email of a preview, for a sandboxed iframe
    GET  /templates/layouts/{name}.png   a layout's thumbnail

A preview changes nothing, so a viewer may preview too (the form's CSRF token is checked
all the same). The HTML email is shown in ``<iframe sandbox>`` from its own URL, served with
a CSP that allows no script, no request and no embedding elsewhere; the URL carries the
rendered HTML signed for the user who previewed it (so nobody can make this site show
arbitrary HTML through a link), and expires after an hour.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData, UploadFile

from ...bootstrap import App
from ...domain.documents import FONTS, LAYOUTS, LOGO_MAX_BYTES, Branding
from ...domain.errors import DomainError, InvalidValue
from ...services import setup
from ...services import user_templates as ut
from ...services.errors import NotFound, ServiceError
from ...services.ports import UserRecord
from .deps import AppDep, Reader, Writer, actor, check_form_csrf
from .pages import flash, render

router = APIRouter(include_in_schema=False)

PREVIEW_PPI = 80
PREVIEW_MAX_AGE = 3600  # seconds an email preview link works
MAX_FRAME_TOKEN = 60_000  # characters; a bigger preview is not put in a URL
EMAIL_FRAME_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'"
)
_RENDERS = threading.BoundedSemaphore(2)  # Typst previews at once; more wait, then give up
_BRANDING_FIELDS = {
    "branding.layout": "layout",
    "branding.accent": "accent",
    "branding.font": "font",
    "branding.logo": "logo",
}


@runtime_checkable
class PagePreview(Protocol):
    def render_png(self, document: dict[str, Any], *, ppi: int = 72) -> bytes: ...


@dataclass(frozen=True)
class Editor:
    """The form as shown or as sent."""

    email: str
    invoice: int | None
    layout: str
    accent: str
    font: str  # "" = the layout's own
    footer: str
    remove_logo: bool
    draft: ut.EmailDraft


# -- reading state and form -------------------------------------------------------------------
def _stored(app: App, email: str, invoice: int | None) -> Editor:
    with app.uow(read_only=True) as uow:
        entity = uow.entities.first()
    b = entity.branding if entity else Branding()
    draft = ut.current_draft(email, uow=app.uow(read_only=True), templates=app.templates)
    return Editor(
        email=email,
        invoice=invoice,
        layout=b.layout,
        accent=b.accent,
        font=b.font or "",
        footer=entity.footer if entity else "",
        remove_logo=False,
        draft=draft,
    )


def _email_name(value: object) -> str:
    name = str(value or "invoice_email")
    return name if name in ut.EMAILS else "invoice_email"


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    # browsers send textarea lines with CRLF; templates are stored with LF
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


def _from_form(form: FormData) -> Editor:
    return Editor(
        email=_email_name(form.get("email")),
        invoice=_int_or_none(form.get("invoice")),
        layout=_text(form, "layout"),
        accent=_text(form, "accent").strip(),
        font=_text(form, "font"),
        footer=_text(form, "footer"),
        remove_logo=form.get("remove_logo") == "1",
        draft=ut.EmailDraft(
            subject=_text(form, "subject"), text=_text(form, "text"), html=_text(form, "html")
        ),
    )


async def _upload(form: FormData) -> tuple[bytes, str] | None:
    logo = form.get("logo")
    if not isinstance(logo, UploadFile) or not logo.filename:
        return None
    data = await logo.read(LOGO_MAX_BYTES + 1)
    return data, Branding.logo_format_of(logo.filename)


def _branding(app: App, ed: Editor, upload: tuple[bytes, str] | None) -> Branding:
    """The edited branding; raises ``InvalidValue`` naming the field."""
    with app.uow(read_only=True) as uow:
        entity = uow.entities.first()
    current = entity.branding if entity else Branding()
    logo, fmt = (current.logo, current.logo_format) if not ed.remove_logo else (None, None)
    if upload is not None:
        logo, fmt = upload
    return Branding(
        layout=ed.layout, accent=ed.accent, font=ed.font or None, logo=logo, logo_format=fmt
    )


def _field_of(exc: DomainError | ServiceError) -> str:
    field = exc.field or "form"
    return _BRANDING_FIELDS.get(field, field)


# -- the preview ----------------------------------------------------------------------------
def _signer(app: App) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(app.secret_key, salt="template-email-preview")


def _pdf_preview(app: App, ed: Editor, branding: Branding | None) -> dict[str, Any]:
    if ed.invoice is None:
        return {"pdf_error": "There is no invoice yet to preview with. Create a client and a "
                "draft invoice first; the preview then shows it in your design."}  # fmt: skip
    if branding is None:
        return {"pdf_error": "Fix the highlighted field to see the invoice."}
    renderer = app.renderer
    if not isinstance(renderer, PagePreview):
        return {"pdf_error": "This installation's renderer cannot draw previews."}
    try:
        doc = ut.preview_document(ed.invoice, branding, ed.footer, uow=app.uow(read_only=True))
    except (DomainError, ServiceError) as exc:
        return {"pdf_error": exc.message}
    if not _RENDERS.acquire(timeout=10):
        return {"pdf_error": "The server is busy drawing other previews; try again."}
    try:
        png = renderer.render_png(doc, ppi=PREVIEW_PPI)
    except Exception as exc:  # a render failure is shown, not a 500: the editor stays usable
        return {"pdf_error": f"The invoice could not be drawn: {exc}", "pdf_failed": True}
    finally:
        _RENDERS.release()
    return {"png": "data:image/png;base64," + base64.b64encode(png).decode()}


def _email_preview(app: App, user: UserRecord, ed: Editor) -> dict[str, Any]:
    try:
        context = ut.context_for(
            ed.email, ed.invoice, uow=app.uow(read_only=True), config=app.delivery_config
        )
        out = ut.check_email(ed.email, ed.draft, context, templates=app.templates)
    except (DomainError, ServiceError) as exc:
        return {"email_error": exc.message, "email_error_field": _field_of(exc)}
    token = _signer(app).dumps({"u": user.id, "h": out["html"]})
    frame = f"/templates/preview/email?p={token}" if len(token) <= MAX_FRAME_TOKEN else None
    return {"subject": out["subject"], "text": out["text"], "frame": frame}


def _preview(app: App, user: UserRecord, ed: Editor, upload: tuple[bytes, str] | None) -> Any:
    errors: dict[str, str] = {}
    branding: Branding | None = None
    try:
        branding = _branding(app, ed, upload)
    except InvalidValue as exc:
        errors[_field_of(exc)] = exc.message
    pdf = _pdf_preview(app, ed, branding)
    email = _email_preview(app, user, ed)
    if "email_error" in email:
        errors[email["email_error_field"]] = email["email_error"]
    return {**pdf, **email}, errors


# -- the page -------------------------------------------------------------------------------
def _page(
    request: Request,
    app: App,
    user: UserRecord,
    ed: Editor,
    *,
    preview: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    choices = ut.preview_choices(app.uow(read_only=True))
    try:
        context = ut.context_for(
            ed.email, ed.invoice, uow=app.uow(read_only=True), config=app.delivery_config
        )
    except NotFound:  # an invoice deleted since (or a made-up id): the sample's variables
        context = ut.sample_context(ed.email)
    with app.uow(read_only=True) as uow:
        history = uow.user_templates.history(ed.email, limit=5)
        entity = uow.entities.first()
    return render(
        request,
        "templates_editor.html",
        {
            "nav": "templates",
            "ed": ed,
            "emails": ut.EMAILS,
            "parts": ut.PARTS,
            "layouts": LAYOUTS,
            "fonts": FONTS,
            "has_logo": bool(entity and entity.branding.logo),
            "choices": choices,
            "variables": ut.variables(context),
            "history": history,
            "preview": preview,
            "errors": errors or {},
        },
        user=user,
        status_code=status_code,
    )


def _default_invoice(app: App, invoice: int | None) -> int | None:
    if invoice is not None:
        return invoice
    choices = ut.preview_choices(app.uow(read_only=True))
    return choices[0].id if choices else None  # drafts come first: the newest draft


@router.get("/templates")
def editor(
    request: Request, user: Reader, app: AppDep, email: str = "", invoice: str = ""
) -> Response:
    ed = _stored(app, _email_name(email), _default_invoice(app, _int_or_none(invoice)))
    preview, errors = _preview(app, user, ed, None)
    return _page(request, app, user, ed, preview=preview, errors=errors)


@router.post("/templates/preview")
async def preview(request: Request, user: Reader, app: AppDep) -> Response:
    await check_form_csrf(request)  # a preview changes nothing: a viewer may send it too
    form = await request.form()
    ed = _from_form(form)
    upload = await _upload(form)
    out, errors = _preview(app, user, ed, upload)
    if request.headers.get("HX-Request") == "true":
        return render(
            request,
            "_templates_preview.html",
            {"preview": out, "errors": errors, "ed": ed},
            user=user,
        )
    return _page(request, app, user, ed, preview=out, errors=errors)


@router.post("/templates/save")
async def save(request: Request, user: Writer, app: AppDep) -> Response:
    form = await request.form()
    ed = _from_form(form)
    upload = await _upload(form)
    out, errors = _preview(app, user, ed, upload)
    if out.get("pdf_failed") and upload is not None:  # the new logo cannot be drawn
        errors.setdefault("logo", out["pdf_error"])
    if errors:
        return _page(request, app, user, ed, preview=out, errors=errors, status_code=422)
    saved = _save(app, user, ed, upload)
    flash(request, "Saved: " + " and ".join(saved) + "." if saved else "Nothing had changed.")
    query = f"?email={ed.email}" + (f"&invoice={ed.invoice}" if ed.invoice else "")
    return RedirectResponse(f"/templates{query}", status_code=303)


def _save(app: App, user: UserRecord, ed: Editor, upload: tuple[bytes, str] | None) -> list[str]:
    """Store what changed (validated already); the names of what was saved."""
    stored = _stored(app, ed.email, ed.invoice)
    saved: list[str] = []
    look = replace(stored, email=ed.email, invoice=ed.invoice, draft=ed.draft)
    if look != ed or upload is not None:
        with app.uow(read_only=True) as uow:
            entity = uow.entities.first()
        if entity is not None:
            setup.update_entity_documents(
                entity.id,
                uow=app.uow(),
                clock=app.clock,
                actor=actor(user),
                branding=_branding(app, ed, upload),
                footer=ed.footer,
            )
            saved.append("the invoice design")
    if ed.draft != stored.draft:
        version = ut.save_email_template(
            ed.email,
            ed.draft,
            invoice_id=ed.invoice,
            uow=app.uow(),
            clock=app.clock,
            actor=actor(user),
            templates=app.templates,
            config=app.delivery_config,
        )
        saved.append(f"the {ut.EMAILS[ed.email].lower()} (version {version.version})")
    return saved


@router.post("/templates/reset")
async def reset(request: Request, user: Writer, app: AppDep) -> Response:
    form = await request.form()
    name = _email_name(form.get("email"))
    ut.reset_email_template(name, uow=app.uow(), clock=app.clock, actor=actor(user))
    flash(request, f"The {ut.EMAILS[name].lower()} is back to the default text.")
    invoice = _int_or_none(form.get("invoice"))
    query = f"?email={name}" + (f"&invoice={invoice}" if invoice else "")
    return RedirectResponse(f"/templates{query}", status_code=303)


@router.get("/templates/preview/email")
def email_frame(user: Reader, app: AppDep, p: str = "") -> Response:
    """The previewed HTML email, for the editor's sandboxed iframe only."""
    try:
        payload = _signer(app).loads(p, max_age=PREVIEW_MAX_AGE)
    except BadSignature as exc:
        raise NotFound("this preview has expired; preview again", field="p") from exc
    if not isinstance(payload, dict) or payload.get("u") != user.id:
        raise NotFound("this preview belongs to another session", field="p")
    return Response(
        str(payload.get("h", "")),
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": EMAIL_FRAME_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "private, no-store",
        },
    )


_THUMBNAILS: dict[str, bytes] = {}


@router.get("/templates/layouts/{layout}.png")
def layout_thumbnail(layout: str, _: Reader, app: AppDep) -> Response:
    """A small picture of a layout, drawn once per process from a sample invoice."""
    if layout not in LAYOUTS:
        raise NotFound(f"no layout {layout!r}", field="layout")
    png = _THUMBNAILS.get(layout)
    if png is None:
        from ...adapters.documents.pdf import sample_document

        renderer = app.renderer
        if not isinstance(renderer, PagePreview):
            raise NotFound("this installation draws no thumbnails", field="layout")
        doc = sample_document()
        doc["branding"] = {"layout": layout}
        png = _THUMBNAILS[layout] = renderer.render_png(doc, ppi=24)
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})
