"""Client pages: create and edit a client's billing data.

    GET  /clients/new              the empty form (owner and accountant)
    POST /clients/new              create; 303 to /clients, or the form again with errors (422)
    GET  /clients/{id}/edit        the form with the client's data
    POST /clients/{id}/edit        save; 303 to /clients, or the form again with errors (422)

The billing fields are checked by the same rules as the client intake form
(``domain.intake.IntakeForm``: ISO countries and regions, postal code shapes, tax ids with
python-stdnum, email addresses), so a client typed in here and one who fills in the form
themselves meet one standard. Every problem is reported at once, beside its field; nothing
is stored until the whole form is valid. Saving goes through ``services.setup`` (audited as
``client.created`` / ``client.updated``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from babel import Locale
from babel.numbers import get_currency_name, get_territory_currencies, list_currencies
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ...domain.errors import DomainError
from ...domain.intake import (
    PAYMENT_METHODS,
    POSTAL_CODES,
    REGION_REQUIRED,
    IntakeForm,
    country_choices,
    region_groups,
)
from ...domain.money import check_currency
from ...domain.parties import Party
from ...domain.recurrence import zone
from ...domain.terms import PaymentTerms
from ...services import installation_settings, setup
from ...services.accounts import can_write
from ...services.errors import Forbidden
from ...services.labels import LANGUAGES
from ...services.ports import ClientRecord, EntityRecord, UserRecord
from .deps import AppDep, Reader, Writer, actor
from .pages import LOCALE, flash, render

router = APIRouter(include_in_schema=False)

TERMS = ("receipt", "net:7", "net:14", "net:30", "net:45", "net:60", "eom:15", "eom:30")
EXTRA_FIELDS = ("kind", "currency", "terms", "language", "timezone")


# -- choices -----------------------------------------------------------------------------------
@cache
def currency_choices() -> list[tuple[str, str]]:
    codes = sorted(c for c in list_currencies() if len(c) == 3 and c.isalpha())
    return [(c, f"{c} — {get_currency_name(c, locale=LOCALE)}") for c in codes]


@cache
def timezone_choices() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))


@cache
def language_choices() -> list[tuple[str, str]]:
    out = []
    for code in LANGUAGES:
        try:
            name = Locale.parse(code).get_display_name(LOCALE) or code
        except (ValueError, TypeError):
            name = code
        out.append((code, f"{name} ({code})"))
    return sorted(out, key=lambda p: p[1].casefold())


def terms_choices(current: str | None = None) -> list[tuple[str, str]]:
    codes = list(TERMS) + ([current] if current and current not in TERMS else [])
    return [(c, PaymentTerms.parse(c).describe()) for c in codes]


def currency_for(country: str | None) -> str:
    """The currency a country uses today (CLDR), EUR when unknown."""
    if not country:
        return "EUR"
    found = get_territory_currencies(country, tender=True, non_tender=False)
    return found[0] if found else "EUR"


def choices(country: str = "") -> dict[str, Any]:
    """What the billing-address fields need to draw their selects."""
    groups = region_groups(sorted(REGION_REQUIRED) + ([country] if country else []))
    return {
        "countries": country_choices(LOCALE),
        "region_groups": groups,
        "region_required": REGION_REQUIRED,
        "postal_codes": POSTAL_CODES,
        "payment_methods": PAYMENT_METHODS,
        "currencies": currency_choices(),
        "timezones": timezone_choices(),
        "languages": language_choices(),
    }


# -- the form ----------------------------------------------------------------------------------
@dataclass
class ClientForm:
    """The client form as typed (billing fields as in the intake form, plus preferences)."""

    billing: IntakeForm
    kind: str = "business"
    currency: str = ""
    terms: str = "net:30"
    language: str = "en"
    timezone: str = "UTC"
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def is_business(self) -> bool:
        return self.kind != "consumer"

    @property
    def region(self) -> str:
        b = self.billing
        sub = b.subdivision.strip().upper()
        return sub if "-" in sub or not sub else f"{b.country.strip().upper()}-{sub}"

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> ClientForm:
        text = {k: str(data.get(k) or "").strip() for k in EXTRA_FIELDS}
        return cls(
            IntakeForm.from_fields(data),
            kind=text["kind"] or "business",
            currency=text["currency"].upper(),
            terms=text["terms"],
            language=text["language"],
            timezone=text["timezone"],
        )

    @classmethod
    def of(cls, client: ClientRecord) -> ClientForm:
        return cls(
            IntakeForm.prefilled(
                client.party,
                po_required=client.po_required,
                payment_method=client.payment_method,
            ),
            kind="business" if client.party.is_business else "consumer",
            currency=client.currency,
            terms=client.terms.code,
            language=client.language,
            timezone=client.timezone,
        )

    @classmethod
    def blank(cls, entity: EntityRecord, terms: str = "net:30") -> ClientForm:
        return cls(
            IntakeForm(country=entity.party.country),
            terms=terms,
            currency=currency_for(entity.party.country),
            language=entity.locale if entity.locale in LANGUAGES else "en",
            timezone=entity.timezone,
        )

    def record(self, *, entity: EntityRecord, client_id: int = 0) -> ClientRecord | None:
        """The client record, or None with ``errors`` filled in (every field's problem)."""
        seller = entity.party.country
        billing = self.billing
        if not billing.payment_method:  # optional here; the intake form asks the client
            billing = replace(billing, payment_method="bank_transfer")
        errors = billing.errors(is_business=self.is_business, seller_country=seller)
        if self.kind not in ("business", "consumer"):
            errors["kind"] = "choose business or consumer"
        checks = (
            ("currency", lambda: check_currency(self.currency)),
            ("terms", lambda: PaymentTerms.parse(self.terms)),
            ("timezone", lambda: zone(self.timezone)),
        )
        for name, check in checks:
            try:
                check()
            except DomainError as exc:
                errors[name] = str(exc)
        if self.language not in LANGUAGES:
            errors["language"] = "choose one of the languages invoices can be written in"
        self.errors = errors
        if errors:
            return None
        details = billing.validate(is_business=self.is_business, seller_country=seller)
        party = Party(
            name=details.name,
            country=details.country,
            address=details.address,
            tax_id=details.tax_id,
            emails=details.emails,
            is_business=self.is_business,
            subdivision=details.subdivision,
            peppol_id=details.peppol_id,
        )
        return ClientRecord(
            id=client_id,
            entity_id=entity.id,
            party=party,
            currency=check_currency(self.currency),
            terms=PaymentTerms.parse(self.terms),
            language=self.language,
            timezone=self.timezone,
            po_required=billing.po_required,
            payment_method=self.billing.payment_method or None,
        )


# -- pages -------------------------------------------------------------------------------------
def _require_writer(user: UserRecord) -> None:
    if not can_write(user.role):
        raise Forbidden(f"the {user.role} role can look at clients but not change them")


def _entity(app: AppDep) -> EntityRecord | None:
    with app.uow(read_only=True) as uow:
        return uow.entities.first()


def _page(
    request: Request,
    user: UserRecord,
    form: ClientForm,
    *,
    client_id: int | None,
    status_code: int = 200,
) -> Response:
    title = "New client" if client_id is None else f"Edit {form.billing.legal_name or 'client'}"
    action = "/clients/new" if client_id is None else f"/clients/{client_id}/edit"
    ctx = {
        "nav": "clients",
        "title": title,
        "action": action,
        "form": form,
        "b": form.billing,
        "errors": form.errors,
        "client_id": client_id,
        "terms_choices": terms_choices(form.terms),
        **choices(form.billing.country.strip().upper()),
    }
    return render(request, "client_form.html", ctx, user=user, status_code=status_code)


def _no_organisation(request: Request, user: UserRecord) -> Response:
    flash(request, "First tell us who issues the invoices: clients belong to your organisation.")
    return RedirectResponse("/setup/organisation", status_code=303)


@router.get("/clients/new")
def new_client_page(request: Request, user: Reader, app: AppDep) -> Response:
    _require_writer(user)
    entity = _entity(app)
    if entity is None:
        return _no_organisation(request, user)
    terms = installation_settings.default_terms(uow=app.uow()).code  # Settings → Taxes
    return _page(request, user, ClientForm.blank(entity, terms), client_id=None)


@router.post("/clients/new")
async def create_client(request: Request, user: Writer, app: AppDep) -> Response:
    entity = _entity(app)
    if entity is None:
        return _no_organisation(request, user)
    form = ClientForm.from_fields(await request.form())
    record = form.record(entity=entity)
    if record is None:
        return _page(request, user, form, client_id=None, status_code=422)
    cid = setup.add_client(record, uow=app.uow(), clock=app.clock, actor=actor(user))
    flash(request, f"Client {record.party.name} added.")
    return RedirectResponse(f"/clients#client-{cid}", status_code=303)


@router.get("/clients/{client_id:int}/edit")
def edit_client_page(request: Request, client_id: int, user: Reader, app: AppDep) -> Response:
    _require_writer(user)
    with app.uow(read_only=True) as uow:
        client = uow.clients.get(client_id)
    return _page(request, user, ClientForm.of(client), client_id=client_id)


@router.post("/clients/{client_id:int}/edit")
async def update_client(request: Request, client_id: int, user: Writer, app: AppDep) -> Response:
    with app.uow(read_only=True) as uow:
        client = uow.clients.get(client_id)
        entity = uow.entities.get(client.entity_id)
    form = ClientForm.from_fields(await request.form())
    record = form.record(entity=entity, client_id=client_id)
    if record is None:
        return _page(request, user, form, client_id=client_id, status_code=422)
    setup.update_client(record, uow=app.uow(), clock=app.clock, actor=actor(user))
    flash(request, f"Client {record.party.name} saved.")
    return RedirectResponse(f"/clients#client-{client_id}", status_code=303)


__all__ = ["ClientForm", "choices", "currency_for", "router"]
