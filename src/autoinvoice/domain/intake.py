"""The client intake form: the billing details a new client fills in behind a link.

``IntakeForm`` holds what was typed, as text; ``IntakeForm.validate`` checks every field and
either returns the clean ``BillingDetails`` or raises ``IntakeInvalid`` with *all* the
problems at once, ``{field: message}``, so a form can show each message next to its field.

Standards and sources:

* countries are ISO 3166-1 alpha-2 and regions ISO 3166-2, both from ``pycountry`` (the
  Debian iso-codes data); names are shown from CLDR (babel). A region is required where tax
  depends on it (India: GST place of supply; US sales tax; Canadian GST/HST/PST; Australia)
  and must belong to the country; it is stored as the part after the hyphen (``KA``).
* tax ids are checked with python-stdnum for the client's country: ``check_tax_id`` (EU VAT,
  GSTIN, EIN, ABN, UK VAT) extended here with the Swiss UID/VAT number, Norwegian MVA,
  Canadian BN, New Zealand IRD and Singapore UEN. A GSTIN's first two digits are the GST
  state code (CBIC/GSTN state code list), which must match the state of the address.
* postal codes are required, and their shape checked, for the countries in
  ``POSTAL_CODES`` (patterns after Google's libaddressinput address metadata); elsewhere
  they are optional.
* a Peppol participant id is ``scheme:identifier`` with an EAS scheme (``check_peppol_id``).

>>> form = IntakeForm(legal_name="Kunde GmbH", address_line1="Torstraße 1", city="Berlin",
...                   postal_code="10119", country="de", emails="ap@kunde.example",
...                   tax_id="DE 136 695 976", payment_method="bank_transfer")
>>> details = form.validate(seller_country="FR")
>>> details.tax_id, details.address.country
('DE136695976', 'DE')
>>> IntakeForm(country="IN", tax_id="27AAPFU0939F1ZV").errors()["subdivision"]
'choose the state or union territory'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import pycountry
from babel import Locale

from .errors import InvalidValue
from .parties import Address, Party, check_peppol_id, check_tax_id
from .tax import EU_COUNTRIES

PAYMENT_METHODS: dict[str, str] = {
    "bank_transfer": "Bank transfer",
    "card": "Card",
    "upi": "UPI",
    "direct_debit": "Direct debit",
}
# countries whose invoices need the region: what it is called there
REGION_REQUIRED: dict[str, str] = {
    "IN": "state or union territory",
    "US": "state",
    "CA": "province or territory",
    "AU": "state or territory",
}
MAX_EMAILS = 10
FIELDS = (
    "legal_name",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "subdivision",
    "emails",
    "tax_id",
    "peppol_id",
    "po_required",
    "payment_method",
)

# Postal code shapes (libaddressinput "zip" patterns, simplified); spaces are normalised.
POSTAL_CODES: dict[str, re.Pattern[str]] = {
    code: re.compile(pattern)
    for code, pattern in {
        "AT": r"\d{4}",
        "AU": r"\d{4}",
        "BE": r"\d{4}",
        "BG": r"\d{4}",
        "CA": r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] \d[ABCEGHJ-NPRSTV-Z]\d",
        "CH": r"\d{4}",
        "CY": r"\d{4}",
        "CZ": r"\d{3} ?\d{2}",
        "DE": r"\d{5}",
        "DK": r"\d{4}",
        "EE": r"\d{5}",
        "ES": r"\d{5}",
        "FI": r"\d{5}",
        "FR": r"\d{2} ?\d{3}",
        "GB": r"GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
        "GR": r"\d{3} ?\d{2}",
        "HR": r"\d{5}",
        "HU": r"\d{4}",
        "IN": r"[1-9]\d{2} ?\d{3}",
        "IT": r"\d{5}",
        "JP": r"\d{3}-?\d{4}",
        "LT": r"(?:LT-)?\d{5}",
        "LU": r"(?:L-)?\d{4}",
        "LV": r"(?:LV-)?\d{4}",
        "NL": r"\d{4} ?[A-Z]{2}",
        "NO": r"\d{4}",
        "NZ": r"\d{4}",
        "PL": r"\d{2}-\d{3}",
        "PT": r"\d{4}-\d{3}",
        "RO": r"\d{6}",
        "SE": r"\d{3} ?\d{2}",
        "SG": r"\d{6}",
        "SI": r"\d{4}",
        "SK": r"\d{3} ?\d{2}",
        "US": r"\d{5}(?:-\d{4})?",
    }.items()
}

# GST state codes (the first two digits of a GSTIN) → ISO 3166-2:IN. 25/26 were Daman and
# Diu / Dadra and Nagar Haveli, merged in 2020; 28 is Andhra Pradesh before 2014.
# fmt: off
GST_STATES: dict[str, str] = {
    "01": "JK", "02": "HP", "03": "PB", "04": "CH", "05": "UK", "06": "HR", "07": "DL",
    "08": "RJ", "09": "UP", "10": "BR", "11": "SK", "12": "AR", "13": "NL", "14": "MN",
    "15": "MZ", "16": "TR", "17": "ML", "18": "AS", "19": "WB", "20": "JH", "21": "OD",
    "22": "CG", "23": "MP", "24": "GJ", "25": "DH", "26": "DH", "27": "MH", "28": "AP",
    "29": "KA", "30": "GA", "31": "LD", "32": "KL", "33": "TN", "34": "PY", "35": "AN",
    "36": "TS", "37": "AP", "38": "LA",
}
# fmt: on

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_EMAIL = re.compile(rf"({_LOCAL})@((?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}}))")
_EMAIL_SPLIT = re.compile(r"[\s,;]+")


class IntakeInvalid(InvalidValue):
    """Some fields of the intake form are wrong; ``errors`` maps each field to its message."""

    code = "invalid_intake"

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        summary = "; ".join(f"{k}: {v}" for k, v in self.errors.items())
        super().__init__(
            f"{len(self.errors)} field(s) need correcting: {summary}",
            field=next(iter(self.errors), None),
        )


@dataclass(frozen=True, slots=True)
class BillingDetails:
    """A validated intake form: what the client record is updated with."""

    name: str
    address: Address
    emails: tuple[str, ...]
    tax_id: str | None
    peppol_id: str | None
    po_required: bool
    payment_method: str

    @property
    def country(self) -> str:
        return self.address.country

    @property
    def subdivision(self) -> str | None:
        return self.address.subdivision

    def apply_to(self, party: Party) -> Party:
        """``party`` with these billing details (its other fields, e.g. ``is_business``, kept)."""
        return Party(
            name=self.name,
            country=self.country,
            address=self.address,
            tax_id=self.tax_id,
            emails=self.emails,
            is_business=party.is_business,
            subdivision=self.subdivision,
            extra=dict(party.extra),
            peppol_id=self.peppol_id,
        )


@dataclass(frozen=True, slots=True)
class IntakeForm:
    """The form as typed. Every field is text except the PO checkbox."""

    legal_name: str = ""
    address_line1: str = ""
    address_line2: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    subdivision: str = ""
    emails: str = ""
    tax_id: str = ""
    peppol_id: str = ""
    po_required: bool = False
    payment_method: str = ""

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> IntakeForm:
        """From submitted form fields (unknown ones ignored; a checkbox is on when present)."""
        text = {name: str(data.get(name) or "") for name in FIELDS if name != "po_required"}
        return cls(**text, po_required=bool(data.get("po_required")))

    @classmethod
    def prefilled(
        cls, party: Party, *, po_required: bool = False, payment_method: str | None = None
    ) -> IntakeForm:
        """What we already know about a client, to start the form with."""
        a = party.address
        lines = [ln for ln in a.lines if ln.strip()] if a else []
        return cls(
            legal_name=party.name,
            address_line1=lines[0] if lines else "",
            address_line2=", ".join(lines[1:]),
            postal_code=a.postal_code if a else "",
            city=a.city if a else "",
            country=a.country if a else party.country,
            subdivision=(a.subdivision if a else None) or party.subdivision or "",
            emails=", ".join(party.emails),
            tax_id=party.tax_id or "",
            peppol_id=party.peppol_id or "",
            po_required=po_required,
            payment_method=payment_method or "",
        )

    def errors(
        self, *, is_business: bool = True, seller_country: str | None = None
    ) -> dict[str, str]:
        """Every problem, ``{field: message}``; empty when the form is complete and valid."""
        return _check(self, is_business=is_business, seller_country=seller_country)[1]

    def validate(
        self, *, is_business: bool = True, seller_country: str | None = None
    ) -> BillingDetails:
        """The clean billing details, or ``IntakeInvalid`` listing every problem."""
        details, errors = _check(self, is_business=is_business, seller_country=seller_country)
        if errors or details is None:
            raise IntakeInvalid(errors)
        return details


def tax_id_required(country: str, *, is_business: bool, seller_country: str | None) -> bool:
    """A business in the EU needs its VAT number when the seller is in another country (the
    reverse charge names it, Art. 226(4) of Directive 2006/112/EC); a business in India needs
    its GSTIN (CGST Rule 46 tax invoice; the state code decides place of supply)."""
    if not is_business:
        return False
    if country == "IN":
        return True
    return country in EU_COUNTRIES and country != seller_country


# -- field checks: each returns the clean value or raises InvalidValue --------------------------
def _text(value: str, what: str, field: str, *, required: bool, limit: int = 200) -> str:
    clean = " ".join(value.split())
    if required and not clean:
        raise InvalidValue(f"enter the {what}", field=field)
    if len(clean) > limit:
        raise InvalidValue(f"the {what} is longer than {limit} characters", field=field)
    return clean


def check_country_code(value: str) -> str:
    code = value.strip().upper()
    if not code:
        raise InvalidValue("choose the country", field="country")
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise InvalidValue(f"{value.strip()!r} is not an ISO 3166-1 country code", field="country")
    return code


def check_subdivision(country: str, value: str) -> str | None:
    """The ISO 3166-2 region of ``country`` as its suffix (``IN-KA`` → ``KA``), or None."""
    field = "subdivision"
    raw = value.strip().upper()
    if not raw:
        if country in REGION_REQUIRED:
            raise InvalidValue(f"choose the {REGION_REQUIRED[country]}", field=field)
        return None
    code = raw if "-" in raw else f"{country}-{raw}"
    found: Any = pycountry.subdivisions.get(code=code)
    what = REGION_REQUIRED.get(country, "region")
    if found is None:
        raise InvalidValue(f"{raw!r} is not a {what} of {_country_name(country)}", field=field)
    if found.country_code != country:
        raise InvalidValue(
            f"{found.name} ({found.code}) is in {_country_name(found.country_code)}, "
            f"not in {_country_name(country)}",
            field=field,
        )
    return str(found.code).split("-", 1)[1]


def check_postal_code(country: str, value: str) -> str:
    clean = " ".join(value.upper().split())
    pattern = POSTAL_CODES.get(country)
    if pattern is None:
        return _text(value, "postal code", "postal_code", required=False, limit=20)
    if country == "CA" and len(clean) == 6:
        clean = f"{clean[:3]} {clean[3:]}"
    if not clean:
        raise InvalidValue("enter the postal code", field="postal_code")
    if not pattern.fullmatch(clean):
        raise InvalidValue(
            f"{value.strip()!r} is not a postal code of {_country_name(country)}",
            field="postal_code",
        )
    return clean


def check_emails(value: str) -> tuple[str, ...]:
    """One or more email addresses, separated by commas, semicolons or spaces."""
    field = "emails"
    found: list[str] = []
    for part in _EMAIL_SPLIT.split(value.strip()):
        if not part:
            continue
        if len(part) > 254 or not (m := _EMAIL.fullmatch(_ascii_domain(part))):
            raise InvalidValue(f"{part!r} is not an email address", field=field)
        if len(m.group(1)) > 64:
            raise InvalidValue(f"{part!r} is not an email address", field=field)
        if part.lower() not in (f.lower() for f in found):
            found.append(part)
    if not found:
        raise InvalidValue("enter the email address invoices should go to", field=field)
    if len(found) > MAX_EMAILS:
        raise InvalidValue(f"enter at most {MAX_EMAILS} email addresses", field=field)
    return tuple(found)


def check_client_tax_id(country: str, value: str) -> str:
    """``check_tax_id`` and the extra countries this form knows (see the module docstring)."""
    tax_id = value.strip()
    place = _country_name(country)
    if country in EU_COUNTRIES:
        given = tax_id.replace(" ", "").upper()[:2]
        prefix = "EL" if country == "GR" else country
        if given.isalpha() and given != prefix:
            raise InvalidValue(
                f"this VAT number starts with {given}, but the address is in {place} "
                f"(VAT numbers there start with {prefix})",
                field="tax_id",
            )
    name, check = _EXTRA_TAX_IDS.get(country) or (_TAX_ID_NAMES.get(country), None)
    try:
        clean = check(tax_id) if check else check_tax_id(country, tax_id)
    except InvalidValue:
        clean = None
    if clean is None:
        raise InvalidValue(
            f"this is not a valid {name or 'tax id'} in {place}: please check it for typos",
            field="tax_id",
        )
    return clean


def check_gstin_state(gstin: str, state: str | None) -> None:
    """A GSTIN is registered in one state: its first two digits must name ``state``."""
    registered = GST_STATES.get(gstin[:2])
    if registered is None or state is None or registered == state:
        return
    raise InvalidValue(
        f"this GSTIN is registered in {_region_name('IN', registered)} (state code "
        f"{gstin[:2]}), but the address is in {_region_name('IN', state)}",
        field="tax_id",
    )


def _tax_id(
    value: str, country: str, region: str | None, is_business: bool, seller_country: str | None
) -> str | None:
    """The tax id checked for ``country`` (a GSTIN also against the state), or None when
    none was given and none is required."""
    if not _text(value, "tax id", "tax_id", required=False, limit=40):
        if tax_id_required(country, is_business=is_business, seller_country=seller_country):
            what = "GSTIN" if country == "IN" else "VAT number"
            raise InvalidValue(
                f"enter your {what}: invoices to businesses in {_country_name(country)} need it",
                field="tax_id",
            )
        return None
    tax_id = check_client_tax_id(country, value)
    if country == "IN":
        check_gstin_state(tax_id, region)
    return tax_id


def _check(
    form: IntakeForm, *, is_business: bool, seller_country: str | None
) -> tuple[BillingDetails | None, dict[str, str]]:
    errors: dict[str, str] = {}

    def run(field: str, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except InvalidValue as exc:
            errors[exc.field or field] = exc.message
            return None

    name = run(
        "legal_name", lambda: _text(form.legal_name, "legal name", "legal_name", required=True)
    )
    line1 = run(
        "address_line1",
        lambda: _text(form.address_line1, "street address", "address_line1", required=True),
    )
    line2 = run(
        "address_line2",
        lambda: _text(form.address_line2, "second address line", "address_line2", required=False),
    )
    city = run("city", lambda: _text(form.city, "city", "city", required=True, limit=100))
    country = run("country", lambda: check_country_code(form.country))
    region = postal = None
    if country is not None:
        region = run("subdivision", lambda: check_subdivision(country, form.subdivision))
        postal = run("postal_code", lambda: check_postal_code(country, form.postal_code))
    emails = run("emails", lambda: check_emails(form.emails))
    tax_id = None
    if country is not None:  # a region in error is None: the GSTIN state is not compared
        tax_id = run(
            "tax_id", lambda: _tax_id(form.tax_id, country, region, is_business, seller_country)
        )
    peppol = run(
        "peppol_id",
        lambda: check_peppol_id(form.peppol_id) if form.peppol_id.strip() else None,
    )
    method = form.payment_method.strip()
    if method not in PAYMENT_METHODS:
        errors["payment_method"] = "choose how you prefer to pay"
    if errors:
        return None, errors
    address = Address(tuple(ln for ln in (line1, line2) if ln), city, postal or "", country, region)
    details = BillingDetails(
        name=name,
        address=address,
        emails=emails,
        tax_id=tax_id or None,
        peppol_id=peppol,
        po_required=form.po_required,
        payment_method=method,
    )
    return details, {}


# -- choices for the form ------------------------------------------------------------------
def country_choices(locale: str = "en") -> list[tuple[str, str]]:
    """Every ISO 3166-1 country as ``(code, name)``, sorted by the name in ``locale``."""
    return _country_choices(locale)


def region_groups(
    countries: Iterable[str], locale: str = "en"
) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The ISO 3166-2 regions of ``countries``: ``(country, country name, [(code, name)])``,
    codes as stored (the suffix); only the top level (no districts of a state)."""
    groups = []
    for country in dict.fromkeys(countries):
        regions = _regions(country)
        if regions:
            groups.append((country, _country_name(country, locale), regions))
    return groups


@cache
def _country_choices(locale: str) -> list[tuple[str, str]]:
    names = Locale.parse(locale).territories
    pairs = [(str(c.alpha_2), names.get(c.alpha_2) or str(c.name)) for c in pycountry.countries]
    return sorted(pairs, key=lambda p: p[1].casefold())


@cache
def _regions(country: str) -> list[tuple[str, str]]:
    found: Any = pycountry.subdivisions.get(country_code=country) or []
    top = [s for s in found if getattr(s, "parent_code", None) is None]
    return sorted(((str(s.code).split("-", 1)[1], str(s.name)) for s in top), key=lambda p: p[1])


def _country_name(code: str, locale: str = "en") -> str:
    name = Locale.parse(locale).territories.get(code)
    if name:
        return str(name)
    found: Any = pycountry.countries.get(alpha_2=code)
    return str(found.name) if found else code


def _region_name(country: str, code: str) -> str:
    return dict(_regions(country)).get(code, code)


def _ascii_domain(address: str) -> str:
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def _stdnum(module: Any) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return str(module.compact(value)) if module.is_valid(value) else None

    return check


def _swiss(value: str) -> str | None:
    """A Swiss UID (``CHE-123.456.789``) or VAT number (the UID + ``MWST``/``TVA``/``IVA``)."""
    from stdnum.ch import uid, vat

    for module in (uid, vat):
        if module.is_valid(value):
            return str(module.compact(value))
    return None


_TAX_ID_NAMES = {"IN": "GSTIN", "US": "EIN", "AU": "ABN", "GB": "VAT number"} | dict.fromkeys(
    EU_COUNTRIES, "VAT number"
)


def _extra_tax_ids() -> dict[str, tuple[str, Callable[[str], str | None]]]:
    from stdnum.ca import bn
    from stdnum.no import mva
    from stdnum.nz import ird
    from stdnum.sg import uen

    return {
        "CH": ("UID or VAT number", _swiss),
        "NO": ("MVA number", _stdnum(mva)),
        "CA": ("business number (BN)", _stdnum(bn)),
        "NZ": ("IRD number", _stdnum(ird)),
        "SG": ("UEN", _stdnum(uen)),
    }


_EXTRA_TAX_IDS = _extra_tax_ids()


__all__ = [
    "GST_STATES",
    "PAYMENT_METHODS",
    "POSTAL_CODES",
    "REGION_REQUIRED",
    "BillingDetails",
    "IntakeForm",
    "IntakeInvalid",
    "check_client_tax_id",
    "check_country_code",
    "check_emails",
    "check_gstin_state",
    "check_postal_code",
    "check_subdivision",
    "country_choices",
    "region_groups",
    "tax_id_required",
]
