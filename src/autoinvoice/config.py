"""Settings from the environment (``AUTOINVOICE_`` prefix), read once at start-up by the
entry points. Secrets are ``SecretStr`` so they never print in logs, reprs or errors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTOINVOICE_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None  # default: sqlite file under data_dir
    base_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr | None = None  # default: generated once, kept in data_dir

    smtp_host: str | None = None  # none: mails are written to data_dir/mail
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    mail_sandbox_to: str | None = None  # send every mail here instead of to clients
    # your own versions of the email templates (same file names as the package's:
    # invoice_email.subject.txt, invoice_email.txt, invoice_email.html, and credit_note_email.*
    # for credit notes); default:
    # data_dir/templates/email when that folder exists
    email_templates_dir: Path | None = None

    stripe_secret_key: SecretStr | None = None  # sk_…; none: no "Pay now" in the portal
    stripe_webhook_secret: SecretStr | None = None  # whsec_…, for POST /webhooks/stripe
    stripe_api_base: str = "https://api.stripe.com"

    # GET /metrics asks for "Authorization: Bearer <this>" when set; open when not (bind it
    # to a private network, as Prometheus scrapes usually are)
    metrics_token: SecretStr | None = None

    # outgoing webhooks may call these non-public hosts or CIDRs (comma-separated)
    webhook_allow: str = ""

    worker_lease_seconds: int = 120
    worker_batch: int = 10
    worker_poll_seconds: float = 1.0
    scheduler_interval_seconds: float = 30.0
    session_max_age_seconds: int = 8 * 3600

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'autoinvoice.db').resolve()}"

    def __repr__(self) -> str:  # pydantic masks SecretStr only; the URL may hold a password
        return f"Settings(data_dir={self.data_dir!s}, database=<hidden>)"

    __str__ = __repr__
