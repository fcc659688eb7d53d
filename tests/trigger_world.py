"""A small installation for trigger end-to-end tests: an app on a real database with a real
SMTP server, the web app under a TestClient, and helpers to sign and post webhooks and to
run the worker until the queue is empty.

Signing here is written from the vendors' documents, independently of the connectors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.bootstrap import App
from autoinvoice.domain.contracts import BillingModel, Contract, Milestone, Rate
from autoinvoice.domain.terms import PaymentTerms
from autoinvoice.entrypoints.web.app import create_app
from autoinvoice.services import ingest, sources
from autoinvoice.services.jobs import run_jobs_once
from autoinvoice.services.ports import SourceRecord
from autoinvoice.services.setup import add_contract
from autoinvoice.services.triggering import load_rules
from builders import make_app, make_client, make_entity
from smtp_server import SmtpTestServer

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BASE = "https://billing.example.com"
CONNECTORS = Path(__file__).parent / "contract" / "connectors"


def payload(product: str, name: str) -> Any:
    return json.loads((CONNECTORS / product / name).read_text())


def hex_sig(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hubspot_v3(secret: str, method: str, url: str, body: bytes, ms: int) -> str:
    msg = method.encode() + url.encode() + body + str(ms).encode()
    return base64.b64encode(hmac.new(secret.encode(), msg, hashlib.sha256).digest()).decode()


@dataclass
class World:
    app: App
    web: TestClient
    smtp: SmtpTestServer
    entity_id: int
    client_id: int

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.app.clock, ManualClock)
        return self.app.clock

    def source(self, kind: str, name: str, **kw: Any) -> SourceRecord:
        return sources.add_source(
            sources.NewSource(kind=kind, name=name, **kw),
            uow=self.app.uow(),
            clock=self.app.clock,
            box=self.app.box,
            actor="test",
            kinds=self.app.source_kinds,
        )

    def link(
        self,
        source: str,
        *,
        project: str | None = None,
        company: str | None = None,
        contract: int | None = None,
        client: int | None = None,
    ) -> None:
        ref_type, ref = ("project", project) if project is not None else ("client", company)
        ingest.link_ref(
            source,
            ref_type,
            str(ref),
            client_id=client,
            contract_id=contract,
            uow=self.app.uow(),
            clock=self.app.clock,
            actor="test",
        )

    def rules(self, *rules: dict[str, Any]) -> None:
        load_rules({"rules": list(rules)}, uow=self.app.uow(), clock=self.app.clock, actor="test")

    def contract(self, model: str, **kw: Any) -> int:
        defaults: dict[str, Any] = dict(
            name=kw.pop("name", f"{model} contract"),
            model=BillingModel(model),
            currency="EUR",
            terms=PaymentTerms.parse("net:14"),
            client_id=self.client_id,
        )
        if model == "milestone":
            defaults["milestones"] = tuple(
                Milestone(n, Decimal(a)) for n, a in kw.pop("milestones")
            )
        if model == "time_and_materials":
            defaults["rates"] = tuple(Rate(r, Decimal(a)) for r, a in kw.pop("rates"))
        return add_contract(
            Contract(**{**defaults, **kw}), uow=self.app.uow(), clock=self.app.clock, actor="test"
        )

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Any:
        return self.web.post(path, content=body, headers=headers)

    def work(self) -> int:
        """Run the worker until nothing is runnable; returns the jobs run."""
        total = 0
        handlers = self.app.handlers("test-worker")
        while n := run_jobs_once(
            uow=self.app.uow(), clock=self.app.clock, worker="test-worker", handlers=handlers
        ):
            total += n
        return total

    def invoices(self) -> list[Any]:
        with self.app.uow(read_only=True) as uow:
            return [uow.invoices.get(s.id) for s in reversed(uow.invoices.summaries())]

    def firings(self) -> list[dict[str, Any]]:
        with self.app.uow(read_only=True) as uow:
            return uow.rule_firings.list()

    def audit(self, action: str) -> list[dict[str, Any]]:
        with self.app.uow(read_only=True) as uow:
            return [a for a in uow.audit.recent(1000) if a["action"] == action]


def make_world(database_url: str, tmp_path: Path, **client_kw: Any) -> Iterator[World]:
    with SmtpTestServer() as smtp:
        app = make_app(
            database_url,
            tmp_path,
            clock=ManualClock(NOW),
            base_url=BASE,
            smtp_host=smtp.host,
            smtp_port=smtp.port,
        )
        entity = make_entity(app)
        client = make_client(app, entity, **client_kw)
        with TestClient(create_app(app), base_url=BASE) as web:
            yield World(app, web, smtp, entity, client)
        app.engine.dispose()
