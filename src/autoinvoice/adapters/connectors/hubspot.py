"""HubSpot: deal webhooks (``deal.propertyChange`` on ``dealstage``) → ``deal.*`` events.

Documents followed:

* Request validation, https://developers.hubspot.com/docs/apps/developer-platform/build-apps/
  authentication/request-validation (and the changelog "Introducing version 3 of webhook
  signatures"): ``X-HubSpot-Signature-v3`` = base64 HMAC-SHA256, key = the app's client
  secret, message = UTF-8 ``method + uri + body + timestamp``; ``X-HubSpot-Request-Timestamp``
  is Unix milliseconds and a request older than 5 minutes is rejected; in the URI the encoded
  characters of HubSpot's table (``%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B``) are
  decoded first. The official SDK ``hubspot-api-python: hubspot/utils/signature.py`` builds
  the same string (``f"{http_method}{http_uri}{request_body}{timestamp}"``,
  ``MAX_ALLOWED_TIMESTAMP = 300``).
* The older ``X-HubSpot-Signature`` + ``X-HubSpot-Signature-Version`` (v1: hex SHA-256 of
  ``client_secret + body``; v2: hex SHA-256 of ``client_secret + method + uri + body``, the URI
  exactly as called) are accepted when no v3 header is present, per
  https://developers.hubspot.com/docs/faq/v1-request-validation and ``.../v2-request-validation``.
  They carry no timestamp, so a captured request can be replayed; dedupe absorbs that.
* Payload: a JSON array of events ``{eventId, subscriptionId, portalId, appId, occurredAt (ms),
  subscriptionType, attemptNumber, objectId, propertyName, propertyValue, changeSource,
  sourceId}``; the generic ``object.*`` subscriptions add ``objectTypeId`` (``0-3`` = deal),
  changelog "Public Beta: Generic Webhook Subscriptions". ``eventId`` is not guaranteed unique,
  so the dedupe key also names portal, subscription, object and time.
* Reading the deal: CRM v3 objects API (``GET /crm/v3/objects/deals/{id}?properties=…&
  associations=companies,line_items``); response shape from the SDK models
  ``SimplePublicObjectWithAssociations`` / ``CollectionResponseAssociatedId``. HubSpot answers
  the line-item association under the key ``"line items"`` (with a space) — both spellings are
  read. Not confirmed: the exact private-app scopes (``crm.objects.deals.read``,
  ``crm.objects.companies.read``, ``crm.objects.line_items.read``).

Polling (:class:`HubSpotPoller`, ``POLLER``): ``POST /crm/v3/objects/deals/search``. Search
guide (https://developers.hubspot.com/docs/api-reference/search/guide, seen through a
mirror; deals return ``dealname, amount, closedate, pipeline, dealstage, createdate,
hs_lastmodifieddate, hs_object_id`` by default) and the API reference of the search endpoint
(request ``{filterGroups[{filters[{propertyName, operator, value, values}]}], sorts,
properties, limit, after}``; answer ``{total, results[{id, properties, createdAt, updatedAt,
archived}], paging.next.after}``). One filter group: ``dealstage IN won_stages AND
hs_lastmodifieddate GTE <start, Unix ms>``, sorted by ``hs_lastmodifieddate`` ascending.
Search answers carry no associations, so each deal goes through
:meth:`HubSpotConnector.fetch` (company, line items): ``poll_source`` does not fetch, the
poll hands over complete ``deal.won`` events. ``dedupe_key`` =
``hubspot:poll:{id}:{hs_lastmodifieddate}``, ``version`` = ``hs_lastmodifieddate``; the
cursor is the greatest one seen (the deal at the cursor is read again next time and
recognised by its key). Paging stops before offset 10,000, which search refuses (public
reports; not in the stored guide); the next poll goes on from the cursor. Not confirmed:
whether date filters take ISO strings too (we send milliseconds, as public clients do) and
the largest ``limit`` (200 in secondary schema text; we ask for 100).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

import httpx

from ...domain.errors import InvalidValue
from ...domain.events import DEAL_CHANGED, DEAL_LOST, DEAL_WON, Event, Subject
from ...services.connectors import (
    InboundRequest,
    PollResult,
    SignatureRejected,
    SourceConfig,
    SourceSecrets,
    VendorRefused,
    VendorUnavailable,
    Verified,
)
from .base import (
    api_client,
    b64_hmac,
    from_iso,
    from_millis,
    get_json,
    load_json,
    mapped_fields,
    need,
    pick,
    poll_start,
    require_secret,
    same,
)

API_BASE = "https://api.hubapi.com"
MAX_SKEW_SECONDS = 300
DEAL_OBJECT_TYPE = "0-3"
DEAL_PROPERTIES = "dealname,amount,dealstage,pipeline,closedate,deal_currency_code"
SEARCH_PATH = "/crm/v3/objects/deals/search"
SEARCH_LIMIT = 100
SEARCH_MAX_RESULTS = 10_000
LAST_OFFSET = SEARCH_MAX_RESULTS - SEARCH_LIMIT

# HubSpot's table of URL-encoded characters to decode before signing (v3).
_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_ENCODED = re.compile("|".join(_DECODE), re.IGNORECASE)


def hubspot_uri(url: str) -> str:
    """The URI as HubSpot signs it: the characters of its table decoded, the rest kept."""
    return _ENCODED.sub(lambda m: _DECODE[m.group(0).upper()], url)


def _dec(value: Any, field: str) -> str | None:
    """A vendor number (or numeric string) as an exact decimal string; blank → None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidValue(f"{value!r} is not a number", field=field) from None
    if not number.is_finite():
        raise InvalidValue(f"{value!r} is not a finite number", field=field)
    return str(number)


def _day(value: Any, field: str) -> str | None:
    """An ISO date or timestamp as ``YYYY-MM-DD`` (UTC); blank → None."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    return from_iso(text, field=field).date().isoformat()


class HubSpotConnector:
    kind = "hubspot"

    # -- verify -------------------------------------------------------------------------

    def verify(self, request: InboundRequest, secrets: SourceSecrets, *, now: datetime) -> Verified:
        secret = require_secret(secrets.signing_secret, "HubSpot client secret")
        v3 = request.header("X-HubSpot-Signature-v3")
        if v3:
            self._verify_v3(request, secret, v3, now)
            return Verified(delivery_id=None)
        legacy = request.header("X-HubSpot-Signature")
        if not legacy:
            raise SignatureRejected("the X-HubSpot-Signature-v3 header is missing")
        version = (request.header("X-HubSpot-Signature-Version") or "").strip().lower()
        if version == "v1":
            source = secret.encode() + request.body
        elif version == "v2":
            source = (secret + request.method.upper() + request.url).encode() + request.body
        else:
            raise SignatureRejected("the X-HubSpot-Signature-Version header is missing or unknown")
        if not same(hashlib.sha256(source).hexdigest(), legacy.strip().lower()):
            raise SignatureRejected(f"the {version} signature does not match")
        return Verified(delivery_id=None)

    @staticmethod
    def _verify_v3(request: InboundRequest, secret: str, signature: str, now: datetime) -> None:
        stamp = (request.header("X-HubSpot-Request-Timestamp") or "").strip()
        if not stamp:
            raise SignatureRejected("the X-HubSpot-Request-Timestamp header is missing")
        if not stamp.isdigit():
            raise SignatureRejected("X-HubSpot-Request-Timestamp is not Unix milliseconds")
        skew = abs(now.timestamp() - int(stamp) / 1000)
        if skew > MAX_SKEW_SECONDS:
            raise SignatureRejected("X-HubSpot-Request-Timestamp is outside the 5-minute window")
        method = request.method.upper()
        candidates = dict.fromkeys((hubspot_uri(request.url), unquote(request.url)))
        for uri in candidates:
            message = method.encode() + uri.encode() + request.body + stamp.encode()
            if same(b64_hmac(secret, message), signature.strip()):
                return
        raise SignatureRejected("the v3 signature does not match")

    # -- parse --------------------------------------------------------------------------

    def parse(self, headers: Mapping[str, str], body: bytes, config: SourceConfig) -> list[Event]:
        batch = load_json(body)
        if not isinstance(batch, list):
            raise InvalidValue("a HubSpot webhook body is a JSON array of events", field="body")
        events: list[Event] = []
        for index, item in enumerate(batch):
            if not isinstance(item, Mapping):
                raise InvalidValue("the event is not a JSON object", field=f"body.{index}")
            event = self._event(item, f"body.{index}", config)
            if event is not None:
                events.append(event)
        return events

    def _event(self, item: Mapping[str, Any], where: str, config: SourceConfig) -> Event | None:
        kind = str(need(item, "subscriptionType", where=where))
        if kind.startswith("object."):
            if str(pick(item, "objectTypeId", "")) != DEAL_OBJECT_TYPE:
                return None
            action = kind.removeprefix("object.")
        elif kind.startswith("deal."):
            action = kind.removeprefix("deal.")
        else:
            return None
        if action not in ("propertyChange", "creation"):
            return None
        object_id = str(need(item, "objectId", where=where))
        at = from_millis(need(item, "occurredAt", where=where), field=f"{where}.occurredAt")
        dedupe = ":".join(
            str(pick(item, name, "-"))
            for name in ("portalId", "subscriptionId", "eventId", "objectId", "occurredAt")
        )
        fields: dict[str, Any] = {**mapped_fields(item, config), "deal_id": object_id}
        event_type, needs_fetch = DEAL_CHANGED, False
        if action == "propertyChange" and need(item, "propertyName", where=where) == "dealstage":
            stage = str(pick(item, "propertyValue", ""))
            status = self._status(stage, config)
            fields.update(stage=stage, status=status)
            if status == "won":
                event_type, needs_fetch = DEAL_WON, True
            elif status == "lost":
                event_type = DEAL_LOST
        return Event(
            type=event_type,
            subject=Subject.DEAL,
            external_id=object_id,
            occurred_at=at,
            dedupe_key=f"hubspot:{dedupe}",
            fields=fields,
            raw=dict(item),
            needs_fetch=needs_fetch,
            version=at,
        )

    @staticmethod
    def _status(stage: str, config: SourceConfig) -> str:
        if stage in [str(s) for s in config.options.get("won_stages", ["closedwon"])]:
            return "won"
        if stage in [str(s) for s in config.options.get("lost_stages", ["closedlost"])]:
            return "lost"
        return "open"

    # -- fetch --------------------------------------------------------------------------

    def fetch(self, event: Event, secrets: SourceSecrets, config: SourceConfig) -> Event:
        if not event.needs_fetch:
            return event
        if not secrets.api_token:
            raise VendorRefused("this source has no HubSpot private-app token configured")
        auth = {"Authorization": f"Bearer {secrets.api_token}"}
        with api_client(config, API_BASE, auth) as client:
            deal = get_json(
                client,
                f"/crm/v3/objects/deals/{event.external_id}",
                properties=DEAL_PROPERTIES,
                associations="companies,line_items",
            )
            if not isinstance(deal, Mapping):
                raise VendorRefused("the deal answer is not a JSON object")
            props = deal.get("properties") or {}
            fields: dict[str, Any] = {
                "deal_id": str(deal.get("id") or event.external_id),
                "name": props.get("dealname"),
                "amount": _dec(props.get("amount"), "deal.properties.amount"),
                "currency": props.get("deal_currency_code"),
                "stage": props.get("dealstage"),
                "pipeline": props.get("pipeline"),
                "status": self._status(str(props.get("dealstage") or ""), config),
                "close_date": _day(props.get("closedate"), "deal.properties.closedate"),
            }
            company_id = self._company_id(deal)
            if company_id:
                company = get_json(
                    client, f"/crm/v3/objects/companies/{company_id}", properties="name,domain"
                )
                fields["client_ref"] = company_id
                fields["client_name"] = pick(company, "properties.name")
            fields["products"] = [
                self._product(
                    get_json(
                        client,
                        f"/crm/v3/objects/line_items/{item_id}",
                        properties="name,quantity,price",
                    ),
                    index,
                )
                for index, item_id in enumerate(self._line_item_ids(deal))
            ]
        fields.update(mapped_fields(deal, config))
        return replace(event, fields={**event.fields, **fields}, needs_fetch=False)

    @staticmethod
    def _associated(deal: Mapping[str, Any], *keys: str) -> list[Mapping[str, Any]]:
        for key in keys:
            results = pick(deal, f"associations.{key}.results")
            if isinstance(results, list):
                return [r for r in results if isinstance(r, Mapping) and r.get("id")]
        return []

    def _company_id(self, deal: Mapping[str, Any]) -> str | None:
        results = self._associated(deal, "companies")
        primary = [r for r in results if r.get("type") == "deal_to_company"]
        chosen = (primary or results)[:1]
        return str(chosen[0]["id"]) if chosen else None

    def _line_item_ids(self, deal: Mapping[str, Any]) -> list[str]:
        results = self._associated(deal, "line items", "line_items")
        return list(dict.fromkeys(str(r["id"]) for r in results))

    @staticmethod
    def _product(item: Any, index: int) -> dict[str, Any]:
        where = f"line_items.{index}.properties"
        return {
            "name": pick(item, "properties.name"),
            "quantity": _dec(pick(item, "properties.quantity"), f"{where}.quantity"),
            "unit_price": _dec(pick(item, "properties.price"), f"{where}.price"),
        }


def post_json(client: httpx.Client, path: str, body: Any) -> Any:
    """POST JSON to a vendor API; errors mapped as ``base.get_json`` maps them."""
    try:
        resp = client.post(path, json=body)
    except httpx.HTTPError as exc:
        raise VendorUnavailable(f"{client.base_url.host}: {type(exc).__name__}") from None
    if resp.status_code == 429 or resp.status_code >= 500:
        raise VendorUnavailable(f"POST {path} answered {resp.status_code}")
    if resp.status_code >= 400:
        raise VendorRefused(f"POST {path} answered {resp.status_code}: {resp.text[:200]}")
    try:
        return resp.json()
    except ValueError:
        raise VendorRefused(f"POST {path} did not answer JSON") from None


def won_search(config: SourceConfig, since: datetime, after: str = "") -> dict[str, Any]:
    """The search body: deals in a won stage modified at or after ``since``."""
    stages = [str(s) for s in config.options.get("won_stages", ["closedwon"])]
    stage = {"propertyName": "dealstage", "operator": "IN", "values": stages}
    millis = str(int(since.timestamp() * 1000))
    modified = {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": millis}
    body: dict[str, Any] = {
        "filterGroups": [{"filters": [stage, modified]}],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": [*DEAL_PROPERTIES.split(","), "hs_lastmodifieddate"],
        "limit": SEARCH_LIMIT,
    }
    return body | ({"after": after} if after else {})


def search_event(deal: Any, *, where: str) -> Event:
    """A won deal of a search answer, still to be fetched (``needs_fetch``)."""
    if not isinstance(deal, Mapping):
        raise InvalidValue(f"{where} is not an object", field=where)
    deal_id = str(need(deal, "id", where=where))
    modified_raw = need(deal, "properties.hs_lastmodifieddate", where=where)
    modified = from_iso(modified_raw, field=f"{where}.properties.hs_lastmodifieddate")
    return Event(
        type=DEAL_WON,
        subject=Subject.DEAL,
        external_id=deal_id,
        occurred_at=modified,
        dedupe_key=f"hubspot:poll:{deal_id}:{modified_raw}",
        fields={"deal_id": deal_id, "stage": pick(deal, "properties.dealstage"), "status": "won"},
        raw=dict(deal),
        needs_fetch=True,
        version=modified,
    )


class HubSpotPoller:
    kind = "hubspot"

    def poll(
        self, secrets: SourceSecrets, config: SourceConfig, cursor: str | None, *, now: datetime
    ) -> PollResult:
        if not secrets.api_token:
            raise VendorRefused("this source has no HubSpot private-app token configured")
        since = poll_start(config, cursor, now)
        found: list[Event] = []
        after = ""
        with api_client(config, API_BASE, {"Authorization": f"Bearer {secrets.api_token}"}) as c:
            for page in range(1, SEARCH_MAX_RESULTS // SEARCH_LIMIT + 1):
                body = post_json(c, SEARCH_PATH, won_search(config, since, after))
                results = need(body, "results", where=f"page{page}")
                if not isinstance(results, list):
                    raise InvalidValue("results is not a list", field=f"page{page}.results")
                found += [
                    search_event(d, where=f"page{page}.results.{i}") for i, d in enumerate(results)
                ]
                after = str(pick(body, "paging.next.after") or "")
                if not after or (after.isdigit() and int(after) > LAST_OFFSET):
                    break  # HubSpot refuses to page past 10,000; the next poll goes on
        events = [CONNECTOR.fetch(event, secrets, config) for event in found]
        stamps = [e.stamp for e in events] + ([since] if cursor else [])
        newest = max(stamps).astimezone(UTC).isoformat().replace("+00:00", "Z") if stamps else None
        return PollResult(events=events, cursor=newest)


CONNECTOR = HubSpotConnector()
POLLER = HubSpotPoller()

__all__ = [
    "CONNECTOR",
    "POLLER",
    "HubSpotConnector",
    "HubSpotPoller",
    "hubspot_uri",
    "post_json",
    "search_event",
    "won_search",
]
