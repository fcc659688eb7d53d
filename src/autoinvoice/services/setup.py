"""Setting up what invoices are made from: issuing entities, series, clients, contracts."""

from __future__ import annotations

from datetime import datetime

from ..domain.contracts import BillingModel, Contract
from ..domain.numbering import NumberSeries
from .ports import ClientRecord, Clock, EntityRecord, UnitOfWork


def create_entity(
    record: EntityRecord, series: NumberSeries, *, uow: UnitOfWork, clock: Clock, actor: str
) -> int:
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
