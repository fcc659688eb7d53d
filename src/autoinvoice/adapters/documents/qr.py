"""Payment QR codes as SVG for the invoice templates, encoded with Zint (zint-bindings).

Two kinds, both ISO/IEC 18004 QR codes (never Micro QR):

* ``EPC`` — the SEPA credit transfer code of EPC069-12 v3.0 ("Quick Response Code:
  Guidelines to Enable Data Capture for the Initiation of a SEPA Credit Transfer"): error
  correction level M exactly, at most version 13, and the payload encoded as UTF-8 bytes
  because the payload's character-set field says ``1`` (no ECI header).
* ``UPI`` — the NPCI UPI deep link (``upi://pay?...``); NPCI prescribes no level, M is used.

The payload text itself comes from ``autoinvoice.domain.payment_aids``.

Why Zint and not a pure-Python encoder: every invoice has its own payload (amount and
creditor reference), so a code is drawn for each PDF. segno's ISO/IEC 18004 mask selection
(8 masks scored in Python) took 7–10 ms of a ~25 ms render; Zint's C encoder does the same
full evaluation in about 0.3 ms. Tests decode the printed code with zxing-cpp.

>>> svg = qr_svg("upi://pay?pa=acme@okaxis&am=10.00&cu=INR", "UPI")
>>> svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import zint

__all__ = ["QR_KINDS", "QUIET_ZONE", "QrCode", "payment_qr", "qr_svg"]

QR_KINDS: Final = ("EPC", "UPI")
QUIET_ZONE: Final = 4  # modules of light margin on each side (ISO/IEC 18004 §6.3.8)
_EPC_MAX_VERSION: Final = 13  # EPC069-12 §3.1: "maximum QR code version 13"
_LEVEL_M: Final = 2  # Zint's option_1 for QR: 1 L, 2 M, 3 Q, 4 H
_DATA_MODE: Final = zint.InputMode(0)  # Zint's DATA_MODE: the UTF-8 bytes as given, no ECI


@dataclass(frozen=True)
class QrCode:
    """An encoded code: ``rows[r][c]`` is True for a dark module."""

    rows: tuple[tuple[bool, ...], ...]

    @property
    def size(self) -> int:
        return len(self.rows)

    @property
    def version(self) -> int:
        return (self.size - 17) // 4


def payment_qr(payload: str, kind: str) -> QrCode:
    """The QR code for ``payload``; raises ``ValueError`` for an unknown kind or bad payload."""
    if kind not in QR_KINDS:
        raise ValueError(f"unknown payment QR kind {kind!r}; expected one of {QR_KINDS}")
    if not payload:
        raise ValueError("the payment QR payload is empty")
    symbol = zint.Symbol()
    symbol.symbology = zint.Symbology.QRCODE
    symbol.option_1 = _LEVEL_M
    symbol.input_mode = _DATA_MODE
    try:
        symbol.encode(payload.encode("utf-8"))
    except RuntimeError as exc:
        raise ValueError(f"the {kind} QR payload does not fit in a QR code: {exc}") from exc
    bits, size = symbol.encoded_data, symbol.width
    code = QrCode(
        tuple(
            tuple(bool((bits[r, c // 8] >> (c % 8)) & 1) for c in range(size))
            for r in range(symbol.rows)
        )
    )
    if kind == "EPC" and code.version > _EPC_MAX_VERSION:
        raise ValueError(
            f"the EPC QR payload needs QR version {code.version}; EPC069-12 allows at most 13"
        )
    return code


@lru_cache(maxsize=256)
def qr_svg(payload: str, kind: str) -> str:
    """The code as a standalone SVG: one user unit per module, black on white, quiet zone 4,
    one horizontal run of dark modules per path segment (``M x y h n``).

    White background on purpose: the quiet zone must stay light even on a tinted box.
    """
    code = payment_qr(payload, kind)
    side = code.size + 2 * QUIET_ZONE
    runs = []
    for r, row in enumerate(code.rows):
        c = 0
        while c < code.size:
            if row[c]:
                start = c
                while c < code.size and row[c]:
                    c += 1
                runs.append(f"M{start + QUIET_ZONE} {r + QUIET_ZONE + 0.5}h{c - start}")
            else:
                c += 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" '
        f'viewBox="0 0 {side} {side}"><rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path stroke="#000" d="{"".join(runs)}"/></svg>'
    )
