"""REST API for reminders, under ``/api/v1``: the reminder policy (the organisation's, and a
client's override), disputes that stop an invoice's reminders, and a client's pause."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from ...services import reminders as rem
from .api import COMMON_RESPONSES, Responses, _problem
from .deps import ApiUser, AppDep, actor

router = APIRouter(prefix="/api/v1", responses=COMMON_RESPONSES)
_NOT_FOUND: Responses = {404: _problem("No such invoice or client")}
_CONFLICT: Responses = {**_NOT_FOUND, 409: _problem("Disputed already, or not disputed")}

ClientQuery = Annotated[
    int | None, Query(description="A client's override; without it, the organisation's policy")
]


class FeeIn(BaseModel):
    kind: Literal["fixed", "percent", "statutory", "interest"]
    amount: str = Field(default="0", description="fixed: in the invoice's currency")
    rate: str = Field(default="0", description="percent of the balance, or % a year")


class StepIn(BaseModel):
    offset_days: int = Field(description="Days from the due date; negative: before it")
    tone: Literal["friendly", "due", "firm", "urgent", "final"] = "firm"
    fee: FeeIn | None = None


_RULES = (
    "The organisation's changes to the country rules, per ISO country code: "
    "min_days_before_fee, max_fees, fee_cap (+ fee_cap_currency), new_deadline_days, "
    "b2b_only, compound_monthly, statutory_once"
)


class PolicyIn(BaseModel):
    enabled: bool = True
    steps: list[StepIn] = Field(
        examples=[[{"offset_days": -3, "tone": "friendly"}, {"offset_days": 7, "tone": "firm"}]]
    )
    rules: dict[str, dict[str, Any]] | None = Field(
        default=None, description=_RULES, examples=[{"NO": {"fee_cap": "75.00"}}]
    )


class PolicyOut(BaseModel):
    source: str = Field(description="client | organisation | built-in")
    enabled: bool
    steps: list[dict[str, Any]]
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict, description=_RULES)


class DisputeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ResolveIn(BaseModel):
    resolution: str = Field(default="resolved", max_length=2000)


class PauseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)
    until: date | None = Field(default=None, description="Last paused day (client's date)")


class ReminderOut(BaseModel):
    id: int
    step: int
    tone: str
    due_on: date
    pay_by: date | None
    fee: str | None
    fee_currency: str | None
    status: str
    detail: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, r: rem.ReminderRecord) -> ReminderOut:
        return cls(
            id=r.id,
            step=r.step,
            tone=r.tone,
            due_on=r.due_on,
            pay_by=r.pay_by,
            fee=str(r.fee.rounded().amount) if r.fee else None,
            fee_currency=r.fee.currency if r.fee else None,
            status=r.status,
            detail=r.detail,
            created_at=r.created_at,
            sent_at=r.sent_at,
        )


def _policy_out(app: Any, client_id: int | None) -> PolicyOut:
    policy, source = rem.policy_for(client_id, uow=app.uow(read_only=True))
    rules = rem.country_rules(uow=app.uow(read_only=True)) if client_id is None else {}
    return PolicyOut(source=source, rules=rules, **policy.as_dict())


@router.get(
    "/settings/reminders", response_model=PolicyOut, tags=["reminders"], summary="The policy"
)
def get_policy(_: ApiUser, app: AppDep, client_id: ClientQuery = None) -> PolicyOut:
    return _policy_out(app, client_id)


@router.put(
    "/settings/reminders",
    response_model=PolicyOut,
    tags=["reminders"],
    summary="Set the organisation's policy, or a client's override",
    responses=_NOT_FOUND,
)
def put_policy(
    body: PolicyIn, user: ApiUser, app: AppDep, client_id: ClientQuery = None
) -> PolicyOut:
    rem.set_policy(
        body.model_dump(exclude_none=True),
        client_id=client_id,
        uow=app.uow(),
        clock=app.clock,
        actor=actor(user),
    )
    return _policy_out(app, client_id)


@router.get(
    "/invoices/{invoice_id}/reminders",
    response_model=list[ReminderOut],
    tags=["reminders"],
    summary="The invoice's reminders, newest first",
    responses=_NOT_FOUND,
)
def invoice_reminders(invoice_id: int, _: ApiUser, app: AppDep) -> list[ReminderOut]:
    with app.uow(read_only=True) as uow:
        uow.invoices.get(invoice_id)
        return [ReminderOut.of(r) for r in uow.reminders.list(invoice_id)]


@router.post(
    "/invoices/{invoice_id}/dispute",
    status_code=201,
    tags=["reminders"],
    summary="Mark the invoice disputed: its reminders stop",
    responses=_CONFLICT,
)
def dispute(invoice_id: int, body: DisputeIn, user: ApiUser, app: AppDep) -> dict[str, int]:
    dispute_id = rem.dispute_invoice(
        invoice_id, body.reason, uow=app.uow(), clock=app.clock, actor=actor(user)
    )
    return {"dispute_id": dispute_id}


@router.post(
    "/invoices/{invoice_id}/dispute/resolve",
    status_code=204,
    response_class=Response,
    tags=["reminders"],
    summary="Resolve the invoice's dispute: reminders resume",
    responses=_CONFLICT,
)
def resolve(invoice_id: int, body: ResolveIn, user: ApiUser, app: AppDep) -> Response:
    rem.resolve_dispute(
        invoice_id, body.resolution, uow=app.uow(), clock=app.clock, actor=actor(user)
    )
    return Response(status_code=204)


@router.post(
    "/clients/{client_id}/reminders/pause",
    status_code=201,
    tags=["reminders"],
    summary="Pause the client's reminders (through `until`, or until resumed)",
    responses=_NOT_FOUND,
)
def pause(client_id: int, body: PauseIn, user: ApiUser, app: AppDep) -> dict[str, int]:
    pause_id = rem.pause_client(
        client_id, body.reason, until=body.until, uow=app.uow(), clock=app.clock, actor=actor(user)
    )
    return {"pause_id": pause_id}


@router.post(
    "/clients/{client_id}/reminders/resume",
    tags=["reminders"],
    summary="Resume the client's reminders",
    responses=_NOT_FOUND,
)
def resume(client_id: int, user: ApiUser, app: AppDep) -> dict[str, int]:
    ended = rem.resume_client(client_id, uow=app.uow(), clock=app.clock, actor=actor(user))
    return {"pauses_ended": ended}
