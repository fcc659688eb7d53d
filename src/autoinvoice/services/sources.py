"""Sources: the outside products a business connects — their secrets (sealed at rest),
their health, and the alerts to the owner when one goes stale or starts failing."""

from __future__ import annotations

import logging
import secrets as secrets_mod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ..domain.errors import InvalidValue
from .alerts import alert
from .connectors import SourceConfig, SourceSecrets
from .ports import Clock, SecretBox, SourceRecord, UnitOfWork

log = logging.getLogger(__name__)

SECRET_FIELDS = ("signing_secret", "api_token", "basic_user", "basic_password")


@dataclass(frozen=True)
class NewSource:
    kind: str
    name: str
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    api_base: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    field_map: dict[str, str] = field(default_factory=dict)
    max_age: timedelta | None = None
    poll_interval: timedelta | None = None


def add_source(
    new: NewSource,
    *,
    uow: UnitOfWork,
    clock: Clock,
    box: SecretBox,
    actor: str,
    kinds: Sequence[str],
) -> SourceRecord:
    if new.kind not in kinds:
        raise InvalidValue(
            f"unknown source kind {new.kind!r}; one of: {', '.join(kinds)}", field="kind"
        )
    if not new.name.strip():
        raise InvalidValue("a source needs a name", field="name")
    unknown = sorted(set(new.secrets) - set(SECRET_FIELDS))
    if unknown:
        raise InvalidValue(f"unknown secret fields {unknown}", field="secrets")
    now = clock.now()
    record = SourceRecord(
        id=0,
        kind=new.kind,
        name=new.name.strip(),
        url_token=secrets_mod.token_urlsafe(24),
        sealed_secrets=box.seal(new.secrets),
        config=SourceConfig(new.name.strip(), new.api_base, new.options, new.field_map),
        created_at=now,
        max_age=new.max_age,
        poll_interval=new.poll_interval,
        next_poll_at=now if new.poll_interval else None,
    )
    with uow:
        source_id = uow.sources.add(record)
        uow.audit.record(
            at=now,
            actor=actor,
            action="source.added",
            subject_type="source",
            subject_id=source_id,
            detail={"kind": new.kind, "name": record.name, "secrets": sorted(new.secrets)},
        )
        uow.commit()
    return replace(record, id=source_id)


def set_source_secrets(
    name: str, values: dict[str, str], *, uow: UnitOfWork, clock: Clock, box: SecretBox, actor: str
) -> None:
    unknown = sorted(set(values) - set(SECRET_FIELDS))
    if unknown:
        raise InvalidValue(f"unknown secret fields {unknown}", field="secrets")
    with uow:
        src = uow.sources.by_name(name)
        try:
            current = box.open(src.sealed_secrets)
        except ValueError:
            current = {}
        uow.sources.update(src.id, sealed_secrets=box.seal({**current, **values}))
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="source.secrets_changed",
            subject_type="source",
            subject_id=src.id,
            detail={"fields": sorted(values)},
        )
        uow.commit()


def set_source_enabled(
    name: str, enabled: bool, *, uow: UnitOfWork, clock: Clock, actor: str
) -> bool:
    """Switch a source on or off (a disabled source's webhooks are refused and it is not
    polled). Audited ``source.enabled`` / ``source.disabled``; False when nothing changed."""
    with uow:
        src = uow.sources.by_name(name)
        if src.enabled == enabled:
            return False
        uow.sources.update(src.id, enabled=enabled)
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="source.enabled" if enabled else "source.disabled",
            subject_type="source",
            subject_id=src.id,
            detail={"name": src.name},
        )
        uow.commit()
    return True


def set_source_options(
    name: str, options: dict[str, Any], *, uow: UnitOfWork, clock: Clock, actor: str
) -> None:
    """Replace a source's product options (e.g. HubSpot ``won_stages``); audited
    ``source.options_changed`` with the option names (options hold no secrets, but
    the names are enough to follow what changed)."""
    with uow:
        src = uow.sources.by_name(name)
        uow.sources.update(src.id, config=replace(src.config, options=dict(options)))
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="source.options_changed",
            subject_type="source",
            subject_id=src.id,
            detail={"name": src.name, "options": sorted(options)},
        )
        uow.commit()


def open_secrets(source: SourceRecord, box: SecretBox) -> SourceSecrets:
    values = box.open(source.sealed_secrets)
    return SourceSecrets(**{k: values.get(k) for k in SECRET_FIELDS})


def _source_failed(source: SourceRecord, error: str, *, uow: UnitOfWork, clock: Clock) -> None:
    now = clock.now()
    with uow:
        n = uow.sources.failed(source.id, now, error)
        if n == 1:  # it was healthy until now: tell the owner once, not on every retry
            alert_owner(
                uow,
                now,
                f"source:{source.name}",
                "source.failing",
                source.id,
                f"Source {source.name!r} ({source.kind}) started failing",
                f"The last request from {source.name!r} could not be processed:\n\n{error}\n\n"
                "`autoinvoice sources status` shows its health.",
            )
        uow.commit()


def alert_owner(
    uow: UnitOfWork,
    now: datetime,
    actor: str,
    action: str,
    source_id: int | None,
    subject: str,
    body: str,
) -> None:
    """An alert about a source: logged, audited, and mailed to the owner from the outbox."""
    alert(
        uow,
        now,
        actor,
        action=action,
        subject_type="source",
        subject_id=source_id,
        subject=subject,
        body=body,
    )


def check_source_health(*, uow: UnitOfWork, clock: Clock) -> list[str]:
    """Alert once when a source goes stale (log + email to the owner)."""
    now = clock.now()
    stale = []
    with uow:
        for src in uow.sources.list():
            if src.enabled and src.is_stale(now) and not src.stale_alerted:
                uow.sources.update(src.id, stale_alerted=True)
                last = src.last_success_at.isoformat() if src.last_success_at else "never"
                alert_owner(
                    uow,
                    now,
                    "scheduler",
                    "source.stale",
                    src.id,
                    f"Source {src.name!r} is stale",
                    f"Source {src.name!r} ({src.kind}) last synced successfully at {last}, "
                    f"longer ago than its allowed {src.max_age}. Invoices built from its data "
                    "are held for review until it syncs again.",
                )
                stale.append(src.name)
        uow.commit()
    return stale


__all__ = [
    "SECRET_FIELDS",
    "NewSource",
    "add_source",
    "alert_owner",
    "check_source_health",
    "open_secrets",
    "set_source_enabled",
    "set_source_options",
    "set_source_secrets",
]
