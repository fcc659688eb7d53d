"""Both invoice layouts × the sample scenarios, rendered by real Typst and read back.

Text is read with poppler's ``pdftotext``; fonts, images and glyphs with pypdf. A glyph
drawn as ``.notdef`` (a "tofu" box) still extracts as the right text through ToUnicode and
ActualText, so missing glyphs are found by looking for glyph 0 in the content streams.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pypdf
import pytest
import zxingcpp
from pypdf.generic import ContentStream

from autoinvoice.adapters.documents.pdf import (
    TEMPLATES_DIR,
    PdfRenderError,
    TemplateNotFound,
    TypstPdfRenderer,
    sample_document,
    sample_documents,
)
from autoinvoice.adapters.documents.qr import QUIET_ZONE, payment_qr, qr_svg
from autoinvoice.domain.payment_aids import epc_qr_payload
from autoinvoice.services.labels import labels_for

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed"
)

LAYOUTS = ("classic", "modern")
SCENARIOS = tuple(sample_documents())
PAGES = {"long_names": 2, "forty_lines": 2, "hindi_gst": 1, "reverse_charge_qr": 1}
PAGES |= {"credit_note": 1}


@pytest.fixture(scope="module")
def renderer() -> TypstPdfRenderer:
    return TypstPdfRenderer()


def in_layout(document: dict[str, Any], layout: str, **branding: Any) -> dict[str, Any]:
    return {
        **document,
        "branding": {**(document.get("branding") or {}), "layout": layout, **branding},
    }


@cache
def rendered(layout: str, scenario: str) -> bytes:
    return TypstPdfRenderer().render(in_layout(sample_documents()[scenario], layout))


def page_count(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def text_of(pdf: bytes, *, layout: bool = False) -> str:
    command = ["pdftotext", *(["-layout"] if layout else []), "-", "-"]
    return subprocess.run(command, input=pdf, capture_output=True, check=True).stdout.decode()


def font_names(pdf: bytes) -> set[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    names = set()
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            names.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return names


def shown_strings(pdf: bytes) -> Iterator[bytes]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tj":
                yield operands[0].original_bytes
            elif operator == b"TJ":
                yield from (x.original_bytes for x in operands[0] if hasattr(x, "original_bytes"))


def notdef_glyphs(pdf: bytes) -> int:
    """Glyphs drawn with glyph id 0 (.notdef); Typst's fonts are all 2-byte Identity-H."""
    return sum(
        1
        for codes in shown_strings(pdf)
        for i in range(0, len(codes) - 1, 2)
        if codes[i : i + 2] == b"\x00\x00"
    )


def png(width: int, height: int) -> bytes:
    """A plain blue RGB PNG, built by hand (PNG spec: signature, IHDR, IDAT, IEND)."""
    rows = b"".join(b"\x00" + bytes([40, 120, 200] * width) for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def image_sizes(resources: Any) -> list[tuple[int, int]]:
    """Width × height of every image XObject, looking inside form XObjects too."""
    sizes = []
    for ref in resources.get_object().get("/XObject", {}).values():
        xobject = ref.get_object()
        if xobject["/Subtype"] == "/Image":
            sizes.append((int(xobject["/Width"]), int(xobject["/Height"])))
        elif "/Resources" in xobject:
            sizes += image_sizes(xobject["/Resources"])
    return sizes


def logo(data: bytes, fmt: str = "png") -> dict[str, str]:
    return {"format": fmt, "data": base64.b64encode(data).decode()}


# --- every layout × every scenario ---------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_renders_a_pdf_of_the_expected_length(layout: str, scenario: str) -> None:
    pdf = rendered(layout, scenario)

    assert pdf.startswith(b"%PDF-")
    assert page_count(pdf) == PAGES[scenario]


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_prints_the_number_the_totals_and_the_payment_reference(layout: str, scenario: str) -> None:
    document = sample_documents()[scenario]
    text = text_of(rendered(layout, scenario))

    assert document["number"] in text
    assert document["totals"]["gross"] in text
    assert document["totals"]["due"] in text
    reference = document["payment"].get("reference")
    if reference:
        assert reference in text


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_no_glyph_is_missing(layout: str, scenario: str) -> None:
    assert notdef_glyphs(rendered(layout, scenario)) == 0


def test_the_missing_glyph_check_sees_a_missing_glyph(renderer: TypstPdfRenderer) -> None:
    document = sample_document()
    document["buyer"] = {**document["buyer"], "name": "北京客户"}  # no CJK font is bundled

    assert notdef_glyphs(renderer.render(document)) > 0


@pytest.mark.parametrize("layout", LAYOUTS)
def test_hindi_is_set_in_devanagari_as_real_text(layout: str) -> None:
    pdf = rendered(layout, "hindi_gst")
    text = text_of(pdf)

    for words in ("कर बीजक", "श्री गणेश ट्रेडर्स", "क्लाउड होस्टिंग और रखरखाव", "देय राशि"):
        assert words in text
    assert "CGST 9 %" in text and "SGST 9 %" in text
    assert "₹1,18,000.00" in text
    expected = "NotoSansDevanagari" if layout == "modern" else "NotoSerifDevanagari"
    assert any(name.startswith(expected) for name in font_names(pdf))


# --- lines: groups, details, page breaks ----------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_prints_each_group_heading_once_and_the_details(layout: str) -> None:
    text = text_of(rendered(layout, "forty_lines"))

    for person in ("Mehmet Yılmaz", "Sophie Laurent", "Arjun Mehta"):
        assert text.count(person) == 1
    assert text.count("Includes the on-call weekend of 14–15 Nov 2026") == 4


@pytest.mark.parametrize("layout", LAYOUTS)
def test_forty_lines_repeat_the_header_and_number_the_pages(layout: str) -> None:
    first, second = text_of(rendered(layout, "forty_lines"), layout=True).split("\f")[:2]

    assert "DESCRIPTION" in first and "DESCRIPTION" in second
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert "Subtotal" in second and "Amount due" in second  # the totals stay together


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_group_heading_never_ends_a_page(renderer: TypstPdfRenderer, layout: str) -> None:
    base = sample_documents()["forty_lines"]
    for first_of_second_group in range(18, 26):
        document = in_layout(base, layout)
        document["lines"] = [
            {**line, "group": "Alpha Team" if i < first_of_second_group else "Omega Team"}
            for i, line in enumerate(base["lines"])
        ]
        pages = text_of(renderer.render(document), layout=True).split("\f")

        for page in pages[:-1]:
            rows = [
                row for row in page.splitlines() if re.match(r"\s*\d+\s+Sprint|\s*\w+ Team", row)
            ]
            assert "Omega Team" not in rows[-1], first_of_second_group


# --- credit notes, Factur-X flag, draft ------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_credit_note_names_the_invoice_it_corrects(layout: str) -> None:
    text = text_of(rendered(layout, "credit_note"))

    assert "Rechnungskorrektur" in text
    assert "Korrektur zur Rechnung" in text and "INV-2026-000123" in text
    assert "Gutschriftsbetrag" in text and "Zahlbetrag" not in text
    assert "strukturierte E-Rechnung (Factur-X)" in text


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_factur_x_note_only_when_flagged(renderer: TypstPdfRenderer, layout: str) -> None:
    without = text_of(renderer.render(in_layout(sample_document(), layout)))
    flagged = text_of(renderer.render(in_layout({**sample_document(), "facturx": True}, layout)))

    assert "Factur-X" not in without
    assert "This PDF contains a structured e-invoice (Factur-X)." in flagged


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_draft_says_so_in_the_clients_language(renderer: TypstPdfRenderer, layout: str) -> None:
    document = {**sample_document(), "number": None, "labels": labels_for("fr")}

    assert "BROUILLON" in text_of(renderer.render(in_layout(document, layout)))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_renders_a_document_with_only_the_required_fields(
    renderer: TypstPdfRenderer, layout: str
) -> None:
    document = {
        "number": "INV-1",
        "seller": {"name": "Solo Seller"},
        "buyer": {"name": "Solo Buyer"},
        "lines": [
            {"description": "Work", "quantity": "1", "unit_price": "1", "tax": "0 %", "net": "1"}
        ],
        "totals": {"net": "1", "tax": "0", "gross": "1"},
        "branding": {"layout": layout, "accent": None, "font": None, "logo": None},
        "payment": {"reference": None, "qr": None},
    }

    assert page_count(renderer.render(document)) == 1


@pytest.mark.parametrize("lang", ["de-AT", "hi_IN", "FR"])
def test_a_language_code_with_a_region_is_accepted(renderer: TypstPdfRenderer, lang: str) -> None:
    assert page_count(renderer.render({**sample_document(), "lang": lang})) == 1


# --- branding --------------------------------------------------------------------------


def test_lists_the_layouts_but_not_the_shared_helpers(renderer: TypstPdfRenderer) -> None:
    assert renderer.layouts() == ["classic", "modern"]
    assert (TEMPLATES_DIR / "_common.typ").is_file()


def test_the_branding_picks_the_layout(renderer: TypstPdfRenderer) -> None:
    default = font_names(renderer.render(sample_document()))
    modern = font_names(renderer.render(in_layout(sample_document(), "modern")))

    assert "LibertinusSerif-Regular-Identity-H" in default and "NotoSans-Regular" not in default
    assert "NotoSans-Regular" in modern and "LibertinusSerif-Regular-Identity-H" not in modern


@pytest.mark.parametrize(
    ("font", "face"),
    [("Noto Sans", "NotoSans-Regular"), ("New Computer Modern", "NewCM10-Regular")],
)
def test_the_branding_font_replaces_the_layouts_own(
    renderer: TypstPdfRenderer, font: str, face: str
) -> None:
    fonts = font_names(renderer.render(in_layout(sample_document(), "classic", font=font)))

    assert any(name.startswith(face) for name in fonts)
    assert not any(name.startswith("LibertinusSerif-Regular") for name in fonts)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_png_logo_is_embedded_at_full_resolution(renderer: TypstPdfRenderer, layout: str) -> None:
    document = in_layout(sample_document(), layout, logo=logo(png(240, 80)))

    page = pypdf.PdfReader(io.BytesIO(renderer.render(document))).pages[0]

    assert image_sizes(page["/Resources"]) == [(240, 80)]


@pytest.mark.parametrize(
    ("branding", "message"),
    [
        ({"accent": "red"}, "branding.accent must be a colour #RRGGBB, not 'red'"),
        ({"accent": "#12345"}, "branding.accent must be a colour #RRGGBB"),
        ({"font": "Comic Sans MS"}, "branding.font 'Comic Sans MS' is not available"),
        ({"logo": {"format": "png", "data": "not base64!"}}, "branding.logo: .*not valid base64"),
        ({"logo": logo(b"GIF89a\x01\x00\x01\x00")}, "branding.logo: the data is not a PNG image"),
        ({"logo": logo(b"\x89PNG\r\n\x1a\n" + b"junk" * 8)}, "branding.logo: failed to decode"),
        ({"logo": logo(b"<svg><rect", "svg")}, "branding.logo: failed to parse SVG"),
        ({"logo": logo(b"GIF89a", "gif")}, "branding.logo.format must be one of"),
        ({"logo": "logo.png"}, "branding.logo must be an object"),
    ],
)
def test_bad_branding_is_refused_with_a_clear_message(
    renderer: TypstPdfRenderer, branding: dict[str, Any], message: str
) -> None:
    with pytest.raises(PdfRenderError, match=message):
        renderer.render({**sample_document(), "branding": branding})


@pytest.mark.parametrize("layout", ["fancy", "../invoice/classic", "_common"])
def test_an_unknown_layout_is_a_missing_template(renderer: TypstPdfRenderer, layout: str) -> None:
    with pytest.raises(TemplateNotFound):
        renderer.render(in_layout(sample_document(), layout))


# --- PDF/A -------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_renders_pdf_a_3b_with_a_logo_and_a_qr_code(
    renderer: TypstPdfRenderer, layout: str
) -> None:
    document = in_layout(sample_documents()["reverse_charge_qr"], layout, logo=logo(png(60, 20)))

    pdf = renderer.render(document, pdf_standard="a-3b")

    metadata = pypdf.PdfReader(io.BytesIO(pdf)).xmp_metadata
    assert metadata is not None
    xmp = metadata.stream.get_data()
    assert re.search(rb"pdfaid:part[>=\"]+3", xmp)
    assert re.search(rb"pdfaid:conformance[>=\"]+B", xmp)


def test_an_unknown_pdf_standard_is_refused(renderer: TypstPdfRenderer) -> None:
    with pytest.raises(PdfRenderError, match="unknown PDF standard 'a-9z'"):
        renderer.render(sample_document(), pdf_standard="a-9z")


# --- QR codes ------------------------------------------------------------------------------


def svg_dark_modules(svg: str) -> set[tuple[int, int]]:
    """(row, column) of every dark module in the SVG path: ``M x y`` moves, ``h`` runs."""
    path = re.search(r'<path stroke="#000" d="([^"]+)"', svg)
    assert path is not None
    dark = set()
    for x, y, run in re.findall(r"M(\d+) ([\d.]+)h(\d+)", path.group(1)):
        dark |= {(int(float(y)), int(x) + i) for i in range(int(run))}
    return dark


def decode(image: np.ndarray) -> list[zxingcpp.Barcode]:
    return [b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode]


def svg_image(svg: str, scale: int = 4) -> np.ndarray:
    """The SVG's modules as a grey image (white background), ``scale`` pixels a module."""
    side = int(re.search(r'width="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    image = np.full((side, side), 255, dtype=np.uint8)
    for row, col in svg_dark_modules(svg):
        image[row, col] = 0
    return np.kron(image, np.ones((scale, scale), dtype=np.uint8))


def page_image(pdf: bytes, dpi: int = 200) -> np.ndarray:
    """Page 1 as poppler rasterises it (PGM, 8-bit grey)."""
    pgm = subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-singlefile", "-f", "1", "-l", "1", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", pgm)
    assert header is not None
    width, height = int(header[1]), int(header[2])
    return np.frombuffer(pgm[header.end() :], dtype=np.uint8).reshape(height, width)


EPC_PAYLOAD = epc_qr_payload(
    name="Müller & Söhne Softwarehaus GmbH",
    iban="DE89370400440532013000",
    bic="COBADEFFXXX",
    amount=Decimal("5580.00"),
    reference="RF98INV2026000123",
)


def test_the_svg_decodes_to_exactly_the_payload_at_level_m() -> None:
    svg = qr_svg(EPC_PAYLOAD, "EPC")
    code = payment_qr(EPC_PAYLOAD, "EPC")
    side = code.size + 2 * QUIET_ZONE
    assert f'width="{side}" height="{side}"' in svg
    (found,) = decode(svg_image(svg))
    # character set 1 of the payload is UTF-8: "ü" must be its two UTF-8 bytes, no ECI
    assert found.bytes == EPC_PAYLOAD.encode("utf-8")
    assert found.ec_level == "M" and found.symbology_identifier == "]Q1"
    assert code.version <= 13


def test_a_upi_code_decodes_to_its_link() -> None:
    link = "upi://pay?pa=kavericloud@hdfcbank&pn=Kaveri%20Cloud&am=172162.00&cu=INR&tr=KCS-42"
    (found,) = decode(svg_image(qr_svg(link, "UPI")))
    assert found.text == link


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_printed_code_scans_to_the_payload(renderer: TypstPdfRenderer, layout: str) -> None:
    document = in_layout(sample_documents()["reverse_charge_qr"], layout)
    qr = document["payment"]["qr"]
    found = decode(page_image(renderer.render(document)))
    assert [b.text for b in found] == [qr["payload"]]


def test_an_epc_payload_too_large_for_version_13_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 13"):
        payment_qr("BCD\n002\n1\nSCT\n" + "x" * 400, "EPC")


def test_an_unknown_qr_kind_is_refused(renderer: TypstPdfRenderer) -> None:
    with pytest.raises(ValueError, match="unknown payment QR kind"):
        qr_svg("hello", "BEZAHLCODE")
    document = sample_document()
    document["payment"] = {**document["payment"], "qr": {"kind": "SWISS", "payload": "x"}}
    with pytest.raises(PdfRenderError, match=r"payment\.qr needs a kind"):
        renderer.render(document)


def path_moves(pdf: bytes) -> int:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return sum(
        operator == b"m"
        for page in reader.pages
        for _, operator in ContentStream(page.get_contents(), reader).operations
    )


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_qr_code_is_drawn_module_run_by_run_with_its_caption(
    renderer: TypstPdfRenderer, layout: str
) -> None:
    document = in_layout(sample_documents()["reverse_charge_qr"], layout)
    without = {**document, "payment": {**document["payment"], "qr": None}}
    qr = document["payment"]["qr"]
    runs = len(re.findall(r"h\d", qr_svg(qr["payload"], qr["kind"])))

    pdf = renderer.render(document)

    # Each horizontal run of dark modules becomes one subpath (plus background and clip).
    assert runs <= path_moves(pdf) - path_moves(renderer.render(without)) <= runs + 4
    assert "Scan with your banking app (GiroCode)" in " ".join(text_of(pdf).split())


# --- many renders at once ------------------------------------------------------------------


def test_concurrent_renders_on_both_layouts_each_get_their_own_document(
    renderer: TypstPdfRenderer,
) -> None:
    jobs = [(f"INV-2026-{n:06d}", LAYOUTS[n % 2]) for n in range(8)]

    def render(job: tuple[str, str]) -> bytes:
        number, layout = job
        return renderer.render(in_layout({**sample_document(), "number": number}, layout))

    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(render, jobs))

    for (number, layout), pdf in zip(jobs, pdfs, strict=True):
        assert number in text_of(pdf)
        modern = "NotoSans-Regular" in font_names(pdf)
        assert modern == (layout == "modern")


# --- the templates and the label sets agree --------------------------------------------------


def template_sources() -> dict[str, str]:
    return {path.name: path.read_text() for path in Path(TEMPLATES_DIR).glob("*.typ")}


def test_every_label_a_template_prints_has_translations() -> None:
    used = {
        key
        for source in template_sources().values()
        for key in re.findall(r"labels\.(\w+)", source)
    }

    assert used
    assert used <= labels_for("en").keys()


def test_the_templates_english_defaults_are_the_english_labels() -> None:
    common = template_sources()["_common.typ"]
    block = common[common.index("#let default-labels = (") : common.index("\n)\n")]
    defaults = dict(re.findall(r'^\s+(\w+): "([^"]*)",$', block, flags=re.M))

    assert defaults == labels_for("en")
