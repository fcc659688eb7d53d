"""The intake form's validation: every field, all errors at once, tax ids per country."""

from __future__ import annotations

from dataclasses import replace

import pytest

from autoinvoice.domain.intake import (
    FIELDS,
    IntakeForm,
    IntakeInvalid,
    check_client_tax_id,
    country_choices,
    region_groups,
    tax_id_required,
)
from autoinvoice.domain.parties import Address, Party

GOOD = IntakeForm(
    legal_name="Société Exemple SA",
    address_line1="12 rue de la Paix",
    address_line2="3e étage",
    postal_code="75002",
    city="Paris",
    country="FR",
    emails="compta@exemple.fr",
    tax_id="FR 40 303 265 045",
    payment_method="bank_transfer",
)
INDIA = IntakeForm(
    legal_name="Sundar Analytics Pvt Ltd",
    address_line1="Plot 7, MIDC",
    postal_code="400 093",
    city="Mumbai",
    country="IN",
    subdivision="MH",
    emails="ap@sundar.example",
    tax_id="27AAPFU0939F1ZV",
    payment_method="upi",
)


def errors_of(form: IntakeForm, **kw: object) -> dict[str, str]:
    return form.errors(seller_country="DE", **kw)  # type: ignore[arg-type]


# -- a complete form --------------------------------------------------------------------------
def test_a_complete_form_gives_clean_billing_details():
    details = GOOD.validate(seller_country="DE")
    assert details.name == "Société Exemple SA"
    assert details.address == Address(("12 rue de la Paix", "3e étage"), "Paris", "75002", "FR")
    assert details.tax_id == "FR40303265045"
    assert details.emails == ("compta@exemple.fr",)
    assert (details.peppol_id, details.po_required, details.payment_method) == (
        None,
        False,
        "bank_transfer",
    )


def test_an_indian_form_keeps_the_state_as_the_iso_suffix():
    details = INDIA.validate(seller_country="IN")
    assert details.subdivision == "MH"
    assert details.address.postal_code == "400 093"
    assert details.tax_id == "27AAPFU0939F1ZV"


def test_applied_to_a_party_the_details_keep_whether_it_is_a_business():
    old = Party("Old name", "DE", is_business=False, extra={"crm": "42"})
    party = INDIA.validate(seller_country="IN").apply_to(old)
    assert (party.name, party.country, party.subdivision) == (
        "Sundar Analytics Pvt Ltd",
        "IN",
        "MH",
    )
    assert party.is_business is False and party.extra == {"crm": "42"}


# -- all errors at once -----------------------------------------------------------------------
def test_an_empty_form_names_every_required_field_at_once():
    errors = errors_of(IntakeForm())
    assert set(errors) == {
        "legal_name",
        "address_line1",
        "city",
        "country",
        "emails",
        "payment_method",
    }
    assert errors["legal_name"] == "enter the legal name"
    assert errors["country"] == "choose the country"


def test_validate_raises_with_every_error_and_names_the_first_field():
    with pytest.raises(IntakeInvalid) as caught:
        replace(GOOD, legal_name=" ", tax_id="FR41303265045", emails="x@").validate(
            seller_country="DE"
        )
    assert set(caught.value.errors) == {"legal_name", "tax_id", "emails"}
    assert caught.value.field == "legal_name"
    assert caught.value.code == "invalid_intake"


# -- tax ids ----------------------------------------------------------------------------------
def test_a_french_vat_number_with_a_bad_check_digit_is_refused():
    errors = errors_of(replace(GOOD, tax_id="FR41303265045"))
    assert errors == {
        "tax_id": "this is not a valid VAT number in France: please check it for typos"
    }


def test_a_vat_number_of_another_eu_country_is_refused_with_the_reason():
    errors = errors_of(replace(GOOD, tax_id="DE136695976"))
    assert "starts with DE, but the address is in France" in errors["tax_id"]


@pytest.mark.parametrize(
    ("country", "given", "stored"),
    [
        ("FR", "fr 40 303 265 045", "FR40303265045"),
        ("FR", "40303265045", "FR40303265045"),  # the prefix is added
        ("IN", "27aapfu0939f1zv", "27AAPFU0939F1ZV"),
        ("AU", "53 004 085 616", "53004085616"),
        ("US", "04-2103594", "042103594"),
        ("GB", "GB 980 7806 84", "980780684"),
        ("CH", "CHE-100.155.212", "CHE100155212"),
        ("CH", "CHE-100.155.212 MWST", "CHE100155212MWST"),
        ("NO", "NO 995 525 828 MVA", "995525828MVA"),
        ("CA", "12345 6782 RT0001", "123456782RT0001"),
    ],
)
def test_tax_ids_are_checked_and_normalised_for_their_country(country, given, stored):
    assert check_client_tax_id(country, given) == stored


@pytest.mark.parametrize(
    ("country", "given", "name"),
    [
        ("IN", "27AAPFU0939F1ZW", "GSTIN"),
        ("AU", "53004085617", "ABN"),
        ("US", "07-1234567", "EIN"),  # 07 is not an IRS campus prefix
        ("CH", "CHE-100.155.213", "UID or VAT number"),
        ("CA", "123456789", "business number (BN)"),
    ],
)
def test_a_bad_tax_id_is_refused_naming_the_kind_of_number(country, given, name):
    form = replace(GOOD, country=country, tax_id=given, postal_code="", subdivision="")
    assert errors_of(form)["tax_id"].startswith(f"this is not a valid {name} in ")


def test_a_gstin_must_be_registered_in_the_state_of_the_address():
    errors = errors_of(replace(INDIA, subdivision="KA", postal_code="560001"))
    assert errors == {
        "tax_id": "this GSTIN is registered in Mahārāshtra (state code 27), but the address "
        "is in Karnātaka"
    }


def test_a_business_in_india_must_give_its_gstin():
    errors = errors_of(replace(INDIA, tax_id=""))
    assert errors["tax_id"].startswith("enter your GSTIN")


def test_a_business_in_another_eu_country_must_give_its_vat_number_for_the_reverse_charge():
    assert errors_of(replace(GOOD, tax_id=""))["tax_id"].startswith("enter your VAT number")
    # a domestic client, a consumer, or a client outside the EU and India need not
    assert GOOD.errors(seller_country="FR") == {}
    assert replace(GOOD, tax_id="").errors(seller_country="FR") == {}
    assert replace(GOOD, tax_id="").errors(is_business=False, seller_country="DE") == {}
    assert not tax_id_required("US", is_business=True, seller_country="DE")
    assert tax_id_required("IN", is_business=True, seller_country="IN")


def test_a_tax_id_of_a_country_without_a_checker_is_kept_as_given():
    form = replace(GOOD, country="BR", tax_id="12.345.678/0001-95", postal_code="")
    assert form.validate(seller_country="DE").tax_id == "12.345.678/0001-95"


# -- regions ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("country", "what"),
    [
        ("IN", "state or union territory"),
        ("US", "state"),
        ("CA", "province or territory"),
        ("AU", "state or territory"),
    ],
)
def test_the_region_is_required_where_tax_depends_on_it(country, what):
    form = replace(GOOD, country=country, subdivision="", tax_id="", postal_code="")
    assert errors_of(form)["subdivision"] == f"choose the {what}"


def test_a_region_of_another_country_is_refused():
    errors = errors_of(replace(INDIA, subdivision="US-CA"))
    assert errors["subdivision"] == "California (US-CA) is in United States, not in India"


def test_an_unknown_region_is_refused():
    errors = errors_of(replace(INDIA, subdivision="XX"))
    assert errors["subdivision"] == "'XX' is not a state or union territory of India"


def test_a_region_may_be_given_with_or_without_the_country_prefix():
    us = replace(GOOD, country="US", postal_code="94105", tax_id="04-2103594", subdivision="us-ca")
    assert us.validate(seller_country="DE").subdivision == "CA"
    assert replace(us, subdivision="CA").validate(seller_country="DE").subdivision == "CA"


def test_elsewhere_the_region_is_optional_but_must_belong_to_the_country():
    assert replace(GOOD, subdivision="").validate(seller_country="DE").subdivision is None
    assert replace(GOOD, subdivision="FR-IDF").validate(seller_country="DE").subdivision == "IDF"
    assert (
        "is in Germany, not in France"
        in errors_of(replace(GOOD, subdivision="DE-BY"))["subdivision"]
    )


# -- address, country, emails, Peppol, payment ----------------------------------------------
def test_an_unknown_country_is_refused():
    assert errors_of(replace(GOOD, country="XZ"))["country"] == (
        "'XZ' is not an ISO 3166-1 country code"
    )


@pytest.mark.parametrize(
    ("country", "given", "ok"),
    [
        ("FR", "7500", False),
        ("FR", "75 002", True),
        ("US", "94105-1234", True),
        ("US", "9410", False),
        ("IN", "012345", False),  # a PIN never starts with 0
        ("GB", "sw1a 1aa", True),
        ("NL", "1012AB", True),
    ],
)
def test_postal_codes_are_checked_where_the_country_has_a_known_shape(country, given, ok):
    form = replace(GOOD, country=country, postal_code=given, tax_id="", subdivision="")
    assert ("postal_code" not in errors_of(form)) is ok


def test_a_canadian_postal_code_gets_its_space():
    form = replace(GOOD, country="CA", subdivision="ON", postal_code="k1a0b1", tax_id="")
    assert form.validate(seller_country="DE").address.postal_code == "K1A 0B1"


def test_the_postal_code_is_required_where_it_has_a_known_shape_and_optional_elsewhere():
    assert errors_of(replace(GOOD, postal_code=""))["postal_code"] == "enter the postal code"
    hk = replace(GOOD, country="HK", postal_code="", tax_id="")
    assert hk.validate(seller_country="DE").address.postal_code == ""


def test_several_accounts_payable_emails_are_kept_in_order_without_duplicates():
    form = replace(GOOD, emails="ap@x.example; Archive@x.example,\nap@x.example ARCHIVE@x.example")
    assert form.validate(seller_country="DE").emails == ("ap@x.example", "Archive@x.example")


@pytest.mark.parametrize(
    "bad", ["ap", "ap@", "@x.example", "ap@x", "a b@x.example", "ap@-x.example", "a..b@x.example"]
)
def test_a_malformed_email_is_refused(bad):
    assert (
        errors_of(replace(GOOD, emails=bad))["emails"]
        == f"{bad.split()[0]!r} is not an email address"
    )


def test_an_internationalised_domain_is_accepted():
    assert replace(GOOD, emails="ap@bücher.example").validate(seller_country="DE").emails == (
        "ap@bücher.example",
    )


def test_more_than_ten_emails_are_refused():
    many = ", ".join(f"ap{i}@x.example" for i in range(11))
    assert errors_of(replace(GOOD, emails=many))["emails"] == "enter at most 10 email addresses"


def test_the_peppol_id_is_optional_but_must_be_scheme_colon_identifier():
    assert replace(GOOD, peppol_id=" 0009:30326504500011 ").validate(
        seller_country="DE"
    ).peppol_id == ("0009:30326504500011")
    assert (
        "is not a Peppol participant id"
        in errors_of(replace(GOOD, peppol_id="30326504500011"))["peppol_id"]
    )


def test_the_payment_method_must_be_one_offered():
    assert errors_of(replace(GOOD, payment_method="cheque")) == {
        "payment_method": "choose how you prefer to pay"
    }


def test_overlong_text_is_refused():
    errors = errors_of(replace(GOOD, legal_name="x" * 201, city="y" * 101))
    assert errors == {
        "legal_name": "the legal name is longer than 200 characters",
        "city": "the city is longer than 100 characters",
    }


# -- reading and prefilling ----------------------------------------------------------------------
def test_a_form_is_read_from_submitted_fields_and_the_checkbox_is_on_when_present():
    form = IntakeForm.from_fields({"legal_name": "A", "po_required": "1", "extra": "ignored"})
    assert (form.legal_name, form.po_required, form.city) == ("A", True, "")
    assert IntakeForm.from_fields({}).po_required is False


def test_the_form_is_prefilled_from_what_we_know():
    party = Party(
        "Kunde GmbH",
        "DE",
        address=Address(("Torstraße 1", "Hinterhaus"), "Berlin", "10119", "DE"),
        tax_id="DE136695976",
        emails=("a@k.example", "b@k.example"),
    )
    form = IntakeForm.prefilled(party, po_required=True, payment_method="card")
    assert form.address_line2 == "Hinterhaus" and form.emails == "a@k.example, b@k.example"
    assert (form.country, form.tax_id, form.po_required, form.payment_method) == (
        "DE",
        "DE136695976",
        True,
        "card",
    )
    assert form.validate(seller_country="DE").address == party.address
    assert IntakeForm.prefilled(Party("New", "IN")).country == "IN"


def test_the_choices_cover_every_country_and_group_regions_by_country():
    codes = dict(country_choices())
    assert len(codes) == 249 and codes["DE"] == "Germany"
    groups = region_groups(["IN", "US", "IN", "DE"])
    assert [g[0] for g in groups] == ["IN", "US", "DE"]
    assert ("KA", "Karnātaka") in groups[0][2]
    assert len(groups[1][2]) == 57  # 50 states, DC and the outlying areas
    assert set(FIELDS) >= {"tax_id", "subdivision"}
