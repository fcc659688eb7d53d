"""Helpers for the set-up pages' tests: a fresh installation (an owner, nothing else) or the
demo organisation, on the database under test, with a signed-in test client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from fastapi.testclient import TestClient
from web_support import OWNER, add_user, sign_in

from autoinvoice.bootstrap import App
from autoinvoice.entrypoints.demo_data import load_demo_data
from autoinvoice.entrypoints.web.app import create_app
from builders import make_app

ORGANISATION = {
    "legal_name": "Fjord Digital GmbH",
    "address_line1": "Torstraße 1",
    "postal_code": "10119",
    "city": "Berlin",
    "country": "DE",
    "emails": "billing@fjord.example",
    "tax_id": "DE 136 695 976",
    "timezone": "Europe/Berlin",
    "iban": "DE89 3704 0044 0532 0130 00",
}
CLIENT = {
    "kind": "business",
    "legal_name": "Lumen Studio SARL",
    "address_line1": "12 rue de la Paix",
    "postal_code": "75002",
    "city": "Paris",
    "country": "FR",
    "emails": "ap@lumen.example",
    "tax_id": "FR40303265045",
    "currency": "EUR",
    "terms": "net:30",
    "language": "fr",
    "timezone": "Europe/Paris",
}
ERROR = re.compile(r'class="field-error" id="error-([\w-]+)"')


def fresh_app(database_url: str, tmp_path: Path) -> App:
    app = make_app(database_url, tmp_path)
    # sign-ins are not under test here: the cheapest argon2id parameters keep these tests fast
    app.hasher._h = PasswordHasher.from_parameters(CHEAPEST)
    add_user(app, *OWNER, "owner")
    return app


def demo(database_url: str, tmp_path: Path) -> App:
    app = fresh_app(database_url, tmp_path)
    load_demo_data(app)
    return app


@contextmanager
def signed_in(
    app: App, email: str = OWNER[0], password: str = OWNER[1]
) -> Iterator[tuple[TestClient, str]]:
    with TestClient(create_app(app), base_url="http://testserver") as client:
        yield client, sign_in(client, email, password)


def errors_on(html: str) -> set[str]:
    """The fields a re-drawn form shows an error beside."""
    return set(ERROR.findall(html))


def audit_actions(app: App) -> list[str]:
    with app.uow(read_only=True) as uow:
        return [e["action"] for e in uow.audit.recent(500)]
