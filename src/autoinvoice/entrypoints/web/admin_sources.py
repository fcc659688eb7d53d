"""Source pages: connect a product, watch its health, look into the raw requests it sent,
replay one, and edit its field map with a live preview against a recorded request.

* ``GET /sources`` — every source with its webhook URL and health badge;
* ``GET|POST /sources/new`` — connect a product (secrets entered once, never shown again);
* ``GET /sources/{name}`` — health, links, recent requests; ``POST …/enabled``,
  ``POST …/secrets`` (replace a secret), ``POST …/requests/{id}/replay``;
* ``GET /sources/{name}/requests/{id}`` — one request: headers (signatures redacted), the
  body pretty-printed, the canonical events it became;
* ``GET|POST /sources/{name}/mapping`` — the field-map editor; ``POST …/mapping/preview``
  answers htmx with the preview fragment (a viewer may preview: it changes nothing).

Every change goes through an audited service (``services/sources.py``,
``services/field_mapping.py``, ``services/ingest.py``); reads through
``services/source_health.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from ...bootstrap import App
from ...domain.errors import DomainError, InvalidValue
from ...services import field_mapping, ingest, source_health, sources
from ...services.connectors import SourceConfig
from ...services.errors import ServiceError
from ...services.ports import UserRecord
from .deps import AppDep, Reader, Writer, actor, check_form_csrf
from .pages import flash, render

router = APIRouter(include_in_schema=False)

STYLES = "/static/sources.css"
SAMPLE_LIMIT = 256 * 1024  # bytes of pasted sample body


@dataclass(frozen=True)
class Secret:
    field: str
    label: str
    help: str


@dataclass(frozen=True)
class Kind:
    label: str
    secrets: tuple[Secret, ...]
    options: str  # the options it understands, for the help text
    setup: str  # where to paste the webhook URL in the vendor's settings
    webhook: bool = True


_SIGNING = "signing_secret"
KINDS: dict[str, Kind] = {
    "hubspot": Kind(
        "HubSpot",
        (
            Secret(_SIGNING, "App client secret", "Signs HubSpot's webhooks (v3 signature)."),
            Secret("api_token", "Private app access token", "Reads won deals and line items."),
        ),
        "won_stages, lost_stages (JSON lists of deal stage ids)",
        "In your HubSpot app, open Webhooks, set the target URL to this address and "
        "subscribe to deal.propertyChange for dealstage (and amount).",
    ),
    "pipedrive": Kind(
        "Pipedrive",
        (
            Secret("basic_user", "Webhook user name", "HTTP Basic user Pipedrive sends."),
            Secret("basic_password", "Webhook password", "HTTP Basic password Pipedrive sends."),
            Secret("api_token", "API token", "Reads deals when polling."),
        ),
        "company_domain",
        "In Pipedrive open Tools and apps → Webhooks, create a webhook for change.deal with "
        "this URL and the HTTP Basic user name and password you entered here.",
    ),
    "jira": Kind(
        "Jira",
        (
            Secret(_SIGNING, "Webhook secret", "Jira signs each webhook with it."),
            Secret("basic_user", "Account e-mail", "The account the API token belongs to."),
            Secret("api_token", "API token", "Reads issues when polling."),
        ),
        "site, done_statuses, projects, timezone",
        "In Jira open System → WebHooks, create a webhook with this URL and secret for "
        "issue updated and version released.",
    ),
    "linear": Kind(
        "Linear",
        (
            Secret(_SIGNING, "Signing secret", "Shown by Linear when you create the webhook."),
            Secret("api_token", "API key", "Reads completed issues when polling."),
        ),
        "team",
        "In Linear open Settings → API → Webhooks, add this URL for Issues and Projects.",
    ),
    "asana": Kind(
        "Asana",
        (Secret("api_token", "Personal access token", "Reads tasks; registers the webhook."),),
        "project_gid",
        "Register a webhook for your project with this URL as target; Asana's handshake "
        "hands over the signing secret by itself.",
    ),
    "clickup": Kind(
        "ClickUp",
        (
            Secret(_SIGNING, "Webhook secret", "Returned by ClickUp when the webhook is made."),
            Secret("api_token", "API token", "Reads tasks."),
        ),
        "team_id",
        "Create a webhook in ClickUp (API or Automations) with this URL for taskStatusUpdated.",
    ),
    "github": Kind(
        "GitHub",
        (
            Secret(_SIGNING, "Webhook secret", "GitHub signs each delivery with it."),
            Secret("api_token", "Token", "Reads closed milestones when polling."),
        ),
        "repository",
        "In the repository open Settings → Webhooks → Add webhook: this URL, content type "
        "application/json, the secret above, events Issues and Milestones.",
    ),
    "toggl": Kind(
        "Toggl Track",
        (
            Secret(_SIGNING, "Subscription secret", "Signs Toggl's webhooks."),
            Secret("api_token", "API token", "Reads time entries when polling."),
        ),
        "workspace_id, people, timezone",
        "Create a Toggl webhook subscription with this URL for time_entry events.",
    ),
    "clockify": Kind(
        "Clockify",
        (
            Secret(_SIGNING, "Webhook signing token", "Shown by Clockify for the webhook."),
            Secret("api_token", "API key", "Reads time entries when polling."),
        ),
        "workspace_id, user_id, people, timezone, lookback_days",
        "In Clockify open Workspace settings → Webhooks, add this URL for new and updated "
        "time entries.",
    ),
    "generic": Kind(
        "Generic (Standard Webhooks)",
        (Secret(_SIGNING, "Signing secret (whsec_…)", "Standard Webhooks secret."),),
        "—",
        "Send JSON events in autoinvoice's generic format, signed as Standard Webhooks "
        "describes (webhook-id, webhook-timestamp, webhook-signature).",
    ),
    "harvest": Kind(
        "Harvest",
        (Secret("api_token", "Personal access token", "Reads time entries."),),
        "account_id (required), since, people, roles",
        "Harvest has no time-entry webhooks: set a poll interval and autoinvoice pulls new "
        "entries on it.",
        webhook=False,
    ),
    "csv": Kind(
        "CSV import",
        (),
        "—",
        "Import files with `autoinvoice import time|deals FILE --source NAME`.",
        webhook=False,
    ),
}


def _kind(kind: str) -> Kind:
    return KINDS.get(kind) or Kind(kind, (), "—", "")


def _url(app: App, src: Any) -> str:
    return source_health.webhook_url(app.settings.base_url, src)


def _duration(text: str, what: str) -> timedelta | None:
    """``90s``, ``15m``, ``2h``, ``3d`` → timedelta; blank → None."""
    text = text.strip().lower()
    if not text:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        amount = int(text[:-1])
        if amount <= 0:
            raise ValueError
        return timedelta(seconds=amount * units[text[-1]])
    except (KeyError, ValueError):
        raise InvalidValue(f"{text!r} is not a duration like 15m, 2h or 3d", field=what) from None


def _options(text: str) -> dict[str, Any]:
    """``key=value`` lines (JSON values allowed) → options."""
    out: dict[str, Any] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise InvalidValue(f"line {n}: {line!r} is not key=value", field="options")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value.strip()
    return out


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# -- list and connect ------------------------------------------------------------------------
@router.get("/sources")
def sources_page(request: Request, user: Reader, app: AppDep) -> Response:
    rows = source_health.list_sources(uow=app.uow(read_only=True), clock=app.clock)
    return render(
        request,
        "sources.html",
        {
            "nav": "sources",
            "rows": [(s, _kind(s.source.kind), _url(app, s.source)) for s in rows],
        },
        user=user,
    )


def _new_page(
    request: Request,
    user: UserRecord,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    kind = form.get("kind") or ""
    return render(
        request,
        "source_new.html",
        {
            "nav": "sources",
            "kinds": KINDS,
            "kind": kind if kind in KINDS else "",
            "info": KINDS.get(kind),
            "form": form,
            "errors": errors or {},
        },
        user=user,
        status_code=status_code,
    )


@router.get("/sources/new")
def new_source_page(request: Request, user: Reader, kind: str = "") -> Response:
    return _new_page(request, user, {"kind": kind})


@router.post("/sources/new")
async def new_source(request: Request, user: Writer, app: AppDep) -> Response:
    form = await request.form()
    kind = _text(form, "kind")
    # what is typed comes back on an error; secrets never do
    kept = {
        k: _text(form, k)
        for k in ("kind", "name", "api_base", "options", "max_age", "poll_interval")
    }
    if _text(form, "step") == "kind":  # "Continue" after choosing a kind (works without JS)
        return _new_page(request, user, kept)
    info = KINDS.get(kind)
    secret_fields = [s.field for s in info.secrets] if info else []
    values = {f: _text(form, f"secret_{f}").strip() for f in secret_fields}
    try:
        name = _text(form, "name").strip()
        if name == "new" or "/" in name or len(name) > 100:
            raise InvalidValue(
                "a source name has at most 100 characters, no “/”, and is not “new”",
                field="name",
            )
        new = sources.NewSource(
            kind=kind,
            name=_text(form, "name"),
            secrets={k: v for k, v in values.items() if v},
            api_base=_text(form, "api_base").strip() or None,
            options=_options(_text(form, "options")),
            max_age=_duration(_text(form, "max_age"), "max_age"),
            poll_interval=_duration(_text(form, "poll_interval"), "poll_interval"),
        )
        src = sources.add_source(
            new,
            uow=app.uow(),
            clock=app.clock,
            box=app.box,
            actor=actor(user),
            kinds=app.source_kinds,
        )
    except (DomainError, ServiceError) as exc:
        where = exc.field or "name"
        return _new_page(request, user, kept, {where: exc.message}, status_code=422)
    flash(request, f"Source {src.name} connected. Its secrets are stored encrypted.")
    return RedirectResponse(f"/sources/{quote(src.name, safe='')}?connected=1", status_code=303)


# -- one source ------------------------------------------------------------------------------
@router.get("/sources/{name}")
def source_page(request: Request, name: str, user: Reader, app: AppDep) -> Response:
    page = source_health.source_page(
        name, uow=app.uow(read_only=True), clock=app.clock, box=app.box
    )
    src = page.status.source
    return render(
        request,
        "source.html",
        {
            "nav": "sources",
            "page": page,
            "src": src,
            "info": _kind(src.kind),
            "url": _url(app, src),
            "connected": request.query_params.get("connected") == "1",
        },
        user=user,
    )


def _back(name: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/sources/{quote(name, safe='')}{anchor}", status_code=303)


@router.post("/sources/{name}/enabled")
async def set_enabled(request: Request, name: str, user: Writer, app: AppDep) -> Response:
    form = await request.form()
    enabled = _text(form, "enabled") == "1"
    sources.set_source_enabled(name, enabled, uow=app.uow(), clock=app.clock, actor=actor(user))
    flash(
        request,
        f"Source {name} is on again: its webhooks are accepted and it is polled."
        if enabled
        else f"Source {name} is off: its webhooks are refused and it is not polled.",
    )
    return _back(name)


@router.post("/sources/{name}/secrets")
async def replace_secret(request: Request, name: str, user: Writer, app: AppDep) -> Response:
    form = await request.form()
    field = _text(form, "field")
    value = _text(form, "value").strip()
    if not value:
        flash(request, "Nothing was changed: type the new secret first.")
        return _back(name, "#secrets")
    try:
        sources.set_source_secrets(
            name, {field: value}, uow=app.uow(), clock=app.clock, box=app.box, actor=actor(user)
        )
    except (DomainError, ServiceError) as exc:
        flash(request, f"The secret was not replaced: {exc.message}")
        return _back(name, "#secrets")
    flash(request, "Secret replaced. The old one no longer verifies requests.")
    return _back(name, "#secrets")


@router.get("/sources/{name}/requests/{inbound_id:int}")
def request_page(
    request: Request, name: str, inbound_id: int, user: Reader, app: AppDep
) -> Response:
    detail = source_health.request_detail(
        name, inbound_id, uow=app.uow(read_only=True), clock=app.clock, box=app.box
    )
    return render(
        request,
        "source_request.html",
        {"nav": "sources", "d": detail, "src": detail.status.source},
        user=user,
    )


@router.post("/sources/{name}/requests/{inbound_id:int}/replay")
def replay(request: Request, name: str, inbound_id: int, user: Writer, app: AppDep) -> Response:
    # the request must be this source's: the detail query says NotFound otherwise
    source_health.load_request(name, inbound_id, uow=app.uow(read_only=True))
    ingest.replay_inbound(inbound_id, uow=app.uow(), clock=app.clock, actor=actor(user))
    flash(
        request,
        f"Request {inbound_id} is queued to be processed again; the worker picks it up within "
        "seconds. Events already applied are not applied twice — refresh to see the result.",
    )
    return _back(name, "#requests")


# -- the field-map editor --------------------------------------------------------------------
@dataclass
class Editor:
    rows: list[tuple[str, str]]
    allow_override: bool
    inbound_id: int | None
    sample: str
    path_filter: str


def _editor(form: FormData) -> Editor:
    names = [v if isinstance(v, str) else "" for v in form.getlist("field_name")]
    paths = [v if isinstance(v, str) else "" for v in form.getlist("field_path")]
    rows = list(zip(names, paths + [""] * (len(names) - len(paths)), strict=False))
    removed = _text(form, "remove")
    if removed.isdigit() and int(removed) < len(rows):
        del rows[int(removed)]
    picked = _text(form, "inbound_id")
    return Editor(
        rows=rows,
        allow_override=_text(form, "allow_override") == "1",
        inbound_id=int(picked) if picked.isdigit() else None,
        sample=_text(form, "sample")[:SAMPLE_LIMIT],
        path_filter=_text(form, "path_filter").strip(),
    )


def _preview(app: App, name: str, editor: Editor) -> dict[str, Any]:
    """The preview's context: the recorded request (or pasted sample) and what the
    connector makes of it with the edited map."""
    with app.uow(read_only=True) as uow:
        src = uow.sources.by_name(name)
    recorded = source_health.recorded_requests(name, uow=app.uow(read_only=True))
    field_map, errors = field_mapping.check_field_map(editor.rows, allow_override=True)
    ctx: dict[str, Any] = {
        "recorded": recorded,
        "preview": None,
        "preview_source": None,
        "map_errors": errors,
        "path_filter": editor.path_filter,
    }
    try:
        connector = app.connector_for(src.kind)
    except KeyError:
        ctx["no_preview"] = f"A {_kind(src.kind).label} source sends no webhooks to preview."
        return ctx
    headers: dict[str, str] = {}
    if editor.sample.strip():
        body = editor.sample.encode()
        ctx["preview_source"] = "the pasted sample"
    elif recorded:
        chosen = editor.inbound_id or recorded[0].id
        headers, body = source_health.load_request(name, chosen, uow=app.uow(read_only=True))
        ctx["preview_source"] = f"request #{chosen}"
        ctx["chosen"] = chosen
    else:
        return ctx
    config = SourceConfig(src.name, src.config.api_base, src.config.options, {})
    ctx["preview"] = field_mapping.preview_mapping(connector, headers, body, config, field_map)
    return ctx


def _mapping_page(
    request: Request,
    user: UserRecord,
    app: AppDep,
    name: str,
    editor: Editor | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with app.uow(read_only=True) as uow:
        src = uow.sources.by_name(name)
    if editor is None:
        editor = Editor(list(src.config.field_map.items()), False, None, "", "")
    rows = [*editor.rows, ("", "")] if not editor.rows or any(editor.rows[-1]) else editor.rows
    return render(
        request,
        "source_mapping.html",
        {
            "nav": "sources",
            "src": src,
            "info": _kind(src.kind),
            "rows": rows,
            "editor": editor,
            "errors": errors or {},
            "canonical": sorted(field_mapping.CANONICAL_FIELDS),
            **_preview(app, name, editor),
        },
        user=user,
        status_code=status_code,
    )


@router.get("/sources/{name}/mapping")
def mapping_page(
    request: Request, name: str, user: Reader, app: AppDep, inbound_id: int | None = None
) -> Response:
    with app.uow(read_only=True) as uow:
        src = uow.sources.by_name(name)
    editor = Editor(list(src.config.field_map.items()), False, inbound_id, "", "")
    return _mapping_page(request, user, app, name, editor)


@router.post("/sources/{name}/mapping")
async def save_mapping(request: Request, name: str, user: Writer, app: AppDep) -> Response:
    form = await request.form()
    editor = _editor(form)
    action = _text(form, "action")
    if action == "add":
        editor.rows.append(("", ""))
    if action in ("add", "preview") or _text(form, "remove"):
        return _mapping_page(request, user, app, name, editor)
    _, errors = field_mapping.check_field_map(editor.rows, allow_override=editor.allow_override)
    if errors:
        return _mapping_page(request, user, app, name, editor, errors, status_code=422)
    saved = field_mapping.update_field_map(
        name,
        editor.rows,
        allow_override=editor.allow_override,
        uow=app.uow(),
        clock=app.clock,
        actor=actor(user),
    )
    flash(
        request,
        f"Field map of {name} saved ({len(saved)} field{'s' if len(saved) != 1 else ''}). "
        "It applies to requests processed from now on; replay a request to apply it there.",
    )
    return RedirectResponse(f"/sources/{quote(name, safe='')}/mapping", status_code=303)


@router.post("/sources/{name}/mapping/preview")
async def mapping_preview(request: Request, name: str, user: Reader, app: AppDep) -> Response:
    """The preview fragment for htmx; without htmx the whole page (a preview changes
    nothing, so a viewer may ask for one)."""
    await check_form_csrf(request)
    editor = _editor(await request.form())
    if request.headers.get("HX-Request") != "true":
        return _mapping_page(request, user, app, name, editor)
    return render(
        request,
        "_source_preview_htmx.html",
        {"src_name": name, **_preview(app, name, editor)},
        user=user,
    )
