"""Canonical events: what a connector makes of an outside signal, whatever product sent it.

Every connector (HubSpot, Jira, Toggl …) turns a verified request into zero or more
:class:`Event` s with the same vocabulary, so trigger rules never see a vendor's format.

Event types (``Event.type``) and the subject they are about:

=====================  ==============  ==================================================
type                   subject         meaning
=====================  ==============  ==================================================
``deal.won``           deal            a CRM deal reached a won stage
``deal.changed``       deal            any other change of a deal (stage, amount …)
``deal.lost``          deal            a deal was lost
``work.completed``     milestone,      a milestone, project or task was completed
                       project, task   (status Done, closed, completed state …)
``work.reopened``      (same)          it was reopened
``work.changed``       (same)          any other change
``time_entry.logged``  time_entry      a time entry was created or changed
``time_entry.deleted`` time_entry      a time entry was deleted
=====================  ==============  ==================================================

Canonical field names in ``Event.fields`` (a connector fills those its product has; values
are JSON types — amounts and hours as decimal *strings*, dates as ISO strings):

* references used for mapping to our records: ``client_ref`` (CRM company/organisation id),
  ``client_name``, ``project_ref`` (Jira project key, Linear team key, Asana project gid,
  ClickUp list id, GitHub repository full name, Toggl/Clockify/Harvest project id),
  ``project_name``;
* deals: ``deal_id``, ``name``, ``amount``, ``currency``, ``stage``, ``pipeline``,
  ``status`` (won/open/lost), ``close_date``, ``products`` (list of ``{name, quantity,
  unit_price}``);
* work: ``title`` (milestone / issue / task name), ``key`` (e.g. ``PROJ-12``), ``status``,
  ``status_category`` (done/…), ``labels`` (list of strings), ``url``;
* time: ``entry_id``, ``person``, ``person_ref``, ``task``, ``description``, ``hours``,
  ``day``, ``billable`` (bool), ``started_at``, ``updated_at``.

Ordering: vendors deliver at least once and out of order. ``version`` is the moment the
subject was in the state this event describes (default ``occurred_at``); an event older
than what is already known about its subject never undoes the newer state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .errors import InvalidValue


class Subject(StrEnum):
    DEAL = "deal"
    PROJECT = "project"
    MILESTONE = "milestone"
    TASK = "task"
    TIME_ENTRY = "time_entry"


DEAL_WON = "deal.won"
DEAL_CHANGED = "deal.changed"
DEAL_LOST = "deal.lost"
WORK_COMPLETED = "work.completed"
WORK_REOPENED = "work.reopened"
WORK_CHANGED = "work.changed"
TIME_LOGGED = "time_entry.logged"
TIME_DELETED = "time_entry.deleted"

EVENT_TYPES = frozenset(
    {
        DEAL_WON,
        DEAL_CHANGED,
        DEAL_LOST,
        WORK_COMPLETED,
        WORK_REOPENED,
        WORK_CHANGED,
        TIME_LOGGED,
        TIME_DELETED,
    }
)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened in a source, in our vocabulary (see the module docstring).

    ``dedupe_key`` is the vendor's own id for this event (or, where a product has none, a
    digest of what identifies it); the same key from the same source is processed once.
    ``needs_fetch`` marks an event that carries only ids (HubSpot property changes, Asana
    compact events): its connector reads the record over the vendor's API before rules
    see it."""

    type: str
    subject: Subject
    external_id: str
    occurred_at: datetime
    dedupe_key: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)
    needs_fetch: bool = False
    version: datetime | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise InvalidValue(f"unknown event type {self.type!r}", field="type")
        object.__setattr__(self, "subject", Subject(self.subject))
        if not str(self.external_id).strip():
            raise InvalidValue("the event names no subject id", field="external_id")
        object.__setattr__(self, "external_id", str(self.external_id))
        if self.occurred_at.tzinfo is None:
            raise InvalidValue("occurred_at must carry a time zone", field="occurred_at")
        if not self.dedupe_key:
            raise InvalidValue("the event has no dedupe key", field="dedupe_key")

    @property
    def moves_state(self) -> bool:
        """Won, lost, completed, reopened, logged, deleted: a state the subject is in, which a
        late, older event must not undo. ``*.changed`` events are only news about a subject
        (an amount edited, a comment): they neither undo a transition nor are undone."""
        return self.type not in (DEAL_CHANGED, WORK_CHANGED)

    @property
    def stamp(self) -> datetime:
        """The ordering stamp of the subject's state (``version`` or ``occurred_at``)."""
        return self.version or self.occurred_at


__all__ = [
    "DEAL_CHANGED",
    "DEAL_LOST",
    "DEAL_WON",
    "EVENT_TYPES",
    "TIME_DELETED",
    "TIME_LOGGED",
    "WORK_CHANGED",
    "WORK_COMPLETED",
    "WORK_REOPENED",
    "Event",
    "Subject",
]
