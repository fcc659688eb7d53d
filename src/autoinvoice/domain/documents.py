"""What an organisation's documents look like and which ones each client receives.

* :class:`Branding` — layout, accent colour, font and logo of an issuing entity's PDFs
  (its footer text and bank details live on the entity itself). No code: a business owner
  picks from the layouts and fonts that ship, and uploads a logo.
* :class:`DocumentSettings` — per client, which documents go with the invoice email:
  the PDF, a Factur-X PDF (PDF/A-3 with the CII XML inside, instead of the plain PDF),
  and/or the UBL (Peppol BIS 3.0) or CII XML on its own.
* :func:`check_bank` — bank details as entered: IBAN and BIC are checked with schwifty
  (check digits, country length, registry), an Indian IFSC by its format, a UPI address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from .errors import InvalidValue
from .payment_aids import check_vpa

LAYOUTS = ("classic", "modern")
FONTS = ("Libertinus Serif", "Noto Sans", "New Computer Modern")
LOGO_FORMATS = {"png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8\xff", "svg": b"<"}
LOGO_MAX_BYTES = 512 * 1024
FORMATS = ("pdf", "facturx", "ubl", "cii")
DEFAULT_ACCENT = "#1d4e89"

_HEX = re.compile(r"#[0-9a-fA-F]{6}")
# an SVG logo must be self-contained: the PDF renderer refuses one that links a file
# (the same check as adapters/documents/pdf.py, so such a logo is refused when saved)
_SVG_LINK = re.compile(rb"""href\s*=\s*["']\s*(?!#|data:)([^"']*)""")
_IFSC = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}")


@dataclass(frozen=True, slots=True)
class Branding:
    layout: str = "classic"
    accent: str = DEFAULT_ACCENT
    font: str | None = None  # None: the layout's own font
    logo: bytes | None = None
    logo_format: str | None = None  # png | jpg | svg

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise InvalidValue(
                f"{self.layout!r} is not a layout; choose one of {', '.join(LAYOUTS)}",
                field="branding.layout",
            )
        if not _HEX.fullmatch(self.accent or ""):
            raise InvalidValue(
                f"{self.accent!r} is not a colour; write it as #RRGGBB (e.g. #1d4e89)",
                field="branding.accent",
            )
        if self.font is not None and self.font not in FONTS:
            raise InvalidValue(
                f"{self.font!r} is not an available font; choose one of {', '.join(FONTS)}",
                field="branding.font",
            )
        if (self.logo is None) != (self.logo_format is None):
            raise InvalidValue("a logo needs its format (png, jpg or svg)", field="branding.logo")
        if self.logo is not None:
            self._check_logo(self.logo, self.logo_format or "")

    @staticmethod
    def _check_logo(data: bytes, fmt: str) -> None:
        if fmt not in LOGO_FORMATS:
            raise InvalidValue(
                f"{fmt!r} is not a logo format; use png, jpg or svg", field="branding.logo"
            )
        if len(data) > LOGO_MAX_BYTES:
            raise InvalidValue(
                f"the logo is {len(data) // 1024} KB; the limit is {LOGO_MAX_BYTES // 1024} KB",
                field="branding.logo",
            )
        head = data.lstrip()[:200] if fmt == "svg" else data
        if not head.startswith(LOGO_FORMATS[fmt]) or (fmt == "svg" and b"<svg" not in data[:4096]):
            raise InvalidValue(f"the logo file is not a {fmt.upper()} image", field="branding.logo")
        link = _SVG_LINK.search(data) if fmt == "svg" else None
        if link is not None:
            target = link.group(1).decode("utf-8", errors="replace")[:100]
            raise InvalidValue(
                f"the SVG links to a file ({target!r}); embed images as data: URIs",
                field="branding.logo",
            )

    @staticmethod
    def logo_format_of(filename: str) -> str:
        ext = filename.rsplit(".", 1)[-1].lower()
        return "jpg" if ext == "jpeg" else ext

    def as_json(self) -> dict[str, str | None]:
        """The settings without the logo bytes (stored beside them)."""
        return {
            "layout": self.layout,
            "accent": self.accent,
            "font": self.font,
            "logo_format": self.logo_format,
        }


@dataclass(frozen=True, slots=True)
class DocumentSettings:
    """Which documents a client's invoice email carries."""

    attach: tuple[str, ...] = ("pdf",)

    def __post_init__(self) -> None:
        attach = tuple(dict.fromkeys(a.strip().lower() for a in self.attach))
        for a in attach:
            if a not in FORMATS:
                raise InvalidValue(
                    f"{a!r} is not a document format; choose from {', '.join(FORMATS)}",
                    field="documents.attach",
                )
        if "pdf" in attach and "facturx" in attach:
            raise InvalidValue(
                "attach the PDF or the Factur-X PDF, not both (Factur-X is the PDF with the "
                "e-invoice inside)",
                field="documents.attach",
            )
        object.__setattr__(self, "attach", attach)

    @classmethod
    def parse(cls, formats: str | Iterable[str]) -> DocumentSettings:
        items = formats.split(",") if isinstance(formats, str) else list(formats)
        return cls(tuple(i for i in items if i.strip()))


def check_bank(bank: Mapping[str, str]) -> dict[str, str]:
    """Validate and normalise bank details; ``InvalidValue`` names the field at fault."""
    out = {k: v.strip() for k, v in bank.items() if isinstance(v, str) and v.strip()}
    if "iban" in out:
        try:
            out["iban"] = IBAN(out["iban"]).compact
        except SchwiftyException as exc:
            raise InvalidValue(
                f"{bank['iban']!r} is not a valid IBAN: {exc}", field="bank.iban"
            ) from None
    if "bic" in out:
        try:
            out["bic"] = str(BIC(out["bic"]))
        except SchwiftyException as exc:
            raise InvalidValue(
                f"{bank['bic']!r} is not a valid BIC: {exc}", field="bank.bic"
            ) from None
    if "ifsc" in out:
        out["ifsc"] = out["ifsc"].upper()
        if not _IFSC.fullmatch(out["ifsc"]):
            raise InvalidValue(
                f"{bank['ifsc']!r} is not an IFSC (4 letters, 0, 6 letters or digits)",
                field="bank.ifsc",
            )
    if "upi" in out:
        out["upi"] = check_vpa(out["upi"])
    return out


__all__ = [
    "DEFAULT_ACCENT",
    "FONTS",
    "FORMATS",
    "LAYOUTS",
    "Branding",
    "DocumentSettings",
    "check_bank",
]
