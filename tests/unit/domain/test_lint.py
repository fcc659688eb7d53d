"""Pre-flight checks: each named check catches its problem, says how to fix it, and can be
switched off or tuned per organisation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from autoinvoice.domain.contracts import BillingModel, Contract, Milestone, Rate
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.invoice import Invoice, InvoiceKind, InvoiceLine
from autoinvoice.domain.lint import CHECKS, DEFAULTS, CheckSettings, NeedsAttention, lint
from autoinvoice.domain.parties import Party
from autoinvoice.domain.recurrence import Recurrence
from autoinvoice.domain.tax import LineTax, TaxKind, determine_tax
from autoinvoice.domain.terms import PaymentTerms
from einvoice_samples import BUYERS, DE_BANK, DE_SELLER

NET30 = PaymentTerms.parse("net:30")


def draft(*lines: tuple[str, str, str], buyer: Party | None = None, **kw: object) -> Invoice:
    buyer = buyer or BUYERS["domestic_vat"]
    inv = Invoice(DE_SELLER, buyer, "EUR", NET30, **kw)  # type: ignore[arg-type]
    tax = determine_tax(DE_SELLER.tax_profile, buyer.tax_profile, TaxKind.STANDARD)
    for desc, qty, price in lines or (("Backend development, November 2026", "10", "120"),):
        inv.add_line(InvoiceLine(desc, Decimal(qty), Decimal(price), tax, "h"))
    return inv


def checks_of(findings: list) -> set[str]:
    return {f.check for f in findings}


def test_a_good_draft_has_no_findings() -> None:
    assert lint(draft(), bank=DE_BANK) == []


@pytest.mark.parametrize(
    "text",
    ["Services", "Service - 001", "service 1", "Item 3", "WORK", "misc", "-", "Consulting", "n/a"],
)
def test_generic_line_descriptions_are_caught(text: str) -> None:
    findings = lint(draft((text, "1", "100")), bank=DE_BANK)
    (f,) = findings
    assert f.check == "line_description"
    assert f.field == "lines[0].description"
    assert repr(text) in f.message
    assert "describe what was delivered" in f.fix


def test_specific_descriptions_pass_and_the_minimum_length_is_a_setting() -> None:
    assert lint(draft(("Security audit, API gateway", "1", "900")), bank=DE_BANK) == []
    short = draft(("SEO audit", "1", "900"))
    assert lint(short, bank=DE_BANK) == []
    strict = CheckSettings({"line_description": {"min_length": 12}})
    assert checks_of(lint(short, bank=DE_BANK, settings=strict)) == {"line_description"}


def test_a_check_switched_off_reports_nothing() -> None:
    off = CheckSettings({"line_description": {"enabled": False}})
    assert lint(draft(("Services", "1", "100")), bank=DE_BANK, settings=off) == []


def test_standard_rate_of_zero_and_exemption_without_note_are_caught() -> None:
    inv = draft()
    inv.replace_lines(
        [
            InvoiceLine(
                "Hosting, November 2026", Decimal(1), Decimal(10), LineTax.of("S", Decimal(0))
            ),
            InvoiceLine(
                "Training course, module 1", Decimal(1), Decimal(10), LineTax.of("E", Decimal(0))
            ),
        ]
    )
    findings = [f for f in lint(inv, bank=DE_BANK) if f.check == "line_tax"]
    assert [f.field for f in findings] == ["lines[0].tax", "lines[1].tax"]


def test_client_without_address_or_email() -> None:
    bare = Party("Nameless Client GmbH", "DE", None, "DE136695976", ())
    assert checks_of(lint(draft(buyer=bare), bank=DE_BANK)) == {"client_address", "client_email"}


def test_reverse_charge_needs_the_clients_vat_id() -> None:
    inv = draft(buyer=BUYERS["reverse_charge"])
    no_vat = replace(BUYERS["reverse_charge"], tax_id=None)
    inv.buyer = no_vat  # the lines keep their reverse-charge treatment
    (f,) = lint(inv, bank=DE_BANK)
    assert f.check == "client_tax_id" and "reverse-charge" in f.message


def test_indian_business_clients_need_a_gstin_by_default() -> None:
    client = Party("Pune Traders LLP", "IN", BUYERS["india_inter"].address, None, ("a@p.in",))
    inv = draft(buyer=client)
    assert "client_tax_id" in checks_of(lint(inv, bank=DE_BANK))
    elsewhere = CheckSettings({"client_tax_id": {"countries": []}})
    assert "client_tax_id" not in checks_of(lint(inv, bank=DE_BANK, settings=elsewhere))


def test_no_bank_details_means_nowhere_to_pay() -> None:
    assert checks_of(lint(draft(), bank={})) == {"bank_details"}
    assert lint(draft(), bank={"upi": "acme@hdfcbank"}) == []


def test_terms_longer_than_allowed() -> None:
    inv = draft()
    inv.terms = PaymentTerms.parse("net:180")
    (f,) = lint(inv, bank=DE_BANK)
    assert f.check == "payment_terms" and "180 days" in f.message


def test_zero_total_outside_credit_notes() -> None:
    zero = draft(("Goodwill workshop, 3 Nov 2026", "1", "0"))
    assert checks_of(lint(zero, bank=DE_BANK)) == {"positive_total"}
    credit = draft(("Goodwill workshop, 3 Nov 2026", "1", "0"), kind=InvoiceKind.CREDIT_NOTE)
    assert lint(credit, bank=DE_BANK) == []


RETAINER = Contract(
    "Managed services",
    BillingModel.RETAINER,
    "EUR",
    NET30,
    amount=Decimal("1500.00"),
    recurrence=Recurrence(
        "FREQ=MONTHLY;BYMONTHDAY=1", "Europe/Berlin", datetime(2026, 1, 1, tzinfo=UTC)
    ),
)
TM = Contract(
    "Platform build",
    BillingModel.TIME_AND_MATERIALS,
    "EUR",
    NET30,
    rates=(Rate("senior", Decimal("120")), Rate("junior", Decimal("80"))),
)
MILESTONES = Contract(
    "Website relaunch",
    BillingModel.MILESTONE,
    "EUR",
    NET30,
    milestones=(Milestone("Design", Decimal("4000")),),
)


@pytest.mark.parametrize(
    ("contract", "price", "ok"),
    [
        (RETAINER, "1500.00", True),
        (RETAINER, "1600.00", False),
        (TM, "80", True),
        (TM, "95", False),
        (MILESTONES, "4000", True),
        (MILESTONES, "3999", False),
    ],
)
def test_amounts_must_match_the_contract(contract: Contract, price: str, ok: bool) -> None:
    inv = draft(("Agreed work for the period, November 2026", "1", price))
    findings = lint(inv, contract=contract, bank=DE_BANK)
    assert (findings == []) is ok
    if not ok:
        assert findings[0].check == "contract_amount"
        assert contract.name in findings[0].message


def test_a_tolerance_allows_small_differences() -> None:
    inv = draft(("Agreed work for the period, November 2026", "1", "1510.00"))
    loose = CheckSettings({"contract_amount": {"tolerance_percent": "1"}})
    assert lint(inv, contract=RETAINER, bank=DE_BANK, settings=loose) == []


def test_currency_must_be_the_contracts() -> None:
    usd = replace(RETAINER, currency="USD")
    inv = draft(("Agreed work for the period, November 2026", "1", "1500.00"))
    assert checks_of(lint(inv, contract=usd, bank=DE_BANK)) == {"contract_currency"}


def test_settings_refuse_unknown_checks_options_and_bad_values() -> None:
    with pytest.raises(InvalidValue, match="no check 'line_descriptions'"):
        CheckSettings({"line_descriptions": {"enabled": False}})
    with pytest.raises(InvalidValue, match="no option 'min_len'"):
        CheckSettings({"line_description": {"min_len": 3}})
    with pytest.raises(InvalidValue, match="not true or false"):
        CheckSettings({"line_description": {"enabled": "no"}})
    with pytest.raises(InvalidValue, match="percentage"):
        CheckSettings({"contract_amount": {"tolerance_percent": 0.5}})


def test_every_check_has_defaults_and_findings_name_all_problems() -> None:
    assert set(CHECKS) == set(DEFAULTS)
    bare = Party("X", "DE", None, None, ())
    err = NeedsAttention(lint(draft(("Services", "1", "100"), buyer=bare), bank={}))
    text = str(err)
    for name in ("line_description", "client_address", "client_email", "bank_details"):
        assert name in text
