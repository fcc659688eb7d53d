"""Render every invoice layout × every sample document to PNG, for a person to look at.

    .venv/bin/python bench/look.py [OUT_DIR] [--time]

Writes ``<layout>-<scenario>.pdf`` and ``<layout>-<scenario>-<page>.png`` (poppler's
``pdftoppm -r 70``) into OUT_DIR (default /tmp/autoinvoice-look). The scenarios are
``sample_documents()`` from ``autoinvoice.adapters.documents.pdf`` plus
``reverse_charge_png`` (the reverse-charge invoice with a ~30 KB PNG logo instead of the
SVG one).

``--time`` also prints warm render times (median of 50 after 5 warm-up renders) for
``sample_document()`` on each layout, with and without ``pdf_standard="a-3b"``, with a
30 KB PNG logo, and for the QR-code scenarios.
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from autoinvoice.adapters.documents.pdf import TypstPdfRenderer, sample_document, sample_documents


def png_logo(width: int = 300, height: int = 100, noise: int = 36) -> bytes:
    """A checkered RGB PNG with some noise: about 30 KB at the default size."""
    rnd = random.Random(7)
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type None
        for x in range(width):
            dark = (x // 20 + y // 20) % 2
            r, g, b = (11, 110, 79) if dark else (230, 242, 237)
            n = rnd.randrange(noise)
            rows += bytes(((r + n) % 256, (g + n) % 256, (b + n) % 256))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def with_png_logo(document: dict[str, Any], logo: bytes) -> dict[str, Any]:
    branding = {**(document.get("branding") or {})}
    branding["logo"] = {"format": "png", "data": base64.b64encode(logo).decode()}
    return {**document, "branding": branding}


def scenarios() -> dict[str, dict[str, Any]]:
    documents = sample_documents()
    documents["reverse_charge_png"] = with_png_logo(documents["reverse_charge_qr"], png_logo())
    return documents


def render_all(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    renderer = TypstPdfRenderer()
    written = []
    for layout in renderer.layouts():
        for name, document in scenarios().items():
            document = {**document, "branding": {**(document.get("branding") or {})}}
            document["branding"]["layout"] = layout
            pdf_path = out / f"{layout}-{name}.pdf"
            pdf_path.write_bytes(renderer.render(document))
            subprocess.run(
                ["pdftoppm", "-r", "70", "-png", str(pdf_path), str(out / f"{layout}-{name}")],
                check=True,
            )
            written += sorted(out.glob(f"{layout}-{name}-*.png"))
    return written


def median_ms(render: Any, document: dict[str, Any], runs: int = 50, **kwargs: Any) -> float:
    """Median wall time of ``render``; each run gets a new invoice number, since Typst
    memoises whole compiles and an identical document would measure only its cache."""

    def one(n: int) -> float:
        start = time.perf_counter()
        render({**document, "number": f"INV-2026-{n:06d}"}, **kwargs)
        return time.perf_counter() - start

    for n in range(5):
        one(n)
    return statistics.median(one(n) for n in range(5, 5 + runs)) * 1000


def print_timings() -> None:
    renderer = TypstPdfRenderer()
    logo = png_logo()
    documents = sample_documents()
    print(f"PNG logo: {len(logo)} bytes")
    for layout in renderer.layouts():
        plain = {**sample_document(), "branding": {"layout": layout}}
        logo_doc = with_png_logo(plain, logo)
        rows: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
            "sample_document": (plain, {}),
            "sample_document a-3b": (plain, {"pdf_standard": "a-3b"}),
            "with 30 KB PNG logo": (logo_doc, {}),
            "with PNG logo a-3b": (logo_doc, {"pdf_standard": "a-3b"}),
        }
        for name in ("reverse_charge_qr", "hindi_gst", "forty_lines"):
            doc = {**documents[name], "branding": {**(documents[name].get("branding") or {})}}
            doc["branding"]["layout"] = layout
            rows[name] = (doc, {})
        for label, (document, kwargs) in rows.items():
            ms = median_ms(renderer.render, document, **kwargs)
            print(f"{layout:8} {label:24} {ms:6.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="/tmp/autoinvoice-look", type=Path)
    parser.add_argument("--time", action="store_true", help="also print warm render times")
    args = parser.parse_args(argv)
    for path in render_all(args.out):
        print(path)
    if args.time:
        print_timings()
    return 0


if __name__ == "__main__":
    sys.exit(main())
