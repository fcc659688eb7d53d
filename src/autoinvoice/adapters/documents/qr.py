"""Payment QR codes as SVG, drawn with segno for the invoice templates.

Two kinds, both ISO/IEC 18004 QR codes (never Micro QR):

* ``EPC`` — the SEPA credit transfer code of EPC069-12 v3.0 ("Quick Response Code:
  Guidelines to Enable Data Capture for the Initiation of a SEPA Credit Transfer"): error
  correction level M exactly (no boosting), at most version 13, and the payload encoded as
  UTF-8 because the payload's character-set field says ``1``.
* ``UPI`` — the NPCI UPI deep link (``upi://pay?...``); NPCI prescribes no level, M is used.

The payload text itself comes from ``autoinvoice.domain.payment_aids``. Mask selection is
segno's full ISO/IEC 18004 penalty evaluation (about 7 ms of the ~9 ms a code costs), so
SVGs are cached per payload: a re-render of the same invoice pays nothing.

>>> svg = qr_svg("upi://pay?pa=acme@okaxis&am=10.00&cu=INR", "UPI")
>>> svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
True
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Final

import segno

__all__ = ["QR_KINDS", "QUIET_ZONE", "payment_qr", "qr_svg"]

QR_KINDS: Final = ("EPC", "UPI")
QUIET_ZONE: Final = 4  # modules of light margin on each side (ISO/IEC 18004 §6.3.8)
_EPC_MAX_VERSION: Final = 13  # EPC069-12 §3.1: "maximum QR code version 13"


def payment_qr(payload: str, kind: str) -> segno.QRCode:
    """The QR code for ``payload``; raises ``ValueError`` for an unknown kind or bad payload."""
    if kind not in QR_KINDS:
        raise ValueError(f"unknown payment QR kind {kind!r}; expected one of {QR_KINDS}")
    if not payload:
        raise ValueError("the payment QR payload is empty")
    try:
        code = segno.make(payload, error="m", boost_error=False, micro=False, encoding="utf-8")
    except segno.DataOverflowError as exc:
        raise ValueError(f"the {kind} QR payload does not fit in a QR code: {exc}") from exc
    if kind == "EPC" and int(code.version) > _EPC_MAX_VERSION:
        raise ValueError(
            f"the EPC QR payload needs QR version {code.version}; EPC069-12 allows at most 13"
        )
    return code


@lru_cache(maxsize=256)
def qr_svg(payload: str, kind: str) -> str:
    """The code as a standalone SVG: one user unit per module, black on white, quiet zone 4.

    White background on purpose: the quiet zone must stay light even on a tinted box.
    """
    out = io.BytesIO()
    payment_qr(payload, kind).save(
        out,
        kind="svg",
        scale=1,
        border=QUIET_ZONE,
        dark="#000",
        light="#fff",
        xmldecl=False,
        nl=False,
        svgclass=None,
        lineclass=None,
    )
    return out.getvalue().decode("utf-8")
