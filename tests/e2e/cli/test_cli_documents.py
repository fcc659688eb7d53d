"""Documents from the command line, as separate processes on both databases: check a draft,
preview it, change the branding and the checks, choose a client's attachments, export every
format of an issued invoice."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from facturx import get_xml_from_pdf
from test_cli import run

from autoinvoice.adapters.documents.schemas import validate_cii, validate_ubl
from builders import draft_for, make_app, make_client, make_entity

pytestmark = pytest.mark.slow


def _text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout


def test_documents_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    app = make_app(database_url, tmp_path)
    entity = make_entity(app)
    client = make_client(app, entity)
    inv_id = draft_for(app, client)
    app.engine.dispose()
    db = ["--database-url", database_url]

    checked = run("invoices", "check", str(inv_id), *db)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "all checks pass" in checked.stdout

    preview = tmp_path / "preview.pdf"
    made = run("invoices", "preview", str(inv_id), "-o", str(preview), *db)
    assert made.returncode == 0, made.stderr
    assert "DRAFT" in _text(preview)

    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="3"/>')
    bad = run("branding", "set", "--accent", "teal", *db)
    assert bad.returncode == 2 and "#RRGGBB" in bad.stderr
    bad_iban = run("branding", "set", "--iban", "DE89370400440532013001", *db)
    assert bad_iban.returncode == 2 and "not a valid IBAN" in bad_iban.stderr
    branded = run(
        "branding", "set", "--layout", "modern", "--accent", "#0a7d5a", "--logo", str(logo), *db
    )
    assert branded.returncode == 0, branded.stderr
    shown = run("branding", "show", *db).stdout
    assert '"layout": "modern"' in shown and '"logo_format": "svg"' in shown

    assert (
        run("checks", "set", "line_description", "--option", "min_length=80", *db).returncode == 0
    )
    strict = run("invoices", "check", str(inv_id), *db)
    assert strict.returncode == 1 and "line_description" in strict.stdout
    assert "at least 80" in strict.stdout
    assert run("checks", "set", "nonsense", "--off", *db).returncode == 2
    assert run("checks", "set", "line_description", "--off", *db).returncode == 0
    assert re.search(r"line_description\s+│ no ", run("checks", "list", *db).stdout)

    assert run("clients", "documents", str(client), "--attach", "facturx,cii", *db).returncode == 0
    issued = run("invoices", "issue", str(inv_id), *db)
    assert issued.returncode == 0, issued.stderr
    number = issued.stdout.split()[-1]

    files = {}
    for fmt in ("pdf", "facturx", "ubl", "cii"):
        target = tmp_path / f"out-{fmt}"
        result = run("invoices", "export", number, "--format", fmt, "-o", str(target), *db)
        assert result.returncode == 0, result.stderr
        files[fmt] = target.read_bytes()
    assert files["pdf"].startswith(b"%PDF-") and number in _text(tmp_path / "out-pdf")
    validate_ubl(files["ubl"])
    validate_cii(files["cii"])
    assert get_xml_from_pdf(files["facturx"], check_xsd=True)[1] == files["cii"]
    again = run("invoices", "export", number, "--format", "pdf", "-o", str(tmp_path / "2"), *db)
    assert again.returncode == 0 and (tmp_path / "2").read_bytes() == files["pdf"]  # kept
    wrong = run("invoices", "export", number, "--format", "docx", *db)
    assert wrong.returncode == 2 and "not a document format" in wrong.stderr
