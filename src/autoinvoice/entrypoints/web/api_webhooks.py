"""REST API for outgoing webhooks (Standard Webhooks), under ``/api/v1``: subscribe a URL,
list and remove subscriptions, read a subscription's delivery log.

The signing secret (``whsec_…``) is in the response to ``POST /webhooks`` and nowhere
else: it is stored sealed and never returned again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from ...services import outgoing
from ...services.outgoing import DeliveryRecord, EventType, SubscriptionRecord
from ...services.webhook_targets import TargetPolicy
from .api import COMMON_RESPONSES, Responses, _problem
from .deps import ApiUser, AppDep, actor

router = APIRouter(prefix="/api/v1", responses=COMMON_RESPONSES)
_NOT_FOUND: Responses = {404: _problem("No such subscription")}


class WebhookIn(BaseModel):
    url: str = Field(min_length=1, max_length=2000, examples=["https://hooks.example.com/ai"])
    event_types: list[EventType] = Field(
        default_factory=list, description="Empty: every event type."
    )
    description: str = Field(default="", max_length=200)


class WebhookOut(BaseModel):
    id: int
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, s: SubscriptionRecord) -> WebhookOut:
        return cls(
            id=s.id,
            url=s.url,
            event_types=list(s.event_types),
            description=s.description,
            enabled=s.enabled,
            created_at=s.created_at,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret, `whsec_…`; shown this once.")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: int
    message_id: str = Field(description="The `webhook-id` header, the same on every retry")
    event_type: str
    status: str = Field(description="pending | delivered | failed")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, d: DeliveryRecord) -> DeliveryOut:
        return cls(
            id=d.id,
            message_id=d.message_id,
            event_type=d.event_type,
            status=d.status,
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
            payload=d.payload,
        )


@router.get("/webhooks", response_model=WebhookList, tags=["webhooks"], summary="Subscriptions")
def list_webhooks(_: ApiUser, app: AppDep) -> WebhookList:
    with app.uow(read_only=True) as uow:
        return WebhookList(items=[WebhookOut.of(s) for s in uow.webhooks.subscriptions()])


@router.post(
    "/webhooks",
    response_model=WebhookCreated,
    status_code=201,
    tags=["webhooks"],
    summary="Subscribe a URL; the response has its signing secret, shown this once",
)
def create_webhook(
    body: WebhookIn, user: ApiUser, app: AppDep, response: Response
) -> WebhookCreated:
    response.headers["Cache-Control"] = "no-store"  # the secret: not cached, not kept for replays
    sub, secret = outgoing.add_subscription(
        body.url,
        [e.value for e in body.event_types],
        uow=app.uow(),
        clock=app.clock,
        box=app.box,
        policy=TargetPolicy.parse(app.settings.webhook_allow),
        actor=actor(user),
        description=body.description,
    )
    return WebhookCreated(**WebhookOut.of(sub).model_dump(), secret=secret)


@router.delete(
    "/webhooks/{subscription_id}",
    status_code=204,
    response_class=Response,
    tags=["webhooks"],
    summary="Unsubscribe (the delivery log goes too)",
    responses=_NOT_FOUND,
)
def delete_webhook(subscription_id: int, user: ApiUser, app: AppDep) -> Response:
    outgoing.remove_subscription(subscription_id, uow=app.uow(), clock=app.clock, actor=actor(user))
    return Response(status_code=204)


@router.get(
    "/webhooks/{subscription_id}/deliveries",
    response_model=list[DeliveryOut],
    tags=["webhooks"],
    summary="The subscription's delivery log, newest first",
    responses=_NOT_FOUND,
)
def webhook_deliveries(
    subscription_id: int,
    _: ApiUser,
    app: AppDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryOut]:
    with app.uow(read_only=True) as uow:
        uow.webhooks.subscription(subscription_id)
        return [DeliveryOut.of(d) for d in uow.webhooks.deliveries(subscription_id, limit)]
