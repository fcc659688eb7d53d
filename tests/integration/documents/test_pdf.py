"""The Typst invoice renderer, end to end: document dict in, PDF bytes out.

Page counts are read from the PDF itself; text checks need poppler's
``pdftotext`` and are skipped where it is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.documents.pdf import (
    PdfRenderError,
    TemplateNotFound,
    TypstPdfRenderer,
    sample_document,
)

needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed"
)


@pytest.fixture(scope="module")
def renderer() -> TypstPdfRenderer:
    return TypstPdfRenderer()


def make_document(**overrides: Any) -> dict[str, Any]:
    return {**sample_document(), **overrides}


def make_line(position: int, **overrides: Any) -> dict[str, Any]:
    line = {
        "position": position,
        "description": f"Support ticket #{position}",
        "quantity": "1",
        "unit": "h",
        "unit_price": "€100.00",
        "tax": "19 %",
        "net": "€100.00",
        "period": None,
    }
    return {**line, **overrides}


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))


def text_of(pdf: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode()


def test_renders_a_one_page_pdf_for_a_typical_invoice(renderer: TypstPdfRenderer) -> None:
    pdf = renderer.render(sample_document())

    assert pdf.startswith(b"%PDF-")
    assert page_count(pdf) == 1


@needs_pdftotext
def test_prints_the_number_parties_and_amount_due(renderer: TypstPdfRenderer) -> None:
    text = text_of(renderer.render(sample_document()))

    for expected in (
        "INV-2026-000123",
        "Nordlicht Software GmbH",
        "Atelier Numérique SAS",
        "FR11123456782",
        "PO-2026-0417",
        "Amount due",
        "€5,580.00",
        "DE89 3704 0044 0532 0130 00",
        "196 Directive 2006/112/EC",
    ):
        assert expected in text
    assert "DRAFT" not in text


@needs_pdftotext
def test_marks_a_draft_without_a_number_as_draft(renderer: TypstPdfRenderer) -> None:
    pdf = renderer.render(make_document(number=None, status="draft"))

    assert page_count(pdf) == 1
    assert "DRAFT" in text_of(pdf)


@needs_pdftotext
def test_falls_back_to_english_labels_when_labels_are_missing_or_partial(
    renderer: TypstPdfRenderer,
) -> None:
    without = text_of(renderer.render(make_document(labels=None)))
    partial = text_of(renderer.render(make_document(labels={"amount_due": "Zu zahlen"})))

    assert "Amount due" in without
    assert "Zu zahlen" in partial
    assert "Subtotal" in partial


def test_renders_a_document_with_only_the_required_fields(renderer: TypstPdfRenderer) -> None:
    document = {
        "number": "INV-1",
        "seller": {"name": "Solo Seller"},
        "buyer": {"name": "Solo Buyer"},
        "lines": [
            {"description": "Work", "quantity": "1", "unit_price": "1", "tax": "0 %", "net": "1"}
        ],
        "totals": {"net": "1", "tax": "0", "gross": "1"},
    }

    assert page_count(renderer.render(document)) == 1


def test_breaks_forty_lines_across_two_pages(renderer: TypstPdfRenderer) -> None:
    lines = [make_line(n) for n in range(1, 41)]

    pdf = renderer.render(make_document(lines=lines))

    assert page_count(pdf) == 2


@needs_pdftotext
def test_repeats_the_table_header_on_the_second_page(renderer: TypstPdfRenderer) -> None:
    pdf = renderer.render(make_document(lines=[make_line(n) for n in range(1, 41)]))

    first, second = text_of(pdf).split("\f")[:2]
    assert "DESCRIPTION" in first
    assert "DESCRIPTION" in second
    assert "Page 2 of 2" in second


@needs_pdftotext
def test_prints_markup_characters_in_data_literally(renderer: TypstPdfRenderer) -> None:
    hostile = '#read("/etc/passwd") $x$ *bold* _em_ <label> @ref \\ ] ) }'
    document = make_document(lines=[make_line(1, description=hostile)])
    document["buyer"] = {**document["buyer"], "name": '#panic("boom")'}

    text = text_of(renderer.render(document))

    assert '#read("/etc/passwd")' in text
    assert "*bold* _em_ <label> @ref" in text
    assert '#panic("boom")' in text
    assert "root:" not in text


def test_a_template_cannot_read_files_outside_its_folder(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (tmp_path / "secret.txt").write_text("outside the root")
    (templates / "absolute.typ").write_text('#read("/etc/passwd")')
    (templates / "relative.typ").write_text('#read("../secret.txt")')

    # Typst resolves "/..." against the root, so the absolute path is looked up inside it.
    with pytest.raises(PdfRenderError, match="file not found"):
        TypstPdfRenderer("absolute", templates_dir=templates).render(sample_document())
    with pytest.raises(PdfRenderError, match="escape the project root"):
        TypstPdfRenderer("relative", templates_dir=templates).render(sample_document())


def test_refuses_template_names_that_are_paths(tmp_path: Path) -> None:
    with pytest.raises(TemplateNotFound):
        TypstPdfRenderer("../invoice/classic")
    with pytest.raises(TemplateNotFound):
        TypstPdfRenderer("missing", templates_dir=tmp_path)


def test_reports_a_malformed_document_as_a_render_error(renderer: TypstPdfRenderer) -> None:
    with pytest.raises(PdfRenderError):
        renderer.render({"number": "INV-1"})


@needs_pdftotext
def test_concurrent_renders_each_get_their_own_document(renderer: TypstPdfRenderer) -> None:
    numbers = [f"INV-2026-{n:06d}" for n in range(8)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(lambda number: renderer.render(make_document(number=number)), numbers))

    for number, pdf in zip(numbers, pdfs, strict=True):
        assert number in text_of(pdf)
