"""Parties on an invoice: the issuing entity (seller) and the client (buyer).

Both are plain values; the invoice keeps a snapshot of each taken when it is issued, so a
later change of a client's address never alters an issued invoice.

Tax ids are checked with python-stdnum: EU VAT numbers (``stdnum.eu.vat``), Indian GSTIN
(``stdnum.in_.gstin``), US EIN, Australian ABN, UK VAT; other countries are stored as given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache

from babel import Locale

from .errors import InvalidValue, MissingData
from .tax import EU_COUNTRIES, TaxProfile


@cache
def _territories() -> frozenset[str]:
    codes = (str(k) for k in Locale("en").territories)
    return frozenset(k for k in codes if len(k) == 2 and k.isalpha())


def check_country(code: str, *, field: str = "country") -> str:
    if not isinstance(code, str) or code.upper() not in _territories():
        raise InvalidValue(f"{code!r} is not an ISO 3166-1 alpha-2 country code", field=field)
    return code.upper()


def country_name(code: str, locale: str = "en") -> str:
    return Locale.parse(locale).territories.get(code, code)


@lru_cache(maxsize=4096)  # every invoice read back checks its two parties' ids again
def check_tax_id(country: str, tax_id: str, *, field: str = "tax_id") -> str:
    """Validate and normalise ``tax_id`` for ``country``; ``InvalidValue`` names ``field``."""
    from stdnum.au import abn
    from stdnum.eu import vat
    from stdnum.gb import vat as gb_vat
    from stdnum.in_ import gstin
    from stdnum.us import ein

    value = tax_id.strip().upper().replace(" ", "")
    checks = {
        "IN": (gstin, "GSTIN"),
        "US": (ein, "EIN"),
        "AU": (abn, "ABN"),
        "GB": (gb_vat, "VAT number"),
    }
    if country in EU_COUNTRIES:
        module, name = vat, "EU VAT number"
        prefix = "EL" if country == "GR" else country
        if not value[:2].isalpha():
            value = prefix + value
        elif value[:2] != prefix:
            raise InvalidValue(
                f"{tax_id!r} is a VAT number of {value[:2]}, not of {country}", field=field
            )
    elif country in checks:
        module, name = checks[country]
    else:
        return value
    if not module.is_valid(value):
        raise InvalidValue(f"{tax_id!r} is not a valid {name} for {country}", field=field)
    return module.compact(value)


_PEPPOL_ID = re.compile(r"(?:[0-9]{4}|[A-Z]{2}):[^\s:]{1,135}")


def check_peppol_id(text: str, *, field: str = "peppol_id") -> str:
    """A Peppol participant id, ``scheme:identifier`` with an EAS scheme (``0208:0123456789``,
    ``9930:DE123456788``, ``EM:ap@example.com``)."""
    value = text.strip()
    if not _PEPPOL_ID.fullmatch(value):
        raise InvalidValue(
            f"{text!r} is not a Peppol participant id (scheme:identifier, e.g. 0208:0123456789)",
            field=field,
        )
    return value


@dataclass(frozen=True, slots=True)
class Address:
    lines: tuple[str, ...]
    city: str
    postal_code: str
    country: str
    subdivision: str | None = None  # ISO 3166-2 suffix, e.g. "KA" for Karnataka

    def __post_init__(self) -> None:
        object.__setattr__(self, "country", check_country(self.country, field="address.country"))
        if not any(line.strip() for line in self.lines):
            raise InvalidValue("the street address is empty", field="address.lines")
        if not self.city.strip():
            raise InvalidValue("the city is empty", field="address.city")

    def formatted(self) -> list[str]:
        place = " ".join(p for p in (self.postal_code, self.city) if p)
        if self.subdivision:
            place = f"{place}, {self.subdivision}"
        return [*[ln for ln in self.lines if ln.strip()], place]


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    country: str
    address: Address | None = None
    tax_id: str | None = None
    emails: tuple[str, ...] = ()
    is_business: bool = True
    subdivision: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    peppol_id: str | None = None  # BT-34/BT-49 electronic address, for e-invoice delivery

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise InvalidValue("the name is empty", field="name")
        object.__setattr__(self, "country", check_country(self.country))
        if self.tax_id:
            object.__setattr__(self, "tax_id", check_tax_id(self.country, self.tax_id))
        for i, e in enumerate(self.emails):
            if "@" not in e or e.startswith("@") or e.endswith("@") or " " in e.strip():
                raise InvalidValue(f"{e!r} is not an email address", field=f"emails[{i}]")
        if self.peppol_id:
            object.__setattr__(self, "peppol_id", check_peppol_id(self.peppol_id))
        if self.address and self.address.subdivision and not self.subdivision:
            object.__setattr__(self, "subdivision", self.address.subdivision)

    @property
    def tax_profile(self) -> TaxProfile:
        return TaxProfile(self.country, self.subdivision, self.tax_id, self.is_business)

    def require_billing_address(self) -> Address:
        if self.address is None:
            raise MissingData(
                f"client {self.name!r} has no billing address", field="client.address"
            )
        return self.address

    def require_email(self) -> str:
        if not self.emails:
            raise MissingData(
                f"{self.name!r} has no email address to send the invoice to", field="client.emails"
            )
        return self.emails[0]


__all__ = [
    "Address",
    "Party",
    "check_country",
    "check_peppol_id",
    "check_tax_id",
    "country_name",
]
