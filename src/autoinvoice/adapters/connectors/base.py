"""What every connector shares: constant-time HMAC checks, JSON loading with errors that say
where, dotted-path field mapping, timestamps, and the HTTP client for vendor APIs.

A connector module implements :class:`autoinvoice.services.connectors.Connector` with these
helpers; nothing product-specific lives here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from ...domain.errors import InvalidValue
from ...services.connectors import (
    SignatureRejected,
    SourceConfig,
    VendorRefused,
    VendorUnavailable,
)

USER_AGENT = "autoinvoice/0.1 (+https://github.com/autoinvoice)"


def hmac_sha256(key: bytes | str, message: bytes | str) -> bytes:
    k = key.encode() if isinstance(key, str) else key
    m = message.encode() if isinstance(message, str) else message
    return hmac.new(k, m, hashlib.sha256).digest()


def hex_hmac(key: bytes | str, message: bytes | str) -> str:
    return hmac_sha256(key, message).hex()


def b64_hmac(key: bytes | str, message: bytes | str) -> str:
    return base64.b64encode(hmac_sha256(key, message)).decode()


def same(a: str | bytes | None, b: str | bytes | None) -> bool:
    """Constant-time comparison; ``None`` never matches."""
    if a is None or b is None:
        return False
    aa = a.encode() if isinstance(a, str) else a
    bb = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(aa, bb)


def require_header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if not value:
        raise SignatureRejected(f"the {name} header is missing")
    return value


def require_secret(secret: str | None, what: str = "signing secret") -> str:
    if not secret:
        raise SignatureRejected(f"this source has no {what} configured")
    return secret


def check_sha256_header(body: bytes, headers: Mapping[str, str], name: str, secret: str) -> None:
    """The WebSub-style ``<name>: sha256=<hex HMAC-SHA256(secret, raw body)>`` used by GitHub
    (X-Hub-Signature-256), Jira (X-Hub-Signature) and Toggl (X-Webhook-Signature-256)."""
    header = require_header(headers, name).strip()
    scheme, _, signature = header.partition("=")
    if scheme.strip().lower() != "sha256" or not signature:
        raise SignatureRejected(f"the {name} header is not of the form sha256=<hex>")
    if not same(hex_hmac(secret, body), signature.strip().lower()):
        raise SignatureRejected(f"the {name} signature does not match the body")


def load_json(body: bytes) -> Any:
    """Parse a request body; a clear error names the line and column of the fault."""
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise InvalidValue(f"the body is not UTF-8 ({exc.reason})", field="body") from None
    except json.JSONDecodeError as exc:
        raise InvalidValue(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            field="body",
        ) from None


def need(obj: Any, path: str, *, where: str = "body") -> Any:
    """The value at a dotted ``path`` of a JSON object; a missing one raises InvalidValue
    naming the full path (``body.data.state.type``)."""
    cur = obj
    for part in path.split("."):
        if isinstance(cur, Mapping) and part in cur and cur[part] is not None:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise InvalidValue(f"{where}.{path} is missing", field=f"{where}.{path}")
    return cur


def pick(obj: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted ``path``, or ``default``."""
    try:
        return need(obj, path)
    except InvalidValue:
        return default


def mapped_fields(record: Any, config: SourceConfig) -> dict[str, Any]:
    """The source's configured extra fields, read from the record by dotted path."""
    return {name: pick(record, path) for name, path in config.field_map.items()}


def from_millis(value: Any, *, field: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        raise InvalidValue(f"{value!r} is not a Unix time in milliseconds", field=field) from None


def from_iso(value: Any, *, field: str) -> datetime:
    """An ISO 8601 timestamp (``Z`` allowed); a naive one is refused."""
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue(f"{value!r} is not an ISO 8601 timestamp", field=field) from None
    if dt.tzinfo is None:
        raise InvalidValue(f"{value!r} has no time zone", field=field)
    return dt.astimezone(UTC)


def poll_start(config: SourceConfig, cursor: str | None, now: datetime) -> datetime:
    """Where a poll starts: the cursor, else ``options.since`` (a date — from its start,
    UTC — or an ISO 8601 instant), else ``now``.

    No history by default: a business switching autoinvoice on has billed its past deals and
    hours by hand, so the first poll must not bill them again. ``since`` asks for history
    explicitly (``autoinvoice sources add harvest … --option since=2026-11-01``)."""
    if cursor:
        return from_iso(cursor, field="cursor")
    start = config.options.get("since")
    if start:
        text = str(start)
        return from_iso(text + "T00:00:00Z" if len(text) == 10 else text, field="options.since")
    return now


def utc_stamp(dt: datetime) -> str:
    """``2026-11-20T09:00:00Z``: the cursor form every poller stores."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def digest(*parts: Any) -> str:
    """A stable dedupe key from parts, for products that send no event id."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]


def api_client(
    config: SourceConfig, default_base: str, headers: Mapping[str, str], timeout: float = 10.0
) -> httpx.Client:
    return httpx.Client(
        base_url=config.api_base or default_base,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json", **headers},
        timeout=timeout,
    )


def get_json(client: httpx.Client, path: str, **params: Any) -> Any:
    """GET a vendor API resource. Network errors, 429 and 5xx → VendorUnavailable (retry);
    other 4xx → VendorRefused. Neither message carries the token."""
    try:
        resp = client.get(path, params=params or None)
    except httpx.HTTPError as exc:
        raise VendorUnavailable(f"{client.base_url.host}: {type(exc).__name__}") from None
    if resp.status_code == 429 or resp.status_code >= 500:
        raise VendorUnavailable(f"GET {path} answered {resp.status_code}")
    if resp.status_code >= 400:
        raise VendorRefused(f"GET {path} answered {resp.status_code}: {resp.text[:200]}")
    try:
        return resp.json()
    except ValueError:
        raise VendorRefused(f"GET {path} did not answer JSON") from None
