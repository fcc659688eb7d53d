"""REST API for the client intake form: ``POST /api/v1/clients/{id}/intake-link`` makes a
new link (earlier open links of that client stop working). The URL is in the answer once;
only its token's hash is stored."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from ...services import intake
from .api import COMMON_RESPONSES, _problem
from .deps import ApiUser, AppDep, actor

router = APIRouter(prefix="/api/v1", responses=COMMON_RESPONSES)


class IntakeLinkOut(BaseModel):
    url: str = Field(
        description="The form's address, to send to the client; works once",
        examples=["https://billing.example.com/intake/3q2-…"],
    )
    expires_at: datetime = Field(description=f"{intake.LINK_DAYS} days after it was made")


@router.post(
    "/clients/{client_id}/intake-link",
    response_model=IntakeLinkOut,
    status_code=201,
    tags=["clients"],
    summary="Make a link to the billing-details form for a client",
    responses={404: _problem("No such client")},
)
def create_intake_link(
    client_id: int, user: ApiUser, app: AppDep, response: Response
) -> IntakeLinkOut:
    link = intake.create_intake_link(
        client_id,
        uow=app.uow(),
        clock=app.clock,
        actor=actor(user),
        base_url=app.settings.base_url,
    )
    # the working link: not cached, not kept in clear for replays (only its hash is stored)
    response.headers["Cache-Control"] = "no-store"
    return IntakeLinkOut(url=link.url, expires_at=link.expires_at)


__all__ = ["router"]
