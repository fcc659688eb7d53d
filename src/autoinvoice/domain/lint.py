"""Pre-flight checks ("lint"): what must be right before an invoice is issued.

Each check has a name, runs on a draft and its contract, and reports each problem as a
:class:`Finding` that says what is wrong and how to fix it. A draft with findings is not
issued: it stays a draft marked "needs attention" and the owner is told.

Checks are switched on or off, and tuned, per organisation with :class:`CheckSettings`
(``{"line_description": {"enabled": true, "min_length": 8}, …}``); unknown names or options
are refused so a typo cannot silently switch a check off. The EN 16931 business rules are not
among them: a document that breaks them is never issued, whatever the settings
(``en16931_rules``).

>>> sorted(CHECKS)[:3]
['bank_details', 'client_address', 'client_email']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .contracts import BillingModel, Contract
from .errors import DomainError, InvalidValue
from .invoice import Invoice, InvoiceKind
from .tax import EU_COUNTRIES, TaxCategory


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    message: str  # what is wrong
    fix: str  # what to do about it
    field: str  # where: "lines[0].description" (0-based, as in the API), "client.tax_id"

    def __str__(self) -> str:
        return f"{self.check}: {self.message} — {self.fix}"

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "message": self.message, "fix": self.fix, "field": self.field}


class NeedsAttention(DomainError):
    """The draft failed pre-flight checks; ``findings`` lists every one."""

    code = "needs_attention"

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(str(f) for f in findings), field=findings[0].field)
        self.findings = findings

    def __str__(self) -> str:  # each finding names its own field
        return self.message


# Descriptions that tell a client nothing: "Services", "Service - 001", "Item 3", "Work" …
GENERIC = re.compile(
    r"(?:services?|items?|products?|work|tasks?|misc(?:ellaneous)?|consulting|hours?|"
    r"development|support|fees?|charges?|labou?r|n/?a|tbd|todo|line|position|pos\.?|"
    r"article|-+|\.+|\?+)"
    r"(?:\s*[-#:./]?\s*\d+)?",
    re.IGNORECASE,
)

DEFAULTS: dict[str, dict[str, Any]] = {
    "line_description": {"enabled": True, "min_length": 8},
    "line_tax": {"enabled": True},
    "payment_terms": {"enabled": True, "max_days": 120},
    "client_address": {"enabled": True},
    "client_email": {"enabled": True},
    "client_tax_id": {"enabled": True, "countries": ["IN"]},
    "seller_tax_id": {"enabled": True},
    "bank_details": {"enabled": True},
    "contract_amount": {"enabled": True, "tolerance_percent": "0"},
    "positive_total": {"enabled": True},
    "contract_currency": {"enabled": True},
}


@dataclass(frozen=True)
class CheckSettings:
    """Per-organisation check settings over :data:`DEFAULTS`."""

    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, options in self.values.items():
            if name not in DEFAULTS:
                raise InvalidValue(
                    f"there is no check {name!r}; known: {', '.join(sorted(DEFAULTS))}",
                    field=f"checks.{name}",
                )
            for key, value in options.items():
                if key not in DEFAULTS[name]:
                    known = ", ".join(sorted(DEFAULTS[name]))
                    raise InvalidValue(
                        f"check {name!r} has no option {key!r}; known: {known}",
                        field=f"checks.{name}.{key}",
                    )
                _check_option(name, key, value, DEFAULTS[name][key])

    def option(self, name: str, key: str) -> Any:
        return {**DEFAULTS[name], **self.values.get(name, {})}[key]

    def enabled(self, name: str) -> bool:
        return bool(self.option(name, "enabled"))

    def merged(self) -> dict[str, dict[str, Any]]:
        return {n: {**d, **self.values.get(n, {})} for n, d in DEFAULTS.items()}


def _check_option(name: str, key: str, value: Any, default: Any) -> None:
    where = f"checks.{name}.{key}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise InvalidValue(f"{value!r} is not true or false", field=where)
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidValue(f"{value!r} is not a whole number ≥ 0", field=where)
    elif isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidValue(f"{value!r} is not a list of country codes", field=where)
    elif isinstance(default, str):  # a decimal percentage
        try:
            ok = Decimal(str(value)) >= 0
        except ArithmeticError:
            ok = False
        if isinstance(value, float) or not ok:
            raise InvalidValue(f"{value!r} is not a percentage ≥ 0 (as text)", field=where)


@dataclass(frozen=True)
class Context:
    invoice: Invoice
    contract: Contract | None
    bank: Mapping[str, str]
    settings: CheckSettings


Check = Callable[[Context], Iterator[Finding]]
CHECKS: dict[str, Check] = {}


def _check(fn: Check) -> Check:
    CHECKS[fn.__name__] = fn
    return fn


@_check
def line_description(ctx: Context) -> Iterator[Finding]:
    min_length = ctx.settings.option("line_description", "min_length")
    for i, ln in enumerate(ctx.invoice.lines, 1):
        text = ln.description.strip()
        if GENERIC.fullmatch(text) or len(text) < min_length:
            yield Finding(
                "line_description",
                f"line {i} says only {text!r}",
                "describe what was delivered (the task, phase or period) so the client's "
                f"accounts team can approve it; at least {min_length} characters",
                f"lines[{i - 1}].description",
            )


@_check
def line_tax(ctx: Context) -> Iterator[Finding]:
    for i, ln in enumerate(ctx.invoice.lines, 1):
        t = ln.tax
        if t.category is TaxCategory.STANDARD and t.rate <= 0:
            yield Finding(
                "line_tax",
                f"line {i} is standard-rated at {t.rate} %",
                "give the line its tax rate, or the zero-rated/exempt category it falls under",
                f"lines[{i - 1}].tax",
            )
        elif t.category not in (TaxCategory.STANDARD, TaxCategory.ZERO) and not t.note:
            yield Finding(
                "line_tax",
                f"line {i} is {t.label} without the legal note that explains why",
                "add the exemption or reverse-charge wording the law requires",
                f"lines[{i - 1}].tax",
            )


@_check
def payment_terms(ctx: Context) -> Iterator[Finding]:
    inv = ctx.invoice
    max_days = ctx.settings.option("payment_terms", "max_days")
    if inv.terms is None:
        yield Finding(
            "payment_terms",
            "the invoice has no payment terms",
            "set the client's or contract's terms (e.g. net:30)",
            "terms",
        )
        return
    if inv.issue_date and inv.due_date and inv.due_date < inv.issue_date:
        yield Finding(
            "payment_terms",
            f"the due date {inv.due_date} is before the issue date {inv.issue_date}",
            "fix the payment terms",
            "due_date",
        )
    days = inv.terms.days
    if days is not None and days > max_days:
        yield Finding(
            "payment_terms",
            f"payment terms of {days} days are longer than the {max_days} days allowed",
            "shorten the terms, or raise the limit in the check settings",
            "terms",
        )


@_check
def client_address(ctx: Context) -> Iterator[Finding]:
    if ctx.invoice.buyer.address is None:
        yield Finding(
            "client_address",
            f"client {ctx.invoice.buyer.name!r} has no billing address",
            "add the client's billing address (street, postal code, city, country)",
            "client.address",
        )


@_check
def client_email(ctx: Context) -> Iterator[Finding]:
    if not ctx.invoice.buyer.emails:
        yield Finding(
            "client_email",
            f"client {ctx.invoice.buyer.name!r} has no email address for invoices",
            "add the accounts-payable email address",
            "client.emails",
        )


@_check
def client_tax_id(ctx: Context) -> Iterator[Finding]:
    inv, buyer = ctx.invoice, ctx.invoice.buyer
    if buyer.tax_id:
        return
    countries = ctx.settings.option("client_tax_id", "countries")
    reverse = any(ln.tax.category is TaxCategory.REVERSE_CHARGE for ln in inv.lines)
    if reverse:
        yield Finding(
            "client_tax_id",
            "a reverse-charge invoice needs the client's VAT identification number",
            "add the client's VAT id (it is checked with its check digits)",
            "client.tax_id",
        )
    elif buyer.is_business and buyer.country in countries:
        yield Finding(
            "client_tax_id",
            f"business clients in {buyer.country} must be invoiced with their tax id",
            "add the client's tax id (e.g. GSTIN in India)",
            "client.tax_id",
        )


@_check
def seller_tax_id(ctx: Context) -> Iterator[Finding]:
    seller = ctx.invoice.seller
    taxed = any(ln.tax.category is not TaxCategory.OUTSIDE_SCOPE for ln in ctx.invoice.lines)
    if taxed and not seller.tax_id and (seller.country in EU_COUNTRIES or seller.country == "IN"):
        yield Finding(
            "seller_tax_id",
            f"the issuing entity {seller.name!r} has no VAT/GST id",
            "add the issuing entity's tax registration",
            "seller.tax_id",
        )


@_check
def bank_details(ctx: Context) -> Iterator[Finding]:
    if not any(ctx.bank.get(k) for k in ("iban", "account_number", "upi")):
        yield Finding(
            "bank_details",
            "the invoice tells the client nowhere to pay",
            "add the issuing entity's bank account (IBAN, or account number) or UPI address",
            "seller.bank",
        )


def _expected_amounts(contract: Contract) -> tuple[str, list[Decimal]]:
    if contract.model is BillingModel.RETAINER:
        if contract.seats is not None and contract.seat_price is not None:
            return "seat price", [contract.seat_price]
        return "retainer amount", [contract.amount or Decimal(0)]
    if contract.model is BillingModel.MILESTONE:
        return "milestone amount", [m.amount for m in contract.milestones]
    return "hourly rate", [r.hourly for r in contract.rates]


@_check
def contract_amount(ctx: Context) -> Iterator[Finding]:
    contract = ctx.contract
    if contract is None:
        return
    tolerance = Decimal(str(ctx.settings.option("contract_amount", "tolerance_percent")))
    what, allowed = _expected_amounts(contract)
    for i, ln in enumerate(ctx.invoice.lines, 1):
        if not any(abs(ln.unit_price - a) <= a * tolerance / 100 for a in allowed):
            agreed = ", ".join(str(a) for a in allowed)
            yield Finding(
                "contract_amount",
                f"line {i} bills {ln.unit_price} {ctx.invoice.currency} a unit, but the "
                f"contract {contract.name!r} agrees {agreed} ({what})",
                "correct the line, or the contract if the agreement changed",
                f"lines[{i - 1}].unit_price",
            )


@_check
def positive_total(ctx: Context) -> Iterator[Finding]:
    inv = ctx.invoice
    if inv.kind is InvoiceKind.CREDIT_NOTE or not inv.lines:
        return
    gross = inv.totals().gross.amount
    if gross <= 0:
        yield Finding(
            "positive_total",
            f"the invoice total is {gross} {inv.currency}",
            "an invoice must be for a positive amount; to correct one, issue a credit note",
            "lines",
        )


@_check
def contract_currency(ctx: Context) -> Iterator[Finding]:
    contract = ctx.contract
    if contract is not None and contract.currency != ctx.invoice.currency:
        yield Finding(
            "contract_currency",
            f"the invoice is in {ctx.invoice.currency}, the contract {contract.name!r} in "
            f"{contract.currency}",
            "bill in the contract's currency",
            "currency",
        )


def lint(
    invoice: Invoice,
    *,
    contract: Contract | None = None,
    bank: Mapping[str, str] | None = None,
    settings: CheckSettings | None = None,
) -> list[Finding]:
    """Run every enabled check; return all findings (empty when the draft may be issued)."""
    ctx = Context(invoice, contract, bank or {}, settings or CheckSettings())
    return [f for name, check in CHECKS.items() if ctx.settings.enabled(name) for f in check(ctx)]


__all__ = ["CHECKS", "DEFAULTS", "CheckSettings", "Finding", "NeedsAttention", "lint"]
