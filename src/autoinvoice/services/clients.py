"""Clients created and changed by the owner (the REST API), with the same field checks as
the client intake form (``domain/intake.py``: ISO 3166 country and region, postal code
shape, email addresses, tax id by python-stdnum, Peppol id).

Unlike the intake form, a client may be created with billing data still missing (no
address, no tax id yet): invoices to it are held until it is complete, and the lists say
what is missing. What *is* given must be valid. Every problem is reported at once
(``IntakeInvalid``: field → message); nothing is stored then.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from ..domain.errors import InvalidValue
from ..domain.intake import (
    PAYMENT_METHODS,
    IntakeInvalid,
    check_client_tax_id,
    check_country_code,
    check_emails,
    check_gstin_state,
    check_postal_code,
    check_subdivision,
)
from ..domain.money import check_currency
from ..domain.parties import Address, Party, check_peppol_id
from ..domain.recurrence import zone
from ..domain.terms import PaymentTerms
from . import installation_settings, setup
from .ports import ClientRecord, Clock, UnitOfWork

_LANGUAGE = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
_UNSET: Any = object()


@dataclass(frozen=True)
class ClientFields:
    """A client's data as given; on a change, fields left ``UNSET`` keep their value."""

    name: str = _UNSET
    is_business: bool = _UNSET
    address_lines: tuple[str, ...] = _UNSET
    city: str = _UNSET
    postal_code: str = _UNSET
    country: str = _UNSET
    subdivision: str | None = _UNSET
    emails: tuple[str, ...] = _UNSET
    tax_id: str | None = _UNSET
    peppol_id: str | None = _UNSET
    currency: str = _UNSET
    terms: str = _UNSET
    language: str = _UNSET
    timezone: str = _UNSET
    po_required: bool = _UNSET
    payment_method: str | None = _UNSET

    def given(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) is not _UNSET
        }


UNSET = _UNSET


def _current(c: ClientRecord) -> dict[str, Any]:
    p, a = c.party, c.party.address
    return {
        "name": p.name,
        "is_business": p.is_business,
        "address_lines": tuple(a.lines) if a else (),
        "city": a.city if a else "",
        "postal_code": a.postal_code if a else "",
        "country": p.country,
        "subdivision": (a.subdivision if a else None) or p.subdivision,
        "emails": tuple(p.emails),
        "tax_id": p.tax_id,
        "peppol_id": p.peppol_id,
        "currency": c.currency,
        "terms": c.terms.code,
        "language": c.language,
        "timezone": c.timezone,
        "po_required": c.po_required,
        "payment_method": c.payment_method,
    }


_DEFAULTS: dict[str, Any] = {
    "is_business": True,
    "address_lines": (),
    "city": "",
    "postal_code": "",
    "subdivision": None,
    "emails": (),
    "tax_id": None,
    "peppol_id": None,
    "terms": "net:30",
    "language": "en",
    "timezone": "UTC",
    "po_required": False,
    "payment_method": None,
}


def _text(value: str | None, what: str, field: str, limit: int, *, required: bool) -> str:
    clean = " ".join((value or "").split())
    if required and not clean:
        raise InvalidValue(f"enter the {what}", field=field)
    if len(clean) > limit:
        raise InvalidValue(f"the {what} is longer than {limit} characters", field=field)
    return clean


def _language(value: str) -> str:
    if not _LANGUAGE.fullmatch(value.strip()):
        raise InvalidValue(
            f"{value!r} is not a language tag such as 'en' or 'de'", field="language"
        )
    return value.strip()


def _method(value: str | None) -> str | None:
    if value and value not in PAYMENT_METHODS:
        raise InvalidValue(f"use one of: {', '.join(PAYMENT_METHODS)}", field="payment_method")
    return value or None


def _validated(v: dict[str, Any]) -> tuple[Party, dict[str, Any]]:
    """The party and the invoicing settings from ``v``, or ``IntakeInvalid`` with every
    field's problem."""
    errors: dict[str, str] = {}

    def run(field: str, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except InvalidValue as exc:
            errors[exc.field or field] = exc.message
            return None

    name = run("name", lambda: _text(v["name"], "legal name", "name", 200, required=True))
    country = run("country", lambda: check_country_code(v["country"] or ""))
    lines = [ln.strip() for ln in v["address_lines"] if ln and ln.strip()]
    has_address = bool(lines or (v["city"] or "").strip() or (v["postal_code"] or "").strip())
    region = postal = city = None
    if country is not None:
        region = run("subdivision", lambda: _region(country, v["subdivision"], has_address))
        if has_address:
            postal = run("postal_code", lambda: check_postal_code(country, v["postal_code"]))
    if has_address:
        if not lines:
            errors["address_lines"] = "enter the street address"
        city = run("city", lambda: _text(v["city"], "city", "city", 100, required=True))
    emails = run("emails", lambda: check_emails(", ".join(v["emails"])) if v["emails"] else ())
    tax_id = None
    if country is not None and (v["tax_id"] or "").strip():
        tax_id = run("tax_id", lambda: _tax_id(country, v["tax_id"], region))
    peppol = run("peppol_id", lambda: check_peppol_id(v["peppol_id"]) if v["peppol_id"] else None)
    settings = {
        "currency": run("currency", lambda: check_currency(v["currency"] or "")),
        "terms": run("terms", lambda: PaymentTerms.parse(v["terms"])),
        "language": run("language", lambda: _language(v["language"] or "")),
        "timezone": run("timezone", lambda: zone(v["timezone"] or "") and v["timezone"]),
        "po_required": bool(v["po_required"]),
        "payment_method": run("payment_method", lambda: _method(v["payment_method"])),
    }
    if errors:
        raise IntakeInvalid(errors)
    address = Address(tuple(lines), city or "", postal or "", country, region) if lines else None
    party = Party(
        name=name,
        country=country,
        address=address,
        tax_id=tax_id,
        emails=emails,
        is_business=bool(v["is_business"]),
        subdivision=region,
        peppol_id=peppol,
    )
    return party, settings


def _region(country: str, value: str | None, has_address: bool) -> str | None:
    if not (value or "").strip() and not has_address:
        return None  # a region is asked for with the address
    return check_subdivision(country, value or "")


def _tax_id(country: str, value: str, region: str | None) -> str:
    clean = check_client_tax_id(country, value)
    if country == "IN":
        check_gstin_state(clean, region)
    return clean


def _record(client_id: int, entity_id: int, values: dict[str, Any]) -> ClientRecord:
    party, s = _validated(values)
    return ClientRecord(
        id=client_id,
        entity_id=entity_id,
        party=party,
        currency=s["currency"],
        terms=s["terms"],
        language=s["language"],
        timezone=s["timezone"],
        po_required=s["po_required"],
        payment_method=s["payment_method"],
    )


def create_client(
    entity_id: int, data: ClientFields, *, uow: UnitOfWork, clock: Clock, actor: str
) -> int:
    """Check and store a new client of issuing entity ``entity_id`` (``client.created``)."""
    values = {"name": "", "country": "", "currency": "", **_DEFAULTS, **data.given()}
    if "terms" not in data.given():  # the installation's default terms (Settings → Taxes)
        values["terms"] = installation_settings.default_terms(uow=uow).code
    return setup.add_client(_record(0, entity_id, values), uow=uow, clock=clock, actor=actor)


def update_client(
    client_id: int, data: ClientFields, *, uow: UnitOfWork, clock: Clock, actor: str
) -> ClientRecord:
    """Change the given fields of a client, the others staying as they are
    (``client.updated`` names each change). Nothing given that differs: nothing stored."""
    with uow:
        client = uow.clients.get(client_id)
    before = _current(client)
    after = {**before, **data.given()}
    record = _record(client_id, client.entity_id, after)
    now = _current(record)
    if any(now[k] != before[k] for k in data.given()):
        setup.update_client(record, uow=uow, clock=clock, actor=actor)
    with uow:
        return uow.clients.get(client_id)


__all__ = ["UNSET", "ClientFields", "create_client", "update_client"]
