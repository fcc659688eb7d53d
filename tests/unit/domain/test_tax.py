"""Tax determination (VAT, reverse charge, export, Indian GST) and the rounding policies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from autoinvoice.domain.errors import InvalidValue, MissingData
from autoinvoice.domain.tax import (
    NOTE_EXEMPT,
    NOTE_EXPORT,
    NOTE_GST_EXPORT,
    NOTE_REVERSE_CHARGE,
    RATES,
    LineTax,
    RoundingPolicy,
    TaxCategory,
    TaxComponent,
    TaxKind,
    TaxProfile,
    determine_tax,
    tax_breakdown,
)

D = Decimal
PER_CATEGORY, PER_LINE = RoundingPolicy.PER_CATEGORY, RoundingPolicy.PER_LINE

DE_SELLER = TaxProfile("DE", tax_id="DE136695976")
FR_SELLER = TaxProfile("FR", tax_id="FR40303265045")
KA_SELLER = TaxProfile("IN", subdivision="KA")


def vat(rate: str) -> LineTax:
    return LineTax.of("S", D(rate), [TaxComponent("VAT", D(rate))])


def cgst_sgst(rate: str) -> LineTax:
    half = D(rate) / 2
    return LineTax.of("S", D(rate), [TaxComponent("CGST", half), TaxComponent("SGST", half)])


def igst(rate: str) -> LineTax:
    return LineTax.of("S", D(rate), [TaxComponent("IGST", D(rate))])


def one(lines, currency="EUR", policy=PER_CATEGORY):
    rows = tax_breakdown(lines, currency, policy)
    assert len(rows) == 1
    return rows[0]


# -- VAT in the EU -------------------------------------------------------------------------


def test_domestic_german_standard_supply_is_19_percent_vat():
    tax = determine_tax(DE_SELLER, TaxProfile("DE", tax_id="DE..."), TaxKind.STANDARD)
    assert tax.category is TaxCategory.STANDARD
    assert tax.rate == D("19")
    assert tax.components == (TaxComponent("VAT", D("19")),)
    assert tax.note is None


def test_domestic_german_reduced_supply_is_7_percent_vat():
    tax = determine_tax(DE_SELLER, TaxProfile("DE"), TaxKind.REDUCED)
    assert (tax.category, tax.rate) == (TaxCategory.STANDARD, D("7"))
    assert tax.components == (TaxComponent("VAT", D("7")),)


def test_domestic_french_standard_supply_is_20_percent_vat():
    tax = determine_tax(FR_SELLER, TaxProfile("FR"), TaxKind.STANDARD)
    assert (tax.category, tax.rate) == (TaxCategory.STANDARD, D("20"))


def test_eu_b2b_cross_border_service_is_reverse_charged_at_zero_with_the_art_196_note():
    buyer = TaxProfile("FR", tax_id="FR40303265045", is_business=True)
    tax = determine_tax(DE_SELLER, buyer, TaxKind.STANDARD)
    assert tax.category is TaxCategory.REVERSE_CHARGE
    assert tax.category.value == "AE"
    assert tax.rate == 0
    assert tax.components == ()
    assert tax.note == NOTE_REVERSE_CHARGE
    assert "Art. 196" in tax.note
    assert tax.label == "Reverse charge 0 %"


def test_eu_b2b_reverse_charge_without_the_buyers_vat_id_raises_missing_client_tax_id():
    with pytest.raises(MissingData) as exc:
        determine_tax(DE_SELLER, TaxProfile("FR", is_business=True), TaxKind.STANDARD)
    assert exc.value.field == "client.tax_id"


def test_eu_cross_border_supply_to_a_consumer_is_taxed_at_the_sellers_rate():
    tax = determine_tax(DE_SELLER, TaxProfile("FR", is_business=False), TaxKind.STANDARD)
    assert (tax.category, tax.rate) == (TaxCategory.STANDARD, D("19"))
    assert tax.components == (TaxComponent("VAT", D("19")),)


def test_supply_to_a_business_outside_the_eu_is_export_category_g_with_the_art_44_note():
    tax = determine_tax(DE_SELLER, TaxProfile("US", is_business=True), TaxKind.STANDARD)
    assert tax.category is TaxCategory.EXPORT
    assert tax.category.value == "G"
    assert tax.rate == 0
    assert tax.note == NOTE_EXPORT
    assert "Art. 44" in tax.note
    assert tax.label == "Export 0 %"


def test_supply_to_a_business_outside_the_eu_needs_no_vat_id():
    tax = determine_tax(DE_SELLER, TaxProfile("US", tax_id=None), TaxKind.STANDARD)
    assert tax.category is TaxCategory.EXPORT


@pytest.mark.parametrize(
    "buyer", [TaxProfile("DE"), TaxProfile("FR", tax_id="FR1"), TaxProfile("US", is_business=False)]
)
def test_exempt_supply_is_category_e_with_the_exempt_note_wherever_the_buyer_is(buyer):
    tax = determine_tax(DE_SELLER, buyer, TaxKind.EXEMPT)
    assert tax.category is TaxCategory.EXEMPT
    assert tax.rate == 0
    assert tax.note == NOTE_EXEMPT
    assert tax.label == "Exempt"


def test_zero_rated_supply_is_category_z_with_a_zero_vat_component():
    tax = determine_tax(DE_SELLER, TaxProfile("DE"), TaxKind.ZERO)
    assert tax.category is TaxCategory.ZERO
    assert tax.components == (TaxComponent("VAT", D(0)),)


def test_a_seller_in_a_country_without_vat_invoices_outside_the_scope_of_tax():
    tax = determine_tax(TaxProfile("US"), TaxProfile("US"), TaxKind.STANDARD)
    assert tax.category is TaxCategory.OUTSIDE_SCOPE
    assert tax.rate == 0


def test_a_kind_the_sellers_country_does_not_have_raises_invalid_tax_kind(monkeypatch):
    monkeypatch.setitem(RATES, "DE", {TaxKind.STANDARD: D("19")})
    with pytest.raises(InvalidValue) as exc:
        determine_tax(DE_SELLER, TaxProfile("DE"), TaxKind.REDUCED)
    assert exc.value.field == "tax_kind"


@pytest.mark.parametrize("country", ["PL", "JP"])
def test_a_domestic_seller_in_a_country_with_unknown_rates_raises_invalid_country(country):
    with pytest.raises(InvalidValue) as exc:
        determine_tax(TaxProfile(country), TaxProfile(country), TaxKind.STANDARD)
    assert exc.value.field == "country"


def test_a_b2c_sale_from_a_country_with_unknown_rates_raises_invalid_value():
    with pytest.raises(InvalidValue):
        determine_tax(TaxProfile("PL"), TaxProfile("DE", is_business=False), TaxKind.STANDARD)


# -- GST in India --------------------------------------------------------------------------


def test_intra_state_gst_is_split_into_cgst_9_and_sgst_9():
    tax = determine_tax(KA_SELLER, TaxProfile("IN", subdivision="KA"), TaxKind.STANDARD)
    assert (tax.category, tax.rate) == (TaxCategory.STANDARD, D("18"))
    assert tax.components == (TaxComponent("CGST", D("9")), TaxComponent("SGST", D("9")))
    assert tax.label == "CGST 9 % + SGST 9 %"


def test_intra_state_reduced_gst_halves_into_two_and_a_half_percent_each():
    tax = determine_tax(KA_SELLER, TaxProfile("IN", subdivision="KA"), TaxKind.REDUCED)
    assert [c.rate for c in tax.components] == [D("2.5"), D("2.5")]
    assert tax.label == "CGST 2.5 % + SGST 2.5 %"


def test_inter_state_gst_is_igst_18():
    tax = determine_tax(KA_SELLER, TaxProfile("IN", subdivision="MH"), TaxKind.STANDARD)
    assert tax.components == (TaxComponent("IGST", D("18")),)
    assert tax.label == "IGST 18 %"


def test_an_explicit_place_of_supply_overrides_the_buyers_state():
    buyer = TaxProfile("IN", subdivision="MH")
    tax = determine_tax(KA_SELLER, buyer, TaxKind.STANDARD, place_of_supply="KA")
    assert [c.name for c in tax.components] == ["CGST", "SGST"]


def test_supply_from_india_to_a_foreign_buyer_is_zero_rated_export_under_lut():
    tax = determine_tax(KA_SELLER, TaxProfile("US"), TaxKind.STANDARD)
    assert tax.category is TaxCategory.ZERO
    assert tax.components == (TaxComponent("IGST", D(0)),)
    assert tax.note == NOTE_GST_EXPORT
    assert "LUT" in tax.note


def test_gst_without_the_buyers_state_raises_missing_client_subdivision():
    with pytest.raises(MissingData) as exc:
        determine_tax(KA_SELLER, TaxProfile("IN"), TaxKind.STANDARD)
    assert exc.value.field == "client.subdivision"


def test_gst_without_the_sellers_state_raises_missing_seller_subdivision():
    with pytest.raises(MissingData) as exc:
        determine_tax(TaxProfile("IN"), TaxProfile("IN", subdivision="KA"), TaxKind.STANDARD)
    assert exc.value.field == "seller.subdivision"


def test_gst_exempt_supply_is_category_e():
    tax = determine_tax(KA_SELLER, TaxProfile("IN", subdivision="KA"), TaxKind.EXEMPT)
    assert tax.category is TaxCategory.EXEMPT
    assert tax.note


# -- LineTax -------------------------------------------------------------------------------


def test_line_taxes_with_the_same_category_rate_and_components_share_a_key():
    assert vat("19").key == vat("19.0").key
    assert vat("19").key != vat("7").key
    assert cgst_sgst("18").key != igst("18").key


def test_label_of_a_single_vat_component_shows_its_rate_without_trailing_zeros():
    assert vat("19.00").label == "VAT 19 %"
    assert vat("5.5").label == "VAT 5.5 %"


# -- breakdown: grouping -------------------------------------------------------------------


def test_breakdown_groups_lines_by_tax_in_first_seen_order():
    rows = tax_breakdown(
        [(D("10.00"), vat("19")), (D("5.00"), vat("7")), (D("1.00"), vat("19"))], "EUR"
    )
    assert [r.tax.rate for r in rows] == [D("19"), D("7")]
    assert [r.taxable for r in rows] == [D("11.00"), D("5.00")]
    assert [r.amount for r in rows] == [D("2.09"), D("0.35")]


def test_breakdown_of_a_zero_rate_category_without_components_has_zero_tax():
    rc = LineTax.of("AE", D(0), (), NOTE_REVERSE_CHARGE)
    row = one([(D("100.00"), rc)])
    assert row.amount == D("0.00")
    assert row.taxable == D("100.00")


def test_breakdown_of_no_lines_is_empty():
    assert tax_breakdown([], "EUR") == []


# -- breakdown: golden values at the rounding boundaries -----------------------------------
# Each of these pins a figure printed on a real invoice. If one fails, invoices already sent
# no longer match what the system recomputes (credit notes, reminders and e-invoice
# validation BR-CO-14 / BR-S-09 would show different tax).


def test_three_ten_cent_lines_at_19_percent_give_six_cents_under_both_policies():
    # per category: 0.30 × 0.19 = 0.057 → 0.06; per line: 0.019 → 0.02, × 3 = 0.06.
    # Breaks if the category sum is not rounded, or per-line rounding truncates.
    lines = [(D("0.10"), vat("19"))] * 3
    assert one(lines, policy=PER_CATEGORY).amount == D("0.06")
    assert one(lines, policy=PER_LINE).amount == D("0.06")


def test_two_thirteen_cent_lines_at_19_percent_differ_between_the_policies():
    # per category: 0.26 × 0.19 = 0.0494 → 0.05 (EN 16931 BR-S-09);
    # per line: 0.0247 → 0.02, × 2 = 0.04.
    # Breaks if the policy switch is ignored or PER_CATEGORY sums rounded line taxes.
    lines = [(D("0.13"), vat("19"))] * 2
    assert one(lines, policy=PER_CATEGORY).amount == D("0.05")
    assert one(lines, policy=PER_LINE).amount == D("0.04")


def test_per_category_tax_at_an_exact_half_cent_rounds_up_not_to_even():
    # 1.50 × 0.19 = 0.285 → 0.29 half-up; banker's rounding would give 0.28.
    # Breaks if someone swaps HALF_UP for ROUND_HALF_EVEN (Python's default).
    assert one([(D("1.50"), vat("19"))]).amount == D("0.29")
    # 1.50 × 0.07 = 0.105 → 0.11 (half-even would be 0.10)
    assert one([(D("1.50"), vat("7"))]).amount == D("0.11")


def test_per_line_tax_at_an_exact_half_cent_rounds_each_line_up():
    # each 1.50 × 0.19 = 0.285 → 0.29, two lines → 0.58 (category would be 0.57).
    lines = [(D("1.50"), vat("19"))] * 2
    assert one(lines, policy=PER_LINE).amount == D("0.58")
    assert one(lines, policy=PER_CATEGORY).amount == D("0.57")


def test_yen_tax_rounds_to_whole_yen_half_up():
    # 150 JPY × 0.19 = 28.5 → 29. Breaks if JPY is treated as a two-decimal currency.
    row = one([(D("150"), vat("19"))], currency="JPY")
    assert row.amount == D("29")
    assert row.amount.as_tuple().exponent == 0


def test_kuwaiti_dinar_tax_rounds_to_the_fils_half_up():
    # 0.150 KWD × 0.19 = 0.0285 → 0.029. Breaks if KWD is rounded to two decimals.
    row = one([(D("0.150"), vat("19"))], currency="KWD")
    assert row.amount == D("0.029")


def test_cgst_and_sgst_are_rounded_separately_so_their_sum_can_exceed_igst():
    # 0.06 INR: CGST 0.0054 → 0.01, SGST 0.0054 → 0.01, total 0.02;
    # IGST on the same base: 0.0108 → 0.01. Breaks if GST is rounded only on the total
    # (the law asks for each tax head to be shown and rounded on its own).
    intra = one([(D("0.06"), cgst_sgst("18"))], currency="INR")
    assert [(c.name, c.amount) for c in intra.components] == [
        ("CGST", D("0.01")),
        ("SGST", D("0.01")),
    ]
    assert intra.amount == D("0.02")
    inter = one([(D("0.06"), igst("18"))], currency="INR")
    assert inter.amount == D("0.01")


def test_cgst_and_sgst_below_half_a_paisa_each_round_to_zero():
    # 0.05 INR: each 0.0045 → 0.00, so the intra-state tax is 0.00 while IGST is 0.009 → 0.01.
    intra = one([(D("0.05"), cgst_sgst("18"))], currency="INR")
    assert [c.amount for c in intra.components] == [D("0.00"), D("0.00")]
    assert intra.amount == D("0.00")
    assert one([(D("0.05"), igst("18"))], currency="INR").amount == D("0.01")


def test_gst_per_line_rounds_each_component_of_each_line():
    # two lines of 0.05 INR: per line each component 0.0045 → 0.00 → total 0.00;
    # per category base 0.10: each component 0.009 → 0.01 → total 0.02.
    lines = [(D("0.05"), cgst_sgst("18"))] * 2
    assert one(lines, "INR", PER_LINE).amount == D("0.00")
    assert one(lines, "INR", PER_CATEGORY).amount == D("0.02")


def test_negative_lines_reduce_the_category_base_and_round_half_away_from_zero():
    # a -1.50 discount line at 19 %: -0.285 → -0.29 (half away from zero, as EN 16931).
    row = one([(D("-1.50"), vat("19"))])
    assert row.amount == D("-0.29")


def test_gst_for_a_country_missing_from_the_rate_table_raises_invalid_country(monkeypatch):
    monkeypatch.delitem(RATES, "IN")
    with pytest.raises(InvalidValue) as exc:
        determine_tax(KA_SELLER, TaxProfile("IN", subdivision="KA"), TaxKind.STANDARD)
    assert exc.value.field == "country"
