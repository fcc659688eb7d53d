"""Creditor references, EPC and UPI QR payloads, bank details and document settings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from stdnum import iso11649

from autoinvoice.domain.documents import Branding, DocumentSettings, check_bank
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.payment_aids import (
    check_vpa,
    creditor_reference,
    epc_qr_payload,
    is_creditor_reference,
    upi_payload,
)


@pytest.mark.parametrize(
    "number", ["INV-2026-000123", "KCS/26-27/0042", "cn-7", "RE 2026 0000000000000000000001"]
)
def test_every_invoice_number_gets_a_valid_iso11649_reference(number: str) -> None:
    ref = creditor_reference(number)
    assert iso11649.is_valid(ref) and is_creditor_reference(ref)
    assert len(ref) <= 25 and ref.startswith("RF")


def test_the_reference_is_stable_and_distinguishes_numbers() -> None:
    assert creditor_reference("INV-2026-000123") == "RF98INV2026000123"
    assert creditor_reference("INV-2026-000123") != creditor_reference("INV-2026-000124")
    assert creditor_reference("539007547034") == "RF18539007547034"  # ISO 11649's own example
    with pytest.raises(InvalidValue, match="no letters or digits"):
        creditor_reference("--/--")


def test_epc_payload_follows_epc069_12() -> None:
    payload = epc_qr_payload(
        name="Nordlicht Software GmbH",
        iban="DE89 3704 0044 0532 0130 00",
        bic="COBADEFFXXX",
        amount=Decimal("5729.85"),
        reference="RF98INV2026000123",
    )
    assert payload.split("\n") == [
        "BCD",
        "002",
        "1",
        "SCT",
        "COBADEFFXXX",
        "Nordlicht Software GmbH",
        "DE89370400440532013000",
        "EUR5729.85",
        "",
        "RF98INV2026000123",
    ]


@pytest.mark.parametrize(
    ("amount", "message"),
    [("0.00", "0.01 to 999999999.99"), ("1000000000", "0.01 to"), ("1.005", "2 decimals")],
)
def test_epc_refuses_amounts_it_cannot_carry(amount: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        epc_qr_payload(name="A", iban="DE89370400440532013000", amount=Decimal(amount))


def test_upi_link_is_escaped_and_carries_the_invoice() -> None:
    link = upi_payload(
        vpa="kavericloud@hdfcbank",
        name="Kaveri Cloud & Co",
        amount=Decimal("172162"),
        reference="KCS/26-27/0042",
        note="Invoice KCS/26-27/0042",
    )
    assert link == (
        "upi://pay?pa=kavericloud@hdfcbank&pn=Kaveri%20Cloud%20%26%20Co&am=172162.00&cu=INR"
        "&tr=KCS%2F26-27%2F0042&tn=Invoice%20KCS%2F26-27%2F0042"
    )
    with pytest.raises(InvalidValue, match="UPI address"):
        check_vpa("not a vpa")


def test_bank_details_are_checked_and_normalised() -> None:
    bank = check_bank(
        {"iban": "de89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX", "ifsc": "hdfc0000053"}
    )
    assert bank == {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "ifsc": "HDFC0000053"}
    with pytest.raises(InvalidValue, match="not a valid IBAN") as err:
        check_bank({"iban": "DE89370400440532013001"})
    assert err.value.field == "bank.iban"
    with pytest.raises(InvalidValue, match="not an IFSC"):
        check_bank({"ifsc": "HDFC000005"})


def test_branding_refuses_what_it_cannot_render() -> None:
    with pytest.raises(InvalidValue, match="#RRGGBB"):
        Branding(accent="teal")
    with pytest.raises(InvalidValue, match="not a layout"):
        Branding(layout="fancy")
    with pytest.raises(InvalidValue, match="not an available font"):
        Branding(font="Comic Sans MS")
    with pytest.raises(InvalidValue, match="not a PNG image"):
        Branding(logo=b"GIF89a....", logo_format="png")
    with pytest.raises(InvalidValue, match="limit is 512 KB"):
        Branding(logo=b"\x89PNG\r\n\x1a\n" + bytes(600_000), logo_format="png")
    ok = Branding("modern", "#0A7D5A", "Noto Sans", b"\x89PNG\r\n\x1a\n....", "png")
    assert ok.as_json()["logo_format"] == "png"


def test_document_settings() -> None:
    assert DocumentSettings.parse("PDF, ubl,ubl").attach == ("pdf", "ubl")
    assert DocumentSettings.parse("").attach == ()
    with pytest.raises(InvalidValue, match="not both"):
        DocumentSettings.parse("pdf,facturx")
    with pytest.raises(InvalidValue, match="not a document format"):
        DocumentSettings.parse("docx")
