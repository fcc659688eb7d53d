"""Pydantic schemas of the REST API's resources: clients, contracts, sources, events,
drafts, credit notes, users and API keys (invoices and payments: ``schemas.py``).

Money is an exact decimal string beside its currency; request bodies refuse unknown
fields, so a typo is a 422 naming the field instead of a silently ignored value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ...domain.contracts import Contract
from ...services.installation_settings import UserRow
from ...services.resources import ApiKeyRow, EventRow
from .schemas import ClientOut, KindName, StatusName, money_text

# an exact decimal as text: no float, no exponent; at most 12 digits before the point, 6 after
# (what the NUMERIC(24, 6) columns hold, with room for quantity × price and the totals)
DECIMAL = r"^-?\d{1,12}(\.\d{1,6})?$"
EARLIEST, LATEST = date(2000, 1, 1), date(2199, 12, 31)


def _has_nul(value: Any) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        """No NUL characters: no database stores them in text."""
        if _has_nul(value):
            raise ValueError("contains a NUL character")
        if isinstance(value, date) and not EARLIEST <= value <= LATEST:
            raise ValueError(f"give a date between {EARLIEST} and {LATEST}")
        return value


class _Out(BaseModel):
    """A response body."""


# -- clients --------------------------------------------------------------------------------
class ClientPage(_Out):
    items: list[ClientOut]
    next_cursor: str | None = Field(description="pass as `after` for the next page")


class ClientPatch(_In):
    """Only the fields sent change. Address: ``address_lines``, ``city``, ``postal_code``
    and ``subdivision`` (ISO 3166-2, e.g. ``KA``); all of it is checked as a whole."""

    name: str | None = Field(None, min_length=1, max_length=200)
    is_business: bool | None = None
    address_lines: list[str] | None = Field(None, max_length=4)
    city: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, min_length=2, max_length=2, examples=["DE"])
    subdivision: str | None = Field(None, max_length=10)
    emails: list[str] | None = Field(None, max_length=10)
    tax_id: str | None = Field(None, max_length=40, examples=["DE811907980"])
    peppol_id: str | None = Field(None, max_length=150, examples=["0088:5790000435975"])
    currency: str | None = Field(None, min_length=3, max_length=3, examples=["EUR"])
    terms: str | None = Field(None, max_length=20, examples=["net:30", "eom:15", "receipt"])
    language: str | None = Field(None, max_length=16, examples=["de"])
    timezone: str | None = Field(None, max_length=64, examples=["Europe/Berlin"])
    po_required: bool | None = None
    payment_method: str | None = Field(None, max_length=30, examples=["bank_transfer"])


class ClientIn(ClientPatch):
    name: str = Field(min_length=1, max_length=200, examples=["Hanseatic Logistics AG"])
    country: str = Field(min_length=2, max_length=2, examples=["DE"])
    currency: str = Field(min_length=3, max_length=3, examples=["EUR"])
    entity_id: int | None = Field(None, ge=1, description="default: the first issuing entity")


# -- contracts ------------------------------------------------------------------------------
ModelName = Literal["retainer", "milestone", "time_and_materials"]


class MilestoneIn(_In):
    name: str = Field(min_length=1, max_length=200)
    amount: str = Field(max_length=40, pattern=DECIMAL, examples=["12000.00"])


class RateIn(_In):
    role: str = Field(min_length=1, max_length=100, examples=["Senior engineer"])
    hourly: str = Field(max_length=40, pattern=DECIMAL, examples=["120.00"])


class ContractIn(_In):
    client_id: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=200)
    model: ModelName
    currency: str | None = Field(None, min_length=3, max_length=3, description="client's")
    terms: str | None = Field(None, max_length=20, description="default: the client's")
    tax_kind: Literal["standard", "reduced", "zero", "exempt"] | None = Field(
        None, description="default: the entity's (Settings → Taxes)"
    )
    description: str = Field("", max_length=500)
    amount: str | None = Field(
        None, description="retainer: per period", max_length=40, pattern=DECIMAL
    )
    seats: int | None = Field(None, ge=1, le=100_000)
    seat_price: str | None = Field(None, max_length=40, pattern=DECIMAL)
    rrule: str | None = Field(
        None,
        max_length=300,
        description="retainer schedule (RFC 5545)",
        examples=["FREQ=MONTHLY;BYMONTHDAY=1"],
    )
    timezone: str | None = Field(None, max_length=64, description="default: the client's")
    starts_on: date | None = None
    ends_on: date | None = None
    milestones: list[MilestoneIn] = Field(default_factory=list, max_length=100)
    rates: list[RateIn] = Field(default_factory=list, max_length=100)


class MilestoneOut(_Out):
    name: str
    amount: str


class RateOut(_Out):
    role: str
    hourly: str


class ContractOut(_Out):
    id: int
    client_id: int
    name: str
    model: ModelName
    currency: str
    terms: str
    tax_kind: str
    description: str
    amount: str | None
    seats: int | None
    seat_price: str | None
    rrule: str | None
    timezone: str | None
    starts_on: date | None
    ends_on: date | None
    active: bool
    milestones: list[MilestoneOut]
    rates: list[RateOut]

    @classmethod
    def of(cls, c: Contract) -> ContractOut:
        cur = c.currency
        r = c.recurrence
        return cls(
            id=c.id or 0,
            client_id=c.client_id or 0,
            name=c.name,
            model=c.model.value,
            currency=cur,
            terms=c.terms.code,
            tax_kind=c.tax_kind.value,
            description=c.description,
            amount=money_text(c.amount, cur) if c.amount is not None else None,
            seats=c.seats,
            seat_price=str(c.seat_price) if c.seat_price is not None else None,
            rrule=r.rule if r else None,
            timezone=r.timezone if r else None,
            starts_on=c.starts_on,
            ends_on=c.ends_on,
            active=c.active,
            milestones=[
                MilestoneOut(name=m.name, amount=money_text(m.amount, cur)) for m in c.milestones
            ],
            rates=[RateOut(role=x.role, hourly=str(x.hourly)) for x in c.rates],
        )


class ContractPage(_Out):
    items: list[ContractOut]
    next_cursor: str | None


# -- sources and events ---------------------------------------------------------------------
class SourcePatch(_In):
    field_map: dict[str, str] | None = Field(
        None, description="replaces the map: canonical field → dotted path in the record"
    )
    allow_override: bool = Field(False, description="let the map overwrite connector fields")
    options: dict[str, Any] | None = Field(None, description="replaces the options")
    enabled: bool | None = None


class SecretsIn(_In):
    signing_secret: SecretStr | None = None
    api_token: SecretStr | None = None
    basic_user: str | None = Field(None, max_length=200)
    basic_password: SecretStr | None = None


class EventOut(_Out):
    id: int
    source: str
    type: str = Field(examples=["deal.won"])
    subject: str = Field(examples=["deal"])
    external_id: str
    occurred_at: datetime
    status: str = Field(examples=["applied", "unmapped", "error", "superseded"])
    detail: str | None
    recorded_at: datetime
    inbound_id: int | None = Field(description="the raw request it came in; null if polled")

    @classmethod
    def base(cls, e: EventRow) -> dict[str, Any]:
        return {
            "id": e.id,
            "source": e.source_name,
            "type": e.type,
            "subject": e.subject,
            "external_id": e.external_id,
            "occurred_at": e.occurred_at,
            "status": e.status,
            "detail": e.detail,
            "recorded_at": e.recorded_at,
            "inbound_id": e.inbound_id,
        }

    @classmethod
    def of(cls, e: EventRow) -> EventOut:
        return cls(**cls.base(e))


class EventDetailOut(EventOut):
    fields: dict[str, Any] = Field(description="the canonical fields read from the payload")
    payload: Any = Field(description="the vendor's record as received")

    @classmethod
    def of(cls, e: EventRow) -> EventDetailOut:
        return cls(**cls.base(e), fields=e.fields or {}, payload=e.raw)


class EventPage(_Out):
    items: list[EventOut]
    next_cursor: str | None


class ReplayOut(_Out):
    inbound_id: int
    status: Literal["queued"] = Field(
        description="processed again shortly; effects already applied are not repeated"
    )


# -- invoices -------------------------------------------------------------------------------
class DraftLineIn(_In):
    description: str = Field(min_length=1, max_length=500, examples=["Network audit, 3 sites"])
    quantity: str = Field("1", max_length=40, pattern=DECIMAL)
    unit_price: str = Field(max_length=40, pattern=DECIMAL, examples=["1500.00"])
    unit: str = Field("unit", max_length=20, examples=["hour", "unit"])
    tax_kind: Literal["standard", "reduced", "zero", "exempt"] | None = Field(
        None,
        description="the tax is decided from the parties' places, as for rules; "
        "default: the contract's, else the entity's (Settings → Taxes)",
    )
    tax_category: Literal["S", "Z", "E", "AE", "G", "O"] | None = Field(
        None, description="name the tax yourself (with `tax_rate`) instead"
    )
    tax_rate: str | None = Field(None, max_length=40, pattern=DECIMAL, examples=["19"])


class DraftIn(_In):
    client_id: int = Field(ge=1)
    lines: list[DraftLineIn] = Field(min_length=1, max_length=500)
    currency: str | None = Field(None, min_length=3, max_length=3, description="client's")
    terms: str | None = Field(None, max_length=20, examples=["net:30"])
    contract_id: int | None = Field(None, ge=1)
    buyer_reference: str | None = Field(None, max_length=100, description="e.g. the PO")
    notes: list[str] = Field(default_factory=list, max_length=10)


class SendOut(_Out):
    invoice_id: int
    queued: bool = Field(description="false when this Idempotency-Key queued it already")


class CreditNoteListOut(_Out):
    id: int
    number: str | None
    invoice_id: int | None = Field(description="the invoice it corrects")
    client_id: int
    client_name: str
    status: StatusName
    kind: KindName
    currency: str
    total: str
    issue_date: date | None


class CreditNotePage(_Out):
    items: list[CreditNoteListOut]
    next_cursor: str | None


# -- users and API keys ---------------------------------------------------------------------
RoleName = Literal["owner", "accountant", "viewer"]
ScopeName = Literal["read", "write", "admin"]


class UserOut(_Out):
    id: int
    email: str
    role: RoleName
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, u: UserRow) -> UserOut:
        return cls(
            id=u.id,
            email=u.email,
            role=cast(RoleName, u.role),
            created_at=u.created_at,
            last_login_at=u.last_login_at,
        )


class UserList(_Out):
    items: list[UserOut]


class UserIn(_In):
    email: str = Field(min_length=3, max_length=254)
    role: RoleName
    password: SecretStr | None = Field(
        None, description="at least 10 characters; omit to have one generated (shown once)"
    )


class UserCreatedOut(UserOut):
    password: str | None = Field(
        description="the generated password, in this answer only; null when you chose one"
    )


class UserPatch(_In):
    role: RoleName


class ApiKeyOut(_Out):
    id: int
    name: str
    prefix: str = Field(description="the key starts `ai_<prefix>_`; the rest is never shown")
    scopes: list[ScopeName]
    user_id: int
    user_email: str
    created_at: datetime
    revoked_at: datetime | None
    revoked: bool

    @classmethod
    def of(cls, k: ApiKeyRow) -> ApiKeyOut:
        return cls(
            id=k.id,
            name=k.name,
            prefix=k.prefix,
            scopes=[cast(ScopeName, x) for x in k.scopes],
            user_id=k.user_id,
            user_email=k.user_email,
            created_at=k.created_at,
            revoked_at=k.revoked_at,
            revoked=k.revoked_at is not None,
        )


class ApiKeyList(_Out):
    items: list[ApiKeyOut]


class ApiKeyIn(_In):
    name: str = Field(min_length=1, max_length=100, examples=["accounting export"])
    scopes: list[ScopeName] = Field(min_length=1, max_length=3)
    user_id: int | None = Field(None, ge=1, description="whose key; default: yours")


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="the API key, in this answer only: store it now")
