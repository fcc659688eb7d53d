"""The payments ledger on the command line (registered on the main app by :mod:`.cli`):

* ``autoinvoice payments receive CLIENT AMOUNT [--invoice N …]`` — across invoices, the rest
  kept as client credit
* ``autoinvoice payments reverse ID --reason …`` — a bank return or chargeback
* ``autoinvoice payments refund CLIENT AMOUNT --reason …`` — pay client credit back
* ``autoinvoice payments apply-credit CLIENT INVOICE`` — spend client credit on an invoice
* ``autoinvoice payments list [--client C]``
* ``autoinvoice invoices credit NUMBER [--amount A | --line POS[:QTY] …] --reason …``

CLIENT is a client id or its exact name; an invoice is its number or id.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from ..bootstrap import App
from ..domain.errors import InvalidDate, InvalidValue
from ..services import client_credit, credit_notes, payments, reversals
from ..services.errors import NotFound
from .cli import AsJson, DbUrl, _app, _errors, _find, invoices_cli, out, payments_cli

ACTOR = "cli"
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the audit).")]
Key = Annotated[str | None, typer.Option("--key", help="Idempotency key: recorded once.")]


def _client(app: App, ref: str) -> tuple[int, str]:
    """(id, currency) of the client with this id or exact name."""
    with app.uow(read_only=True) as uow:
        if ref.isdigit():
            c = uow.clients.get(int(ref))
            return c.id, c.currency
        found = [c for c in uow.clients.list() if c.party.name == ref]
    if len(found) != 1:
        raise NotFound(f"no single client named {ref!r}; give its id", field="client")
    return found[0].id, found[0].currency


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidDate(
            f"{text!r} is not an ISO 8601 date-time ({exc})", field="received"
        ) from None
    if when.tzinfo is None:
        raise InvalidDate(f"{text!r} has no UTC offset, e.g. +01:00", field="received")
    return when


def _show(data: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps(data, default=str))
    else:
        out.print(text)


@payments_cli.command("receive")
def payments_receive(
    client: Annotated[str, typer.Argument(help="Client id or exact name.")],
    amount: Annotated[str, typer.Argument(help="Amount, e.g. 1200.50")],
    invoice: Annotated[
        list[str] | None,
        typer.Option("--invoice", help="Apply to this invoice (number or id); repeat, in order."),
    ] = None,
    currency: Annotated[str | None, typer.Option(help="Default: the client's.")] = None,
    method: Annotated[str, typer.Option(help="bank_transfer, card, manual …")] = "manual",
    reference: Annotated[
        str | None, typer.Option(help="Remittance text or bank reference.")
    ] = None,
    payer: Annotated[str | None, typer.Option(help="Name / IBAN as the bank shows it.")] = None,
    received: Annotated[str | None, typer.Option(help="ISO 8601 with offset; default now.")] = None,
    key: Key = None,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Record a payment from a client: applied to the invoices given, or to its open invoices
    oldest due first; the rest is kept as client credit."""
    app = _app(database_url)
    with _errors():
        client_id, default_currency = _client(app, client)
        cur = (currency or default_currency).upper()
        cmd = payments.ReceivePayment(
            client_id=client_id,
            amount=amount,
            currency=cur,
            received_at=_when(received),
            method=method,
            reference=reference,
            idempotency_key=key,
            invoice_ids=tuple(_find(app, ref) for ref in invoice or ()),
            payer=payer,
        )
        r = payments.receive_payment(cmd, uow=app.uow(), clock=app.clock, actor=ACTOR)
    spread = ", ".join(f"{a.amount} to invoice {a.invoice_id}" for a in r.allocations)
    _show(
        {
            "payment_id": r.payment_id,
            "allocations": [
                {"invoice_id": a.invoice_id, "amount": str(a.amount)} for a in r.allocations
            ],
            "credited": str(r.credited),
            "duplicate": r.duplicate,
        },
        as_json,
        (f"already recorded under key {key!r}: " if r.duplicate else "")
        + f"payment {r.payment_id}: {spread or 'no open invoice'}"
        + (f"; {r.credited} {cur} kept as client credit" if r.credited > 0 else ""),
    )


@payments_cli.command("reverse")
def payments_reverse(
    payment_id: Annotated[int, typer.Argument(help="Payment id (see payments list).")],
    reason: Reason,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Reverse a payment: its invoices open again and the credit it made is withdrawn."""
    app = _app(database_url)
    with _errors():
        r = reversals.reverse_payment(
            payment_id, reason, uow=app.uow(), clock=app.clock, actor=ACTOR
        )
    reopened = ", ".join(f"invoice {a.invoice_id} (+{a.amount})" for a in r.reopened)
    _show(
        {
            "payment_id": payment_id,
            "reopened": [{"invoice_id": a.invoice_id, "amount": str(a.amount)} for a in r.reopened],
            "credit_withdrawn": str(r.credit_withdrawn),
            "unrecovered": str(r.unrecovered),
        },
        as_json,
        f"payment {payment_id} reversed; reopened: {reopened or 'none'}"
        + (f"; {r.credit_withdrawn} credit withdrawn" if r.credit_withdrawn else "")
        + (f"; [yellow]{r.unrecovered} was refunded already[/yellow]" if r.unrecovered else ""),
    )


@payments_cli.command("refund")
def payments_refund(
    client: Annotated[str, typer.Argument(help="Client id or exact name.")],
    amount: Annotated[str, typer.Argument(help="Amount paid back, e.g. 45.00")],
    reason: Reason,
    currency: Annotated[str | None, typer.Option(help="Default: the client's.")] = None,
    payment: Annotated[int | None, typer.Option(help="The payment whose credit it repays.")] = None,
    method: Annotated[str, typer.Option(help="How it was paid back.")] = "bank_transfer",
    reference: Annotated[str | None, typer.Option(help="Bank reference.")] = None,
    key: Key = None,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Record money paid back to a client out of its credit."""
    app = _app(database_url)
    with _errors():
        client_id, default_currency = _client(app, client)
        cur = (currency or default_currency).upper()
        cmd = reversals.RefundCredit(
            client_id, amount, cur, reason, method, reference, payment, idempotency_key=key
        )
        r = reversals.refund_credit(cmd, uow=app.uow(), clock=app.clock, actor=ACTOR)
    _show(
        {"refund_id": r.refund_id, "amount": str(r.amount), "credit_left": str(r.credit_left)},
        as_json,
        f"refund {r.refund_id}: {r.amount} {cur} paid back; {r.credit_left} {cur} credit left",
    )


@payments_cli.command("apply-credit")
def payments_apply_credit(
    client: Annotated[str, typer.Argument(help="Client id or exact name.")],
    invoice: Annotated[str, typer.Argument(help="Invoice number or id.")],
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Spend the client's credit on one of its open invoices."""
    app = _app(database_url)
    with _errors():
        client_id, _ = _client(app, client)
        applied = client_credit.apply_credit(
            client_id, _find(app, invoice), uow=app.uow(), clock=app.clock, actor=ACTOR
        )
    _show({"applied": str(applied)}, as_json, f"{applied} of credit applied to {invoice}")


@payments_cli.command("list")
def payments_list(
    client: Annotated[str | None, typer.Option(help="Only this client (id or name).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Payments, newest first, with where each went."""
    app = _app(database_url)
    with _errors():
        client_id = _client(app, client)[0] if client else None
        with app.uow(read_only=True) as uow:
            rows = [
                (p, uow.ledger.allocations(payment_id=p.id))
                for p in uow.ledger.payments(client_id=client_id, limit=limit)
            ]
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": p.id,
                        "client_id": p.client_id,
                        "amount": str(p.amount),
                        "currency": p.currency,
                        "method": p.method,
                        "reference": p.reference,
                        "received_at": p.received_at.isoformat(),
                        "reversed_at": p.reversed_at.isoformat() if p.reversed_at else None,
                        "allocations": {str(a.invoice_id): str(a.amount) for a in allocs},
                    }
                    for p, allocs in rows
                ]
            )
        )
        return
    table = Table("id", "client", "received", "amount", "method", "applied to", "state")
    for p, allocs in rows:
        table.add_row(
            str(p.id),
            str(p.client_id),
            f"{p.received_at:%Y-%m-%d}",
            f"{p.amount} {p.currency}",
            p.method,
            ", ".join(f"#{a.invoice_id} {a.amount}" for a in allocs) or "—",
            f"reversed: {p.reversal_reason}" if p.reversed_at else "",
        )
    out.print(table)


def _credit_line(text: str) -> credit_notes.CreditLine:
    pos, _, qty = text.partition(":")
    if not pos.isdigit():
        raise InvalidValue(f"{text!r}: write a line as POSITION or POSITION:QUANTITY", field="line")
    return credit_notes.CreditLine(int(pos), qty or None)


@invoices_cli.command("credit")
def invoices_credit(
    ref: Annotated[str, typer.Argument(help="Invoice number or id.")],
    reason: Reason,
    amount: Annotated[
        str | None, typer.Option(help="A net price reduction (one tax rate invoices).")
    ] = None,
    line: Annotated[
        list[str] | None,
        typer.Option("--line", help="Credit this line, POSITION[:QUANTITY]; repeat."),
    ] = None,
    database_url: DbUrl = None,
    as_json: AsJson = False,
) -> None:
    """Issue a credit note correcting an invoice (all of it unless --amount or --line)."""
    app = _app(database_url)
    with _errors():
        cmd = credit_notes.IssueCreditNote(
            _find(app, ref),
            reason,
            lines=tuple(_credit_line(x) for x in line or ()),
            amount=amount,
        )
        r = credit_notes.issue_credit_note(cmd, uow=app.uow(), clock=app.clock, actor=ACTOR)
    _show(
        {
            "credit_note_id": r.credit_note_id,
            "number": r.number,
            "gross": str(r.gross),
            "applied": str(r.applied),
            "credited": str(r.credited),
        },
        as_json,
        f"credit note {r.number} ({r.gross}): {r.applied} off {ref}"
        + (f", {r.credited} kept as client credit" if r.credited else ""),
    )
