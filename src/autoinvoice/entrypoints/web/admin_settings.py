"""Settings: numbering series, taxes and payment terms, reminder policy, SMTP, sandbox mode,
users and roles, API keys — one page per tab under ``/settings``.

    GET  /settings                         → /settings/numbering
    GET  /settings/numbering               series of each issuing entity, next numbers
    POST /settings/numbering/{id}          change a series' format (numbers not yet issued)
    POST /settings/numbering/new           add a series
    POST /settings/numbering/preview       the next number in a format being typed (htmx)
    GET  /settings/taxes    POST           default tax kind per entity, default payment terms
    GET  /settings/reminders POST          the organisation's reminder ladder
    GET  /settings/email    POST           the SMTP server (owner); /email/test, /email/forget
    GET  /settings/sandbox  POST           sandbox mode per entity (owner)
    GET  /settings/users    POST           add a user (owner); /users/{id}/role, /users/{id}/remove
    GET  /settings/api-keys POST           create a key (owner); /api-keys/{id}/revoke

Who may change what: owner and accountant the series, taxes, terms and reminders; only the
owner SMTP, sandbox mode, users and API keys; a viewer nothing. Every page says so, and hides
the forms a user may not send. New secrets (a generated password, an API key) are shown once
on the page that answers the POST — never put in the session, a redirect or a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from ...domain.dunning import FeeKind, ReminderPolicy, Tone
from ...domain.errors import DomainError
from ...domain.recurrence import zone
from ...domain.tax import TaxKind
from ...services import accounts, reminders, setup, team
from ...services import installation_settings as settings_service
from ...services.errors import NotFound, ServiceError
from ...services.ports import UserRecord
from ...services.reminder_wording import reminder_labels_for
from .deps import AppDep, Owner, Reader, Writer, actor, check_form_csrf
from .pages import flash, render

router = APIRouter(include_in_schema=False)

TABS = (
    ("numbering", "Numbering"),
    ("taxes", "Taxes & terms"),
    ("reminders", "Reminders"),
    ("email", "Email (SMTP)"),
    ("sandbox", "Sandbox"),
    ("users", "Users"),
    ("api-keys", "API keys"),
)
TERMS = ("receipt", "net:7", "net:14", "net:30", "net:45", "net:60", "eom:15", "eom:30")
TAX_KIND_LABELS = {
    "standard": "Standard rate",
    "reduced": "Reduced rate",
    "zero": "Zero rated",
    "exempt": "Exempt",
}
SCOPE_HELP = {
    "read": "Read invoices, clients, payments and reports.",
    "write": "Also create and change them (the key's user must be owner or accountant).",
    "admin": "Also manage users, keys and settings.",
}
EXTRA_STEP_ROWS = 2


def _today(app: Any) -> date:
    return app.clock.now().astimezone(zone("UTC")).date()


def _page(
    request: Request,
    user: UserRecord,
    tab: str,
    template: str,
    context: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        template,
        {
            "nav": "settings",
            "tab": tab,
            "tabs": TABS,
            "is_owner": accounts.can_administer(user.role),
            "errors": {},
            **context,
        },
        user=user,
        status_code=status_code,
    )


def _error(exc: DomainError | ServiceError) -> dict[str, str]:
    return {exc.field or "form": exc.message}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.get("/settings")
def settings_home() -> Response:
    return RedirectResponse("/settings/numbering", status_code=303)


# -- numbering --------------------------------------------------------------------------------
def _series_context(app: Any, today: date) -> dict[str, Any]:
    rows = settings_service.list_series(uow=app.uow(read_only=True))
    with app.uow(read_only=True) as uow:
        names = {i: uow.entities.get(i).party.name for i in {r.record.entity_id for r in rows}}
    groups: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        seq, number = settings_service.next_number(r, today)
        groups.setdefault(r.record.entity_id, []).append(
            {"row": r, "seq": seq, "next": number, "first": not groups.get(r.record.entity_id)}
        )
    missing_cn = [
        eid
        for eid, items in groups.items()
        if not any(i["row"].record.name == settings_service.CREDIT_NOTE_SERIES for i in items)
    ]
    return {"groups": groups, "entity_names": names, "missing_cn": missing_cn, "today": today}


@router.get("/settings/numbering")
def numbering_page(request: Request, user: Reader, app: AppDep) -> Response:
    return _page(
        request, user, "numbering", "settings_numbering.html", _series_context(app, _today(app))
    )


@router.post("/settings/numbering/preview")
async def numbering_preview(request: Request, user: Reader, app: AppDep) -> Response:
    """The next number in the format being typed: a fragment for htmx, or the whole page."""
    await check_form_csrf(request)
    form = await request.form()
    today = _today(app)
    try:
        seq = max(int(_text(form, "seq") or "1"), 1)
    except ValueError:
        seq = 1
    try:
        shown = settings_service.preview_number(
            _text(form, "pattern"), form.get("yearly_reset") == "1", seq, today
        )
        error = None
    except DomainError as exc:
        shown, error = None, exc.message
    if request.headers.get("HX-Request") == "true":
        templates = request.app.state.templates
        html = templates.get_template("settings_preview.html").render(
            {"shown": shown, "error": error}
        )
        return HTMLResponse(html)
    context = _series_context(app, today)
    context["preview"] = {"key": _text(form, "key"), "shown": shown, "error": error}
    return _page(request, user, "numbering", "settings_numbering.html", context)


@router.post("/settings/numbering/new")
async def numbering_add(request: Request, user: Writer, app: AppDep) -> Response:
    form = await request.form()
    try:
        settings_service.add_series(
            int(_text(form, "entity_id") or "0"),
            _text(form, "name"),
            _text(form, "pattern"),
            form.get("yearly_reset") == "1",
            uow=app.uow(),
            clock=app.clock,
            actor=actor(user),
        )
    except (DomainError, ServiceError) as exc:
        context = _series_context(app, _today(app))
        context.update(errors=_error(exc), failed="new", form=dict(form))
        return _page(request, user, "numbering", "settings_numbering.html", context, 422)
    flash(request, f"Series {_text(form, 'name')} added.")
    return RedirectResponse("/settings/numbering", status_code=303)


@router.post("/settings/numbering/{series_id}")
async def numbering_change(series_id: int, request: Request, user: Writer, app: AppDep) -> Response:
    form = await request.form()
    try:
        changed = settings_service.change_series(
            series_id,
            _text(form, "pattern"),
            form.get("yearly_reset") == "1",
            uow=app.uow(),
            clock=app.clock,
            actor=actor(user),
            today=_today(app),
        )
    except NotFound:
        raise
    except (DomainError, ServiceError) as exc:
        context = _series_context(app, _today(app))
        context.update(errors=_error(exc), failed=series_id, form=dict(form))
        return _page(request, user, "numbering", "settings_numbering.html", context, 422)
    flash(request, f"Series {changed.name} saved; issued numbers are unchanged.")
    return RedirectResponse("/settings/numbering", status_code=303)


# -- taxes and terms --------------------------------------------------------------------------
def _taxes_context(app: Any) -> dict[str, Any]:
    return {
        "entities": settings_service.entity_taxes(uow=app.uow(read_only=True)),
        "in_use": settings_service.taxes_in_use(uow=app.uow(read_only=True)),
        "terms": settings_service.default_terms(uow=app.uow(read_only=True)),
        "terms_choices": [(c, _describe_terms(c)) for c in TERMS],
        "kind_labels": TAX_KIND_LABELS,
        "kinds": [k.value for k in TaxKind],
    }


def _describe_terms(code: str) -> str:
    from ...domain.terms import PaymentTerms

    return PaymentTerms.parse(code).describe()


@router.get("/settings/taxes")
def taxes_page(request: Request, user: Reader, app: AppDep) -> Response:
    return _page(request, user, "taxes", "settings_taxes.html", _taxes_context(app))


@router.post("/settings/taxes")
async def taxes_save(request: Request, user: Writer, app: AppDep) -> Response:
    form = await request.form()
    kinds = {
        int(k.removeprefix("tax_kind_")): str(v)
        for k, v in form.multi_items()
        if k.startswith("tax_kind_") and k.removeprefix("tax_kind_").isdigit()
    }
    try:
        settings_service.set_defaults(
            _text(form, "terms"), kinds, uow=app.uow(), clock=app.clock, actor=actor(user)
        )
    except (DomainError, ServiceError) as exc:
        context = _taxes_context(app)
        context["errors"] = _error(exc)
        return _page(request, user, "taxes", "settings_taxes.html", context, 422)
    flash(request, "Defaults saved. New clients and contracts start with them.")
    return RedirectResponse("/settings/taxes", status_code=303)


# -- reminders --------------------------------------------------------------------------------
def _step_rows(policy: ReminderPolicy) -> list[dict[str, Any]]:
    rows = [
        {
            "offset": str(s.offset_days),
            "tone": s.tone.value,
            "fee": s.fee.kind.value if s.fee else "",
            "amount": str(s.fee.amount) if s.fee and s.fee.amount else "",
            "rate": str(s.fee.rate) if s.fee and s.fee.rate else "",
        }
        for s in policy.steps
    ]
    return rows + [
        {"offset": "", "tone": "firm", "fee": "", "amount": "", "rate": ""}
        for _ in range(EXTRA_STEP_ROWS)
    ]


def _reminders_context(app: Any) -> dict[str, Any]:
    policy, source = reminders.policy_for(None, uow=app.uow(read_only=True))
    return {
        "policy": policy,
        "source": source,
        "rows": _step_rows(policy),
        "tones": [t.value for t in Tone],
        "fee_kinds": [k.value for k in FeeKind],
        "wording": reminder_labels_for("en"),
    }


def _form_rows(form: FormData) -> list[dict[str, str]]:
    count = min(int(_text(form, "rows") or "0") if _text(form, "rows").isdigit() else 0, 40)
    keys = ("offset", "tone", "fee", "amount", "rate")
    return [{k: _text(form, f"{k}_{i}") for k in keys} for i in range(count)]


def _parse_steps(rows: list[dict[str, str]], enabled: bool) -> tuple[dict[str, Any], list[int]]:
    """The ladder from the form rows (blank rows skipped) in day order, and the form row of
    each step; a day used twice is an error naming the row."""
    steps: list[tuple[int, int, dict[str, Any]]] = []
    seen: set[int] = set()
    for i, row in enumerate(rows):
        if not row["offset"]:
            continue
        try:
            offset = int(row["offset"])
        except ValueError:
            raise _RowError(
                f"row-{i}", f"{row['offset']!r} is not a whole number of days"
            ) from None
        if offset in seen:
            raise _RowError(f"row-{i}", f"two steps on day {offset}; give each step its own day")
        seen.add(offset)
        step: dict[str, Any] = {"offset_days": offset, "tone": row["tone"] or "firm"}
        if row["fee"]:
            step["fee"] = {
                "kind": row["fee"],
                "amount": row["amount"] or "0",
                "rate": row["rate"] or "0",
            }
        steps.append((offset, i, step))
    steps.sort(key=lambda x: x[0])
    return {"enabled": enabled, "steps": [s for _, _, s in steps]}, [i for _, i, _ in steps]


class _RowError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@router.get("/settings/reminders")
def reminders_page(request: Request, user: Reader, app: AppDep) -> Response:
    return _page(request, user, "reminders", "settings_reminders.html", _reminders_context(app))


@router.post("/settings/reminders")
async def reminders_save(request: Request, user: Writer, app: AppDep) -> Response:
    form = await request.form()
    rows, enabled = _form_rows(form), form.get("enabled") == "1"
    order: list[int] = []
    try:
        definition, order = _parse_steps(rows, enabled)
        rules = reminders.country_rules(uow=app.uow(read_only=True))
        if rules:
            definition["rules"] = rules
        reminders.set_policy(
            definition, client_id=None, uow=app.uow(), clock=app.clock, actor=actor(user)
        )
    except (DomainError, ServiceError, _RowError) as exc:
        context = _reminders_context(app)
        context.update(
            errors={_row_field(exc.field or "form", order): exc.message},
            rows=rows or context["rows"],
            enabled=enabled,
        )
        return _page(request, user, "reminders", "settings_reminders.html", context, 422)
    flash(request, "Reminder policy saved. It applies from the next reminder run.")
    return RedirectResponse("/settings/reminders", status_code=303)


def _row_field(field: str, order: list[int]) -> str:
    """``steps[2].fee.amount`` (domain, day order) → ``row-5`` (the form row at fault)."""
    if not field.startswith("steps["):
        return field
    index = int(field[6 : field.index("]")])
    return f"row-{order[index] if index < len(order) else index}"


# -- SMTP -------------------------------------------------------------------------------------
def _email_context(app: Any, user: UserRecord) -> dict[str, Any]:
    stored = settings_service.smtp_settings(uow=app.uow(read_only=True))
    env = app.settings
    return {
        "smtp": stored,
        "env_host": env.smtp_host,
        "env_folder": str((env.data_dir / "mail").resolve()),
        "test_to": user.email,
        "securities": [
            ("starttls", "STARTTLS (usually port 587)"),
            ("tls", "TLS (usually port 465)"),
            ("none", "None (port 25, local relays only)"),
        ],
    }


@router.get("/settings/email")
def email_page(request: Request, user: Reader, app: AppDep) -> Response:
    return _page(request, user, "email", "settings_email.html", _email_context(app, user))


@router.post("/settings/email")
async def email_save(request: Request, user: Owner, app: AppDep) -> Response:
    form = await request.form()
    try:
        settings_service.save_smtp(
            host=_text(form, "host"),
            port=_text(form, "port"),
            security=_text(form, "security"),
            username=_text(form, "username"),
            password=str(form.get("password") or ""),
            from_address=_text(form, "from_address"),
            clear_password=form.get("clear_password") == "1",
            uow=app.uow(),
            clock=app.clock,
            box=app.box,
            actor=actor(user),
        )
    except (DomainError, ServiceError) as exc:
        context = _email_context(app, user)
        form_values = {k: v for k, v in form.items() if k not in ("password", "csrf_token")}
        context.update(errors=_error(exc), form=form_values)
        return _page(request, user, "email", "settings_email.html", context, 422)
    flash(request, "SMTP settings saved. Emails go through this server from now on.")
    return RedirectResponse("/settings/email", status_code=303)


@router.post("/settings/email/test")
async def email_test(request: Request, user: Owner, app: AppDep) -> Response:
    from ...adapters.email.stored import smtp_mailer

    form = await request.form()
    context = _email_context(app, user)
    try:
        ok, answer = settings_service.send_test_email(
            _text(form, "to"),
            uow=app.uow(),
            clock=app.clock,
            box=app.box,
            actor=actor(user),
            mailer_for=smtp_mailer,
        )
    except (DomainError, ServiceError) as exc:
        context.update(errors=_error(exc), test_to=_text(form, "to"))
        return _page(request, user, "email", "settings_email.html", context, 422)
    context.update(test={"ok": ok, "answer": answer}, test_to=_text(form, "to"))
    return _page(request, user, "email", "settings_email.html", context)


@router.post("/settings/email/forget")
async def email_forget(request: Request, user: Owner, app: AppDep) -> Response:
    settings_service.forget_smtp(uow=app.uow(), clock=app.clock, actor=actor(user))
    flash(request, "SMTP settings removed; mail goes by the server's environment settings again.")
    return RedirectResponse("/settings/email", status_code=303)


# -- sandbox ----------------------------------------------------------------------------------
def _sandbox_context(app: Any) -> dict[str, Any]:
    with app.uow(read_only=True) as uow:
        entities = [uow.entities.get(i) for i in uow.installation.entity_ids()]
    return {"entities": entities, "env_sandbox": app.settings.mail_sandbox_to}


@router.get("/settings/sandbox")
def sandbox_page(request: Request, user: Reader, app: AppDep) -> Response:
    return _page(request, user, "sandbox", "settings_sandbox.html", _sandbox_context(app))


@router.post("/settings/sandbox/{entity_id}")
async def sandbox_save(entity_id: int, request: Request, user: Owner, app: AppDep) -> Response:
    form = await request.form()
    turn_on = form.get("action") != "off"
    address = _text(form, "sandbox_to") if turn_on else None
    try:
        if turn_on and not address:
            raise _RowError("sandbox_to", "enter the test inbox that should receive every email")
        setup.set_sandbox(entity_id, address, uow=app.uow(), clock=app.clock, actor=actor(user))
    except (DomainError, ServiceError, _RowError) as exc:
        context = _sandbox_context(app)
        field = "sandbox_to" if (exc.field or "").startswith("sandbox_to") else exc.field
        context.update(errors={f"{field}-{entity_id}": exc.message}, form=dict(form))
        return _page(request, user, "sandbox", "settings_sandbox.html", context, 422)
    flash(
        request,
        f"Sandbox mode on: every email goes to {address}." if address else "Sandbox mode off.",
    )
    return RedirectResponse("/settings/sandbox", status_code=303)


# -- users ------------------------------------------------------------------------------------
def _users_context(app: Any) -> dict[str, Any]:
    return {
        "users": team.list_users(uow=app.uow(read_only=True)),
        "roles": [r.value for r in accounts.Role],
        "role_help": team.ROLE_HELP,
        "min_password": accounts.MIN_PASSWORD,
    }


@router.get("/settings/users")
def users_page(request: Request, user: Reader, app: AppDep) -> Response:
    return _page(request, user, "users", "settings_users.html", _users_context(app))


@router.post("/settings/users")
async def users_add(request: Request, user: Owner, app: AppDep) -> Response:
    form = await request.form()
    context = _users_context(app)
    try:
        _, made = team.invite_user(
            _text(form, "email"),
            _text(form, "role"),
            str(form.get("password") or "") or None,
            uow=app.uow(),
            clock=app.clock,
            hasher=app.hasher,
            actor=actor(user),
        )
    except (DomainError, ServiceError) as exc:
        context.update(
            errors=_error(exc), form={"email": _text(form, "email"), "role": _text(form, "role")}
        )
        return _page(request, user, "users", "settings_users.html", context, 422)
    context = _users_context(app)
    context["created"] = {"email": _text(form, "email").lower(), "password": made}
    return _page(request, user, "users", "settings_users.html", context)


@router.post("/settings/users/{user_id}/role")
async def users_role(user_id: int, request: Request, user: Owner, app: AppDep) -> Response:
    form = await request.form()
    try:
        team.change_role(user_id, _text(form, "role"), uow=app.uow(), clock=app.clock, by=user)
    except NotFound:
        raise
    except (DomainError, ServiceError) as exc:
        context = _users_context(app)
        context["errors"] = {f"user-{user_id}": exc.message}
        return _page(request, user, "users", "settings_users.html", context, 422)
    flash(request, "Role changed.")
    return RedirectResponse("/settings/users", status_code=303)


@router.post("/settings/users/{user_id}/remove")
async def users_remove(user_id: int, request: Request, user: Owner, app: AppDep) -> Response:
    try:
        email = team.remove_user(user_id, uow=app.uow(), clock=app.clock, by=user)
    except NotFound:
        raise
    except (DomainError, ServiceError) as exc:
        context = _users_context(app)
        context["errors"] = {f"user-{user_id}": exc.message}
        return _page(request, user, "users", "settings_users.html", context, 422)
    flash(request, f"{email} removed; their API keys no longer work.")
    return RedirectResponse("/settings/users", status_code=303)


# -- API keys ---------------------------------------------------------------------------------
def _keys_context(app: Any, user: UserRecord) -> dict[str, Any]:
    shown = accounts.can_administer(user.role)
    return {
        "keys": team.list_keys(uow=app.uow(read_only=True)) if shown else [],
        "scopes": list(accounts.SCOPES),
        "scope_help": SCOPE_HELP,
    }


@router.get("/settings/api-keys")
def keys_page(request: Request, user: Reader, app: AppDep) -> Response:
    return _page(request, user, "api-keys", "settings_keys.html", _keys_context(app, user))


@router.post("/settings/api-keys")
async def keys_create(request: Request, user: Owner, app: AppDep) -> Response:
    form = await request.form()
    label = _text(form, "name")
    scopes = [str(s) for s in form.getlist("scopes")]
    try:
        if not label:
            raise _RowError("name", "give the key a label, e.g. the system that will use it")
        if len(label) > 100:
            raise _RowError("name", "keep the label under 100 characters")
        key = accounts.create_api_key(
            user.id, label, scopes, uow=app.uow(), clock=app.clock, actor=actor(user)
        )
    except (DomainError, ServiceError, _RowError) as exc:
        context = _keys_context(app, user)
        context.update(
            errors={exc.field or "form": exc.message}, form={"name": label, "scopes": scopes}
        )
        return _page(request, user, "api-keys", "settings_keys.html", context, 422)
    context = _keys_context(app, user)
    context["created"] = {"name": label, "key": key}
    return _page(request, user, "api-keys", "settings_keys.html", context)


@router.post("/settings/api-keys/{key_id}/revoke")
async def keys_revoke(key_id: int, request: Request, user: Owner, app: AppDep) -> Response:
    known = {k.id: k for k in team.list_keys(uow=app.uow(read_only=True))}
    if key_id not in known:
        raise NotFound(f"API key {key_id} does not exist", field="key_id")
    if known[key_id].revoked_at is None:
        accounts.revoke_api_key(key_id, uow=app.uow(), clock=app.clock, actor=actor(user))
    flash(request, f"Key {known[key_id].name} revoked; requests with it are refused from now on.")
    return RedirectResponse("/settings/api-keys", status_code=303)
