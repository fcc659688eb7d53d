"""REST API: one source (health, settings, secret rotation) and its events (list, one,
replay).

* ``GET /sources/{name}`` — health (last event, stale, errors) and which secrets are set.
* ``PATCH /sources/{name}`` — field map, options, enabled; ``POST /sources/{name}/secret``
  replaces secrets (write-only: the answer names them, never their values).
* ``GET /events`` (``source``, ``type``, ``status``, ``subject``, ``external_id``; cursor),
  ``GET /events/{id}`` with its canonical fields and raw payload.
* ``POST /events/{id}/replay`` and ``POST /sources/{name}/requests/{id}/replay`` — process
  the raw request again through the rules (after fixing a mapping, say). Effects already
  applied are not repeated: events keep their dedupe keys and rules fire once per subject
  and period.

The list of a source's raw requests is ``GET /sources/{name}/requests`` (api_triggers.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field, SecretStr

from ...bootstrap import App
from ...domain.errors import InvalidValue
from ...services import field_mapping, ingest, sources
from ...services.errors import Conflict, NotFound
from .api import COMMON_RESPONSES, Responses, _problem
from .api_triggers import SourceOut
from .deps import ApiUser, AppDep, actor
from .paging import After, Limit, cut
from .schemas_resources import (
    EventDetailOut,
    EventOut,
    EventPage,
    ReplayOut,
    SecretsIn,
    SourcePatch,
)

router = APIRouter(prefix="/api/v1", responses=COMMON_RESPONSES)
NO_NUL = r"^[^\x00]*$"
SourceName = Annotated[str, Path(max_length=100, pattern=NO_NUL, description="the source's name")]
_NO_SOURCE: Responses = {404: _problem("No such source")}


class SourceDetailOut(SourceOut):
    enabled: bool
    poll_interval_seconds: int | None
    secrets_set: list[str] = Field(description="which secrets are stored (never their values)")


def _detail(app: App, name: str) -> SourceDetailOut:
    with app.uow(read_only=True) as uow:
        src = uow.sources.by_name(name)
    try:
        stored = sorted(k for k, v in app.box.open(src.sealed_secrets).items() if v)
    except ValueError:  # sealed with another key: to be entered again
        stored = []
    return SourceDetailOut(
        **SourceOut.of(src, app).model_dump(),
        enabled=src.enabled,
        poll_interval_seconds=(
            int(src.poll_interval.total_seconds()) if src.poll_interval else None
        ),
        secrets_set=stored,
    )


@router.get(
    "/sources/{name}",
    response_model=SourceDetailOut,
    tags=["sources"],
    summary="One source: health, settings, which secrets are set",
    responses=_NO_SOURCE,
)
def get_source(name: SourceName, _: ApiUser, app: AppDep) -> SourceDetailOut:
    return _detail(app, name)


@router.patch(
    "/sources/{name}",
    response_model=SourceDetailOut,
    tags=["sources"],
    summary="Change a source's field map, options or enabled state",
    responses=_NO_SOURCE,
)
def update_source(
    name: SourceName, body: SourcePatch, user: ApiUser, app: AppDep
) -> SourceDetailOut:
    who = actor(user)
    with app.uow(read_only=True) as uow:
        uow.sources.by_name(name)
    if body.field_map is not None:
        # checked whole before anything is stored: a bad row changes nothing
        rows = list(body.field_map.items())
        _, errors = field_mapping.check_field_map(rows, allow_override=body.allow_override)
        if errors:
            where, message = next(iter(errors.items()))
            index = where.partition("-")[2]
            key = rows[int(index)][0] if index.isdigit() else ""
            raise InvalidValue(message, field=f"field_map.{key}" if key else "field_map")
        field_mapping.update_field_map(
            name,
            list(body.field_map.items()),
            allow_override=body.allow_override,
            uow=app.uow(),
            clock=app.clock,
            actor=who,
        )
    if body.options is not None:
        sources.set_source_options(name, body.options, uow=app.uow(), clock=app.clock, actor=who)
    if body.enabled is not None:
        sources.set_source_enabled(name, body.enabled, uow=app.uow(), clock=app.clock, actor=who)
    return _detail(app, name)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


@router.post(
    "/sources/{name}/secret",
    response_model=SourceDetailOut,
    tags=["sources"],
    summary="Replace a source's secrets (rotation); they are never returned",
    responses=_NO_SOURCE,
)
def rotate_secret(
    name: SourceName, body: SecretsIn, user: ApiUser, app: AppDep, response: Response
) -> SourceDetailOut:
    values = {
        "signing_secret": _secret(body.signing_secret),
        "api_token": _secret(body.api_token),
        "basic_user": body.basic_user,
        "basic_password": _secret(body.basic_password),
    }
    given = {k: v for k, v in values.items() if v}
    if not given:
        raise InvalidValue("send at least one secret", field="body")
    sources.set_source_secrets(
        name, given, uow=app.uow(), clock=app.clock, box=app.box, actor=actor(user)
    )
    response.headers["Cache-Control"] = "no-store"  # the webhook URL: not kept for replays
    return _detail(app, name)


# -- events ---------------------------------------------------------------------------------
@router.get("/events", response_model=EventPage, tags=["events"], summary="Events, newest first")
def list_events(
    _: ApiUser,
    app: AppDep,
    source: Annotated[
        str | None, Query(max_length=100, pattern=NO_NUL, description="a source's name")
    ] = None,
    type: Annotated[str | None, Query(max_length=40, pattern=NO_NUL, examples=["deal.won"])] = None,
    status: Annotated[
        str | None,
        Query(max_length=20, pattern=NO_NUL, description="applied, unmapped, error, superseded…"),
    ] = None,
    subject: Annotated[str | None, Query(max_length=20, pattern=NO_NUL, examples=["deal"])] = None,
    external_id: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    after: After = None,
    limit: Limit = 50,
) -> EventPage:
    with app.uow(read_only=True) as uow:
        rows = uow.resources.events(
            source=source,
            type=type,
            status=status,
            subject=subject,
            external_id=external_id,
            after_id=after,
            limit=limit + 1,
        )
    page, cursor = cut(rows, limit, key=lambda e: e.id)
    return EventPage(items=[EventOut.of(e) for e in page], next_cursor=cursor)


@router.get(
    "/events/{event_id}",
    response_model=EventDetailOut,
    tags=["events"],
    summary="One event with its canonical fields and the payload received",
    responses={404: _problem("No such event")},
)
def get_event(event_id: int, _: ApiUser, app: AppDep) -> EventDetailOut:
    with app.uow(read_only=True) as uow:
        return EventDetailOut.of(uow.resources.event(event_id))


def _replay(app: App, inbound_id: int, who: str) -> ReplayOut:
    ingest.replay_inbound(inbound_id, uow=app.uow(), clock=app.clock, actor=who)
    return ReplayOut(inbound_id=inbound_id, status="queued")


@router.post(
    "/events/{event_id}/replay",
    response_model=ReplayOut,
    status_code=202,
    tags=["events"],
    summary="Process the request an event came in again; applied effects are not repeated",
    responses={
        404: _problem("No such event"),
        409: _problem("The event was polled, not received: there is no request to replay"),
    },
)
def replay_event(event_id: int, user: ApiUser, app: AppDep) -> ReplayOut:
    with app.uow(read_only=True) as uow:
        event = uow.resources.event(event_id)
    if event.inbound_id is None:
        raise Conflict(
            "this event was fetched by polling, not received as a request: there is nothing "
            "to replay; the next poll reads it again",
            field="event_id",
        )
    return _replay(app, event.inbound_id, actor(user))


@router.post(
    "/sources/{name}/requests/{request_id}/replay",
    response_model=ReplayOut,
    status_code=202,
    tags=["sources"],
    summary="Process a stored raw request again; applied effects are not repeated",
    responses={404: _problem("No such source or request")},
)
def replay_request(name: SourceName, request_id: int, user: ApiUser, app: AppDep) -> ReplayOut:
    with app.uow(read_only=True) as uow:
        src = uow.sources.by_name(name)
        try:
            found = uow.inbound.get(request_id)
        except NotFound:
            found = None
    if found is None or found.source_id != src.id:
        raise NotFound(f"source {name!r} has no request {request_id}", field="request_id")
    return _replay(app, request_id, actor(user))
