"""Setting up what invoices are made from: issuing entities, series, clients, contracts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..domain.contracts import BillingModel, Contract
from ..domain.documents import Branding, DocumentSettings, check_bank
from ..domain.errors import InvalidValue
from ..domain.lint import CheckSettings
from ..domain.numbering import NumberSeries
from ..domain.parties import Party
from .ports import ClientRecord, Clock, EntityRecord, UnitOfWork


def create_entity(
    record: EntityRecord, series: NumberSeries, *, uow: UnitOfWork, clock: Clock, actor: str
) -> int:
    record = replace(record, bank=check_bank(record.bank))
    with uow:
        eid = uow.entities.add(record)
        uow.numbering.add_series(eid, "default", series)
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="entity.created",
            subject_type="entity",
            subject_id=eid,
            detail={"name": record.party.name},
        )
        uow.commit()
    return eid


DEFAULT_SERIES = NumberSeries("INV-{yyyy}-{seq:06d}", yearly_reset=True)


def save_organisation(record: EntityRecord, *, uow: UnitOfWork, clock: Clock, actor: str) -> int:
    """The organisation form: on a fresh installation create the issuing entity (with the
    default numbering series), afterwards change the first entity's legal identity, email,
    time zone and, when ``record.bank`` is not empty, its bank details (validated first)."""
    with uow:
        current = uow.entities.first()
    if current is None:
        return create_entity(record, DEFAULT_SERIES, uow=uow, clock=clock, actor=actor)
    bank = check_bank(record.bank) if record.bank else None
    with uow:
        old = uow.entities.get(current.id)
        uow.entities.update_profile(
            old.id, record.party, email=record.email, timezone=record.timezone
        )
        if bank is not None:
            uow.entities.update(old.id, bank=bank)
        changed = _party_changes(old.party, record.party)
        if old.email != record.email:
            changed["email"] = {"from": old.email, "to": record.email}
        if old.timezone != record.timezone:
            changed["timezone"] = {"from": old.timezone, "to": record.timezone}
        detail: dict[str, Any] = {"name": record.party.name, "changed": changed}
        if bank is not None:
            detail["bank"] = sorted(bank)  # which fields, not the numbers
        _changed(uow, clock, actor, "entity.updated", ("entity", old.id), detail)
        uow.commit()
    return old.id


def _party_changes(old: Party, new: Party) -> dict[str, dict[str, Any]]:
    def address(p: Party) -> list[str] | None:
        return [*p.address.formatted(), p.address.country] if p.address else None

    pairs: dict[str, tuple[Any, Any]] = {
        "name": (old.name, new.name),
        "address": (address(old), address(new)),
        "country": (old.country, new.country),
        "subdivision": (old.subdivision, new.subdivision),
        "emails": (list(old.emails), list(new.emails)),
        "tax_id": (old.tax_id, new.tax_id),
        "peppol_id": (old.peppol_id, new.peppol_id),
        "is_business": (old.is_business, new.is_business),
    }
    return {k: {"from": a, "to": b} for k, (a, b) in pairs.items() if a != b}


def update_client(record: ClientRecord, *, uow: UnitOfWork, clock: Clock, actor: str) -> None:
    """Replace a client's billing data and preferences (the client form); the audit entry
    names each field that changed, from and to."""
    with uow:
        old = uow.clients.get(record.id)
        record = replace(record, entity_id=old.entity_id)
        uow.clients.update(record)
        changed = _party_changes(old.party, record.party)
        for name in ("currency", "language", "timezone", "po_required", "payment_method"):
            a, b = getattr(old, name), getattr(record, name)
            if a != b:
                changed[name] = {"from": a, "to": b}
        if old.terms.code != record.terms.code:
            changed["terms"] = {"from": old.terms.code, "to": record.terms.code}
        detail = {"name": record.party.name, "changed": changed}
        _changed(uow, clock, actor, "client.updated", ("client", record.id), detail)
        uow.commit()


def add_client(record: ClientRecord, *, uow: UnitOfWork, clock: Clock, actor: str) -> int:
    with uow:
        uow.entities.get(record.entity_id)
        cid = uow.clients.add(record, clock.now())
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="client.created",
            subject_type="client",
            subject_id=cid,
            detail={"name": record.party.name},
        )
        uow.commit()
    return cid


def add_contract(
    contract: Contract,
    *,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
    bill_from: datetime | None = None,
) -> int:
    """Store a contract. A retainer bills its occurrences after ``bill_from`` (default now)."""
    now = clock.now()
    nxt = None
    if contract.model is BillingModel.RETAINER and contract.recurrence is not None:
        nxt = contract.recurrence.next_after(bill_from or now)
    with uow:
        uow.clients.get(contract.client_id or 0)
        cid = uow.contracts.add(contract, nxt)
        uow.audit.record(
            at=now,
            actor=actor,
            action="contract.created",
            subject_type="contract",
            subject_id=cid,
            detail={
                "name": contract.name,
                "model": contract.model.value,
                "next_run_at": nxt.isoformat() if nxt else None,
            },
        )
        uow.commit()
    return cid


def _changed(
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
    action: str,
    subject: tuple[str, int],
    detail: dict[str, Any],
) -> None:
    uow.audit.record(
        at=clock.now(),
        actor=actor,
        action=action,
        subject_type=subject[0],
        subject_id=subject[1],
        detail=detail,
    )


def update_entity_documents(
    entity_id: int,
    *,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
    branding: Branding | None = None,
    footer: str | None = None,
    bank: dict[str, str] | None = None,
) -> EntityRecord:
    """Change how an issuing entity's documents look and what they say about payment.
    Bank details are validated (IBAN/BIC with schwifty, IFSC, UPI) before anything changes."""
    checked = check_bank(bank) if bank is not None else None
    with uow:
        uow.entities.get(entity_id)
        uow.entities.update(entity_id, branding=branding, bank=checked, footer=footer)
        detail: dict[str, Any] = {}
        if branding is not None:
            detail["branding"] = branding.as_json()
            detail["logo_bytes"] = len(branding.logo) if branding.logo else 0
        if footer is not None:
            detail["footer"] = footer
        if checked is not None:
            detail["bank"] = sorted(checked)  # which fields, not the numbers
        _changed(uow, clock, actor, "entity.documents_changed", ("entity", entity_id), detail)
        uow.commit()
        return uow.entities.get(entity_id)


def update_checks(
    entity_id: int, settings: CheckSettings, *, uow: UnitOfWork, clock: Clock, actor: str
) -> None:
    with uow:
        uow.entities.get(entity_id)
        uow.entities.update(entity_id, checks=settings)
        detail = {"checks": {k: dict(v) for k, v in settings.values.items()}}
        _changed(uow, clock, actor, "entity.checks_changed", ("entity", entity_id), detail)
        uow.commit()


def set_client_documents(
    client_id: int, settings: DocumentSettings, *, uow: UnitOfWork, clock: Clock, actor: str
) -> None:
    with uow:
        uow.clients.get(client_id)
        uow.clients.set_documents(client_id, settings)
        detail = {"attach": list(settings.attach)}
        _changed(uow, clock, actor, "client.documents_changed", ("client", client_id), detail)
        uow.commit()


def _addresses(values: Sequence[str], field: str) -> tuple[str, ...]:
    out = []
    for i, raw in enumerate(values):
        value = raw.strip()
        local, at, domain = value.partition("@")
        if not at or not local or "." not in domain or " " in value:
            raise InvalidValue(f"{raw!r} is not an email address", field=f"{field}[{i}]")
        out.append(value)
    return tuple(dict.fromkeys(out))


def set_client_recipients(
    client_id: int,
    *,
    cc: Sequence[str],
    bcc: Sequence[str],
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
) -> None:
    """Who is copied on this client's invoice emails (the "to" are the client's emails)."""
    checked_cc, checked_bcc = _addresses(cc, "cc"), _addresses(bcc, "bcc")
    with uow:
        uow.clients.get(client_id)
        uow.clients.set_recipients(client_id, checked_cc, checked_bcc)
        detail = {"cc": list(checked_cc), "bcc": list(checked_bcc)}
        _changed(uow, clock, actor, "client.recipients_changed", ("client", client_id), detail)
        uow.commit()


def set_sandbox(
    entity_id: int, address: str | None, *, uow: UnitOfWork, clock: Clock, actor: str
) -> None:
    """Sandbox mode for an organisation: every email goes to ``address`` instead of to
    clients (the intended recipients are named in the message); ``None`` turns it off."""
    checked = _addresses([address], "sandbox_to")[0] if address else None
    with uow:
        uow.entities.get(entity_id)
        uow.entities.set_sandbox(entity_id, checked)
        detail = {"sandbox_to": checked}
        _changed(uow, clock, actor, "entity.sandbox_changed", ("entity", entity_id), detail)
        uow.commit()
