"""Contracts: what may be billed to a client and how.

Three billing models of an IT services business:

* retainer — a fixed amount, or seats × price, billed on an RRULE schedule, in advance for
  the service period up to the next occurrence;
* milestones — named phases with agreed amounts, each billed when complete;
* time and materials — hours × the rate for the person's role.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .errors import InvalidValue, MissingData
from .money import check_currency, to_decimal
from .recurrence import Recurrence
from .tax import TaxKind
from .terms import PaymentTerms


class BillingModel(StrEnum):
    RETAINER = "retainer"
    MILESTONE = "milestone"
    TIME_AND_MATERIALS = "time_and_materials"


@dataclass(frozen=True, slots=True)
class Milestone:
    name: str
    amount: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount, field="milestones.amount"))
        if self.amount <= 0:
            raise InvalidValue("a milestone amount must be positive", field="milestones.amount")


@dataclass(frozen=True, slots=True)
class Rate:
    role: str
    hourly: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "hourly", to_decimal(self.hourly, field="rates.hourly"))
        if self.hourly < 0:
            raise InvalidValue("an hourly rate cannot be negative", field="rates.hourly")


@dataclass(frozen=True, slots=True)
class TimeEntry:
    person: str
    role: str
    task: str
    hours: Decimal
    day: date

    def __post_init__(self) -> None:
        object.__setattr__(self, "hours", to_decimal(self.hours, field="hours"))
        if self.hours <= 0:
            raise InvalidValue("logged hours must be positive", field="hours")


@dataclass(frozen=True, slots=True)
class Contract:
    name: str
    model: BillingModel
    currency: str
    terms: PaymentTerms
    tax_kind: TaxKind = TaxKind.STANDARD
    description: str = ""
    amount: Decimal | None = None  # retainer amount per period
    seats: int | None = None
    seat_price: Decimal | None = None
    recurrence: Recurrence | None = None
    milestones: tuple[Milestone, ...] = ()
    rates: tuple[Rate, ...] = ()
    starts_on: date | None = None
    ends_on: date | None = None
    active: bool = True
    id: int | None = None
    client_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", check_currency(self.currency))
        if not self.name.strip():
            raise InvalidValue("the contract name is empty", field="name")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise InvalidValue("the contract ends before it starts", field="ends_on")
        if self.model is BillingModel.RETAINER:
            self._check_retainer()
        elif self.model is BillingModel.MILESTONE and not self.milestones:
            raise MissingData("a milestone contract needs milestones", field="milestones")
        elif self.model is BillingModel.TIME_AND_MATERIALS and not self.rates:
            raise MissingData("a time-and-materials contract needs rates", field="rates")

    def _check_retainer(self) -> None:
        if self.recurrence is None:
            raise MissingData("a retainer needs a schedule (RRULE)", field="recurrence")
        if self.amount is None and (self.seats is None or self.seat_price is None):
            raise MissingData(
                "a retainer needs an amount, or seats and a seat price", field="amount"
            )
        if self.amount is not None:
            object.__setattr__(self, "amount", to_decimal(self.amount, field="amount"))
            if self.amount <= 0:
                raise InvalidValue("the retainer amount must be positive", field="amount")
        if self.seat_price is not None:
            object.__setattr__(self, "seat_price", to_decimal(self.seat_price, field="seat_price"))
            if self.seat_price <= 0:
                raise InvalidValue("the seat price must be positive", field="seat_price")
        if self.seats is not None and self.seats <= 0:
            raise InvalidValue("seats must be a positive whole number", field="seats")

    def milestone(self, name: str) -> Milestone:
        for m in self.milestones:
            if m.name == name:
                return m
        raise MissingData(f"contract {self.name!r} has no milestone {name!r}", field="milestone")

    def rate_for(self, role: str) -> Rate:
        for r in self.rates:
            if r.role == role:
                return r
        raise MissingData(f"contract {self.name!r} has no rate for role {role!r}", field="role")

    def role_for(self, person: str, role: str | None = None) -> str:
        """The rate role a time entry bills at: its own role, else a rate named after the
        person, else ``default``, else the contract's only rate."""
        names = [r.role for r in self.rates]
        for candidate in (role, person, "default"):
            if candidate and candidate in names:
                return candidate
        if len(names) == 1:
            return names[0]
        raise MissingData(
            f"contract {self.name!r} has no rate for {person!r}"
            + (f" (role {role!r})" if role else "")
            + "; add a rate for the role, the person, or a 'default' rate",
            field="rates",
        )

    def covers(self, day: date) -> bool:
        return (
            self.active
            and (self.starts_on is None or day >= self.starts_on)
            and (self.ends_on is None or day <= self.ends_on)
        )


__all__ = ["BillingModel", "Contract", "Milestone", "Rate", "TimeEntry"]
