"""`autoinvoice bank …` as a user runs it: a separate process on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bank_world import SAMPLES, make_bank_world

pytestmark = pytest.mark.slow


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoinvoice", *args, "--database-url", url],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


def test_import_review_confirm_and_dismiss_on_the_command_line(
    database_url: str, tmp_path: Path
) -> None:
    world = make_bank_world(database_url, tmp_path)
    first = run(database_url, "bank", "import", str(SAMPLES / "camt053_valid.xml"))
    assert first.returncode == 0, first.stderr
    assert "imported 10, duplicates 0, matched 6, review 3" in first.stdout
    again = run(database_url, "bank", "import", str(SAMPLES / "camt053_valid.xml"), "--json")
    assert json.loads(again.stdout)["duplicates"] == 10
    waiting = json.loads(run(database_url, "bank", "review", "--json").stdout)
    by_payer = {w["payer"]: w for w in waiting}
    assert [c["number"] for c in by_payer["J. Smith"]["candidates"]] == ["INV-2026-000010"]
    table = run(database_url, "bank", "review").stdout
    assert "INV-2026-000007 (0.80)" in table
    tx = str(by_payer["J. Smith"]["id"])
    confirmed = run(database_url, "bank", "confirm", tx, str(world.invoices[10]))
    assert confirmed.returncode == 0, confirmed.stderr
    twice = run(database_url, "bank", "confirm", tx, str(world.invoices[10]))
    assert twice.returncode == 2 and "not waiting" in twice.stderr
    dismissed = run(database_url, "bank", "dismiss", str(by_payer["Finanzamt Hamburg"]["id"]))
    assert dismissed.returncode == 0, dismissed.stderr
    assert len(json.loads(run(database_url, "bank", "review", "--json").stdout)) == 1


def test_a_csv_export_imports_through_a_saved_mapping_and_a_broken_one_names_its_line(
    sqlite_url: str, tmp_path: Path
) -> None:
    make_bank_world(sqlite_url, tmp_path)
    saved = run(
        sqlite_url,
        "bank",
        "mapping",
        "save",
        "hausbank",
        "--date-col",
        "Buchungstag",
        "--date-format",
        "%d.%m.%Y",
        "--amount-col",
        "Betrag",
        "--currency-col",
        "Waehrung",
        "--name-col",
        "Name",
        "--iban-col",
        "IBAN",
        "--text-col",
        "Verwendungszweck",
        "--account",
        "DE89370400440532013000",
        "--delimiter",
        ";",
        "--decimal",
        ",",
    )
    assert saved.returncode == 0, saved.stderr
    ok = run(sqlite_url, "bank", "import", str(SAMPLES / "csv_valid.csv"), "--mapping", "hausbank")
    assert "imported 6, duplicates 0, matched 4, review 1" in ok.stdout, ok.stderr
    bad = run(
        sqlite_url,
        "bank",
        "import",
        str(SAMPLES / "csv_broken.csv"),
        "--format",
        "csv",
        "--mapping",
        "hausbank",
    )
    assert bad.returncode == 2
    assert "[line 6]" in bad.stderr and "Betrag" in bad.stderr
