"""Statement-of-account PDFs: the invoice renderer (``pdf.TypstPdfRenderer``) pointed at
its own sandboxed templates folder, ``templates/statement`` — same rules (Typst's root is
that folder, no symbolic links, vendored fonts only, the document as JSON input)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

from .pdf import TypstPdfRenderer

STATEMENT_TEMPLATES: Final = Path(__file__).parent / "templates" / "statement"


@cache
def statement_renderer() -> TypstPdfRenderer:
    """One warm renderer per process."""
    return TypstPdfRenderer("statement", STATEMENT_TEMPLATES)
