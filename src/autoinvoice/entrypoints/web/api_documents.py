"""The REST API for documents: an invoice's PDF / Factur-X / UBL / CII, its pre-flight
checks, the organisation's branding and check settings, and a client's document settings.

Documents of issued invoices are the stored ones, byte for byte; a draft has only its PDF
preview (409 for the XML formats until it is issued).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...domain.documents import FONTS, LAYOUTS, Branding, DocumentSettings
from ...domain.errors import InvalidValue
from ...domain.lint import CheckSettings
from ...domain.recurrence import zone
from ...services import setup
from ...services.einvoices import preflight
from ...services.errors import NotFound
from .api import COMMON_RESPONSES, PROBLEM, _problem
from .deps import ApiUser, AppDep, actor
from .pdf import document_response

router = APIRouter(prefix="/api/v1", responses=COMMON_RESPONSES)

FormatName = Literal["pdf", "facturx", "ubl", "cii"]


class FindingOut(BaseModel):
    check: str = Field(description="The check's name, or `en16931` for a business rule")
    message: str = Field(description="What is wrong")
    fix: str = Field(description="What to do about it")
    field: str = Field(description="Where, e.g. `lines[2].description`")


class ChecksOut(BaseModel):
    invoice_id: int
    ready: bool = Field(description="True when the draft passes every check and rule")
    findings: list[FindingOut]


class BrandingIn(BaseModel):
    layout: Literal["classic", "modern"] | None = None
    accent: Annotated[str | None, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = None
    font: str | None = Field(default=None, description=f"One of: {', '.join(FONTS)}")
    logo_base64: str | None = Field(default=None, description="The logo file, base64")
    logo_format: Literal["png", "jpg", "svg"] | None = None
    remove_logo: bool = False
    footer: str | None = Field(default=None, max_length=500)


class BrandingOut(BaseModel):
    layout: str
    accent: str
    font: str | None
    logo_format: str | None
    logo_bytes: int
    footer: str
    layouts: list[str]
    fonts: list[str]


class ChecksSettingsIn(BaseModel):
    checks: dict[str, dict[str, Any]] = Field(
        description='Per check: `{"enabled": false}` or options, e.g. `{"min_length": 10}`'
    )


class ChecksSettingsOut(BaseModel):
    checks: dict[str, dict[str, Any]]


class ClientDocumentsIn(BaseModel):
    attach: list[FormatName]


@router.get(
    "/invoices/{invoice_id}/documents/{fmt}",
    tags=["invoices"],
    summary="The invoice as PDF, Factur-X PDF, UBL or CII XML",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {}, "application/xml": {}},
            "description": "The document",
        },
        404: _problem("No such invoice"),
        409: _problem("A draft has only its PDF preview"),
    },
)
def get_document(
    invoice_id: Annotated[int, Path(ge=1)], fmt: FormatName, _: ApiUser, app: AppDep
) -> Response:
    with app.uow(read_only=True) as uow:
        inv = uow.invoices.get(invoice_id)
    return document_response(app, inv, fmt, inline=False)


@router.get(
    "/invoices/{invoice_id}/checks",
    response_model=ChecksOut,
    tags=["invoices"],
    summary="Run the pre-flight checks and EN 16931 rules on an invoice as it would be issued",
    responses={404: _problem("No such invoice")},
)
def get_checks(invoice_id: Annotated[int, Path(ge=1)], _: ApiUser, app: AppDep) -> ChecksOut:
    with app.uow(read_only=True) as uow:
        inv = uow.invoices.get(invoice_id)
        entity = uow.entities.get(inv.entity_id or 0)
        contract = uow.contracts.get(inv.contract_id) if inv.contract_id else None
    today = app.clock.now().astimezone(zone(entity.timezone)).date()
    findings = preflight(inv, entity, contract, today=today)
    return ChecksOut(
        invoice_id=invoice_id,
        ready=not findings,
        findings=[FindingOut(**f.as_dict()) for f in findings],
    )


def _entity(app: Any) -> Any:
    with app.uow(read_only=True) as uow:
        entity = uow.entities.first()
    if entity is None:
        raise NotFound("there is no issuing entity yet", field="entity")
    return entity


def _branding_out(entity: Any) -> BrandingOut:
    b = entity.branding
    return BrandingOut(
        **b.as_json(),
        logo_bytes=len(b.logo) if b.logo else 0,
        footer=entity.footer,
        layouts=list(LAYOUTS),
        fonts=list(FONTS),
    )


@router.get(
    "/settings/branding",
    response_model=BrandingOut,
    tags=["settings"],
    summary="How the invoice documents look",
)
def get_branding(_: ApiUser, app: AppDep) -> BrandingOut:
    return _branding_out(_entity(app))


@router.put(
    "/settings/branding",
    response_model=BrandingOut,
    tags=["settings"],
    summary="Change layout, accent colour, font, logo or footer (omitted fields stay)",
)
def put_branding(body: BrandingIn, user: ApiUser, app: AppDep) -> BrandingOut:
    entity = _entity(app)
    old = entity.branding
    logo, fmt = old.logo, old.logo_format
    if body.logo_base64 is not None:
        try:
            logo = base64.b64decode(body.logo_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidValue("the logo is not valid base64", field="logo_base64") from None
        fmt = body.logo_format
        if fmt is None:
            raise InvalidValue("give the logo's format (png, jpg, svg)", field="logo_format")
    if body.remove_logo:
        logo, fmt = None, None
    branding = Branding(
        layout=body.layout or old.layout,
        accent=body.accent or old.accent,
        font=body.font if body.font is not None else old.font,
        logo=logo,
        logo_format=fmt,
    )
    updated = setup.update_entity_documents(
        entity.id,
        uow=app.uow(),
        clock=app.clock,
        actor=actor(user),
        branding=branding,
        footer=body.footer,
    )
    return _branding_out(updated)


@router.get(
    "/settings/checks",
    response_model=ChecksSettingsOut,
    tags=["settings"],
    summary="The pre-flight checks with their settings",
)
def get_check_settings(_: ApiUser, app: AppDep) -> ChecksSettingsOut:
    return ChecksSettingsOut(checks=_entity(app).checks.merged())


@router.put(
    "/settings/checks",
    response_model=ChecksSettingsOut,
    tags=["settings"],
    summary="Switch checks on or off and tune them (unknown names and options are refused)",
)
def put_check_settings(body: ChecksSettingsIn, user: ApiUser, app: AppDep) -> ChecksSettingsOut:
    entity = _entity(app)
    current = {k: dict(v) for k, v in entity.checks.values.items()}
    for name, options in body.checks.items():
        current[name] = {**current.get(name, {}), **options}
    settings = CheckSettings(current)
    setup.update_checks(entity.id, settings, uow=app.uow(), clock=app.clock, actor=actor(user))
    return ChecksSettingsOut(checks=settings.merged())


@router.put(
    "/clients/{client_id}/documents",
    response_model=ClientDocumentsIn,
    tags=["clients"],
    summary="Choose the documents attached to this client's invoice emails",
    responses={404: {"description": "No such client", **PROBLEM}},
)
def put_client_documents(
    client_id: Annotated[int, Path(ge=1)], body: ClientDocumentsIn, user: ApiUser, app: AppDep
) -> ClientDocumentsIn:
    settings = DocumentSettings(tuple(body.attach))
    setup.set_client_documents(
        client_id, settings, uow=app.uow(), clock=app.clock, actor=actor(user)
    )
    return body.model_copy(update={"attach": list(dict.fromkeys(body.attach))})
