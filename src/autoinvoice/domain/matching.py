"""Matching bank credits to open invoices — pure: candidates and a confidence, no I/O.

Rules, in order of confidence (the first that decides wins):

1. **Creditor reference** (ISO 11649 ``RF…``, structured or anywhere in the text) of an
   open invoice — confidence 1.00, applied.
2. **Invoice numbers** in the remittance text, read through noise (``INV-2026-000123``,
   ``inv 2026 123``, ``INV2026000123``, ``Rechnung INV-2026-000123 und -000124``) —
   0.95, applied when the amount is at most their open balances (a short amount is a part
   payment; one transfer naming two invoices pays both, oldest first) and the payer, if we
   know it, is the invoices' client; otherwise reviewed.
3. **Known payer, exact open amount**: the payer's IBAN (learned from earlier matches) or
   its name (legal forms and punctuation ignored) is a client with exactly ONE open invoice
   of exactly this amount — 0.90, applied. Several such invoices, or none of that amount:
   reviewed with the payer's open invoices as candidates.
4. **Amount and date proximity**: open invoices of exactly this amount from anyone, closest
   due date first — reviewed, never applied (anyone may send that amount).

A credit that matches nothing waits for review without candidates. Debits are not matched.
:class:`OpenItems` keeps balances current within one import, so a second transfer for the
same invoice sees what the first one left.

>>> tokens = invoice_tokens("Rechnung INV-2026-000123 und -000124, inv 2026 7")
>>> sorted(tokens)
[('INV', 2026, 7), ('INV', 2026, 123), ('INV', 2026, 124)]
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .statements import StatementTransaction

AUTO = Decimal("0.90")  # at or above: applied without asking
MAX_CANDIDATES = 5


class Outcome(StrEnum):
    APPLIED = "applied"  # confident: apply to ``allocations``
    REVIEW = "review"  # uncertain: an operator picks among ``candidates``
    OUTGOING = "outgoing"  # a debit: stored, not matched


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    id: int
    number: str
    client_id: int
    client_name: str
    currency: str
    balance: Decimal
    due_date: date | None
    reference: str  # its ISO 11649 creditor reference (domain.payment_aids)


@dataclass(frozen=True, slots=True)
class Candidate:
    invoice_id: int
    number: str
    balance: Decimal
    score: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class Match:
    outcome: Outcome
    confidence: Decimal = Decimal(0)
    reason: str = ""
    allocations: tuple[tuple[int, Decimal], ...] = ()  # (invoice id, amount), for APPLIED
    candidates: tuple[Candidate, ...] = ()
    client_id: int | None = None


# -- reading the remittance text ---------------------------------------------------------------
_NUMBER = re.compile(r"(?<![A-Z])([A-Z]{2,5})[\s\-_/.#:]*(20\d{2})[\s\-_/.]*(\d{1,9})(?!\d)")
# a continuation is a bare sequence number: one followed by decimals is an amount ("1190.00")
_CONTINUATION = re.compile(r"^\s*(?:,|&|\+|/|UND|AND|ET|Y|E)?\s*[-/]?\s*(\d{3,9})(?!\d|[.,]\d)")
_LEGAL = re.compile(
    r"\b(GMBH|AG|KG|UG|LTD|LIMITED|INC|LLC|LLP|PLC|PVT|PRIVATE|SA|SAS|SARL|BV|NV|AB|AS|OY|"
    r"SRL|SPA|CO|CORP|CORPORATION|COMPANY|THE|UND|AND|&)\b"
)
_NON_ALNUM = re.compile(r"[^0-9A-Z]+")


def invoice_tokens(text: str) -> set[tuple[str, int, int]]:
    """(prefix, year, sequence) of every invoice number in ``text``, noise and all."""
    up = text.upper()
    found: set[tuple[str, int, int]] = set()
    for m in _NUMBER.finditer(up):
        prefix, year = m.group(1), int(m.group(2))
        found.add((prefix, year, int(m.group(3))))
        rest = up[m.end() :]
        while (c := _CONTINUATION.match(rest)) is not None:  # "… und -000124, -000125"
            found.add((prefix, year, int(c.group(1))))
            rest = rest[c.end() :]
    return found


def number_token(number: str) -> tuple[str, int, int] | None:
    m = _NUMBER.search(number.upper())
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def payer_name(name: str) -> str:
    """A name reduced for comparison: ``"ACME GmbH & Co. KG"`` → ``"ACME"``."""
    up = _NON_ALNUM.sub(" ", name.upper())
    return " ".join(_LEGAL.sub(" ", up).split())


def _compact(text: str) -> str:
    return _NON_ALNUM.sub("", text.upper())


# -- the open items of one import --------------------------------------------------------------
@dataclass
class OpenItems:
    """Open invoices of one currency, indexed for matching; balances follow what is applied."""

    invoices: dict[int, OpenInvoice] = field(default_factory=dict)
    order: dict[int, int] = field(default_factory=dict)  # oldest (due first) = 0
    prefixes: set[str] = field(default_factory=set)  # of our numbers: "INV"
    balance: dict[int, Decimal] = field(default_factory=dict)
    by_reference: dict[str, int] = field(default_factory=dict)
    by_token: dict[tuple[str, int, int], int] = field(default_factory=dict)
    by_client: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_amount: dict[Decimal, list[int]] = field(default_factory=lambda: defaultdict(list))
    clients_by_name: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    clients_by_iban: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def build(
        cls, invoices: Iterable[OpenInvoice], payer_ibans: Iterable[tuple[str, int]] = ()
    ) -> OpenItems:
        items = cls()
        for inv in sorted(invoices, key=lambda i: (i.due_date or date.max, i.id)):
            items.invoices[inv.id] = inv
            items.order[inv.id] = len(items.order)
            items.balance[inv.id] = inv.balance
            items.by_reference[inv.reference] = inv.id
            token = number_token(inv.number)
            if token:
                items.by_token[token] = inv.id
                items.prefixes.add(token[0])
            items.by_client[inv.client_id].append(inv.id)
            items.by_amount[inv.balance].append(inv.id)
            if name := payer_name(inv.client_name):
                items.clients_by_name[name].add(inv.client_id)
        for iban, client_id in payer_ibans:
            items.clients_by_iban[_compact(iban)].add(client_id)
        return items

    def open(self, invoice_id: int) -> bool:
        return self.balance.get(invoice_id, Decimal(0)) > 0

    def settle(self, invoice_id: int, amount: Decimal) -> None:
        """Record that ``amount`` was applied (by this import) to the invoice."""
        before = self.balance[invoice_id]
        after = max(before - amount, Decimal(0))
        self.balance[invoice_id] = after
        self.by_amount[before].remove(invoice_id)
        if after > 0:
            self.by_amount[after].append(invoice_id)

    def payer(self, tx: StatementTransaction) -> set[int]:
        if tx.counterparty_iban:
            by_iban = self.clients_by_iban.get(_compact(tx.counterparty_iban))
            if by_iban:
                return set(by_iban)
        if tx.counterparty_name:
            return set(self.clients_by_name.get(payer_name(tx.counterparty_name), ()))
        return set()

    def candidate(self, invoice_id: int, score: str, reason: str) -> Candidate:
        inv = self.invoices[invoice_id]
        return Candidate(inv.id, inv.number, self.balance[inv.id], Decimal(score), reason)


# -- the rules ---------------------------------------------------------------------------------
def match(tx: StatementTransaction, items: OpenItems) -> Match:
    """Decide one transaction against the open items (not changing them; see ``settle``)."""
    if not tx.is_credit:
        return Match(Outcome.OUTGOING)
    payer = items.payer(tx)
    decided = _by_reference(tx, items, payer)
    if decided is not None:
        return decided
    guess = _by_known_payer(tx, items, payer) or _by_amount(tx, items)
    if guess is None:
        return Match(Outcome.REVIEW, reason="nothing matched")
    if guess.outcome is Outcome.APPLIED and _names_something_else(tx, items):
        # the payer quotes an invoice of ours that is not open (paid twice?): ask
        return replace(guess, outcome=Outcome.REVIEW, reason="names an invoice that is not open")
    return guess


def _names_something_else(tx: StatementTransaction, items: OpenItems) -> bool:
    """The text quotes a creditor reference, or a number in one of our series."""
    if tx.structured_ref or re.search(r"RF\d{2}[0-9A-Z]{4}", _compact(tx.remittance)):
        return True
    return any(t[0] in items.prefixes for t in invoice_tokens(tx.remittance))


def _referenced(tx: StatementTransaction, items: OpenItems) -> tuple[list[int], str]:
    """Open invoices the transaction names: by RF reference, else by invoice number."""
    compact = _compact(" ".join(filter(None, [tx.structured_ref, tx.remittance])))
    refs = []
    for m in re.finditer("RF[0-9]{2}", compact):
        for end in range(min(len(compact), m.start() + 25), m.start() + 5, -1):
            hit = items.by_reference.get(compact[m.start() : end])
            if hit is not None:
                refs.append(hit)
                break
    if refs:
        return sorted(set(refs), key=items.order.__getitem__), "creditor reference"
    tokens = invoice_tokens(tx.remittance)
    numbered = {items.by_token[t] for t in tokens if t in items.by_token}
    return sorted(numbered, key=items.order.__getitem__), "invoice number"


def _by_reference(tx: StatementTransaction, items: OpenItems, payer: set[int]) -> Match | None:
    named, how = _referenced(tx, items)
    named = [i for i in named if items.open(i)]
    if not named:
        return None
    score = "1.00" if how == "creditor reference" else "0.95"
    candidates = tuple(items.candidate(i, score, how) for i in named)
    clients = {items.invoices[i].client_id for i in named}
    open_total = sum((items.balance[i] for i in named), Decimal(0))
    if len(clients) > 1 or (payer and not payer & clients):
        return Match(
            Outcome.REVIEW, Decimal("0.5"), f"{how} of another payer", candidates=candidates
        )
    if tx.amount > open_total:
        return Match(
            Outcome.REVIEW,
            Decimal("0.6"),
            f"{how}, amount above the open balance",
            candidates=candidates,
        )
    allocations, left = [], tx.amount
    for i in named:  # oldest first; a short amount leaves the last ones part-paid
        part = min(left, items.balance[i])
        if part > 0:
            allocations.append((i, part))
        left -= part
    return Match(
        Outcome.APPLIED, Decimal(score), how, tuple(allocations), candidates, clients.pop()
    )


def _by_known_payer(tx: StatementTransaction, items: OpenItems, payer: set[int]) -> Match | None:
    if not payer:
        return None
    theirs = [i for c in payer for i in items.by_client.get(c, ()) if items.open(i)]
    exact = [i for i in theirs if items.balance[i] == tx.amount]
    if len(exact) == 1 and len(payer) == 1:
        (only,) = exact
        cand = items.candidate(only, "0.90", "known payer, exact open amount")
        return Match(
            Outcome.APPLIED, AUTO, cand.reason, ((only, tx.amount),), (cand,), next(iter(payer))
        )
    if not theirs:
        return None
    ranked = sorted(
        theirs, key=lambda i: (items.balance[i] != tx.amount, abs(items.balance[i] - tx.amount))
    )
    candidates = tuple(
        items.candidate(
            i,
            "0.80" if items.balance[i] == tx.amount else "0.50",
            "known payer, exact open amount" if items.balance[i] == tx.amount else "known payer",
        )
        for i in ranked[:MAX_CANDIDATES]
    )
    return Match(
        Outcome.REVIEW,
        candidates[0].score,
        "known payer, amount not decisive",
        candidates=candidates,
    )


def _by_amount(tx: StatementTransaction, items: OpenItems) -> Match | None:
    same = [i for i in items.by_amount.get(tx.amount, ()) if items.open(i)]
    if not same:
        return None

    def distance(i: int) -> int:
        due = items.invoices[i].due_date
        return abs((tx.booking_date - due).days) if due else 10_000

    ranked = sorted(same, key=distance)[:MAX_CANDIDATES]
    candidates = tuple(
        items.candidate(
            i, "0.60" if distance(i) <= 14 else "0.40", "same amount, near the due date"
        )
        for i in ranked
    )
    return Match(Outcome.REVIEW, candidates[0].score, "amount and date only", candidates=candidates)


__all__ = [
    "AUTO",
    "Candidate",
    "Match",
    "OpenInvoice",
    "OpenItems",
    "Outcome",
    "invoice_tokens",
    "match",
    "number_token",
    "payer_name",
]
