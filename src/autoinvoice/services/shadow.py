"""Shadow mode's evidence: what rules *would* have issued, next to what the business issued
by hand over the same period.

Invoices are compared per client and calendar month: equal amounts match; what is left on
both sides pairs up as "different amounts"; the rest is "missing" (issued by hand, no rule
would have) or "extra" (a rule would have, nobody did). Gross is compared when both sides
have it, else net.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .ports import UnitOfWork


@dataclass(frozen=True)
class Billed:
    client: str
    day: date
    net: Decimal | None
    gross: Decimal | None
    currency: str | None
    ref: str


def _amount(b: Billed, use_gross: bool) -> Decimal | None:
    return b.gross if use_gross else b.net


def shadow_report(
    manual: list[Billed], start: date, end: date, *, uow: UnitOfWork
) -> dict[str, Any]:
    """Compare shadow firings in [start, end] with the manual invoices of that period."""
    with uow:
        shadows = []
        for f in uow.rule_firings.list(outcome="shadow", limit=100_000):
            day = f["fired_at"].date()
            if start <= day <= end:
                client = uow.clients.get(f["client_id"]).party.name
                shadows.append(
                    Billed(
                        client,
                        day,
                        f["net_total"],
                        f["gross_total"],
                        f["currency"],
                        f"{f['rule']}:{f['subject']}:{f['period']}",
                    )
                )
    use_gross = all(m.gross is not None for m in manual)
    groups: dict[tuple[str, str], tuple[list[Billed], list[Billed]]] = defaultdict(lambda: ([], []))
    for m in manual:
        if start <= m.day <= end:
            groups[(m.client.strip().casefold(), f"{m.day:%Y-%m}")][0].append(m)
    for s in shadows:
        groups[(s.client.strip().casefold(), f"{s.day:%Y-%m}")][1].append(s)
    rows: list[dict[str, Any]] = []
    for (_, month), (by_hand, by_rule) in sorted(groups.items()):
        by_rule = list(by_rule)
        left: list[Billed] = []
        for m in by_hand:
            twin = next(
                (s for s in by_rule if _amount(s, use_gross) == _amount(m, use_gross)), None
            )
            if twin is not None:
                by_rule.remove(twin)
                rows.append(_row("matched", m, twin, month, use_gross))
            else:
                left.append(m)
        for m, s in zip(left, by_rule, strict=False):
            rows.append(_row("different", m, s, month, use_gross))
        for m in left[len(by_rule) :]:
            rows.append(_row("missing", m, None, month, use_gross))
        for s in by_rule[len(left) :]:
            rows.append(_row("extra", None, s, month, use_gross))
    summary = {
        k: sum(1 for r in rows if r["status"] == k)
        for k in ("matched", "different", "missing", "extra")
    }
    return {"compared": "gross" if use_gross else "net", "summary": summary, "rows": rows}


def _row(
    status: str, m: Billed | None, s: Billed | None, month: str, gross: bool
) -> dict[str, Any]:
    return {
        "status": status,
        "client": (m or s).client if (m or s) else "",  # type: ignore[union-attr]
        "month": month,
        "manual": _amount(m, gross) if m else None,
        "manual_ref": m.ref if m else None,
        "shadow": _amount(s, gross) if s else None,
        "shadow_ref": s.ref if s else None,
        "difference": (_amount(s, gross) or 0) - (_amount(m, gross) or 0) if m and s else None,
    }
