"""Parties: countries, tax ids (EU VAT, GSTIN, EIN, UK VAT), addresses and emails."""

from __future__ import annotations

import pytest

from autoinvoice.domain.errors import InvalidValue, MissingData
from autoinvoice.domain.parties import Address, Party, check_country, check_tax_id, country_name
from autoinvoice.domain.tax import TaxProfile


def make_address(**overrides) -> Address:
    values = {"lines": ("Torstraße 1",), "city": "Berlin", "postal_code": "10119", "country": "DE"}
    return Address(**(values | overrides))


def make_party(**overrides) -> Party:
    values = {"name": "Kunde GmbH", "country": "DE", "address": make_address()}
    return Party(**(values | overrides))


# -- countries -----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["XX", "DEU", "", "D", "U1", None, 276])
def test_an_unknown_country_code_raises_invalid_country(code):
    with pytest.raises(InvalidValue) as exc:
        check_country(code)  # type: ignore[arg-type]
    assert exc.value.field == "country"


def test_a_party_with_an_unknown_country_raises_invalid_country():
    with pytest.raises(InvalidValue) as exc:
        make_party(country="XX")
    assert exc.value.field == "country"


def test_country_codes_are_upper_cased():
    assert make_party(country="de").country == "DE"
    assert make_address(country="in").country == "IN"


def test_country_name_follows_the_locale():
    assert country_name("DE") == "Germany"
    assert country_name("DE", "de") == "Deutschland"


# -- tax ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "given", "stored"),
    [
        ("DE", "de 136 695 976", "DE136695976"),
        ("DE", "DE136695976", "DE136695976"),
        ("DE", "136695976", "DE136695976"),  # the country prefix is added
        ("DE", "DE-136.695.976", "DE136695976"),
        ("FR", "FR 40 303 265 045", "FR40303265045"),
        ("GR", "094259216", "EL094259216"),  # Greece uses the EL prefix
        ("IN", "27aapfu0939f1zv", "27AAPFU0939F1ZV"),
        ("US", "91-1144442", "911144442"),
        ("GB", "GB 980 7806 84", "980780684"),
    ],
)
def test_a_valid_tax_id_is_normalised(country, given, stored):
    assert make_party(country=country, address=None, tax_id=given).tax_id == stored


@pytest.mark.parametrize(
    ("country", "tax_id"),
    [
        ("DE", "DE123"),
        ("DE", "DE136695977"),  # wrong check digit
        ("FR", "FR00303265045"),
        ("IN", "27AAPFU0939F1ZX"),  # wrong GSTIN check character
        ("IN", "27AAPFU0939F1Z"),
        ("US", "07-1144442"),  # EIN prefix not assigned
        ("GB", "802311781"),
    ],
)
def test_an_invalid_tax_id_raises_invalid_tax_id(country, tax_id):
    with pytest.raises(InvalidValue) as exc:
        make_party(country=country, address=None, tax_id=tax_id)
    assert exc.value.field == "tax_id"
    assert tax_id in exc.value.message


def test_check_tax_id_names_the_field_it_is_given():
    with pytest.raises(InvalidValue) as exc:
        check_tax_id("DE", "DE123", field="client.tax_id")
    assert exc.value.field == "client.tax_id"


def test_tax_ids_of_countries_without_a_checker_are_kept_as_given_but_compacted():
    assert make_party(country="JP", address=None, tax_id=" t 1234 ").tax_id == "T1234"


def test_no_tax_id_stays_none():
    assert make_party(tax_id=None).tax_id is None


# -- names, emails, addresses --------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   "])
def test_a_party_needs_a_name(name):
    with pytest.raises(InvalidValue) as exc:
        make_party(name=name)
    assert exc.value.field == "name"


@pytest.mark.parametrize("bad", ["not-an-email", "@example.com", "ap@", "a p@example.com", ""])
def test_an_invalid_email_raises_invalid_value_naming_its_position(bad):
    with pytest.raises(InvalidValue) as exc:
        make_party(emails=("billing@example.com", bad))
    assert exc.value.field == "emails[1]"


def test_valid_emails_are_kept_in_order_and_the_first_is_the_recipient():
    party = make_party(emails=("billing@example.com", "cfo@example.com"))
    assert party.require_email() == "billing@example.com"


def test_a_party_without_email_raises_missing_client_emails_when_one_is_needed():
    with pytest.raises(MissingData) as exc:
        make_party(emails=()).require_email()
    assert exc.value.field == "client.emails"


def test_a_party_without_address_raises_missing_client_address_when_billing():
    with pytest.raises(MissingData) as exc:
        make_party(address=None).require_billing_address()
    assert exc.value.field == "client.address"


def test_an_address_with_an_unknown_country_raises_invalid_address_country():
    with pytest.raises(InvalidValue) as exc:
        make_address(country="XX")
    assert exc.value.field == "address.country"


@pytest.mark.parametrize("lines", [(), ("",), ("  ", "")])
def test_an_address_needs_a_street_line(lines):
    with pytest.raises(InvalidValue) as exc:
        make_address(lines=lines)
    assert exc.value.field == "address.lines"


def test_an_address_needs_a_city():
    with pytest.raises(InvalidValue) as exc:
        make_address(city=" ")
    assert exc.value.field == "address.city"


def test_formatted_address_skips_blank_lines_and_adds_the_state():
    addr = make_address(
        lines=("12 MG Road", " "),
        city="Bengaluru",
        postal_code="560001",
        country="IN",
        subdivision="KA",
    )
    assert addr.formatted() == ["12 MG Road", "560001 Bengaluru, KA"]


def test_the_state_of_the_address_becomes_the_partys_subdivision():
    addr = make_address(
        lines=("12 MG Road",),
        city="Bengaluru",
        postal_code="560001",
        country="IN",
        subdivision="KA",
    )
    assert make_party(country="IN", address=addr).subdivision == "KA"


def test_an_explicit_subdivision_wins_over_the_address():
    addr = make_address(country="IN", subdivision="KA")
    assert make_party(country="IN", address=addr, subdivision="MH").subdivision == "MH"


def test_tax_profile_carries_what_tax_decisions_need():
    party = make_party(country="FR", address=None, tax_id="FR40303265045", is_business=True)
    assert party.tax_profile == TaxProfile("FR", None, "FR40303265045", True)
