"""Invoice PDFs rendered with Typst.

A layout is a ``.typ`` file in the templates folder (by default ``templates/invoice``
beside this module: ``classic`` and ``modern``; files starting with ``_`` are shared
helpers, not layouts). It receives the document as JSON in ``sys.inputs.invoice`` and only
lays it out: every amount and date arrives already formatted, so rounding and localisation
stay in the domain and services.

The document (the shape of `sample_document`; `sample_documents` has one of each kind)
may carry, besides the required keys:

- ``labels`` (merged over English defaults, so a translation may be partial), ``lang``
  (ISO 639 code), ``kind`` (``invoice`` | ``credit_note``) and ``corrects`` (the corrected
  invoice's number), ``facturx`` (true when the PDF will carry a Factur-X XML);
- ``branding``: ``layout`` (a layout name), ``accent`` (``#RRGGBB``), ``font`` (one of
  `FONT_FAMILIES`) and ``logo`` (``{"format": "png"|"jpg"|"svg", "data": base64}``);
- ``payment.reference`` (the ISO 11649 creditor reference, grouped for print) and
  ``payment.qr`` (``{"kind": "EPC"|"UPI", "payload": text, "caption": text}``);
- per line ``group`` (a heading printed once before consecutive lines of the group) and
  ``detail`` (a second line under the description).

Typst's inputs are strings, so the renderer hands binary parts over separately:
``sys.inputs.logo`` holds the logo file's bytes as a JSON array of integers (the template
does ``bytes(json(bytes(...)))``; measured faster than base64 or int arrays inside the
document JSON, and cached per logo) and ``sys.inputs.qr`` the QR code as SVG text; the
document keeps ``branding.logo.format`` but not its data.

Rules the renderer keeps:

- The document travels through ``sys.inputs``, never through a data file, so several
  renders may run at once against the same folder.
- Typst's root is the templates folder: a template cannot read any file outside it
  (``read("/etc/passwd")`` fails). There is no custom file resolver.
- Values are data, not markup: a description ``#read("/etc/passwd")`` is printed as those
  characters.
- Fonts are the ones embedded in Typst plus the vendored Noto fonts in ``fonts/`` (OFL);
  system fonts are ignored, so the same document renders the same on every machine.
- Branding is checked before Typst runs: a bad accent, font, layout or logo raises
  `PdfRenderError` with a message naming the field.
- One warm ``typst.Compiler`` per layout, created on first use; Typst caches the parsed
  template and layout between compiles, which makes the second render several times
  faster than the first. Compiles on one layout are serialised by a lock.

>>> renderer = TypstPdfRenderer()
>>> renderer.render(sample_document())[:5]
b'%PDF-'
>>> renderer.layouts()
['classic', 'modern']
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import typst

from ...domain.payment_aids import (
    creditor_reference,
    epc_qr_payload,
    format_creditor_reference,
    upi_payload,
)
from ...domain.tax import NOTE_REVERSE_CHARGE
from ...services.labels import labels_for, title_for, translate_note
from .qr import QR_KINDS, qr_svg

__all__ = [
    "FONTS_DIR",
    "FONT_FAMILIES",
    "LOGO_FORMATS",
    "PDF_STANDARDS",
    "TEMPLATES_DIR",
    "PdfRenderError",
    "TemplateNotFound",
    "TypstPdfRenderer",
    "sample_document",
    "sample_documents",
]

TEMPLATES_DIR: Final = Path(__file__).parent / "templates" / "invoice"
FONTS_DIR: Final = Path(__file__).parent / "fonts"

FONT_FAMILIES: Final = ("Libertinus Serif", "Noto Sans", "New Computer Modern")
"""Families a branding may choose; Devanagari falls back to Noto Sans/Serif Devanagari."""

LOGO_FORMATS: Final = ("png", "jpg", "svg")
MAX_LOGO_BYTES: Final = 512_000

PDF_STANDARDS: Final = ("a-2b", "a-3b", "a-3u", "a-4", "a-4f", "ua-1")
"""Standards `TypstPdfRenderer.render` passes to Typst; Factur-X needs ``"a-3b"``."""

_TEMPLATE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_ACCENT = re.compile(r"#[0-9A-Fa-f]{6}")
_LOGO_SIGNATURES: Final = {"png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",)}


class PdfRenderError(Exception):
    """Typst could not render the document (a template bug or a malformed document)."""

    code = "pdf_render_failed"

    def __init__(self, template: str, message: str) -> None:
        super().__init__(f"{template}: {message}")
        self.template = template
        self.message = message


class TemplateNotFound(PdfRenderError):
    """No template of that name exists in the templates folder."""

    code = "pdf_template_not_found"


@lru_cache(maxsize=1)
def _fonts() -> typst.Fonts:
    """Typst's embedded fonts plus the vendored ones, scanned once per process."""
    return typst.Fonts(include_system_fonts=False, font_paths=[str(FONTS_DIR)])


class _Layout:
    """One warm compiler and the lock that serialises its compiles."""

    def __init__(self, source: Path, root: Path) -> None:
        self.compiler = typst.Compiler(
            input=source, root=root, font_paths=_fonts(), ignore_system_fonts=True
        )
        self.lock = threading.Lock()


class TypstPdfRenderer:
    """Renders invoice documents with Typst.

    ``template`` is the layout used when a document names none in ``branding.layout``.
    Thread-safe: keeps one warm ``typst.Compiler`` per layout (created lazily) and
    serialises compiles on each.
    """

    def __init__(self, template: str = "classic", templates_dir: Path | None = None) -> None:
        self.root = (templates_dir or TEMPLATES_DIR).resolve()
        self._source(template)  # fail now, not on the first render
        self.template = template
        self._layouts: dict[str, _Layout] = {}
        self._layouts_lock = threading.Lock()

    def layouts(self) -> list[str]:
        """The layout names in this renderer's templates folder, sorted."""
        return sorted(p.stem for p in self.root.glob("*.typ") if _TEMPLATE_NAME.fullmatch(p.stem))

    def render(self, document: dict[str, Any], *, pdf_standard: str | None = None) -> bytes:
        """Return the PDF bytes for ``document`` (the shape of `sample_document`).

        ``pdf_standard`` (one of `PDF_STANDARDS`, e.g. ``"a-3b"`` for Factur-X) makes
        Typst check and declare conformance. A PDF/A-3b is written without the tagged
        structure tree: the B level does not ask for it, and the Factur-X embedding that
        follows (factur-x clones every object with pypdf) is then 5× faster (8 ms instead of
        40, bench/documents.py). The plain PDF keeps its tags for screen readers.
        """
        name = _branding_layout(document, self.template)
        if pdf_standard is not None and pdf_standard not in PDF_STANDARDS:
            raise PdfRenderError(name, f"unknown PDF standard {pdf_standard!r}")
        inputs = _typst_inputs(document, name)
        standards: list[Any] = [pdf_standard] if pdf_standard else []
        layout = self._layout(name)
        _refuse_symlinks(self.root, name)
        try:
            with layout.lock:
                pdf = layout.compiler.compile(
                    format="pdf",
                    sys_inputs=inputs,
                    pdf_standards=standards,
                    pdf_tags=pdf_standard not in ("a-2b", "a-3b"),
                )
        except typst.TypstError as exc:
            raise PdfRenderError(name, _explain(exc.message, "logo" in inputs)) from exc
        if not isinstance(pdf, bytes):  # only multi-page PNG/SVG export returns a list
            raise PdfRenderError(name, "Typst returned no PDF")
        return pdf

    def render_png(self, document: dict[str, Any], *, ppi: int = 72) -> bytes:
        """The first page of ``document`` as a PNG image (a preview: nothing is kept);
        ``ppi`` is bounded to 24–150 so a preview stays small."""
        name = _branding_layout(document, self.template)
        inputs = _typst_inputs(document, name)
        layout = self._layout(name)
        _refuse_symlinks(self.root, name)
        try:
            with layout.lock:
                pages = layout.compiler.compile(
                    format="png", ppi=float(min(max(ppi, 24), 150)), sys_inputs=inputs
                )
        except typst.TypstError as exc:
            raise PdfRenderError(name, _explain(exc.message, "logo" in inputs)) from exc
        first = pages[0] if isinstance(pages, list) else pages
        if not isinstance(first, bytes):
            raise PdfRenderError(name, "Typst returned no image")
        return first

    def _source(self, name: str) -> Path:
        # The name becomes a path: refuse anything that could step out of the folder.
        if not _TEMPLATE_NAME.fullmatch(name):
            raise TemplateNotFound(name, "template names are lowercase [a-z0-9_-]")
        source = self.root / f"{name}.typ"
        if not source.is_file():
            raise TemplateNotFound(name, f"no template at {source}")
        return source

    def _layout(self, name: str) -> _Layout:
        layout = self._layouts.get(name)
        if layout is None:
            with self._layouts_lock:
                layout = self._layouts.get(name)
                if layout is None:
                    layout = _Layout(self._source(name), self.root)
                    self._layouts[name] = layout
        return layout


# The QR code is ours; when a logo is given, an image Typst cannot read is the logo.
_IMAGE_ERRORS = ("failed to decode image", "failed to parse SVG", "failed to load linked image")


def _explain(message: str, has_logo: bool) -> str:
    if has_logo and message.startswith(_IMAGE_ERRORS):
        return f"branding.logo: {message}"
    return message


def _refuse_symlinks(root: Path, layout: str) -> None:
    """Typst keeps paths inside its root but follows symbolic links found there, so a link
    in the templates folder would open the whole disk to a template: refuse to render."""
    pending = [root]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    raise PdfRenderError(
                        layout, f"the templates folder holds a symbolic link: {entry.path}"
                    )
                if entry.is_dir():
                    pending.append(Path(entry.path))


# --- turning the document into Typst's string inputs ----------------------------------


def _branding_layout(document: dict[str, Any], default: str) -> str:
    """The layout the document asks for in ``branding.layout``, else ``default``."""
    branding = document.get("branding")
    if branding is None:
        return default
    if not isinstance(branding, dict):
        raise PdfRenderError(default, "branding must be an object")
    layout = branding.get("layout")
    if layout is None:
        return default
    if not isinstance(layout, str):
        raise TemplateNotFound(str(layout), "branding.layout must be a layout name")
    return layout


def _typst_inputs(document: dict[str, Any], layout: str) -> dict[str, str]:
    """``sys.inputs`` for Typst: the document JSON, and the logo and QR code if any."""
    inputs: dict[str, str] = {}
    branding = document.get("branding")
    if branding:
        _check_branding(branding, layout)
        logo = branding.get("logo")
        if logo is not None:
            fmt, inputs["logo"] = _logo_input(logo, layout)
            document = {**document, "branding": {**branding, "logo": {"format": fmt}}}
    qr = (document.get("payment") or {}).get("qr")
    if qr is not None:
        inputs["qr"] = _qr_input(qr, layout)
    inputs["invoice"] = json.dumps(document, ensure_ascii=False)
    return inputs


def _check_branding(branding: dict[str, Any], layout: str) -> None:
    accent = branding.get("accent")
    if accent is not None and not (isinstance(accent, str) and _ACCENT.fullmatch(accent)):
        raise PdfRenderError(layout, f"branding.accent must be a colour #RRGGBB, not {accent!r}")
    font = branding.get("font")
    if font is not None and font not in FONT_FAMILIES:
        raise PdfRenderError(
            layout, f"branding.font {font!r} is not available; choose one of {FONT_FAMILIES}"
        )


def _logo_input(logo: Any, layout: str) -> tuple[str, str]:
    """The logo's format and its bytes as a JSON array of integers."""
    if not isinstance(logo, dict):
        raise PdfRenderError(layout, "branding.logo must be an object with format and data")
    fmt = str(logo.get("format")).lower().replace("jpeg", "jpg")
    if fmt not in LOGO_FORMATS:
        raise PdfRenderError(
            layout,
            f"branding.logo.format must be one of {LOGO_FORMATS}, not {logo.get('format')!r}",
        )
    data = logo.get("data")
    if not isinstance(data, str):
        raise PdfRenderError(layout, "branding.logo.data must be base64 text")
    try:
        return fmt, _logo_bytes_json(data, fmt)
    except ValueError as exc:
        raise PdfRenderError(layout, f"branding.logo: {exc}") from exc


@lru_cache(maxsize=16)  # at most ~30 MB of JSON text
def _logo_bytes_json(data: str, fmt: str) -> str:
    """Decode, check the file signature and serialise; cached, a seller's logo repeats."""
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"the data is not valid base64 ({exc})") from exc
    if not raw:
        raise ValueError("the data is empty")
    if len(raw) > MAX_LOGO_BYTES:
        raise ValueError(f"{len(raw)} bytes is too large; the limit is {MAX_LOGO_BYTES}")
    if fmt == "svg":
        _check_svg(raw)
    elif not raw.startswith(_LOGO_SIGNATURES[fmt]):
        raise ValueError(f"the data is not a {fmt.upper()} image")
    return json.dumps(list(raw), separators=(",", ":"))


_SVG_LINK = re.compile(rb"""href\s*=\s*["']\s*(?!#|data:)([^"']*)""")


def _check_svg(raw: bytes) -> None:
    """An SVG logo must be self-contained: Typst would resolve a linked file against the
    templates folder (files outside it are refused, but the logo has no business there)."""
    if b"<svg" not in raw[:4096]:
        raise ValueError("the data is not an SVG image")
    link = _SVG_LINK.search(raw)
    if link:
        target = link.group(1).decode("utf-8", errors="replace")
        raise ValueError(f"the SVG links to a file ({target!r}); embed images as data: URIs")


def _qr_input(qr: Any, layout: str) -> str:
    if not isinstance(qr, dict):
        raise PdfRenderError(layout, "payment.qr must be an object with kind and payload")
    kind, payload = qr.get("kind"), qr.get("payload")
    if kind not in QR_KINDS or not isinstance(payload, str):
        raise PdfRenderError(
            layout, f"payment.qr needs a kind in {QR_KINDS} and a payload text, got {kind!r}"
        )
    try:
        return qr_svg(payload, kind)
    except ValueError as exc:
        raise PdfRenderError(layout, f"payment.qr: {exc}") from exc


# --- sample documents -----------------------------------------------------------------


def sample_document() -> dict[str, Any]:
    """A realistic issued invoice: a Hamburg GmbH billing a Lyon client, 4 lines.

    Cross-border B2B services, so no German VAT is charged and the reverse-charge
    note of Art. 196 Directive 2006/112/EC is printed. The VAT numbers and the
    IBAN have valid check digits but belong to no one.
    """
    number = "INV-2026-000123"
    return {
        "title": "Invoice",
        "number": number,
        "status": "issued",
        "issue_date": "1 Dec 2026",
        "due_date": "31 Dec 2026",
        "service_period": "1 Nov 2026 – 30 Nov 2026",
        "currency": "EUR",
        "seller": {
            "name": "Nordlicht Software GmbH",
            "address_lines": ["Schanzenstraße 12", "20357 Hamburg"],
            "country": "Germany",
            "tax_id": "DE123456788",
            "email": "billing@nordlicht-software.de",
            "phone": "+49 40 1234 5678",
        },
        "buyer": {
            "name": "Atelier Numérique SAS",
            "address_lines": ["Service comptabilité", "27 rue de la République", "69002 Lyon"],
            "country": "France",
            "tax_id": "FR11123456782",
            "email": "factures@atelier-numerique.fr",
            "reference": "PO-2026-0417",
        },
        "lines": [
            {
                "position": 1,
                "description": "Backend development: payment service migration to event sourcing",
                "quantity": "32",
                "unit": "h",
                "unit_price": "€120.00",
                "tax": "0 %",
                "net": "€3,840.00",
                "period": "1–30 Nov 2026",
            },
            {
                "position": 2,
                "description": "Architecture review and code review",
                "quantity": "6",
                "unit": "h",
                "unit_price": "€150.00",
                "tax": "0 %",
                "net": "€900.00",
                "period": None,
            },
            {
                "position": 3,
                "description": "Managed hosting, production cluster (3 nodes, monitoring, backups)",
                "quantity": "1",
                "unit": "month",
                "unit_price": "€490.00",
                "tax": "0 %",
                "net": "€490.00",
                "period": "1–30 Nov 2026",
            },
            {
                "position": 4,
                "description": "Incident response on 14 Nov 2026 (flat fee)",
                "quantity": "1",
                "unit": None,
                "unit_price": "€350.00",
                "tax": "0 %",
                "net": "€350.00",
                "period": None,
            },
        ],
        "tax_summary": [
            {"label": "Reverse charge 0 %", "taxable": "€5,580.00", "tax": "€0.00"},
        ],
        "notes": [
            "Reverse charge: VAT to be accounted for by the recipient "
            "(Art. 196 Directive 2006/112/EC).",
        ],
        "totals": {
            "net": "€5,580.00",
            "tax": "€0.00",
            "gross": "€5,580.00",
            "paid": "€0.00",
            "due": "€5,580.00",
        },
        "payment": {
            "terms": "Net 30 days",
            "instructions": [
                "Bank: Commerzbank Hamburg",
                "IBAN: DE89 3704 0044 0532 0130 00",
                "BIC: COBADEFFXXX",
                f"Reference: {number}",
            ],
        },
        "footer": (
            "Nordlicht Software GmbH · Schanzenstraße 12 · 20357 Hamburg · "
            "Register court Hamburg HRB 123456 · Managing director: Jana Becker · "
            "VAT ID DE123456788"
        ),
        "labels": {
            "invoice_no": "Invoice no.",
            "issue_date": "Issue date",
            "due_date": "Due date",
            "bill_to": "Bill to",
            "from": "From",
            "description": "Description",
            "qty": "Qty",
            "unit_price": "Unit price",
            "tax": "Tax",
            "amount": "Amount",
            "subtotal": "Subtotal",
            "total": "Total",
            "amount_due": "Amount due",
            "paid": "Paid",
            "payment": "Payment",
            "tax_id": "Tax ID",
            "service_period": "Service period",
            "terms": "Terms",
        },
    }


# A two-colour mark, small enough to inline (the bench and tests also try a PNG logo).
SAMPLE_LOGO_SVG: Final = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    '<rect width="40" height="40" rx="8" fill="#0b6e4f"/>'
    '<path d="M10 30 L20 10 L30 30 Z" fill="#ffffff"/>'
    '<rect x="48" y="12" width="66" height="7" rx="3" fill="#0b6e4f"/>'
    '<rect x="48" y="24" width="44" height="5" rx="2.5" fill="#7fb8a4"/>'
    "</svg>"
)


def _svg_logo() -> dict[str, str]:
    return {"format": "svg", "data": base64.b64encode(SAMPLE_LOGO_SVG.encode()).decode()}


def sample_documents() -> dict[str, dict[str, Any]]:
    """Documents that stress the layouts, by name (used by the tests and ``bench/look.py``).

    - ``long_names``: very long party names, addresses and descriptions, run-on tokens, a
      logo;
    - ``forty_lines``: 40 lines in groups (hours by person), some with detail text: two pages;
    - ``hindi_gst``: a Hindi tax invoice in INR, CGST + SGST and a UPI QR code;
    - ``reverse_charge_qr``: a zero-tax EUR reverse-charge invoice with creditor reference,
      an EPC QR code and a logo;
    - ``credit_note``: a German credit note correcting an invoice, Factur-X flagged.
    """
    return {
        "long_names": _long_names(),
        "forty_lines": _forty_lines(),
        "hindi_gst": _hindi_gst(),
        "reverse_charge_qr": _reverse_charge_qr(),
        "credit_note": _credit_note(),
    }


def _long_names() -> dict[str, Any]:
    doc = sample_document()
    doc["seller"] = {
        **doc["seller"],
        "name": "Nordlicht Software- und Beratungsgesellschaft für verteilte Systeme, "
        "Cloud-Infrastruktur und Datenschutz mbH & Co. KG",
        "address_lines": [
            "Gebäude C, 3. Obergeschoss, Eingang über den Innenhof",
            "Schanzenstraße 12–14",
            "20357 Hamburg",
        ],
    }
    doc["buyer"] = {
        **doc["buyer"],
        "name": "Atelier Numérique de la Région Auvergne-Rhône-Alpes pour la Transformation "
        "Digitale des Collectivités Territoriales SAS",
        "email": "comptabilite.fournisseurs.factures-entrantes@atelier-numerique-auvergne.fr",
        "reference": "BDC-2026-ARA-000000417-LOT-03-TRANCHE-FERME",
    }
    doc["lines"][0]["description"] = (
        "Backend development: migration of the payment service from a CRUD model to event "
        "sourcing with snapshots, idempotent consumers, replay tooling and a zero-downtime "
        "cut-over plan, including load tests at three times the expected Black Friday peak"
    )
    doc["lines"][1]["description"] = (
        "Review of ticket PAY-8812/7f3c9a1e5b7d4f2a8c6e0b9d1f3a5c7e9b2d4f6a8c0e (commit "
        "7f3c9a1e5b7d4f2a8c6e0b9d1f3a5c7e9b2d4f6a) and follow-up"
    )
    doc["lines"][1]["detail"] = "6 h × €150.00, agreed in the change request of 3 Nov 2026"
    doc["branding"] = {"logo": _svg_logo()}
    return doc


def _forty_lines() -> dict[str, Any]:
    doc = sample_document()
    people = ("Jana Becker", "Mehmet Yılmaz", "Sophie Laurent", "Arjun Mehta")
    doc["lines"] = [
        {
            "position": n,
            "group": people[(n - 1) // 10],
            "description": f"Sprint {(n - 1) % 10 + 1}: feature work and code review",
            "detail": "Includes the on-call weekend of 14–15 Nov 2026" if n % 10 == 0 else None,
            "quantity": str((n % 5) + 2),
            "unit": "h",
            "unit_price": "€120.00",
            "tax": "0 %",
            "net": f"€{((n % 5) + 2) * 120:,}.00",
            "period": None,
        }
        for n in range(1, 41)
    ]
    total = sum(((n % 5) + 2) * 120 for n in range(1, 41))
    amount = f"€{total:,}.00"
    doc["tax_summary"] = [{"label": "Reverse charge 0 %", "taxable": amount, "tax": "€0.00"}]
    doc["totals"] = {"net": amount, "tax": "€0.00", "gross": amount, "paid": "€0.00", "due": amount}
    return doc


def _hindi_gst() -> dict[str, Any]:
    number = "INV-2026-000124"
    labels = labels_for("hi")
    return {
        "title": title_for("invoice", "hi", tax_invoice=True),
        "kind": "invoice",
        "lang": "hi",
        "number": number,
        "status": "issued",
        "issue_date": "1 दिस॰ 2026",
        "due_date": "16 दिस॰ 2026",
        "service_period": "1 नव॰ 2026 – 30 नव॰ 2026",
        "currency": "INR",
        "seller": {
            "name": "भारत टेक सॉल्यूशंस प्राइवेट लिमिटेड",
            "address_lines": ["प्लॉट 42, सेक्टर 18", "गुरुग्राम, हरियाणा 122015"],
            "country": "भारत",
            "tax_id": "06AAACB1234C1Z5",
            "email": "billing@bharattech.in",
            "phone": "+91 124 456 7890",
        },
        "buyer": {
            "name": "श्री गणेश ट्रेडर्स",
            "address_lines": ["12, चांदनी चौक", "नई दिल्ली 110006"],
            "country": "भारत",
            "tax_id": "06AABCS5678D1Z2",
            "email": "accounts@ganeshtraders.in",
            "reference": "PO/2026/118",
        },
        "lines": [
            {
                "position": 1,
                "description": "सॉफ़्टवेयर विकास सेवाएँ (भुगतान मॉड्यूल)",
                "detail": "SAC 998314",
                "quantity": "80",
                "unit": "घंटे",
                "unit_price": "₹1,000.00",
                "tax": "18 %",
                "net": "₹80,000.00",
                "period": "1 नव॰ 2026 – 30 नव॰ 2026",
            },
            {
                "position": 2,
                "description": "क्लाउड होस्टिंग और रखरखाव",
                "detail": "SAC 998315",
                "quantity": "1",
                "unit": "माह",
                "unit_price": "₹20,000.00",
                "tax": "18 %",
                "net": "₹20,000.00",
                "period": None,
            },
        ],
        "tax_summary": [
            {"label": "CGST 9 %", "taxable": "₹1,00,000.00", "tax": "₹9,000.00"},
            {"label": "SGST 9 %", "taxable": "₹1,00,000.00", "tax": "₹9,000.00"},
        ],
        "notes": [
            "आपूर्ति का स्थान: हरियाणा (06)",
            "क्या कर रिवर्स चार्ज आधार पर देय है: नहीं",
        ],
        "totals": {
            "net": "₹1,00,000.00",
            "tax": "₹18,000.00",
            "gross": "₹1,18,000.00",
            "paid": "₹0.00",
            "due": "₹1,18,000.00",
        },
        "payment": {
            "terms": "15 दिन",
            "instructions": [
                "बैंक: HDFC Bank, गुरुग्राम",
                "खाता: 50100123456789",
                "IFSC: HDFC0001234",
                "UPI: bharat.tech@okhdfcbank",
            ],
            "reference": number,
            "qr": {
                "kind": "UPI",
                "payload": upi_payload(
                    vpa="bharat.tech@okhdfcbank",
                    name="Bharat Tech Solutions",
                    amount=Decimal("118000.00"),
                    reference=number,
                    note=f"Invoice {number}",
                ),
                "caption": "UPI से भुगतान करें",
            },
        },
        "footer": "भारत टेक सॉल्यूशंस प्राइवेट लिमिटेड · CIN U72900HR2019PTC081234 · "
        "GSTIN 06AAACB1234C1Z5",
        "labels": labels,
    }


def _reverse_charge_qr() -> dict[str, Any]:
    doc = sample_document()
    number = doc["number"]
    reference = creditor_reference(number)
    doc["notes"] = [translate_note(NOTE_REVERSE_CHARGE, "en")]
    doc["payment"] = {
        "terms": "Net 30 days",
        "instructions": [
            "Bank: Commerzbank Hamburg",
            "IBAN: DE89 3704 0044 0532 0130 00",
            "BIC: COBADEFFXXX",
        ],
        "reference": format_creditor_reference(reference),
        "qr": {
            "kind": "EPC",
            "payload": epc_qr_payload(
                name="Nordlicht Software GmbH",
                iban="DE89370400440532013000",
                bic="COBADEFFXXX",
                amount=Decimal("5580.00"),
                reference=reference,
            ),
            "caption": "Scan with your banking app (GiroCode)",
        },
    }
    doc["branding"] = {"accent": "#0b6e4f", "logo": _svg_logo()}
    doc["labels"] = labels_for("en")
    return doc


def _credit_note() -> dict[str, Any]:
    doc = sample_document()
    doc.update(
        kind="credit_note",
        lang="de",
        title=title_for("credit_note", "de"),
        number="CN-2026-000007",
        corrects="INV-2026-000123",
        issue_date="5. Dez. 2026",
        due_date=None,
        facturx=True,
        labels=labels_for("de"),
        notes=[translate_note(NOTE_REVERSE_CHARGE, "de")],
    )
    doc["lines"] = [
        {
            "position": 1,
            "description": "Gutschrift: Incident response am 14.11.2026 (Kulanz)",
            "quantity": "-1",
            "unit": None,
            "unit_price": "350,00 €",
            "tax": "0 %",
            "net": "-350,00 €",
        }
    ]
    doc["tax_summary"] = [{"label": "Reverse charge 0 %", "taxable": "-350,00 €", "tax": "0,00 €"}]
    doc["totals"] = {"net": "-350,00 €", "tax": "0,00 €", "gross": "-350,00 €", "due": "-350,00 €"}
    doc["payment"] = {"terms": "Wird mit der nächsten Rechnung verrechnet", "instructions": []}
    return doc
