"""Settings read from the environment keep secrets out of every printable form."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoinvoice.bootstrap import make_mailer
from autoinvoice.config import Settings

SECRET = "s3cret-Pa55word"
DB_SECRET = "db-pa55-xyz"


def test_settings_never_print_the_smtp_password_or_the_database_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTOINVOICE_SMTP_PASSWORD", SECRET)
    monkeypatch.setenv("AUTOINVOICE_SMTP_USERNAME", "billing")
    monkeypatch.setenv("AUTOINVOICE_SMTP_HOST", "smtp.example")
    monkeypatch.setenv("AUTOINVOICE_SECRET_KEY", SECRET)
    monkeypatch.setenv("AUTOINVOICE_DATABASE_URL", f"postgresql://app:{DB_SECRET}@db/x")
    s = Settings()
    for text in (repr(s), str(s), repr(make_mailer(s))):
        assert SECRET not in text and DB_SECRET not in text
    assert s.smtp_password is not None and s.smtp_password.get_secret_value() == SECRET


def test_the_default_database_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    url = Settings(data_dir=tmp_path).resolved_database_url()
    assert url == f"sqlite:///{tmp_path.resolve() / 'autoinvoice.db'}"
