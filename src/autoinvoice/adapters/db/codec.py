"""Row ↔ domain conversions for the values kept as JSON columns (parties, line tax)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ...domain.parties import Address, Party
from ...domain.tax import LineTax, TaxCategory, TaxComponent


def address_to_json(a: Address | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "lines": list(a.lines),
        "city": a.city,
        "postal_code": a.postal_code,
        "country": a.country,
        "subdivision": a.subdivision,
    }


def address_from_json(d: dict[str, Any] | None) -> Address | None:
    if not d:
        return None
    return Address(
        tuple(d["lines"]), d["city"], d.get("postal_code", ""), d["country"], d.get("subdivision")
    )


def party_to_json(p: Party) -> dict[str, Any]:
    return {
        "name": p.name,
        "country": p.country,
        "subdivision": p.subdivision,
        "address": address_to_json(p.address),
        "tax_id": p.tax_id,
        "emails": list(p.emails),
        "is_business": p.is_business,
        "extra": dict(p.extra),
        "peppol_id": p.peppol_id,
    }


def party_from_json(d: dict[str, Any]) -> Party:
    return Party(
        name=d["name"],
        country=d["country"],
        address=address_from_json(d.get("address")),
        tax_id=d.get("tax_id"),
        emails=tuple(d.get("emails", ())),
        is_business=d.get("is_business", True),
        subdivision=d.get("subdivision"),
        extra=dict(d.get("extra") or {}),
        peppol_id=d.get("peppol_id"),
    )


def tax_to_json(t: LineTax) -> dict[str, Any]:
    return {
        "category": t.category.value,
        "rate": str(t.rate),
        "components": [[c.name, str(c.rate)] for c in t.components],
        "note": t.note,
    }


def tax_from_json(d: dict[str, Any]) -> LineTax:
    return LineTax(
        TaxCategory(d["category"]),
        Decimal(d["rate"]),
        tuple(TaxComponent(n, Decimal(r)) for n, r in d["components"]),
        d.get("note"),
    )
