"""``autoinvoice simulate``: the full test cycle before going live.

The simulation runs the *live code path* — connectors' parsing, event application, rules,
guards, assembly, issuing — on a throw-away SQLite copy of the installation's
configuration (issuing entities, series, clients, contracts, sources, links, rules, CSV
mappings), with a clock that walks from ``--from`` to ``--to``. Nothing of the real
database changes: no invoice number is consumed and no mail is sent (no worker runs in the
sandbox; the delivery jobs it writes are thrown away with it).

Events come from ``--events DIR`` (``*.json`` files: canonical events, or recorded webhook
requests ``{"source", "headers", "body"}`` parsed by their product's connector — their
signatures are not checked, they are recordings) or, by default, from the events recorded
in that period. Between events the clock moves and the scheduler runs, so retainer
schedules and schedule rules fire at their occurrences; thresholds fire as time is logged.

The report lists each invoice that would be created (with a preview PDF), each hold and
why, and each rule that failed or waited.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from ..adapters.clock import ManualClock
from ..adapters.db import tables as t
from ..adapters.db.engine import make_engine
from ..adapters.db.migrate import upgrade
from ..bootstrap import App
from ..config import Settings
from ..domain.errors import DomainError, InvalidValue
from ..domain.events import Event, Subject
from ..domain.recurrence import Recurrence
from ..services.documents import invoice_document
from ..services.ingest import apply_event
from ..services.triggering import Outcome
from .scheduler import tick

_SECOND = timedelta(seconds=1)
# configuration is copied; what happened (invoices, events, firings …) starts empty
CONFIG_TABLES = (
    t.users,
    t.issuing_entities,
    t.number_series,
    t.series_counters,
    t.clients,
    t.contracts,
    t.sources,
    t.source_links,
    t.rules,
    t.rule_versions,
    t.csv_mappings,
)


def _copy_configuration(live: App, sandbox: App, start: datetime) -> None:
    with live.engine.connect() as src, sandbox.engine.begin() as dst:
        for table in CONFIG_TABLES:
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            if rows:
                dst.execute(insert(table), rows)
        # schedules start at the simulated beginning, not where the live system stands
        contracts = src.execute(
            select(
                t.contracts.c.id, t.contracts.c.rrule, t.contracts.c.timezone, t.contracts.c.dtstart
            )
        ).all()
        for cid, rrule, tz, dtstart in contracts:
            if not rrule:
                continue
            rec = Recurrence(rrule, tz, datetime.fromisoformat(dtstart))
            first = rec.next_after(start.replace(microsecond=0) - _SECOND)
            dst.execute(
                update(t.contracts).where(t.contracts.c.id == cid).values(next_run_at=first)
            )
        dst.execute(update(t.rules).values(next_run_at=None, updated_at=start - _SECOND))
        dst.execute(
            update(t.sources).values(
                last_success_at=start,
                last_event_at=None,
                error_count=0,
                consecutive_errors=0,
                stale_alerted=False,
                next_poll_at=None,
                poll_interval_seconds=None,  # no network in a simulation
            )
        )


def _event_from_file(data: dict[str, Any], where: str) -> Event:
    try:
        return Event(
            type=data["type"],
            subject=Subject(data["subject"]),
            external_id=str(data["external_id"]),
            occurred_at=datetime.fromisoformat(str(data["occurred_at"]).replace("Z", "+00:00")),
            dedupe_key=str(data.get("id") or f"{where}"),
            fields=data.get("fields") or {},
            raw=data,
        )
    except (KeyError, ValueError) as exc:
        raise InvalidValue(f"not a canonical event ({exc})", field=where) from None


def _load_events(app: App, folder: Path) -> list[tuple[str, Event]]:
    """(source name, event) from a folder of JSON files."""
    found: list[tuple[str, Event]] = []
    with app.uow(read_only=True) as uow:
        sources = {s.name: s for s in uow.sources.list()}
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidValue(
                f"not JSON: {exc.msg} at line {exc.lineno}", field=path.name
            ) from None
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            where = f"{path.name}[{i}]"
            name = item.get("source")
            if name not in sources:
                raise InvalidValue(f"names no known source ({name!r})", field=f"{where}.source")
            if "headers" in item and "body" in item:  # a recorded webhook request
                body = item["body"]
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                headers = {k.lower(): str(v) for k, v in item["headers"].items()}
                src = sources[name]
                for e in app.connector_for(src.kind).parse(headers, raw, src.config):
                    found.append((name, e))
            else:
                found.append((name, _event_from_file(item, where)))
    return found


def _recorded_events(app: App, start: datetime, end: datetime) -> list[tuple[str, Event]]:
    with app.uow(read_only=True) as uow:
        names = {s.id: s.name for s in uow.sources.list()}
        return [(names[sid], e) for _, sid, e, _ in uow.events.between(start, end)]


@contextmanager
def sandbox_for(app: App, start: datetime) -> Iterator[tuple[App, ManualClock]]:
    """A throw-away SQLite copy of ``app``'s configuration with a clock set to ``start``
    (deleted when the block ends)."""
    with tempfile.TemporaryDirectory(prefix="autoinvoice-sim-") as tmp:
        clock = ManualClock(start)
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/sandbox.db")
        engine = make_engine(settings.resolved_database_url())
        try:
            upgrade(engine)
            sandbox = replace(app, settings=settings, engine=engine, clock=clock)
            sandbox.__dict__["box"] = app.box  # the same key opens the copied secrets
            _copy_configuration(app, sandbox, start)
            yield sandbox, clock
        finally:
            engine.dispose()


def play(
    sandbox: App,
    clock: ManualClock,
    events: list[tuple[str, Event]],
    start: datetime,
    end: datetime,
    echo: Callable[[str], Any] | None = None,
    on_outcome: Callable[[datetime, Outcome], Any] | None = None,
    stops: Sequence[datetime] = (),
) -> list[dict[str, Any]]:
    """Walk the sandbox's clock from ``start`` to ``end``, applying each event at its time
    and ticking the scheduler between them and at each of ``stops`` (schedule occurrences,
    so what fires is dated as it would be); returns the problems met on the way
    (``on_outcome`` sees every rule outcome)."""
    problems: list[dict[str, Any]] = []
    seen = on_outcome or (lambda _at, _o: None)
    pending = sorted(at for at in stops if start <= at < end)

    def tick_until(moment: datetime) -> None:
        while pending and pending[0] <= moment:
            clock.set(pending.pop(0))
            for o in tick(sandbox).rules:
                seen(clock.now(), o)

    for i, (name, event) in enumerate(events):
        if not (start <= event.occurred_at < end):
            continue
        tick_until(event.occurred_at)
        clock.set(event.occurred_at)
        for o in tick(sandbox).rules:
            seen(clock.now(), o)
        with sandbox.uow() as uow:
            src = uow.sources.by_name(name)
            try:
                for o in apply_event(
                    event, src, None, uow=uow, now=clock.now(), actor="simulation"
                ):
                    seen(clock.now(), o)
                    if o.outcome in ("failed", "waiting"):
                        problems.append(
                            {"rule": o.rule, "outcome": o.outcome, "detail": o.detail or ""}
                        )
                uow.sources.succeeded(src.id, clock.now(), event=True)
            except DomainError as exc:
                problems.append({"rule": f"event {i + 1}", "outcome": "error", "detail": str(exc)})
            uow.commit()
        if echo and (i + 1) % 50 == 0:
            echo(f"simulated {i + 1}/{len(events)} events")
    tick_until(end)
    clock.set(end)
    final = tick(sandbox)
    for o in final.rules:
        seen(clock.now(), o)
        if o.outcome in ("failed", "waiting"):
            problems.append({"rule": o.rule, "outcome": o.outcome, "detail": o.detail or ""})
    return problems


def run_simulation(
    app: App,
    start: datetime,
    end: datetime,
    *,
    events_dir: Path | None,
    out_dir: Path,
    echo: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    if end <= start:
        raise InvalidValue("--to must not be before --from", field="to")
    events = _load_events(app, events_dir) if events_dir else _recorded_events(app, start, end)
    events.sort(key=lambda p: p[1].occurred_at)
    out_dir.mkdir(parents=True, exist_ok=True)
    with sandbox_for(app, start) as (sandbox, clock):
        problems = play(sandbox, clock, events, start, end, echo)
        report = _report(sandbox, out_dir, problems, len(events))
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, default=str))
    return report


def _report(sandbox: App, out_dir: Path, problems: list[dict[str, Any]], n: int) -> dict[str, Any]:
    invoices: list[dict[str, Any]] = []
    with sandbox.uow(read_only=True) as uow:
        firings = {
            f["invoice_id"]: f for f in uow.rule_firings.list(limit=100_000) if f["invoice_id"]
        }
        ids = [
            r[0] for r in uow.connection.execute(select(t.invoices.c.id).order_by(t.invoices.c.id))
        ]
        for n_, inv_id in enumerate(ids, start=1):
            inv = uow.invoices.get(inv_id)
            entity = uow.entities.get(inv.entity_id or 0)
            f = firings.get(inv_id)
            outcome = "would issue" if inv.number else ("held" if inv.hold_reason else "draft")
            preview = out_dir / f"preview-{n_:04d}.pdf"
            doc = invoice_document(inv, entity)
            doc["number"] = f"PREVIEW-{n_:04d}"
            preview.write_bytes(sandbox.renderer.render(doc))
            invoices.append(
                {
                    "rule": f["rule"] if f else "retainer schedule",
                    "client": inv.buyer.name,
                    "outcome": outcome,
                    "gross": str(inv.gross.amount),
                    "currency": inv.currency,
                    "lines": [ln.description for ln in inv.lines],
                    "reason": inv.hold_reason,
                    "preview": preview.name,
                }
            )
        for f in uow.rule_firings.list(limit=100_000):
            if f["outcome"] == "shadow":
                invoices.append(
                    {
                        "rule": f["rule"],
                        "client": str(f["client_id"]),
                        "outcome": "shadow",
                        "gross": str(f["gross_total"]),
                        "currency": f["currency"],
                        "lines": [],
                        "reason": None,
                    }
                )
    return {
        "events": n,
        "invoices": invoices,
        "problems": problems,
        "numbers_consumed": 0,
        "mails_sent": 0,
    }
