"""REST API: clients and contracts.

* ``GET /clients`` (``q`` name search, ``incomplete=true`` billing data missing),
  ``GET /clients/{id}``, ``POST /clients``, ``PATCH /clients/{id}`` (only the fields sent
  change; checked as the client intake form checks them: country, region, postal code,
  emails, tax id by python-stdnum).
* ``GET /contracts`` (``client_id``, ``model``), ``GET /contracts/{id}``, ``POST /contracts``
  (retainer: amount or seats × seat price on an RRULE schedule; milestones with amounts;
  time and materials with hourly rates per role).

Lists are newest first by cursor (``after`` = the previous page's ``next_cursor``).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Query, Response

from ...bootstrap import App
from ...domain.contracts import BillingModel, Contract, Milestone, Rate
from ...domain.errors import InvalidValue
from ...domain.money import to_decimal
from ...domain.recurrence import Recurrence
from ...domain.tax import TaxKind
from ...domain.terms import PaymentTerms
from ...services import clients as client_service
from ...services import installation_settings, setup
from ...services.ports import ClientRecord
from .api import COMMON_RESPONSES, Responses, _problem
from .deps import ApiUser, AppDep, actor
from .overview import client_today, missing_billing_data
from .paging import After, Limit, after_id, cut
from .schemas import ClientOut
from .schemas_resources import (
    ClientIn,
    ClientPage,
    ClientPatch,
    ContractIn,
    ContractOut,
    ContractPage,
    MilestoneIn,
    ModelName,
    RateIn,
)

router = APIRouter(prefix="/api/v1", responses=COMMON_RESPONSES)
_NO_CLIENT: Responses = {404: _problem("No such client")}
_NO_CONTRACT: Responses = {404: _problem("No such contract")}


def _client_out(app: App, client_id: int) -> ClientOut:
    with app.uow(read_only=True) as uow:
        c = uow.clients.get(client_id)
        country = uow.entities.get(c.entity_id).party.country
    return ClientOut.of(c, missing_billing_data(c, country))


def _fields(body: ClientPatch) -> client_service.ClientFields:
    given = {k: getattr(body, k) for k in body.model_fields_set if k != "entity_id"}
    for k in ("address_lines", "emails"):
        if k in given:
            given[k] = tuple(given[k] or ())
    for k in ("name", "country", "currency", "terms", "language", "timezone"):
        if k in given and given[k] is None:
            raise InvalidValue("may not be null", field=k)
    for k in ("is_business", "po_required"):
        if k in given and given[k] is None:
            raise InvalidValue("give true or false", field=k)
    return client_service.ClientFields(**given)


@router.get("/clients", response_model=ClientPage, tags=["clients"], summary="List clients")
def list_clients(
    _: ApiUser,
    app: AppDep,
    q: Annotated[str | None, Query(max_length=100, description="part of the name")] = None,
    incomplete: Annotated[
        bool | None, Query(description="true: only clients whose billing data is missing parts")
    ] = None,
    after: After = None,
    limit: Limit = 50,
) -> ClientPage:
    with app.uow(read_only=True) as uow:
        clients = uow.clients.list()
        countries = {e: uow.entities.get(e).party.country for e in {c.entity_id for c in clients}}
    items = [ClientOut.of(c, missing_billing_data(c, countries[c.entity_id])) for c in clients]
    if q:
        items = [c for c in items if q.casefold() in c.name.casefold()]
    if incomplete is not None:
        items = [c for c in items if c.billing_data_complete is not incomplete]
    page, cursor = cut(after_id(items, after, key=lambda c: c.id), limit, key=lambda c: c.id)
    return ClientPage(items=page, next_cursor=cursor)


@router.get(
    "/clients/{client_id}",
    response_model=ClientOut,
    tags=["clients"],
    summary="One client, with what its billing data lacks",
    responses=_NO_CLIENT,
)
def get_client(client_id: int, _: ApiUser, app: AppDep) -> ClientOut:
    return _client_out(app, client_id)


@router.post(
    "/clients",
    response_model=ClientOut,
    status_code=201,
    tags=["clients"],
    summary="Create a client (billing data may be completed later)",
    responses={404: _problem("No such issuing entity")},
)
def create_client(body: ClientIn, user: ApiUser, app: AppDep, response: Response) -> ClientOut:
    entity_id = body.entity_id
    if entity_id is None:
        with app.uow(read_only=True) as uow:
            first = uow.entities.first()
        if first is None:
            raise InvalidValue("set up the organisation first", field="entity_id")
        entity_id = first.id
    fields = _fields(body)
    client_id = client_service.create_client(
        entity_id, fields, uow=app.uow(), clock=app.clock, actor=actor(user)
    )
    response.headers["Location"] = f"/api/v1/clients/{client_id}"
    return _client_out(app, client_id)


@router.patch(
    "/clients/{client_id}",
    response_model=ClientOut,
    tags=["clients"],
    summary="Change a client's billing data; fields not sent stay as they are",
    responses=_NO_CLIENT,
)
def update_client(client_id: int, body: ClientPatch, user: ApiUser, app: AppDep) -> ClientOut:
    client_service.update_client(
        client_id, _fields(body), uow=app.uow(), clock=app.clock, actor=actor(user)
    )
    return _client_out(app, client_id)


# -- contracts ------------------------------------------------------------------------------
@router.get("/contracts", response_model=ContractPage, tags=["contracts"], summary="Contracts")
def list_contracts(
    _: ApiUser,
    app: AppDep,
    client_id: Annotated[int | None, Query(ge=1)] = None,
    model: ModelName | None = None,
    after: After = None,
    limit: Limit = 50,
) -> ContractPage:
    with app.uow(read_only=True) as uow:
        found = uow.contracts.list(client_id)
    if model is not None:
        found = [c for c in found if c.model.value == model]
    page, cursor = cut(after_id(found, after, key=_id), limit, key=_id)
    return ContractPage(items=[ContractOut.of(c) for c in page], next_cursor=cursor)


def _id(c: Contract) -> int:
    return c.id or 0


@router.get(
    "/contracts/{contract_id}",
    response_model=ContractOut,
    tags=["contracts"],
    summary="One contract",
    responses=_NO_CONTRACT,
)
def get_contract(contract_id: int, _: ApiUser, app: AppDep) -> ContractOut:
    with app.uow(read_only=True) as uow:
        return ContractOut.of(uow.contracts.get(contract_id))


def _contract(
    body: ContractIn, client: ClientRecord, today: date, default_kind: TaxKind
) -> Contract:
    """The domain contract (its constructor checks the model's rules). A schedule starts
    at 06:00 on ``starts_on`` (default: today where the client is), in its time zone."""
    model = BillingModel(body.model)
    recurrence = None
    if body.rrule is not None:
        if model is not BillingModel.RETAINER:
            raise InvalidValue("only a retainer has a schedule", field="rrule")
        start = datetime.combine(body.starts_on or today, time(6))
        recurrence = Recurrence(body.rrule, body.timezone or client.timezone, start)
    return Contract(
        name=body.name,
        model=model,
        currency=body.currency or client.currency,
        terms=PaymentTerms.parse(body.terms) if body.terms else client.terms,
        tax_kind=TaxKind(body.tax_kind) if body.tax_kind else default_kind,
        description=body.description,
        amount=to_decimal(body.amount, field="amount") if body.amount else None,
        seats=body.seats,
        seat_price=to_decimal(body.seat_price, field="seat_price") if body.seat_price else None,
        recurrence=recurrence,
        milestones=tuple(_milestone(m, i) for i, m in enumerate(body.milestones)),
        rates=tuple(_rate(r, i) for i, r in enumerate(body.rates)),
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        client_id=client.id,
    )


def _milestone(m: MilestoneIn, i: int) -> Milestone:
    return Milestone(m.name.strip(), to_decimal(m.amount, field=f"milestones[{i}].amount"))


def _rate(r: RateIn, i: int) -> Rate:
    return Rate(r.role.strip(), to_decimal(r.hourly, field=f"rates[{i}].hourly"))


@router.post(
    "/contracts",
    response_model=ContractOut,
    status_code=201,
    tags=["contracts"],
    summary="Create a contract: retainer, milestones, or time and materials",
    responses={404: _problem("No such client")},
)
def create_contract(
    body: ContractIn, user: ApiUser, app: AppDep, response: Response
) -> ContractOut:
    with app.uow(read_only=True) as uow:
        client = uow.clients.get(body.client_id)
    kind = installation_settings.default_tax_kind(client.entity_id, uow=app.uow())
    contract = _contract(body, client, client_today(app.clock.now(), client.timezone), kind)
    contract_id = setup.add_contract(contract, uow=app.uow(), clock=app.clock, actor=actor(user))
    response.headers["Location"] = f"/api/v1/contracts/{contract_id}"
    with app.uow(read_only=True) as uow:
        return ContractOut.of(uow.contracts.get(contract_id))
