"""Contract pages: retainers, milestones, rates.

    GET  /contracts                the list: client, billing model, amounts, schedule, next invoice
    GET  /contracts/{id}           one contract: amounts, schedule in words, milestones with their
                                   completion and billing, rates, the invoices made from it
    GET  /contracts/new            the form, one part per billing model (?client_id= preselects)
    POST /contracts/new            create; 303 to the contract, or the form again (422)

The form works without JavaScript: the billing model's radio button shows its part of the
form with CSS ``:has()``, and "more rows" for milestones and rates is a submit button that
draws the form again with empty rows added (nothing is stored). A retainer's schedule is a
preset turned into an RFC 5545 RRULE (``SCHEDULES``) or an RRULE typed in; it runs in the
organisation's time zone at 06:00. Saving goes through ``services.setup.add_contract``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from ...bootstrap import App
from ...domain.contracts import BillingModel, Contract, Milestone, Rate
from ...domain.errors import DomainError
from ...domain.recurrence import Recurrence, zone
from ...domain.tax import TaxKind
from ...domain.terms import PaymentTerms
from ...services import installation_settings, setup
from ...services.accounts import can_write
from ...services.errors import Forbidden
from ...services.ports import ClientRecord, InvoiceSummary, UserRecord
from .admin_clients import currency_choices, terms_choices
from .deps import AppDep, Reader, Writer, actor
from .pages import flash, render

router = APIRouter(include_in_schema=False)

RUN_AT = time(6, 0)  # schedules fire at 06:00 in the organisation's time zone
SCHEDULES: dict[str, tuple[str, str]] = {
    "monthly": ("FREQ=MONTHLY;BYMONTHDAY=1", "Monthly on the 1st"),
    "quarterly": ("FREQ=MONTHLY;BYMONTH=1,4,7,10;BYMONTHDAY=1", "Quarterly on the 1st"),
    "last_business_day": (
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "Monthly on the last business day",
    ),
}
MODELS: dict[str, tuple[str, str]] = {
    "retainer": ("Retainer", "A fixed amount, or seats × price, billed on a schedule."),
    "milestone": ("Milestones", "Project phases with agreed amounts, each billed when done."),
    "time_and_materials": ("Time & materials", "Hours logged × the rate for each role."),
    "deal": ("Deal-based", "A deal won in your CRM is billed with its amount and products."),
}
TAX_KINDS = {
    "standard": "Standard rate",
    "reduced": "Reduced rate",
    "zero": "Zero rate",
    "exempt": "Exempt",
}
MIN_ROWS = 3
# amounts as typed: "4500.00", or grouped by one thousands separator ("4,500.00", "4 500.00")
_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?P<sep>[, ])\d{3}(?:(?P=sep)\d{3})*(?:\.\d+)?")


def model_label(model: str) -> str:
    return MODELS.get(model, (model, ""))[0]


def schedule_words(rule: str) -> str:
    """A schedule in words: the preset's name, else the RRULE itself."""
    clean = rule.strip().upper().removeprefix("RRULE:")
    for code, words in SCHEDULES.values():
        if clean == code:
            return words
    return f"Custom schedule ({rule})"


def pricing_words(c: Contract) -> str:
    """What the contract bills, in one line (amounts formatted by the template's filter)."""
    if c.model is BillingModel.MILESTONE:
        return f"{len(c.milestones)} milestone{'' if len(c.milestones) == 1 else 's'}"
    if c.model is BillingModel.TIME_AND_MATERIALS:
        return f"{len(c.rates)} rate{'' if len(c.rates) == 1 else 's'}"
    return "retainer"


def retainer_total(c: Contract) -> Decimal | None:
    if c.amount is not None:
        return c.amount
    if c.seats is not None and c.seat_price is not None:
        return c.seat_price * c.seats
    return None


# -- the form ----------------------------------------------------------------------------------
@dataclass
class ContractForm:
    """The contract form as typed."""

    client_id: str = ""
    name: str = ""
    model: str = "retainer"
    currency: str = ""
    terms: str = ""
    tax_kind: str = "standard"
    description: str = ""
    starts_on: str = ""
    ends_on: str = ""
    pricing: str = "amount"
    amount: str = ""
    seats: str = ""
    seat_price: str = ""
    schedule: str = "monthly"
    rrule: str = ""
    milestones: list[tuple[str, str]] = field(default_factory=list)
    rates: list[tuple[str, str]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    TEXT = (
        "client_id",
        "name",
        "model",
        "currency",
        "terms",
        "tax_kind",
        "description",
        "starts_on",
        "ends_on",
        "pricing",
        "amount",
        "seats",
        "seat_price",
        "schedule",
        "rrule",
    )

    @classmethod
    def from_fields(cls, data: FormData | Mapping[str, Any]) -> ContractForm:
        text = {k: str(data.get(k) or "").strip() for k in cls.TEXT}

        def rows(a: str, b: str) -> list[tuple[str, str]]:
            getlist = getattr(data, "getlist", None)
            left = [str(v).strip() for v in getlist(a)] if getlist else []
            right = [str(v).strip() for v in getlist(b)] if getlist else []
            right += [""] * (len(left) - len(right))
            return [(x, y) for x, y in zip(left, right, strict=False) if x or y]

        form = cls(
            milestones=rows("milestone_name", "milestone_amount"),
            rates=rows("rate_role", "rate_hourly"),
        )
        for name, value in text.items():
            if value:  # an empty field keeps its default (model, pricing, schedule, tax)
                setattr(form, name, value)
        return form

    def padded(self, rows: list[tuple[str, str]], more: bool) -> list[tuple[str, str]]:
        extra = max(MIN_ROWS - len(rows), 1) + (2 if more else 0)
        return rows + [("", "")] * extra

    def _decimal(self, name: str, value: str, what: str) -> Decimal | None:
        if not value:
            return None
        typed = value.strip()
        if _GROUPED.fullmatch(typed):  # "4,500.00" or "4 500.00": a thousands separator
            typed = typed.replace(",", "").replace(" ", "")
        try:  # anything else with a comma ("4.500,00", "1,5") is refused, never guessed
            out = Decimal(typed) if _PLAIN.fullmatch(typed) else None
        except InvalidOperation:
            out = None
        if out is None:
            self.errors[name] = f"{value!r} is not an amount for the {what}; write e.g. 4500.00"
            return None
        if not out.is_finite():
            self.errors[name] = f"{value!r} is not an amount for the {what}"
            return None
        return out

    def _date(self, name: str, value: str) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.errors[name] = f"{value!r} is not a date (YYYY-MM-DD)"
            return None

    def _recurrence(self, tz: str, start: date) -> Recurrence | None:
        if self.schedule == "custom":
            rule = self.rrule
            if not rule:
                self.errors["rrule"] = "write the RRULE, e.g. FREQ=MONTHLY;BYMONTHDAY=15"
                return None
        elif self.schedule in SCHEDULES:
            rule = SCHEDULES[self.schedule][0]
        else:
            self.errors["schedule"] = "choose when the retainer is billed"
            return None
        try:
            return Recurrence(rule, tz, datetime.combine(start, RUN_AT))
        except DomainError as exc:
            self.errors["rrule"] = str(exc)
            return None

    def _rows(self, kind: str) -> tuple[Any, ...]:
        out: list[Any] = []
        rows = self.milestones if kind == "milestone" else self.rates
        for i, (label, amount) in enumerate(rows):
            key = f"{kind}-{i}"
            if not label:
                what = "phase name" if kind == "milestone" else "role"
                self.errors[key] = f"row {i + 1}: enter the {what}"
                continue
            value = self._decimal(key, amount, f"{label!r}")
            if value is None:
                self.errors.setdefault(key, f"row {i + 1}: enter the amount for {label!r}")
                continue
            try:
                out.append(Milestone(label, value) if kind == "milestone" else Rate(label, value))
            except DomainError as exc:
                self.errors[key] = f"row {i + 1}: {exc}"
        names = [getattr(x, "name", None) or getattr(x, "role", "") for x in out]
        if len(set(names)) != len(names):
            self.errors[kind + "s"] = "each row needs its own name"
        return tuple(out)

    def contract(self, client: ClientRecord | None, *, tz: str, today: date) -> Contract | None:
        """The contract, or None with ``errors`` filled in (every field's problem)."""
        self.errors = {}
        if client is None:
            self.errors["client_id"] = "choose the client this contract is with"
        if self.model == "deal":
            self.errors["model"] = (
                "deal-based billing needs no contract: write a rule that builds invoices "
                "from won deals on the Rules page"
            )
        elif self.model not in MODELS:
            self.errors["model"] = "choose a billing model"
        if not self.name.strip():
            self.errors["name"] = "enter a name for the contract"
        if self.tax_kind not in TAX_KINDS:
            self.errors["tax_kind"] = "choose the tax treatment"
        starts, ends = self._date("starts_on", self.starts_on), self._date("ends_on", self.ends_on)
        values: dict[str, Any] = {}
        if self.model == "retainer":
            if self.pricing == "seats":
                values["seat_price"] = self._decimal("seat_price", self.seat_price, "seat price")
                if not self.seats.isdigit():
                    self.errors["seats"] = "enter the number of seats, a whole number"
                else:
                    values["seats"] = int(self.seats)
                if values["seat_price"] is None:
                    self.errors.setdefault("seat_price", "enter the price per seat")
            else:
                values["amount"] = self._decimal("amount", self.amount, "retainer")
                if values["amount"] is None:
                    self.errors.setdefault("amount", "enter the amount billed each period")
            values["recurrence"] = self._recurrence(tz, starts or today)
        elif self.model == "milestone":
            values["milestones"] = self._rows("milestone")
            if not self.milestones:
                self.errors.setdefault("milestones", "add at least one phase with its amount")
        elif self.model == "time_and_materials":
            values["rates"] = self._rows("rate")
            if not self.rates:
                self.errors.setdefault("rates", "add at least one role with its hourly rate")
        if self.errors or client is None:
            return None
        try:
            terms = PaymentTerms.parse(self.terms or client.terms.code)
            return Contract(
                name=self.name,
                model=BillingModel(self.model),
                currency=self.currency or client.currency,
                terms=terms,
                tax_kind=TaxKind(self.tax_kind),
                description=self.description,
                starts_on=starts,
                ends_on=ends,
                client_id=client.id,
                **values,
            )
        except DomainError as exc:
            name = {"recurrence": "schedule"}.get(exc.field or "", exc.field or "name")
            self.errors[name] = str(exc)
            return None


# -- pages -------------------------------------------------------------------------------------
def _clients(app: App) -> list[ClientRecord]:
    with app.uow(read_only=True) as uow:
        return uow.clients.list()


def _form_page(
    request: Request,
    user: UserRecord,
    app: App,
    form: ContractForm,
    *,
    more: str = "",
    status_code: int = 200,
) -> Response:
    clients = _clients(app)
    ctx = {
        "nav": "contracts",
        "form": form,
        "errors": form.errors,
        "clients": clients,
        "client_options": [(str(c.id), c.party.name) for c in clients],
        "models": MODELS,
        "schedules": SCHEDULES,
        "tax_kinds": TAX_KINDS,
        "currencies": currency_choices(),
        "terms_choices": terms_choices(form.terms or None),
        "milestone_rows": form.padded(form.milestones, more == "milestones"),
        "rate_rows": form.padded(form.rates, more == "rates"),
    }
    return render(request, "contract_form.html", ctx, user=user, status_code=status_code)


@router.get("/contracts")
def contracts_page(request: Request, user: Reader, app: AppDep) -> Response:
    now = app.clock.now()
    with app.uow(read_only=True) as uow:
        contracts = uow.contracts.list()
        clients = {c.id: c for c in uow.clients.list()}
    rows = [
        {
            "c": c,
            "client": clients.get(c.client_id or 0),
            "total": retainer_total(c),
            "schedule": schedule_words(c.recurrence.rule) if c.recurrence else None,
            "next": c.recurrence.next_after(now) if c.recurrence and c.active else None,
            "summary": pricing_words(c),
        }
        for c in contracts
    ]
    ctx = {"nav": "contracts", "rows": rows, "models": MODELS, "has_clients": bool(clients)}
    return render(request, "contracts.html", ctx, user=user)


def _invoices_of(app: App, contract: Contract) -> list[InvoiceSummary]:
    with app.uow(read_only=True) as uow:
        summaries = uow.invoices.summaries(client_id=contract.client_id)
        full = uow.invoices.get_many([s.id for s in summaries])
    return [s for s in summaries if s.id in full and full[s.id].contract_id == contract.id]


@router.get("/contracts/{contract_id:int}")
def contract_page(request: Request, contract_id: int, user: Reader, app: AppDep) -> Response:
    now = app.clock.now()
    with app.uow(read_only=True) as uow:
        contract = uow.contracts.get(contract_id)
        client = uow.clients.get(contract.client_id or 0)
        entity = uow.entities.get(client.entity_id)
        states = uow.milestones.states(contract_id) if contract.milestones else {}
    rec = contract.recurrence
    ctx = {
        "nav": "contracts",
        "c": contract,
        "client": client,
        "model": model_label(contract.model.value),
        "tax_kind": TAX_KINDS.get(contract.tax_kind.value, contract.tax_kind.value),
        "total": retainer_total(contract),
        "schedule": schedule_words(rec.rule) if rec else None,
        "next": rec.next_after(now) if rec and contract.active else None,
        "tz": rec.timezone if rec else entity.timezone,
        "states": states,
        "milestone_total": sum((m.amount for m in contract.milestones), Decimal(0)),
        "invoices": _invoices_of(app, contract),
    }
    return render(request, "contract.html", ctx, user=user)


@router.get("/contracts/new")
def new_contract_page(request: Request, user: Reader, app: AppDep) -> Response:
    if not can_write(user.role):
        raise Forbidden(f"the {user.role} role can look at contracts but not add them")
    q = request.query_params
    model = q.get("model", "retainer")
    with app.uow(read_only=True) as uow:
        entity = uow.entities.first()
    tax_kind = (  # Settings → Taxes: the default tax kind of new contracts
        installation_settings.default_tax_kind(entity.id, uow=app.uow()).value
        if entity is not None
        else "standard"
    )
    form = ContractForm(
        client_id=q.get("client_id", ""),
        model=model if model in MODELS else "retainer",
        tax_kind=tax_kind,
    )
    return _form_page(request, user, app, form)


@router.post("/contracts/new")
async def create_contract(request: Request, user: Writer, app: AppDep) -> Response:
    data = await request.form()
    form = ContractForm.from_fields(data)
    more = str(data.get("more") or "")
    if more in ("milestones", "rates"):  # "more rows": draw the form again, store nothing
        return _form_page(request, user, app, form, more=more)
    with app.uow(read_only=True) as uow:
        entity = uow.entities.first()
        clients = {str(c.id): c for c in uow.clients.list()}
    tz = entity.timezone if entity else "UTC"
    today = app.clock.now().astimezone(zone(tz)).date()
    contract = form.contract(clients.get(form.client_id), tz=tz, today=today)
    if contract is None:
        return _form_page(request, user, app, form, status_code=422)
    cid = setup.add_contract(contract, uow=app.uow(), clock=app.clock, actor=actor(user))
    flash(request, f"Contract {contract.name} added.")
    return RedirectResponse(f"/contracts/{cid}", status_code=303)


__all__ = ["SCHEDULES", "ContractForm", "router", "schedule_words"]
