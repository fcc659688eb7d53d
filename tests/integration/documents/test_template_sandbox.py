"""A user-edited template runs in a sandbox: Typst's root is the template's own folder.

Each escape attempt below must end in `PdfRenderError` without the secret showing up in
the error or in any output; and document values that look like Typst markup are printed
as the characters they are.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from autoinvoice.adapters.documents.pdf import (
    TEMPLATES_DIR,
    PdfRenderError,
    TemplateNotFound,
    TypstPdfRenderer,
    sample_document,
    sample_documents,
)

needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed"
)

SECRET = "TOP-SECRET-7f3c9a"


def text_of(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return result.stdout.decode()


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A user's template folder, with a secret file and a secret template just outside it."""
    folder = tmp_path / "templates"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text(SECRET)
    (tmp_path / "secret.typ").write_text(f'#let secret = "{SECRET}"\n{SECRET}')
    (folder / "inside.txt").write_text("harmless text from inside the folder")
    return folder


def render_user_template(folder: Path, source: str) -> bytes:
    (folder / "user.typ").write_text(source)
    return TypstPdfRenderer("user", templates_dir=folder).render(sample_document())


@pytest.mark.parametrize(
    "source",
    [
        '#read("/etc/passwd")',
        '#read("../secret.txt")',
        '#read("/../secret.txt")',
        '#image("/etc/passwd")',
        '#image("../secret.txt", format: "svg")',
        '#import "/etc/passwd": *',
        '#import "../secret.typ": secret\n#secret',
        '#include "../secret.typ"',
        '#json("/proc/self/environ")',
        '#csv("../secret.txt")',
        '#plugin("/usr/lib/x86_64-linux-gnu/libc.so.6")',
    ],
)
def test_a_template_cannot_reach_files_outside_its_folder(templates: Path, source: str) -> None:
    # "/x" is looked up inside the root; "../x" is refused outright.
    reason = r"file not found \(searched at .*/templates/|would escape the project root"
    with pytest.raises(PdfRenderError, match=reason) as raised:
        render_user_template(templates, source)

    assert SECRET not in str(raised.value)
    assert "root:" not in str(raised.value)


@needs_pdftotext
def test_a_template_may_read_files_in_its_own_folder(templates: Path) -> None:
    pdf = render_user_template(templates, '#read("inside.txt")')

    assert "harmless text from inside the folder" in text_of(pdf)


def test_a_symbolic_link_in_the_folder_is_refused(templates: Path) -> None:
    # Typst keeps paths inside the root but follows links it finds there.
    (templates / "door").symlink_to(templates.parent, target_is_directory=True)

    with pytest.raises(PdfRenderError, match="symbolic link") as raised:
        render_user_template(templates, '#read("door/secret.txt")')

    assert SECRET not in str(raised.value)


def test_the_layout_name_cannot_be_a_path(templates: Path) -> None:
    (templates / "user.typ").write_text("#sys.inputs.invoice")
    renderer = TypstPdfRenderer("user", templates_dir=templates)

    for name in ("../secret", "/etc/passwd", "user.typ", "USER"):
        document = {**sample_document(), "branding": {"layout": name}}
        with pytest.raises(TemplateNotFound):
            renderer.render(document)


def svg_logo(body: str) -> dict[str, str]:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="40" height="40">{body}</svg>'
    )
    return {"format": "svg", "data": base64.b64encode(svg.encode()).decode()}


@pytest.mark.parametrize(
    "href",
    ["../secret.txt", "/etc/passwd", "file:///etc/passwd", "inside.txt", " ../secret.txt"],
)
def test_an_svg_logo_cannot_link_to_files(href: str) -> None:
    document = {
        **sample_document(),
        "branding": {"logo": svg_logo(f'<image width="40" height="40" xlink:href="{href}"/>')},
    }

    with pytest.raises(PdfRenderError, match="the SVG links to a file"):
        TypstPdfRenderer().render(document)


def test_an_svg_logo_may_use_internal_references() -> None:
    body = (
        '<defs><linearGradient id="g"><stop offset="0" stop-color="#0b6e4f"/></linearGradient>'
        '</defs><rect width="40" height="40" fill="url(#g)"/><use href="#g"/>'
    )
    document = {**sample_document(), "branding": {"logo": svg_logo(body)}}

    assert TypstPdfRenderer().render(document).startswith(b"%PDF-")


HOSTILE = [
    '#read("/etc/passwd")',
    "$x$",
    "*bold*",
    "]",
    '"',
    "_em_ <label> @ref \\ ) }",
    '#panic("boom")',
]


def hostile_document() -> dict[str, Any]:
    """Markup-looking text in every kind of place a template prints a value."""
    text = " ".join(HOSTILE)
    document = sample_documents()["reverse_charge_qr"]
    document["seller"] = {**document["seller"], "name": f"Seller {text}"}
    document["buyer"] = {**document["buyer"], "name": f"Buyer {text}", "reference": text}
    line = {**document["lines"][0], "description": f"Work {text}", "detail": f"Detail {text}"}
    document["lines"] = [{**line, "group": f"Group {text}"}]
    document["notes"] = [f"Note {text}"]
    document["footer"] = f"Footer {text}"
    document["payment"] = {
        **document["payment"],
        "instructions": [f"Pay {text}"],
        "qr": {**document["payment"]["qr"], "caption": f"Caption {text}"},
    }
    document["labels"] = {**document["labels"], "bill_to": f"Label {text}"}
    return document


@needs_pdftotext
@pytest.mark.parametrize("layout", ["classic", "modern"])
def test_markup_in_values_is_printed_literally(layout: str) -> None:
    document = hostile_document()
    document["branding"] = {**document["branding"], "layout": layout}

    text = " ".join(text_of(TypstPdfRenderer().render(document)).split())

    for fragment in HOSTILE:
        assert fragment in text, fragment
    for place in ("Seller", "Buyer", "Work", "Detail", "Group", "Note", "Footer", "Pay"):
        assert f'{place} #read("/etc/passwd") $x$ *bold*' in text, place
    assert 'Caption #read("/etc/' in text  # the narrow QR caption wraps after "/etc/"
    assert "root:" not in text


def test_the_shipped_layouts_live_in_the_sandboxed_folder() -> None:
    renderer = TypstPdfRenderer()

    assert renderer.root == TEMPLATES_DIR.resolve()
    assert all((TEMPLATES_DIR / f"{name}.typ").is_file() for name in renderer.layouts())
