"""REST API: users, roles and API keys — the owner's, with a key of the ``admin`` scope.

* ``GET /users``, ``POST /users`` (a generated password is in that one answer only),
  ``PATCH /users/{id}`` (role), ``DELETE /users/{id}`` (its keys go with it). The last
  owner can be neither demoted nor removed, and nobody demotes or removes themselves: 409.
* ``GET /api-keys`` (every user's: prefix, scopes, created, revoked — never the secret),
  ``POST /api-keys`` (the key is in that one answer only), ``POST /api-keys/{id}/revoke``.

Every change is in the audit log; no password or key is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ...bootstrap import App
from ...services import api_keys, team
from ...services.errors import NotFound
from .api import COMMON_RESPONSES, Responses, _problem
from .deps import AdminUser, AppDep, actor
from .schemas_resources import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyList,
    ApiKeyOut,
    UserCreatedOut,
    UserIn,
    UserList,
    UserOut,
    UserPatch,
)

router = APIRouter(prefix="/api/v1", responses=COMMON_RESPONSES, tags=["users"])
_NO_USER: Responses = {404: _problem("No such user")}
_LAST_OWNER: Responses = {
    404: _problem("No such user"),
    409: _problem("The last owner, or yourself: another owner must do it"),
}


def _user_out(app: App, user_id: int) -> UserOut:
    found = next((u for u in team.list_users(uow=app.uow()) if u.id == user_id), None)
    if found is None:
        raise NotFound(f"user {user_id} does not exist", field="user_id")
    return UserOut.of(found)


@router.get("/users", response_model=UserList, summary="Users and their roles")
def list_users(_: AdminUser, app: AppDep) -> UserList:
    return UserList(items=[UserOut.of(u) for u in team.list_users(uow=app.uow())])


@router.post(
    "/users",
    response_model=UserCreatedOut,
    status_code=201,
    summary="Add a user; without a password one is generated and shown in this answer only",
    responses={409: _problem("A user with this email exists")},
)
def create_user(body: UserIn, user: AdminUser, app: AppDep, response: Response) -> UserCreatedOut:
    password = body.password.get_secret_value() if body.password else None
    uid, generated = team.invite_user(
        body.email,
        body.role,
        password,
        uow=app.uow(),
        clock=app.clock,
        hasher=app.hasher,
        actor=actor(user),
    )
    response.headers["Location"] = f"/api/v1/users/{uid}"
    response.headers["Cache-Control"] = "no-store"
    return UserCreatedOut(**_user_out(app, uid).model_dump(), password=generated)


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    summary="Change a user's role",
    responses=_LAST_OWNER,
)
def update_user(user_id: int, body: UserPatch, user: AdminUser, app: AppDep) -> UserOut:
    team.change_role(user_id, body.role, uow=app.uow(), clock=app.clock, by=user)
    return _user_out(app, user_id)


@router.delete(
    "/users/{user_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a user and its API keys",
    responses=_LAST_OWNER,
)
def delete_user(user_id: int, user: AdminUser, app: AppDep) -> Response:
    team.remove_user(user_id, uow=app.uow(), clock=app.clock, by=user)
    return Response(status_code=204)


# -- API keys -------------------------------------------------------------------------------
@router.get("/api-keys", response_model=ApiKeyList, summary="API keys (never the secret)")
def list_keys(
    _: AdminUser,
    app: AppDep,
    user_id: Annotated[int | None, Query(ge=1, description="only this user's")] = None,
) -> ApiKeyList:
    with app.uow(read_only=True) as uow:
        return ApiKeyList(items=[ApiKeyOut.of(k) for k in uow.resources.api_keys(user_id=user_id)])


@router.post(
    "/api-keys",
    response_model=ApiKeyCreatedOut,
    status_code=201,
    summary="Create an API key; the key is in this answer only",
    responses=_NO_USER,
)
def create_key(
    body: ApiKeyIn, user: AdminUser, app: AppDep, response: Response
) -> ApiKeyCreatedOut:
    owner_id = body.user_id or user.id
    row, key = api_keys.create_key(
        owner_id,
        body.name,
        list(dict.fromkeys(body.scopes)),
        uow=app.uow(),
        clock=app.clock,
        actor=actor(user),
    )
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyCreatedOut(**ApiKeyOut.of(row).model_dump(), key=key)


@router.post(
    "/api-keys/{key_id}/revoke",
    response_model=ApiKeyOut,
    summary="Revoke an API key at once (again: no change)",
    responses={404: _problem("No such API key")},
)
def revoke_key(key_id: int, user: AdminUser, app: AppDep) -> ApiKeyOut:
    row = api_keys.revoke_key(key_id, uow=app.uow(), clock=app.clock, actor=actor(user))
    return ApiKeyOut.of(row)
