"""REST API for the trigger side, under ``/api/v1``: sources (with their health), links from
a source's records to clients and contracts, rules (with history) and what they fired.

Secrets go in once (``POST /sources``) and never come back out: responses carry the
webhook URL and the *names* of the secrets that are set, not their values.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, SecretStr

from ...bootstrap import App
from ...services import ingest, sources
from ...services.ports import SourceRecord
from ...services.triggering import load_rules
from .api import COMMON_RESPONSES, _problem
from .deps import ApiUser, AppDep, actor

router = APIRouter(prefix="/api/v1", responses=COMMON_RESPONSES)


class SourceIn(BaseModel):
    kind: str = Field(examples=["hubspot"])
    name: str = Field(min_length=1, max_length=100)
    signing_secret: SecretStr | None = None
    api_token: SecretStr | None = None
    basic_user: str | None = None
    basic_password: SecretStr | None = None
    api_base: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    field_map: dict[str, str] = Field(default_factory=dict)
    max_age_seconds: int | None = Field(default=None, ge=60)
    poll_interval_seconds: int | None = Field(default=None, ge=60)


class SourceOut(BaseModel):
    id: int
    kind: str
    name: str
    webhook_url: str
    last_event_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    error_count: int
    stale: bool
    max_age_seconds: int | None
    options: dict[str, Any]
    field_map: dict[str, str]

    @classmethod
    def of(cls, s: SourceRecord, app: App) -> SourceOut:
        return cls(
            id=s.id,
            kind=s.kind,
            name=s.name,
            webhook_url=f"{app.settings.base_url.rstrip('/')}/webhooks/{s.kind}/{s.url_token}",
            last_event_at=s.last_event_at,
            last_success_at=s.last_success_at,
            last_error_at=s.last_error_at,
            last_error=s.last_error,
            error_count=s.error_count,
            stale=s.is_stale(app.clock.now()),
            max_age_seconds=int(s.max_age.total_seconds()) if s.max_age else None,
            options=dict(s.config.options),
            field_map=dict(s.config.field_map),
        )


class SourceList(BaseModel):
    items: list[SourceOut]


class LinkIn(BaseModel):
    ref_type: Literal["client", "project"]
    external_ref: str = Field(min_length=1, max_length=200)
    client_id: int | None = Field(default=None, ge=1)
    contract_id: int | None = Field(default=None, ge=1)


class LinkOut(BaseModel):
    id: int
    ref_type: str
    external_ref: str
    client_id: int
    contract_id: int | None


class RuleOut(BaseModel):
    name: str
    kind: str
    build: str
    action: str
    shadow: bool
    enabled: bool
    version: int
    next_run_at: datetime | None
    definition: dict[str, Any]


class RuleList(BaseModel):
    items: list[RuleOut]


class RuleVersion(BaseModel):
    version: int
    definition: dict[str, Any]
    changed_at: datetime
    actor: str


class Firing(BaseModel):
    rule: str
    subject: str
    period: str
    outcome: str
    fired_at: datetime
    invoice_id: int | None
    gross_total: str | None
    currency: str | None
    detail: str | None


class InboundOut(BaseModel):
    id: int
    received_at: datetime
    status: str
    size: int
    error: str | None


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


@router.get("/sources", response_model=SourceList, tags=["sources"], summary="Sources and health")
def list_sources(_: ApiUser, app: AppDep) -> SourceList:
    with app.uow(read_only=True) as uow:
        return SourceList(items=[SourceOut.of(s, app) for s in uow.sources.list()])


@router.post(
    "/sources",
    response_model=SourceOut,
    status_code=201,
    tags=["sources"],
    summary="Connect a product; the response has its webhook URL (secrets are not returned)",
    responses={409: _problem("A source of that name exists")},
)
def create_source(body: SourceIn, user: ApiUser, app: AppDep, response: Response) -> SourceOut:
    secrets = {
        "signing_secret": _secret(body.signing_secret),
        "api_token": _secret(body.api_token),
        "basic_user": body.basic_user,
        "basic_password": _secret(body.basic_password),
    }
    src = sources.add_source(
        sources.NewSource(
            kind=body.kind,
            name=body.name,
            secrets={k: v for k, v in secrets.items() if v},
            api_base=body.api_base,
            options=body.options,
            field_map=body.field_map,
            max_age=timedelta(seconds=body.max_age_seconds) if body.max_age_seconds else None,
            poll_interval=(
                timedelta(seconds=body.poll_interval_seconds)
                if body.poll_interval_seconds
                else None
            ),
        ),
        uow=app.uow(),
        clock=app.clock,
        box=app.box,
        actor=actor(user),
        kinds=app.source_kinds,
    )
    response.headers["Cache-Control"] = "no-store"  # the webhook URL: not kept for replays
    return SourceOut.of(src, app)


@router.post(
    "/sources/{name}/links",
    response_model=LinkOut,
    status_code=201,
    tags=["sources"],
    summary="Map a source's company or project to a client or contract",
    responses={404: _problem("No such source, client or contract")},
)
def create_link(name: str, body: LinkIn, user: ApiUser, app: AppDep) -> LinkOut:
    link_id = ingest.link_ref(
        name,
        body.ref_type,
        body.external_ref,
        client_id=body.client_id,
        contract_id=body.contract_id,
        uow=app.uow(),
        clock=app.clock,
        actor=actor(user),
    )
    with app.uow(read_only=True) as uow:
        link = next(x for x in uow.links.list() if x.id == link_id)
    return LinkOut(
        id=link.id,
        ref_type=link.ref_type,
        external_ref=link.external_ref,
        client_id=link.client_id,
        contract_id=link.contract_id,
    )


@router.get(
    "/sources/{name}/requests",
    response_model=list[InboundOut],
    tags=["sources"],
    summary="The source's recent raw requests and their processing status",
    responses={404: _problem("No such source")},
)
def source_requests(
    name: str, _: ApiUser, app: AppDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[InboundOut]:
    with app.uow(read_only=True) as uow:
        src = uow.sources.by_name(name)
        return [InboundOut(**r) for r in uow.inbound.recent(src.id, limit)]


def _rule_out(r: Any) -> RuleOut:
    return RuleOut(
        name=r.rule.name,
        kind=r.rule.kind.value,
        build=r.rule.build.value,
        action=r.rule.action.value,
        shadow=r.rule.shadow,
        enabled=r.rule.enabled,
        version=r.version,
        next_run_at=r.next_run_at,
        definition=r.rule.to_dict(),
    )


@router.get("/rules", response_model=RuleList, tags=["rules"], summary="Trigger rules")
def list_rules(_: ApiUser, app: AppDep) -> RuleList:
    with app.uow(read_only=True) as uow:
        return RuleList(items=[_rule_out(r) for r in uow.rules.list()])


@router.post(
    "/rules",
    response_model=RuleList,
    tags=["rules"],
    summary="Create or change rules (the same document as `autoinvoice rules load`)",
)
def save_rules(body: dict[str, Any], user: ApiUser, app: AppDep) -> RuleList:
    document = body if "rules" in body else {"rules": [body]}
    saved = load_rules(document, uow=app.uow(), clock=app.clock, actor=actor(user))
    with app.uow(read_only=True) as uow:
        return RuleList(items=[_rule_out(uow.rules.get(n)) for n, _, _ in saved])


@router.get(
    "/rules/{name}/history",
    response_model=list[RuleVersion],
    tags=["rules"],
    summary="Every version of a rule",
    responses={404: _problem("No such rule")},
)
def rule_history(name: str, _: ApiUser, app: AppDep) -> list[RuleVersion]:
    with app.uow(read_only=True) as uow:
        uow.rules.get(name)
        return [RuleVersion(**v) for v in uow.rules.history(name)]


@router.get(
    "/rules/firings",
    response_model=list[Firing],
    tags=["rules"],
    summary="What the rules did, one row per (rule, subject, period)",
)
def rule_firings(
    _: ApiUser,
    app: AppDep,
    outcome: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[Firing]:
    with app.uow(read_only=True) as uow:
        rows = uow.rule_firings.list(outcome=outcome, limit=limit)
    return [
        Firing(
            rule=r["rule"],
            subject=r["subject"],
            period=r["period"],
            outcome=r["outcome"],
            fired_at=r["fired_at"],
            invoice_id=r["invoice_id"],
            gross_total=None if r["gross_total"] is None else str(r["gross_total"]),
            currency=r["currency"],
            detail=r["detail"],
        )
        for r in rows
    ]
