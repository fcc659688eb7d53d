"""Tax: which tax applies to a line, and how an invoice's tax totals are computed.

Categories are the UNCL 5305 codes EN 16931 uses (BT-118/BT-151):
``S`` standard rate, ``Z`` zero rated, ``E`` exempt, ``AE`` reverse charge,
``G`` export outside the EU/country, ``O`` outside the scope of tax.

Rules implemented by :func:`determine_tax`:

* Domestic supply, or B2C: the seller's rate for the line's kind (standard/reduced/zero/exempt).
* EU B2B cross-border services: reverse charge, 0 % with the legal note
  (Art. 44 and 196 of Council Directive 2006/112/EC). Needs the buyer's VAT id.
* Supply to a business outside the seller's tax union: not taxed where the seller is
  (place of supply is the customer's country, Art. 44), category ``G``.
* India GST (CGST Act 2017 / IGST Act 2017): place of supply decides. Same state as the
  seller → CGST + SGST at half the rate each; another state → IGST at the full rate;
  outside India → zero-rated export of services (LUT).

Totals follow the EN 16931 model (BR-CO-14, BR-S-08 …): line net amounts are rounded to the
currency's minor unit, the taxable amount of a category is the sum of its line net amounts,
and the tax is that sum × rate, rounded half-up once per category (and per component, for
GST). :class:`RoundingPolicy` names this (``PER_CATEGORY``) and the per-line alternative.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from .errors import InvalidValue, MissingData
from .money import HALF_UP, quantize


class TaxCategory(StrEnum):
    STANDARD = "S"
    ZERO = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    EXPORT = "G"
    OUTSIDE_SCOPE = "O"


class TaxKind(StrEnum):
    """What the contract says the supply is, before the parties' places are considered."""

    STANDARD = "standard"
    REDUCED = "reduced"
    ZERO = "zero"
    EXEMPT = "exempt"


class RoundingPolicy(StrEnum):
    PER_CATEGORY = "per_category"  # EN 16931: round once per category on the sum of nets
    PER_LINE = "per_line"  # round each line's tax, then add


EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)

# Rates in percent per jurisdiction and kind; a missing kind means the country has none.
RATES: dict[str, dict[TaxKind, Decimal]] = {
    "DE": {TaxKind.STANDARD: Decimal("19"), TaxKind.REDUCED: Decimal("7")},
    "FR": {TaxKind.STANDARD: Decimal("20"), TaxKind.REDUCED: Decimal("5.5")},
    "NL": {TaxKind.STANDARD: Decimal("21"), TaxKind.REDUCED: Decimal("9")},
    "AT": {TaxKind.STANDARD: Decimal("20"), TaxKind.REDUCED: Decimal("10")},
    "BE": {TaxKind.STANDARD: Decimal("21"), TaxKind.REDUCED: Decimal("6")},
    "ES": {TaxKind.STANDARD: Decimal("21"), TaxKind.REDUCED: Decimal("10")},
    "IT": {TaxKind.STANDARD: Decimal("22"), TaxKind.REDUCED: Decimal("10")},
    "IE": {TaxKind.STANDARD: Decimal("23"), TaxKind.REDUCED: Decimal("13.5")},
    "GB": {TaxKind.STANDARD: Decimal("20"), TaxKind.REDUCED: Decimal("5")},
    "IN": {TaxKind.STANDARD: Decimal("18"), TaxKind.REDUCED: Decimal("5")},
    "US": {},  # no federal VAT; state sales tax on services is out of scope here
}

NOTE_REVERSE_CHARGE = (
    "Reverse charge: VAT to be accounted for by the recipient "
    "(Art. 196 Council Directive 2006/112/EC)."
)
NOTE_EXPORT = (
    "Not subject to VAT in the seller's country: place of supply is the recipient's country "
    "(Art. 44 Council Directive 2006/112/EC)."
)
NOTE_EXEMPT = "Exempt from VAT."
NOTE_GST_EXPORT = "Supply meant for export under LUT without payment of integrated tax (IGST)."


@dataclass(frozen=True, slots=True)
class TaxProfile:
    """Where a party is and whether it is a business, as far as tax cares."""

    country: str
    subdivision: str | None = None  # e.g. Indian state code "KA", "MH"
    tax_id: str | None = None
    is_business: bool = True


@dataclass(frozen=True, slots=True)
class TaxComponent:
    name: str  # "VAT", "CGST", "SGST", "IGST"
    rate: Decimal  # percent


@dataclass(frozen=True, slots=True)
class LineTax:
    """The tax treatment of one line: category, total rate, components and legal note."""

    category: TaxCategory
    rate: Decimal
    components: tuple[TaxComponent, ...]
    note: str | None = None

    @property
    def key(self) -> tuple[str, Decimal, tuple[tuple[str, Decimal], ...]]:
        return (self.category.value, self.rate, tuple((c.name, c.rate) for c in self.components))

    @property
    def label(self) -> str:
        if not self.components:
            return {
                TaxCategory.REVERSE_CHARGE: "Reverse charge 0 %",
                TaxCategory.EXPORT: "Export 0 %",
                TaxCategory.EXEMPT: "Exempt",
                TaxCategory.OUTSIDE_SCOPE: "Outside scope",
                TaxCategory.ZERO: "Zero rated 0 %",
            }.get(self.category, f"{self.category.value} {self.rate.normalize()} %")
        return " + ".join(f"{c.name} {_pct(c.rate)} %" for c in self.components)

    @classmethod
    def of(
        cls,
        category: str,
        rate: Decimal,
        components: Iterable[TaxComponent] = (),
        note: str | None = None,
    ) -> LineTax:
        return cls(TaxCategory(category), rate, tuple(components), note)


def _pct(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


def _rate(country: str, kind: TaxKind) -> Decimal:
    rates = RATES.get(country)
    if rates is None:
        raise InvalidValue(f"no tax rates are known for country {country!r}", field="country")
    if kind not in rates:
        raise InvalidValue(f"{country} has no {kind.value} tax rate", field="tax_kind")
    return rates[kind]


def determine_tax(
    seller: TaxProfile, buyer: TaxProfile, kind: TaxKind, place_of_supply: str | None = None
) -> LineTax:
    """Decide the tax on a supply of services from ``seller`` to ``buyer``.

    ``place_of_supply`` is the Indian state code where it differs from the buyer's state.
    """
    if seller.country == "IN":
        return _india_gst(seller, buyer, kind, place_of_supply)
    if RATES.get(seller.country) == {}:  # known to levy no VAT (e.g. US): nothing to charge
        return LineTax(TaxCategory.OUTSIDE_SCOPE, Decimal(0), ())
    if kind is TaxKind.EXEMPT:
        return LineTax(TaxCategory.EXEMPT, Decimal(0), (), NOTE_EXEMPT)
    if kind is TaxKind.ZERO:
        return LineTax(TaxCategory.ZERO, Decimal(0), (TaxComponent("VAT", Decimal(0)),))
    domestic = buyer.country == seller.country
    if domestic or not buyer.is_business:
        rate = _rate(seller.country, kind)
        return LineTax(TaxCategory.STANDARD, rate, (TaxComponent("VAT", rate),))
    if seller.country in EU_COUNTRIES and buyer.country in EU_COUNTRIES:
        if not buyer.tax_id:
            raise MissingData(
                "an EU reverse-charge invoice needs the client's VAT identification number",
                field="client.tax_id",
            )
        return LineTax(TaxCategory.REVERSE_CHARGE, Decimal(0), (), NOTE_REVERSE_CHARGE)
    return LineTax(TaxCategory.EXPORT, Decimal(0), (), NOTE_EXPORT)


def _india_gst(
    seller: TaxProfile, buyer: TaxProfile, kind: TaxKind, place_of_supply: str | None
) -> LineTax:
    if kind is TaxKind.EXEMPT:
        return LineTax(TaxCategory.EXEMPT, Decimal(0), (), "Exempt supply under GST.")
    if buyer.country != "IN":
        return LineTax(
            TaxCategory.ZERO, Decimal(0), (TaxComponent("IGST", Decimal(0)),), NOTE_GST_EXPORT
        )
    if kind is TaxKind.ZERO:
        return LineTax(TaxCategory.ZERO, Decimal(0), (TaxComponent("IGST", Decimal(0)),))
    if not seller.subdivision:
        raise MissingData("the seller's state is needed to decide GST", field="seller.subdivision")
    pos = place_of_supply or buyer.subdivision
    if not pos:
        raise MissingData(
            "the client's state (place of supply) is needed to decide CGST/SGST or IGST",
            field="client.subdivision",
        )
    rate = _rate("IN", kind)
    if pos == seller.subdivision:
        half = rate / 2
        return LineTax(
            TaxCategory.STANDARD, rate, (TaxComponent("CGST", half), TaxComponent("SGST", half))
        )
    return LineTax(TaxCategory.STANDARD, rate, (TaxComponent("IGST", rate),))


@dataclass(frozen=True, slots=True)
class ComponentTotal:
    name: str
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class TaxBreakdown:
    """One row of the tax summary (EN 16931 BG-23): a category, its base and its tax."""

    tax: LineTax
    taxable: Decimal
    amount: Decimal
    components: tuple[ComponentTotal, ...]


def tax_breakdown(
    lines: Iterable[tuple[Decimal, LineTax]],
    currency: str,
    policy: RoundingPolicy = RoundingPolicy.PER_CATEGORY,
) -> list[TaxBreakdown]:
    """Group ``(line net, tax)`` pairs by tax and compute each group's tax amount.

    Line nets must already be rounded to the currency. Groups keep first-seen order.
    """
    groups: dict[tuple, tuple[LineTax, list[Decimal]]] = {}
    for net, tax in lines:
        groups.setdefault(tax.key, (tax, []))[1].append(net)
    result = []
    for tax, nets in groups.values():
        taxable = sum(nets, Decimal(0))
        comps = []
        for c in tax.components or (TaxComponent("VAT", Decimal(0)),):
            if policy is RoundingPolicy.PER_CATEGORY:
                amount = quantize(taxable * c.rate / 100, currency, HALF_UP)
            else:
                amount = sum(
                    (quantize(n * c.rate / 100, currency, HALF_UP) for n in nets), Decimal(0)
                )
            comps.append(ComponentTotal(c.name, c.rate, amount))
        total = sum((c.amount for c in comps), Decimal(0))
        result.append(
            TaxBreakdown(
                tax,
                quantize(taxable, currency, HALF_UP),
                quantize(total, currency, HALF_UP),
                tuple(comps),
            )
        )
    return result


__all__ = [
    "EU_COUNTRIES",
    "RATES",
    "ComponentTotal",
    "LineTax",
    "RoundingPolicy",
    "TaxBreakdown",
    "TaxCategory",
    "TaxComponent",
    "TaxKind",
    "TaxProfile",
    "determine_tax",
    "tax_breakdown",
]
