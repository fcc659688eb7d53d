"""Won deals into draft invoices, and which rate role a time entry bills at."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from autoinvoice.domain.assembly import DealLine, assemble_deal
from autoinvoice.domain.contracts import BillingModel, Contract, Rate
from autoinvoice.domain.errors import InvalidValue, MissingData, UnknownCurrency
from autoinvoice.domain.invoice import InvoiceStatus
from autoinvoice.domain.parties import Address, Party
from autoinvoice.domain.tax import (
    NOTE_EXPORT,
    NOTE_REVERSE_CHARGE,
    TaxCategory,
    TaxKind,
)
from autoinvoice.domain.terms import PaymentTerms

D = Decimal
NET_30 = PaymentTerms.parse("net:30")


def make_party(**overrides: Any) -> Party:
    values: dict[str, Any] = {
        "name": "Hanseatic Logistics AG",
        "country": "DE",
        "tax_id": "DE811907980",
        "address": Address(("Am Sandtorkai 50",), "Hamburg", "20457", "DE"),
        "emails": ("ap@hanseatic.example",),
    }
    return Party(**(values | overrides))


SELLER = make_party(
    name="Nordlicht IT Services GmbH",
    tax_id="DE136695976",
    address=Address(("Speicherstadt 12",), "Hamburg", "20457", "DE"),
    emails=("billing@nordlicht.example",),
)
BUYER = make_party()
FRENCH_BUSINESS = make_party(
    name="Rivoli SARL",
    country="FR",
    tax_id="FR40303265045",
    address=Address(("1 rue de Rivoli",), "Paris", "75001", "FR"),
)


def deal(
    *products: DealLine,
    amount: Decimal | str | None = None,
    buyer: Party = BUYER,
    **kw: Any,
):
    values: dict[str, Any] = {"currency": "EUR", "terms": NET_30, "title": "ACME onboarding"}
    return assemble_deal(
        SELLER,
        buyer,
        amount=D(amount) if isinstance(amount, str) else amount,
        products=products,
        **(values | kw),
    )


AUDIT = DealLine("Security audit", D("1"), D("4000.00"))
WORKSHOP = DealLine("Workshop day", D("2"), D("1250.00"))
LICENCES = DealLine("Monitoring licence", D("12"), D("19.99"))


# -- products ------------------------------------------------------------------------------


def test_each_product_becomes_a_line_in_order():
    inv = deal(AUDIT, WORKSHOP, LICENCES)
    assert [(ln.description, ln.quantity, ln.unit_price, ln.unit) for ln in inv.lines] == [
        ("Security audit", D("1"), D("4000.00"), "unit"),
        ("Workshop day", D("2"), D("1250.00"), "unit"),
        ("Monitoring licence", D("12"), D("19.99"), "unit"),
    ]
    # 4000.00 + 2500.00 + 239.88
    assert inv.totals().net.amount == D("6739.88")


def test_product_lines_carry_no_service_period():
    [line] = deal(AUDIT).lines
    assert (line.period_start, line.period_end) == (None, None)


def test_a_deal_is_a_draft_in_the_given_currency_and_terms_between_the_parties():
    terms = PaymentTerms.parse("net:14")
    inv = deal(AUDIT, currency="chf", terms=terms)
    assert inv.status is InvoiceStatus.DRAFT
    assert (inv.currency, inv.terms) == ("CHF", terms)
    assert (inv.seller, inv.buyer) == (SELLER, BUYER)
    assert inv.number is None


def test_products_may_be_any_iterable():
    inv = assemble_deal(
        SELLER,
        BUYER,
        currency="EUR",
        terms=NET_30,
        title="ACME",
        amount=None,
        products=(p for p in [AUDIT, WORKSHOP]),
    )
    assert len(inv.lines) == 2


def test_products_that_agree_with_the_amount_are_accepted():
    inv = deal(AUDIT, WORKSHOP, LICENCES, amount="6739.88")
    assert len(inv.lines) == 3
    assert inv.totals().net.amount == D("6739.88")


def test_the_amount_is_rounded_half_up_to_the_currency_before_it_is_compared():
    # 3 × 33.333 = 99.999 → a line net of 100.00; 99.995 rounds half-up to 100.00
    thirds = DealLine("Consulting", D("3"), D("33.333"))
    assert deal(thirds, amount="99.995").totals().net.amount == D("100.00")
    assert deal(thirds, amount="100").totals().net.amount == D("100.00")


def test_a_yen_deal_compares_whole_yen():
    item = DealLine("Hosting", D("3"), D("333.5"))  # 1000.5 → 1001 yen
    assert deal(item, amount=D("1001"), currency="JPY").totals().net.amount == D("1001")
    with pytest.raises(InvalidValue) as exc:
        deal(item, amount=D("1000"), currency="JPY")
    assert exc.value.field == "amount"


@pytest.mark.parametrize("amount", ["6739.87", "6739.89", "4000", "0", "-6739.88"])
def test_products_that_disagree_with_the_amount_raise_invalid_amount(amount):
    with pytest.raises(InvalidValue) as exc:
        deal(AUDIT, WORKSHOP, LICENCES, amount=amount)
    assert exc.value.field == "amount"
    assert "6739.88" in exc.value.message
    assert "ACME onboarding" in exc.value.message


def test_a_product_with_no_quantity_is_refused_by_its_line():
    with pytest.raises(InvalidValue) as exc:
        deal(DealLine("Nothing", D("0"), D("10")))
    assert exc.value.field == "quantity"


def test_a_product_without_a_name_is_refused_by_its_line():
    with pytest.raises(InvalidValue) as exc:
        deal(DealLine("  ", D("1"), D("10")))
    assert exc.value.field == "description"


def test_a_deal_in_an_unknown_currency_is_refused():
    with pytest.raises(UnknownCurrency) as exc:
        deal(AUDIT, currency="EURO")
    assert exc.value.field == "currency"


# -- amount only ---------------------------------------------------------------------------


def test_a_deal_without_products_is_one_line_for_its_amount():
    inv = deal(amount="12500.00")
    [line] = inv.lines
    assert (line.description, line.quantity, line.unit_price, line.unit) == (
        "ACME onboarding",
        D(1),
        D("12500.00"),
        "unit",
    )
    assert inv.totals().net.amount == D("12500.00")
    assert inv.totals().gross.amount == D("14875.00")


def test_the_amount_line_is_rounded_to_the_currency():
    inv = deal(amount="99.995")
    assert inv.totals().net.amount == D("100.00")


@pytest.mark.parametrize("amount", [None, "0", "0.00", "-1"])
def test_no_amount_and_no_products_raises_missing_amount(amount):
    with pytest.raises(MissingData) as exc:
        deal(amount=amount)
    assert exc.value.field == "amount"
    assert "ACME onboarding" in exc.value.message


def test_an_empty_product_list_falls_back_to_the_amount():
    inv = assemble_deal(
        SELLER,
        BUYER,
        currency="EUR",
        terms=NET_30,
        title="ACME",
        amount=D("500"),
        products=[],
    )
    assert [ln.unit_price for ln in inv.lines] == [D("500")]


# -- tax -----------------------------------------------------------------------------------


def test_a_domestic_deal_is_taxed_at_the_standard_rate():
    inv = deal(AUDIT)
    [line] = inv.lines
    assert (line.tax.category, line.tax.rate) == (TaxCategory.STANDARD, D("19"))
    assert inv.totals().tax.amount == D("760.00")
    assert inv.legal_notes() == []


def test_a_reduced_rate_deal_puts_the_reduced_rate_on_every_line():
    inv = deal(AUDIT, WORKSHOP, tax_kind=TaxKind.REDUCED)
    assert {ln.tax.rate for ln in inv.lines} == {D("7")}
    assert inv.totals().tax.amount == D("455.00")


def test_a_deal_with_an_eu_business_abroad_is_reverse_charged_at_zero_tax():
    inv = deal(AUDIT, WORKSHOP, amount="6500.00", buyer=FRENCH_BUSINESS)
    assert {ln.tax.category for ln in inv.lines} == {TaxCategory.REVERSE_CHARGE}
    assert all(ln.tax.rate == 0 for ln in inv.lines)
    totals = inv.totals()
    assert totals.tax.is_zero()
    assert totals.gross.amount == totals.net.amount == D("6500.00")
    assert inv.legal_notes() == [NOTE_REVERSE_CHARGE]


def test_an_amount_only_deal_with_an_eu_business_abroad_is_reverse_charged_too():
    inv = deal(amount="1000", buyer=FRENCH_BUSINESS)
    assert inv.lines[0].tax.category is TaxCategory.REVERSE_CHARGE
    assert inv.totals().tax.is_zero()


def test_an_eu_consumer_abroad_pays_the_sellers_vat():
    consumer = make_party(
        name="Marie Curie",
        country="FR",
        tax_id=None,
        is_business=False,
        address=Address(("1 rue de Rivoli",), "Paris", "75001", "FR"),
    )
    inv = deal(AUDIT, buyer=consumer)
    assert (inv.lines[0].tax.category, inv.lines[0].tax.rate) == (TaxCategory.STANDARD, D("19"))


def test_an_eu_business_abroad_without_a_vat_id_raises_missing_client_tax_id():
    with pytest.raises(MissingData) as exc:
        deal(AUDIT, buyer=make_party(country="FR", tax_id=None, address=None))
    assert exc.value.field == "client.tax_id"


def test_a_deal_with_a_business_outside_the_eu_is_an_export():
    buyer = make_party(name="Acme Inc.", country="US", tax_id=None, address=None)
    inv = deal(AUDIT, buyer=buyer)
    assert inv.lines[0].tax.category is TaxCategory.EXPORT
    assert inv.totals().tax.is_zero()
    assert inv.legal_notes() == [NOTE_EXPORT]


# -- DealLine ------------------------------------------------------------------------------


def test_a_deal_line_is_an_immutable_value():
    line = DealLine("Audit", D("1"), D("10"))
    assert line == DealLine("Audit", D("1"), D("10"))
    assert line != DealLine("Audit", D("2"), D("10"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        line.quantity = D("2")  # type: ignore[misc]


# -- Contract.role_for ---------------------------------------------------------------------


def tm_contract(*roles: str) -> Contract:
    return Contract(
        name="Support",
        model=BillingModel.TIME_AND_MATERIALS,
        currency="EUR",
        terms=NET_30,
        rates=tuple(Rate(r, D("100")) for r in roles),
    )


def test_an_entrys_own_role_wins_when_it_has_a_rate():
    contract = tm_contract("developer", "Ana", "default")
    assert contract.role_for("Ana", "developer") == "developer"


def test_a_rate_named_after_the_person_comes_next():
    contract = tm_contract("developer", "Ana", "default")
    assert contract.role_for("Ana", "designer") == "Ana"
    assert contract.role_for("Ana") == "Ana"


def test_the_default_rate_comes_after_the_person():
    contract = tm_contract("developer", "Ana", "default")
    assert contract.role_for("Ben", "designer") == "default"
    assert contract.role_for("Ben") == "default"


def test_the_only_rate_is_used_when_nothing_else_fits():
    contract = tm_contract("consulting")
    assert contract.role_for("Ben", "designer") == "consulting"
    assert contract.role_for("Ben") == "consulting"


def test_an_empty_role_is_ignored():
    contract = tm_contract("developer", "Ana")
    assert contract.role_for("Ana", "") == "Ana"


def test_role_names_are_matched_exactly():
    contract = tm_contract("developer", "architect")
    with pytest.raises(MissingData):
        contract.role_for("ana", "Developer")


def test_no_fitting_rate_among_several_raises_missing_rates_naming_the_person():
    contract = tm_contract("developer", "architect")
    with pytest.raises(MissingData) as exc:
        contract.role_for("Ben")
    assert exc.value.field == "rates"
    assert "'Ben'" in exc.value.message
    assert "Support" in exc.value.message
    assert "role" not in exc.value.message.split(";")[0]


def test_the_missing_rate_message_names_the_role_when_there_was_one():
    contract = tm_contract("developer", "architect")
    with pytest.raises(MissingData) as exc:
        contract.role_for("Ben", "designer")
    assert exc.value.field == "rates"
    assert "'Ben'" in exc.value.message
    assert "(role 'designer')" in exc.value.message


def test_the_chosen_role_has_a_rate():
    contract = tm_contract("developer", "Ana", "default")
    for person, role in [("Ana", "developer"), ("Ana", None), ("Ben", "x"), ("Cy", None)]:
        assert contract.rate_for(contract.role_for(person, role)).hourly == D("100")
