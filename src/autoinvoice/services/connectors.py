"""The connector port: what the intake and the worker need from each outside product.

One adapter per product (``autoinvoice.adapters.connectors.<kind>``) implements
:class:`Connector`; the web intake calls :meth:`Connector.verify` on the raw request before
anything is stored, the worker calls :meth:`Connector.parse` (and :meth:`Connector.fetch`
for events that carry only ids) on the stored request later.

Obligations of every connector:

* ``verify`` checks the sender exactly as the vendor documents it, over the **raw bytes**,
  in constant time, and raises :class:`SignatureRejected` with a reason that names what was
  wrong (missing header, bad signature, timestamp outside the window) — never the secret.
* ``parse`` is pure: no network, no clock. Bad input raises
  :class:`autoinvoice.domain.errors.InvalidValue` whose ``field`` says where (``body.objectId``).
* ``fetch`` may call the vendor's REST API with the source's credentials; network trouble
  raises :class:`VendorUnavailable` (retried), a 4xx answer :class:`VendorRefused` (not).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..domain.events import Event


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """A webhook request as received. ``url`` is the public URL the sender called (scheme,
    host, path and query, built from the configured base URL — not what a proxy passed on);
    ``headers`` have lower-case names."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class SourceSecrets:
    """A source's secrets, decrypted only in memory. ``signing_secret`` verifies webhooks
    (HMAC key, Clockify token, Asana X-Hook-Secret); ``api_token`` reads the vendor's REST
    API; ``basic_user``/``basic_password`` are Pipedrive's HTTP Basic credentials."""

    signing_secret: str | None = None
    api_token: str | None = None
    basic_user: str | None = None
    basic_password: str | None = None

    def __repr__(self) -> str:
        return "SourceSecrets(<hidden>)"


@dataclass(frozen=True, slots=True)
class Verified:
    """The request is authentic. ``delivery_id`` is the vendor's id for this delivery
    (``X-GitHub-Delivery``, ``X-Atlassian-Webhook-Identifier`` …) or ``None`` when the
    product has none (then the body digest is used to recognise a redelivery)."""

    delivery_id: str | None = None


@dataclass(frozen=True, slots=True)
class Handshake:
    """Answer at once, store nothing but (for Asana) the secret the handshake hands over."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    media_type: str = "application/json"
    new_signing_secret: str | None = None


class SignatureRejected(Exception):
    """The request is forged, tampered with, replayed outside the allowed window, or lacks
    the credentials the product sends. The message says which, never the secret."""

    code = "signature_rejected"


class VendorUnavailable(Exception):
    """The vendor's API could not be reached or answered 5xx/429: try again later."""

    code = "vendor_unavailable"


class VendorRefused(Exception):
    """The vendor's API answered 4xx (bad token, record gone): retrying will not help."""

    code = "vendor_refused"


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """What a connector knows about the source it serves: the non-secret settings.

    ``api_base`` overrides the vendor's API root (tests point it at a local server);
    ``options`` holds product settings (e.g. HubSpot ``won_stages``, Harvest
    ``account_id``, Toggl ``workspace_id``), ``field_map`` extra canonical fields read from
    the record by dotted path (``{"po_number": "properties.po_number"}``)."""

    name: str
    api_base: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    field_map: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PollResult:
    events: list[Event]
    cursor: str | None


class Connector(Protocol):
    kind: str

    def verify(
        self, request: InboundRequest, secrets: SourceSecrets, *, now: datetime
    ) -> Verified | Handshake:
        """Authenticate the sender (see the module docstring); raise SignatureRejected."""
        ...

    def parse(self, headers: Mapping[str, str], body: bytes, config: SourceConfig) -> list[Event]:
        """Turn a verified request into canonical events (pure)."""
        ...

    def fetch(self, event: Event, secrets: SourceSecrets, config: SourceConfig) -> Event:
        """Complete an event that carries only ids by reading the record from the vendor's
        API; events with ``needs_fetch`` False are returned unchanged."""
        ...


class Poller(Protocol):
    kind: str

    def poll(
        self, secrets: SourceSecrets, config: SourceConfig, cursor: str | None, *, now: datetime
    ) -> PollResult:
        """Pull what changed since ``cursor`` (None: from the configured start)."""
        ...


__all__ = [
    "Connector",
    "Handshake",
    "InboundRequest",
    "PollResult",
    "Poller",
    "SignatureRejected",
    "SourceConfig",
    "SourceSecrets",
    "VendorRefused",
    "VendorUnavailable",
    "Verified",
]
