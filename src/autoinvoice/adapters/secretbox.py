"""Secrets at rest: a source's signing secret and API token are sealed with Fernet
(AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key derived from the
installation's secret key. They are opened only in memory, to verify or to call a vendor,
and never printed, logged or returned by the API."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken


class FernetSecretBox:
    def __init__(self, secret_key: str) -> None:
        # HKDF would do as well; one SHA-256 over a long random key with a purpose label is
        # enough to give Fernet its 32 bytes and keep this key apart from session signing.
        raw = hashlib.sha256(b"autoinvoice:source-secrets:" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(raw))

    def seal(self, secrets: dict[str, str]) -> str:
        clean = {k: v for k, v in secrets.items() if v}
        return self._fernet.encrypt(json.dumps(clean, sort_keys=True).encode()).decode()

    def open(self, token: str) -> dict[str, str]:
        try:
            data = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise ValueError(
                "the source's secrets cannot be opened: the installation's secret key "
                "(AUTOINVOICE_SECRET_KEY or data/secret_key) changed since they were stored; "
                "set the secrets again with `autoinvoice sources set-secret`"
            ) from None
        return {str(k): str(v) for k, v in data.items()}

    def __repr__(self) -> str:
        return "FernetSecretBox(<key hidden>)"
