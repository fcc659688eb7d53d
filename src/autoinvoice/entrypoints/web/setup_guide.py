"""The first-run guide: the five set-up steps and which are done.

    GET  /setup                    the guide: each step, its status, what is missing, where to go
    GET  /setup/organisation       the organisation form (the issuing entity)
    POST /setup/organisation       create (fresh installation) or change it; owner only

The statuses come from ``services.onboarding`` (computed from the database). The
organisation's address and tax id are checked by the intake form's rules; the tax id is
required where invoices must carry the seller's registration (EU VAT, Indian GSTIN).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ...domain.documents import check_bank
from ...domain.errors import DomainError, InvalidValue
from ...domain.intake import IntakeForm, check_emails
from ...domain.parties import Party
from ...domain.recurrence import zone
from ...services import setup
from ...services.accounts import can_administer
from ...services.onboarding import seller_needs_tax_id, setup_guide
from ...services.ports import EntityRecord, UserRecord
from .admin_clients import choices, currency_for
from .deps import AppDep, Owner, Reader, actor
from .pages import flash, render

router = APIRouter(include_in_schema=False)

BANK_FIELDS = ("account_holder", "bank_name", "iban", "bic")


@router.get("/setup")
def setup_page(request: Request, user: Reader, app: AppDep) -> Response:
    guide = setup_guide(uow=app.uow(read_only=True))
    return render(request, "setup.html", {"nav": "setup", "guide": guide}, user=user)


@dataclass
class OrganisationForm:
    billing: IntakeForm
    timezone: str = "Europe/Berlin"
    bank: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def region(self) -> str:
        sub = self.billing.subdivision.strip().upper()
        return sub if "-" in sub or not sub else f"{self.billing.country.upper()}-{sub}"

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> OrganisationForm:
        return cls(
            IntakeForm.from_fields(data),
            timezone=str(data.get("timezone") or "").strip(),
            bank={k: str(data.get(k) or "").strip() for k in BANK_FIELDS},
        )

    @classmethod
    def of(cls, entity: EntityRecord | None) -> OrganisationForm:
        if entity is None:
            return cls(IntakeForm(), timezone="UTC")
        party = Party(
            entity.party.name,
            entity.party.country,
            entity.party.address,
            entity.party.tax_id,
            (entity.email,),
            subdivision=entity.party.subdivision,
            peppol_id=entity.party.peppol_id,
        )
        bank = {k: entity.bank.get(k, "") for k in BANK_FIELDS}
        return cls(IntakeForm.prefilled(party), timezone=entity.timezone, bank=bank)

    def record(self, current: EntityRecord | None) -> EntityRecord | None:
        """The issuing entity, or None with ``errors`` filled in (every field's problem)."""
        billing = IntakeForm(**{**_fields(self.billing), "payment_method": "bank_transfer"})
        country = billing.country.strip().upper()
        errors = billing.errors(is_business=True, seller_country=country)
        if "emails" not in errors and len(check_emails(billing.emails)) > 1:
            errors["emails"] = "enter one address: the one invoices are sent from"
        if "tax_id" not in errors and not billing.tax_id.strip() and seller_needs_tax_id(country):
            errors["tax_id"] = (
                "enter the organisation's tax ID: invoices issued in this country must carry it"
            )
        try:
            zone(self.timezone)
        except DomainError as exc:
            errors["timezone"] = str(exc)
        bank: dict[str, str] = {}
        try:
            bank = check_bank(self.bank)
        except InvalidValue as exc:
            errors[(exc.field or "bank.iban").removeprefix("bank.")] = exc.message
        self.errors = errors
        if errors:
            return None
        details = billing.validate(is_business=True, seller_country=country)
        party = Party(
            name=details.name,
            country=details.country,
            address=details.address,
            tax_id=details.tax_id,
            emails=details.emails,
            subdivision=details.subdivision,
            peppol_id=details.peppol_id,
        )
        return EntityRecord(
            id=current.id if current else 0,
            party=party,
            email=details.emails[0],
            timezone=self.timezone,
            locale=current.locale if current else "en",
            bank=bank,
        )


def _fields(form: IntakeForm) -> dict[str, Any]:
    return {name: getattr(form, name) for name in IntakeForm.__dataclass_fields__}


def _organisation_page(
    request: Request,
    user: UserRecord,
    form: OrganisationForm,
    *,
    exists: bool,
    status_code: int = 200,
) -> Response:
    country = form.billing.country.strip().upper()
    ctx = {
        "nav": "setup",
        "form": form,
        "b": form.billing,
        "errors": form.errors,
        "exists": exists,
        "can_edit": can_administer(user.role),
        "default_currency": currency_for(country) if country else None,
        **choices(country),
    }
    return render(request, "organisation_form.html", ctx, user=user, status_code=status_code)


@router.get("/setup/organisation")
def organisation_page(request: Request, user: Reader, app: AppDep) -> Response:
    with app.uow(read_only=True) as uow:
        entity = uow.entities.first()
    form = OrganisationForm.of(entity)
    return _organisation_page(request, user, form, exists=entity is not None)


@router.post("/setup/organisation")
async def save_organisation(request: Request, user: Owner, app: AppDep) -> Response:
    with app.uow(read_only=True) as uow:
        current = uow.entities.first()
    form = OrganisationForm.from_fields(await request.form())
    record = form.record(current)
    if record is None:
        return _organisation_page(request, user, form, exists=current is not None, status_code=422)
    setup.save_organisation(record, uow=app.uow(), clock=app.clock, actor=actor(user))
    flash(request, f"{record.party.name} saved.")
    return RedirectResponse("/setup", status_code=303)


__all__ = ["OrganisationForm", "router"]
