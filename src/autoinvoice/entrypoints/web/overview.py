"""What the lists show beyond the stored figures: the business date, whether an invoice is
overdue, whether a client's billing data is complete.

Overdue is derived, never stored (DESIGN, convention 5): open, a balance left, and the due
date before today — today where the client is (issue 6), as the ``invoice.overdue`` webhook,
the reminders and the reports judge it. Dates a user enters (a payment received "today") are
the issuing entity's business date, the date its invoices carry.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from ...domain.invoice import OPEN_STATUSES
from ...domain.recurrence import zone
from ...services.ports import ClientRecord, EntityRecord, InvoiceSummary
from ...services.weekly_audit import incomplete_billing_data

_OPEN = frozenset(s.value for s in OPEN_STATUSES)


def business_today(now: datetime, entity: EntityRecord | None) -> date:
    return now.astimezone(zone(entity.timezone) if entity else UTC).date()


def client_today(now: datetime, timezone: str | None) -> date:
    """The date where the client is: an invoice is overdue once its due date has passed
    there — the same day the ``invoice.overdue`` webhook and the reminders go by."""
    return now.astimezone(zone(timezone) if timezone else UTC).date()


def summary_overdue(s: InvoiceSummary, now: datetime) -> bool:
    """The summary form of ``Invoice.is_overdue``, in the client's time zone."""
    if s.status not in _OPEN or s.due_date is None or s.balance <= 0:
        return False
    return client_today(now, s.client_timezone) > s.due_date


def is_open(status: str) -> bool:
    return status in _OPEN


def missing_billing_data(client: ClientRecord, seller_country: str | None) -> list[str]:
    """What an invoice to ``client`` would lack (see ``incomplete_billing_data``)."""
    return incomplete_billing_data(client, seller_country)
