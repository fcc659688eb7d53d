"""Pydantic schemas of the REST API — the only place pydantic meets our records.

Money is always a JSON string holding an exact decimal (``"5355.00"``), with the currency
beside it: a JSON number would be read as a binary float by most clients. Request bodies
refuse numbers for amounts for the same reason.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from ...domain.invoice import Invoice
from ...domain.money import HALF_UP, quantize
from ...domain.parties import Party
from ...services.payments import PaymentOutcome
from ...services.ports import ClientRecord, InvoiceSummary
from .overview import summary_overdue

StatusName = Literal["draft", "issued", "sent", "viewed", "partially_paid", "paid", "void"]
KindName = Literal["invoice", "credit_note"]


def money_text(amount: Decimal, currency: str) -> str:
    """An exact decimal string at the currency's minor units (``Decimal('0')`` → ``"0.00"``)."""
    return str(quantize(Decimal(amount), currency, HALF_UP))


class _Out(BaseModel):
    """A response body."""


# -- invoices -------------------------------------------------------------------------------
class InvoiceSummaryOut(_Out):
    id: int
    number: str | None = Field(description="null while the invoice is a draft")
    client_id: int
    client_name: str
    status: StatusName
    kind: KindName
    currency: str = Field(examples=["EUR"])
    total: str = Field(description="gross total, exact decimal", examples=["5355.00"])
    paid: str = Field(examples=["0.00"])
    balance: str = Field(examples=["5355.00"])
    issue_date: date | None
    due_date: date | None
    overdue: bool = Field(description="open, with a balance, and past its due date")
    hold_reason: str | None = Field(description="why a draft needs attention before issue")

    @classmethod
    def of(cls, s: InvoiceSummary, now: datetime) -> InvoiceSummaryOut:
        return cls(
            id=s.id,
            number=s.number,
            client_id=s.client_id,
            client_name=s.client_name,
            status=cast(StatusName, s.status),
            kind=cast(KindName, s.kind),
            currency=s.currency,
            total=money_text(s.gross, s.currency),
            paid=money_text(s.paid, s.currency),
            balance=money_text(s.balance, s.currency),
            issue_date=s.issue_date,
            due_date=s.due_date,
            overdue=summary_overdue(s, now),
            hold_reason=s.hold_reason,
        )


class InvoicePage(_Out):
    items: list[InvoiceSummaryOut]
    next_cursor: str | None = Field(
        description="pass as `after` for the next page; null at the end"
    )


class AddressOut(_Out):
    lines: list[str]
    city: str
    postal_code: str
    country: str
    subdivision: str | None


class PartyOut(_Out):
    name: str
    country: str
    address: AddressOut | None
    tax_id: str | None
    emails: list[str]
    is_business: bool

    @classmethod
    def of(cls, p: Party) -> PartyOut:
        a = p.address
        return cls(
            name=p.name,
            country=p.country,
            tax_id=p.tax_id,
            emails=list(p.emails),
            is_business=p.is_business,
            address=AddressOut(
                lines=list(a.lines),
                city=a.city,
                postal_code=a.postal_code,
                country=a.country,
                subdivision=a.subdivision,
            )
            if a
            else None,
        )


class TaxOut(_Out):
    category: str = Field(description="UNCL 5305 code", examples=["S", "AE"])
    rate: str = Field(examples=["19"])
    label: str


class LineOut(_Out):
    description: str
    quantity: str
    unit: str
    unit_price: str
    tax: TaxOut
    net: str
    period_start: date | None
    period_end: date | None


class TaxSummaryOut(_Out):
    tax: TaxOut
    taxable: str
    amount: str


class TotalsOut(_Out):
    net: str
    tax: str
    gross: str
    paid: str
    balance: str


class PaymentOut(_Out):
    id: int
    amount: str
    applied: str
    currency: str
    method: str
    reference: str | None
    received_at: datetime
    reversed_at: datetime | None = Field(
        None, description="set when the payment was reversed: no longer applied"
    )

    @classmethod
    def of(cls, row: dict[str, Any]) -> PaymentOut:
        c = row["currency"]
        return cls(
            id=row["id"],
            amount=money_text(row["amount"], c),
            applied=money_text(row["applied"], c),
            currency=c,
            method=row["method"],
            reference=row["reference"],
            received_at=row["received_at"],
            reversed_at=row.get("reversed_at"),
        )


class InvoiceOut(InvoiceSummaryOut):
    seller: PartyOut
    buyer: PartyOut
    buyer_reference: str | None
    terms: str = Field(examples=["net:30"])
    lines: list[LineOut]
    tax_summary: list[TaxSummaryOut]
    totals: TotalsOut
    notes: list[str]
    payments: list[PaymentOut]
    issued_at: datetime | None
    sent_at: datetime | None
    viewed_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None

    @classmethod
    def from_invoice(
        cls, inv: Invoice, client_name: str, payments: list[dict[str, Any]], today: date
    ) -> InvoiceOut:
        c = inv.currency
        totals = inv.totals()

        def tax(t: Any) -> TaxOut:
            return TaxOut(category=t.category.value, rate=str(t.rate.normalize()), label=t.label)

        return cls(
            id=inv.id or 0,
            number=inv.number,
            client_id=inv.client_id or 0,
            client_name=client_name,
            status=cast(StatusName, inv.status.value),
            kind=inv.kind.value,
            currency=c,
            total=money_text(totals.gross.amount, c),
            paid=money_text(inv.amount_paid, c),
            balance=money_text(inv.balance.amount, c),
            issue_date=inv.issue_date,
            due_date=inv.due_date,
            overdue=inv.is_overdue(today),
            hold_reason=inv.hold_reason,
            seller=PartyOut.of(inv.seller),
            buyer=PartyOut.of(inv.buyer),
            buyer_reference=inv.buyer_reference,
            terms=inv.terms.code,
            lines=[
                LineOut(
                    description=ln.description,
                    quantity=str(ln.quantity.normalize()),
                    unit=ln.unit,
                    unit_price=str(ln.unit_price),
                    tax=tax(ln.tax),
                    net=money_text(ln.net(c), c),
                    period_start=ln.period_start,
                    period_end=ln.period_end,
                )
                for ln in inv.lines
            ],
            tax_summary=[
                TaxSummaryOut(
                    tax=tax(b.tax), taxable=money_text(b.taxable, c), amount=money_text(b.amount, c)
                )
                for b in totals.breakdown
            ],
            totals=TotalsOut(
                net=money_text(totals.net.amount, c),
                tax=money_text(totals.tax.amount, c),
                gross=money_text(totals.gross.amount, c),
                paid=money_text(inv.amount_paid, c),
                balance=money_text(inv.balance.amount, c),
            ),
            notes=inv.legal_notes(),
            payments=[PaymentOut.of(p) for p in payments],
            issued_at=inv.issued_at,
            sent_at=inv.sent_at,
            viewed_at=inv.viewed_at,
            paid_at=inv.paid_at,
            voided_at=inv.voided_at,
            void_reason=inv.void_reason,
        )


# -- commands -------------------------------------------------------------------------------
class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(
        min_length=1,
        max_length=500,
        examples=["issued to the wrong client; replaced by INV-2026-000014"],
    )


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: str = Field(
        max_length=40, description="exact decimal as a string", examples=["1500.00"]
    )
    currency: str | None = Field(
        None, min_length=3, max_length=3, description="defaults to the invoice's currency"
    )
    received_at: datetime | None = Field(None, description="timezone-aware; defaults to now")
    method: str = Field(
        "manual", min_length=1, max_length=30, examples=["bank_transfer", "card", "manual"]
    )
    reference: str | None = Field(None, max_length=200)


class PaymentResultOut(_Out):
    payment_id: int
    invoice_id: int
    invoice_status: StatusName
    balance: str
    credited: str = Field(description="the part above the open balance, kept as client credit")
    currency: str
    duplicate: bool = Field(
        description="true when this Idempotency-Key was seen before and nothing new was recorded"
    )

    @classmethod
    def of(cls, invoice_id: int, currency: str, o: PaymentOutcome) -> PaymentResultOut:
        return cls(
            payment_id=o.payment_id,
            invoice_id=invoice_id,
            invoice_status=cast(StatusName, o.invoice_status),
            balance=money_text(o.balance, currency),
            credited=money_text(o.credited, currency),
            currency=currency,
            duplicate=o.duplicate,
        )


# -- clients --------------------------------------------------------------------------------
class ClientOut(_Out):
    id: int
    entity_id: int
    name: str
    country: str
    tax_id: str | None
    emails: list[str]
    is_business: bool
    currency: str
    terms: str
    language: str
    address: AddressOut | None
    billing_data_complete: bool
    missing: list[str] = Field(description="what the billing data lacks, e.g. `tax_id`")

    @classmethod
    def of(cls, c: ClientRecord, missing: list[str]) -> ClientOut:
        p = PartyOut.of(c.party)
        return cls(
            id=c.id,
            entity_id=c.entity_id,
            name=p.name,
            country=p.country,
            tax_id=p.tax_id,
            emails=p.emails,
            is_business=p.is_business,
            currency=c.currency,
            terms=c.terms.code,
            language=c.language,
            address=p.address,
            billing_data_complete=not missing,
            missing=missing,
        )


# -- errors ---------------------------------------------------------------------------------
class FieldProblem(_Out):
    field: str
    message: str


class Problem(_Out):
    """RFC 9457 problem details, as ``application/problem+json``."""

    type: str = Field(examples=["urn:autoinvoice:problem:invalid_value"])
    title: str = Field(examples=["Invalid value"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["'abc' is not a number"])
    code: str = Field(description="stable, snake_case", examples=["invalid_value"])
    field: str | None = Field(None, description="the input at fault", examples=["amount"])
    errors: list[FieldProblem] | None = Field(
        None, description="every invalid field, for request validation errors"
    )
