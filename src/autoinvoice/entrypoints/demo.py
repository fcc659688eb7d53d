"""``autoinvoice demo``: one whole trigger-to-payment cycle on sample data, with the clock
moved forward, mail sent through a real (local, in-process) SMTP server.

rule fired → invoice issued → PDF → email accepted by SMTP → viewed → partial payment → paid
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..adapters.clock import ManualClock
from ..adapters.email.sink import SmtpSink
from ..bootstrap import build
from ..config import Settings
from ..domain.invoice import Invoice
from ..services.invoicing import fire_due_schedules
from ..services.payments import RecordPayment, record_payment
from ..services.portal import view_invoice
from .demo_data import load_demo_data
from .worker import run_worker

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def run_demo(
    *, database_url: str | None = None, echo: Callable[[str], None] | None = None
) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []

    def step(kind: str, text: str, **data: Any) -> None:
        steps.append({"step": kind, "at": clock.now().isoformat(), "text": text, **data})
        if echo:
            echo(f"[dim]{clock.now():%Y-%m-%d %H:%M} UTC[/dim]  [bold]{kind:<14}[/bold] {text}")

    clock = ManualClock(START)
    with tempfile.TemporaryDirectory(prefix="autoinvoice-demo-") as tmp, SmtpSink() as sink:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=database_url or f"sqlite:///{Path(tmp) / 'demo.db'}",
            smtp_host=sink.host,
            smtp_port=sink.port,
            base_url="http://127.0.0.1:8000",
        )
        app = build(settings, clock=clock)
        ids = load_demo_data(app)
        step(
            "set-up",
            f"demo organisation with {len(ids['clients'])} clients and "
            f"{len(ids['contracts'])} contracts (2 monthly retainers, milestones, T&M)",
            database="throw-away SQLite" if not database_url else "kept",
        )

        clock.set(datetime(2026, 12, 1, 5, 30, tzinfo=UTC))  # 06:30 in Hamburg, on the 1st
        report = fire_due_schedules(uow=app.uow(), clock=clock)
        with app.uow(read_only=True) as uow:
            issued = [uow.invoices.by_number(n) for n in report.issued]
        for inv in issued:
            step(
                "rule fired",
                f"retainer schedule (monthly on the 1st) → invoice {inv.number} "
                f"issued to {inv.buyer.name}: {inv.gross.format('en')}, due {inv.due_date}",
                number=inv.number,
            )

        stop = threading.Event()
        run_worker(app, stop, name="demo-worker", once=True)
        with app.uow(read_only=True) as uow:
            for inv in issued:
                pdf = uow.documents.get(inv.id or 0, "pdf") or b""
                step(
                    "PDF",
                    f"{inv.number}.pdf rendered with Typst: {len(pdf) // 1024} KB, "
                    f"{_pages(pdf)} page(s)",
                    number=inv.number,
                    bytes=len(pdf),
                )
                for m in uow.messages.for_invoice(inv.id or 0):
                    step(
                        "email",
                        f"accepted by SMTP {sink.host}:{sink.port} for "
                        f"{', '.join(m['recipients'])} (Message-ID {m['message_id']})",
                        number=inv.number,
                        status=m["status"],
                    )

        first, second = issued[0], issued[1]
        for inv, delay in ((first, timedelta(days=2, hours=3)), (second, timedelta(hours=2))):
            clock.advance(delay)
            with app.uow() as uow:
                token = uow.invoices.portal_token(inv.id or 0)
                uow.commit()
            view_invoice(
                token, user_agent=BROWSER, method="GET", staff=False, uow=app.uow(), clock=clock
            )
            step(
                "viewed",
                f"{inv.buyer.name} opened {inv.number} in the client portal",
                number=inv.number,
            )

        def pay(inv: Invoice, amount: Decimal | None, after: timedelta) -> None:
            clock.advance(after)
            if amount is None:  # the rest of the balance
                with app.uow(read_only=True) as uow:
                    amount = uow.invoices.get(inv.id or 0).balance.amount
            res = record_payment(
                RecordPayment(
                    inv.id or 0,
                    amount,
                    reference=inv.number,
                    method="bank_transfer",
                    idempotency_key=f"demo-bank-{inv.number}-{clock.now():%Y%m%d}",
                ),
                uow=app.uow(),
                clock=clock,
                actor="demo",
            )
            step(
                "payment",
                f"{inv.number}: {amount} {inv.currency} received by bank transfer "
                f"→ {res.invoice_status}, balance {res.balance} {inv.currency}",
                number=inv.number,
            )

        pay(first, Decimal("2000.00"), timedelta(days=8))
        pay(second, second.gross.amount, timedelta(days=4))
        pay(first, None, timedelta(days=10))

        with app.uow(read_only=True) as uow:
            summaries = uow.invoices.summaries()
            n_payments = sum(len(uow.payments.for_invoice(s.id)) for s in summaries)
            jobs = uow.outbox.counts()
        result = {
            "invoices_issued": len(issued),
            "emails_sent": sink.count,
            "payments": n_payments,
            "final_statuses": {s.number: s.status for s in summaries if s.number},
            "jobs": jobs,
            "steps": steps,
        }
        app.engine.dispose()
        if echo:
            echo(
                f"\n[green]done[/green]: {result['invoices_issued']} invoices issued, "
                f"{result['emails_sent']} emails accepted, {n_payments} payments, "
                f"final statuses {result['final_statuses']}"
            )
        return result
