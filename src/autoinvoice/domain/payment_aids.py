"""Payment aids printed on an invoice: the structured creditor reference and QR payloads.

* ISO 11649 creditor reference ("RF" + 2 check digits + up to 21 alphanumerics), derived from
  the invoice number, so a bank transfer that quotes it can be matched without doubt. The
  check digits are ISO 7064 MOD 97-10 over ``body + "RF00"`` (the body with "RF" moved to the
  end), computed with python-stdnum.
* EPC QR code payload — European Payments Council, "Quick Response Code: Guidelines to Enable
  Data Capture for the Initiation of a SEPA Credit Transfer", EPC069-12 version 3.0: service
  tag ``BCD``, version ``002`` (BIC optional inside the EEA), character set ``1`` (UTF-8),
  ``SCT``, BIC, beneficiary name (≤ 70), IBAN, ``EUR<amount>`` (0.01–999999999.99), purpose,
  structured reference *or* unstructured remittance (never both), ≤ 331 bytes in all.
* UPI payment URI — NPCI "UPI Linking Specifications" (``upi://pay?pa=…&pn=…&am=…&cu=INR``),
  with the invoice number as the transaction reference ``tr`` and a note ``tn``.

>>> creditor_reference("INV-2026-000123")
'RF98INV2026000123'
>>> format_creditor_reference("RF98INV2026000123")
'RF98 INV2 0260 0012 3'
"""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import quote

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from .errors import InvalidValue

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def creditor_reference(number: str) -> str:
    """The ISO 11649 reference for an invoice number (its letters and digits, the last 21)."""
    body = _NOT_ALNUM.sub("", number.upper())[-21:]
    if not body:
        raise InvalidValue(
            f"{number!r} has no letters or digits to make a creditor reference", field="number"
        )
    reference = "RF" + mod_97_10.calc_check_digits(body + "RF") + body
    return iso11649.validate(reference)


def is_creditor_reference(text: str) -> bool:
    return bool(iso11649.is_valid(text))


def format_creditor_reference(reference: str) -> str:
    """Printed in groups of four, as ISO 11649 recommends for paper."""
    return str(iso11649.format(reference))


EPC_MAX_BYTES = 331


def epc_qr_payload(
    *,
    name: str,
    iban: str,
    amount: Decimal,
    bic: str | None = None,
    reference: str | None = None,
    text: str | None = None,
) -> str:
    """The EPC069-12 payload for a SEPA credit transfer in euro."""
    if not (Decimal("0.01") <= amount <= Decimal("999999999.99")):
        raise InvalidValue(
            f"an EPC QR code carries 0.01 to 999999999.99 EUR, not {amount}", field="amount"
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidValue(f"{amount} has more than 2 decimals", field="amount")
    if reference and text:
        raise InvalidValue("give a structured reference or a text, not both", field="reference")
    fields = [
        "BCD",
        "002",
        "1",
        "SCT",
        (bic or "").replace(" ", ""),
        name.strip()[:70],
        iban.replace(" ", "").upper(),
        f"EUR{amount:.2f}",
        "",  # purpose code
        reference or "",
        (text or "")[:140],
    ]
    payload = "\n".join(fields).rstrip("\n")
    if len(payload.encode()) > EPC_MAX_BYTES:
        raise InvalidValue(
            f"the EPC QR payload is {len(payload.encode())} bytes; the limit is {EPC_MAX_BYTES}",
            field="payment",
        )
    return payload


_VPA = re.compile(r"[A-Za-z0-9.\-_]{2,256}@[A-Za-z][A-Za-z0-9.\-]{1,64}")


def check_vpa(vpa: str, *, field: str = "bank.upi") -> str:
    """A UPI virtual payment address, ``name@bank``."""
    value = vpa.strip()
    if not _VPA.fullmatch(value):
        raise InvalidValue(f"{vpa!r} is not a UPI address (name@bank)", field=field)
    return value


def upi_payload(*, vpa: str, name: str, amount: Decimal, reference: str, note: str) -> str:
    """The UPI deep link for paying ``amount`` INR to ``vpa``."""
    if amount <= 0:
        raise InvalidValue("a UPI payment needs a positive amount", field="amount")
    params = [
        ("pa", check_vpa(vpa)),
        ("pn", name.strip()[:99]),
        ("am", f"{amount:.2f}"),
        ("cu", "INR"),
        ("tr", reference[:35]),
        ("tn", note[:80]),
    ]
    # the address keeps its "@", as in NPCI's examples (some apps do not decode %40)
    return "upi://pay?" + "&".join(
        f"{k}={quote(v, safe='@' if k == 'pa' else '')}" for k, v in params
    )


__all__ = [
    "check_vpa",
    "creditor_reference",
    "epc_qr_payload",
    "format_creditor_reference",
    "is_creditor_reference",
    "upi_payload",
]
