"""SQL repositories: explicit row ↔ domain mapping over one open connection (transaction).

Each class implements the port of the same name in ``services/ports.py``. A missing record
raises ``NotFound`` — nothing here returns ``None`` for "not there" except the look-ups whose
port says so.
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, update

from ...domain.contracts import BillingModel, Contract, Milestone, Rate
from ...domain.documents import DEFAULT_ACCENT, Branding, DocumentSettings
from ...domain.invoice import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from ...domain.lint import CheckSettings
from ...domain.money import HALF_UP, quantize
from ...domain.parties import Party
from ...domain.recurrence import Recurrence
from ...domain.tax import RoundingPolicy, TaxKind
from ...domain.terms import PaymentTerms
from ...services.errors import NotFound
from ...services.ports import (
    ApiKeyRecord,
    ClientRecord,
    EntityRecord,
    InvoiceSummary,
    UserRecord,
)
from . import tables as t
from .codec import (
    address_from_json,
    address_to_json,
    party_from_json,
    party_to_json,
    tax_from_json,
    tax_to_json,
)
from .multirow import insert_ids
from .upsert import insert_ignore


class _Repo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn


class SqlEntities(_Repo):
    def _record(self, r: Any) -> EntityRecord:
        party = Party(
            name=r.name,
            country=r.country,
            address=address_from_json(r.address),
            tax_id=r.tax_id,
            emails=(r.email,),
            subdivision=r.subdivision,
            peppol_id=r.peppol_id,
        )
        b = dict(r.branding or {})
        branding = Branding(
            layout=b.get("layout") or "classic",
            accent=b.get("accent") or DEFAULT_ACCENT,
            font=b.get("font"),
            logo=r.logo if b.get("logo_format") else None,
            logo_format=b.get("logo_format") if r.logo is not None else None,
        )
        return EntityRecord(
            r.id,
            party,
            r.email,
            r.timezone,
            r.locale,
            dict(r.bank or {}),
            r.footer or "",
            r.phone,
            branding,
            CheckSettings(dict(r.checks or {})),
            r.sandbox_to,
        )

    def get(self, entity_id: int) -> EntityRecord:
        r = self.conn.execute(
            select(t.issuing_entities).where(t.issuing_entities.c.id == entity_id)
        ).first()
        if r is None:
            raise NotFound(f"issuing entity {entity_id} does not exist", field="entity_id")
        return self._record(r)

    def first(self) -> EntityRecord | None:
        r = self.conn.execute(
            select(t.issuing_entities).order_by(t.issuing_entities.c.id).limit(1)
        ).first()
        return self._record(r) if r else None

    def add(self, record: EntityRecord) -> int:
        p = record.party
        return self.conn.execute(
            insert(t.issuing_entities)
            .values(
                name=p.name,
                country=p.country,
                subdivision=p.subdivision,
                address=address_to_json(p.address),
                tax_id=p.tax_id,
                email=record.email,
                phone=record.phone,
                bank=record.bank,
                timezone=record.timezone,
                locale=record.locale,
                footer=record.footer,
                peppol_id=p.peppol_id,
                branding=record.branding.as_json(),
                logo=record.branding.logo,
                checks={k: dict(v) for k, v in record.checks.values.items()},
                sandbox_to=record.sandbox_to,
            )
            .returning(t.issuing_entities.c.id)
        ).scalar_one()

    def update(
        self,
        entity_id: int,
        *,
        branding: Branding | None = None,
        checks: CheckSettings | None = None,
        bank: dict[str, str] | None = None,
        footer: str | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if branding is not None:
            values.update(branding=branding.as_json(), logo=branding.logo)
        if checks is not None:
            values["checks"] = {k: dict(v) for k, v in checks.values.items()}
        if bank is not None:
            values["bank"] = bank
        if footer is not None:
            values["footer"] = footer
        if values:
            self.conn.execute(
                update(t.issuing_entities)
                .where(t.issuing_entities.c.id == entity_id)
                .values(**values)
            )

    def set_sandbox(self, entity_id: int, address: str | None) -> None:
        self.conn.execute(
            update(t.issuing_entities)
            .where(t.issuing_entities.c.id == entity_id)
            .values(sandbox_to=address)
        )

    def update_profile(self, entity_id: int, party: Party, *, email: str, timezone: str) -> None:
        done = self.conn.execute(
            update(t.issuing_entities)
            .where(t.issuing_entities.c.id == entity_id)
            .values(
                name=party.name,
                country=party.country,
                subdivision=party.subdivision,
                address=address_to_json(party.address),
                tax_id=party.tax_id,
                peppol_id=party.peppol_id,
                email=email,
                timezone=timezone,
            )
        )
        if not done.rowcount:
            raise NotFound(f"issuing entity {entity_id} does not exist", field="entity_id")


class SqlClients(_Repo):
    def _record(self, r: Any) -> ClientRecord:
        party = Party(
            name=r.name,
            country=r.country,
            address=address_from_json(r.address),
            tax_id=r.tax_id,
            emails=tuple(r.emails or ()),
            is_business=r.is_business,
            subdivision=r.subdivision,
            peppol_id=r.peppol_id,
        )
        return ClientRecord(
            r.id,
            r.entity_id,
            party,
            r.currency,
            PaymentTerms.parse(r.terms),
            r.language,
            r.timezone,
            DocumentSettings(tuple((r.documents or {}).get("attach") or ("pdf",))),
            tuple(r.cc or ()),
            tuple(r.bcc or ()),
            bool(r.po_required),
            r.payment_method,
        )

    def get(self, client_id: int) -> ClientRecord:
        r = self.conn.execute(select(t.clients).where(t.clients.c.id == client_id)).first()
        if r is None:
            raise NotFound(f"client {client_id} does not exist", field="client_id")
        return self._record(r)

    def get_many(self, ids: Sequence[int]) -> dict[int, ClientRecord]:
        rows = self.conn.execute(select(t.clients).where(t.clients.c.id.in_(list(set(ids)))))
        return {r.id: self._record(r) for r in rows}

    def list(self) -> builtins.list[ClientRecord]:
        return [
            self._record(r) for r in self.conn.execute(select(t.clients).order_by(t.clients.c.name))
        ]

    def add(self, record: ClientRecord, created_at: datetime) -> int:
        p = record.party
        return self.conn.execute(
            insert(t.clients)
            .values(
                entity_id=record.entity_id,
                name=p.name,
                country=p.country,
                subdivision=p.subdivision,
                address=address_to_json(p.address),
                tax_id=p.tax_id,
                emails=list(p.emails),
                is_business=p.is_business,
                currency=record.currency,
                terms=record.terms.code,
                language=record.language,
                timezone=record.timezone,
                created_at=created_at,
                peppol_id=p.peppol_id,
                documents={"attach": list(record.documents.attach)},
                cc=list(record.cc),
                bcc=list(record.bcc),
                po_required=record.po_required,
                payment_method=record.payment_method,
            )
            .returning(t.clients.c.id)
        ).scalar_one()

    def existing_portal_token(self, client_id: int) -> str | None:
        token = self.conn.execute(
            select(t.clients.c.portal_token).where(t.clients.c.id == client_id)
        ).scalar()
        return str(token) if token else None

    def portal_token(self, client_id: int) -> str:
        """The token of the client's own page, made on first use."""
        return self.existing_portal_token(client_id) or self.rotate_portal_token(client_id)

    def rotate_portal_token(self, client_id: int) -> str:
        token = secrets.token_urlsafe(32)
        done = self.conn.execute(
            update(t.clients).where(t.clients.c.id == client_id).values(portal_token=token)
        )
        if not done.rowcount:
            raise NotFound(f"client {client_id} does not exist", field="client_id")
        return token

    def by_portal_token(self, token: str) -> ClientRecord:
        r = self.conn.execute(select(t.clients).where(t.clients.c.portal_token == token)).first()
        if r is None or not token:
            raise NotFound("no such client link", field="token")
        return self._record(r)

    def set_recipients(self, client_id: int, cc: Sequence[str], bcc: Sequence[str]) -> None:
        self.conn.execute(
            update(t.clients).where(t.clients.c.id == client_id).values(cc=list(cc), bcc=list(bcc))
        )

    def set_documents(self, client_id: int, settings: DocumentSettings) -> None:
        self.conn.execute(
            update(t.clients)
            .where(t.clients.c.id == client_id)
            .values(documents={"attach": list(settings.attach)})
        )

    def update_billing(
        self, client_id: int, party: Party, *, po_required: bool, payment_method: str | None
    ) -> None:
        done = self.conn.execute(
            update(t.clients)
            .where(t.clients.c.id == client_id)
            .values(
                name=party.name,
                country=party.country,
                subdivision=party.subdivision,
                address=address_to_json(party.address),
                tax_id=party.tax_id,
                emails=list(party.emails),
                peppol_id=party.peppol_id,
                po_required=po_required,
                payment_method=payment_method,
            )
        )
        if not done.rowcount:
            raise NotFound(f"client {client_id} does not exist", field="client_id")

    def update(self, record: ClientRecord) -> None:
        p = record.party
        done = self.conn.execute(
            update(t.clients)
            .where(t.clients.c.id == record.id)
            .values(
                name=p.name,
                country=p.country,
                subdivision=p.subdivision,
                address=address_to_json(p.address),
                tax_id=p.tax_id,
                emails=list(p.emails),
                is_business=p.is_business,
                peppol_id=p.peppol_id,
                currency=record.currency,
                terms=record.terms.code,
                language=record.language,
                timezone=record.timezone,
                po_required=record.po_required,
                payment_method=record.payment_method,
            )
        )
        if not done.rowcount:
            raise NotFound(f"client {record.id} does not exist", field="client_id")


class SqlContracts(_Repo):
    def _contract(self, r: Any) -> Contract:
        rec = None
        if r.rrule:
            rec = Recurrence(r.rrule, r.timezone, datetime.fromisoformat(r.dtstart))
        return Contract(
            id=r.id,
            client_id=r.client_id,
            name=r.name,
            model=BillingModel(r.model),
            currency=r.currency,
            terms=PaymentTerms.parse(r.terms),
            tax_kind=TaxKind(r.tax_kind),
            description=r.description or "",
            amount=r.amount,
            seats=r.seats,
            seat_price=r.seat_price,
            recurrence=rec,
            milestones=tuple(Milestone(m["name"], Decimal(m["amount"])) for m in r.milestones),
            rates=tuple(Rate(x["role"], Decimal(x["hourly"])) for x in r.rates),
            starts_on=r.starts_on,
            ends_on=r.ends_on,
            active=r.active,
        )

    def get(self, contract_id: int) -> Contract:
        r = self.conn.execute(select(t.contracts).where(t.contracts.c.id == contract_id)).first()
        if r is None:
            raise NotFound(f"contract {contract_id} does not exist", field="contract_id")
        return self._contract(r)

    def list(self, client_id: int | None = None) -> builtins.list[Contract]:
        q = select(t.contracts).order_by(t.contracts.c.id)
        if client_id is not None:
            q = q.where(t.contracts.c.client_id == client_id)
        return [self._contract(r) for r in self.conn.execute(q)]

    def add(self, contract: Contract, next_run_at: datetime | None) -> int:
        c = contract
        rec = c.recurrence
        return self.conn.execute(
            insert(t.contracts)
            .values(
                client_id=c.client_id,
                name=c.name,
                model=c.model.value,
                currency=c.currency,
                terms=c.terms.code,
                tax_kind=c.tax_kind.value,
                description=c.description,
                amount=c.amount,
                seats=c.seats,
                seat_price=c.seat_price,
                rrule=rec.rule if rec else None,
                timezone=rec.timezone if rec else None,
                dtstart=rec.dtstart.isoformat() if rec else None,
                milestones=[{"name": m.name, "amount": str(m.amount)} for m in c.milestones],
                rates=[{"role": x.role, "hourly": str(x.hourly)} for x in c.rates],
                starts_on=c.starts_on,
                ends_on=c.ends_on,
                active=c.active,
                next_run_at=next_run_at,
            )
            .returning(t.contracts.c.id)
        ).scalar_one()

    def due(self, now: datetime, limit: int) -> builtins.list[tuple[Contract, datetime]]:
        q = (
            select(t.contracts)
            .where(t.contracts.c.active.is_(True), t.contracts.c.next_run_at <= now)
            .order_by(t.contracts.c.next_run_at, t.contracts.c.id)
            .limit(limit)
        )
        return [(self._contract(r), r.next_run_at) for r in self.conn.execute(q)]

    def rewind(self, contract_id: int, occurrence: datetime) -> None:
        c = t.contracts.c
        self.conn.execute(
            update(t.contracts)
            .where(c.id == contract_id, or_(c.next_run_at.is_(None), c.next_run_at > occurrence))
            .values(next_run_at=occurrence)
        )

    def advance(self, contract_id: int, fired: datetime, following: datetime | None) -> None:
        c = t.contracts.c
        self.conn.execute(
            update(t.contracts)
            .where(c.id == contract_id, c.next_run_at <= fired)
            .values(next_run_at=following)
        )


# built once; values are bound per call (cheaper than .values() on every insert)
_INSERT_INVOICE = insert(t.invoices).returning(t.invoices.c.id)
_INSERT_AUDIT = insert(t.audit_log)
_UPDATE_BY_ID = update(t.invoices).where(t.invoices.c.id == bindparam("_id"))
_PAYMENT_KEYS = (
    "client_id",
    "invoice_id",
    "amount",
    "applied",
    "currency",
    "method",
    "reference",
    "received_at",
    "recorded_at",
    "idempotency_key",
)
_LIFECYCLE = (
    "status",
    "amount_paid",
    "hold_reason",
    "issued_at",
    "sent_at",
    "viewed_at",
    "paid_at",
    "voided_at",
    "void_reason",
)


class SqlInvoices(_Repo):
    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self._stored_status: dict[int, str] = {}  # as loaded in this transaction

    def add(self, invoice: Invoice, *, seq: int | None = None) -> int:
        inv_id = self.conn.execute(
            _INSERT_INVOICE,
            dict(
                **self._document_values(invoice),
                **self._lifecycle_values(invoice),
                seq=seq,
                entity_id=invoice.entity_id,
                client_id=invoice.client_id,
                contract_id=invoice.contract_id,
                series_id=invoice.series_id,
                kind=invoice.kind.value,
                currency=invoice.currency,
                source_key=invoice.source_key,
                created_at=invoice.created_at,
                portal_token=secrets.token_urlsafe(32),
            ),
        ).scalar_one()
        invoice.id = inv_id
        self._insert_lines(invoice)
        self._stored_status[inv_id] = invoice.status.value
        return inv_id

    @staticmethod
    def _lifecycle_values(inv: Invoice) -> dict[str, Any]:
        return {
            k: (getattr(inv, k).value if k == "status" else getattr(inv, k)) for k in _LIFECYCLE
        }

    @staticmethod
    def _document_values(inv: Invoice) -> dict[str, Any]:
        totals = inv.totals()
        return dict(
            number=inv.number,
            terms=inv.terms.code,
            rounding=inv.rounding.value,
            issue_date=inv.issue_date,
            due_date=inv.due_date,
            seller=party_to_json(inv.seller),
            buyer=party_to_json(inv.buyer),
            net_total=totals.net.amount,
            tax_total=totals.tax.amount,
            gross_total=totals.gross.amount,
            buyer_reference=inv.buyer_reference,
            notes=list(inv.notes),
        )

    def _insert_lines(self, inv: Invoice) -> None:
        if inv.lines:
            self.conn.execute(
                insert(t.invoice_lines),
                [
                    dict(
                        invoice_id=inv.id,
                        position=i,
                        description=ln.description,
                        quantity=ln.quantity,
                        unit=ln.unit,
                        unit_price=ln.unit_price,
                        tax=tax_to_json(ln.tax),
                        net_amount=ln.net(inv.currency),
                        period_start=ln.period_start,
                        period_end=ln.period_end,
                        line_group=ln.group,
                    )
                    for i, ln in enumerate(inv.lines, 1)
                ],
            )

    def save(self, invoice: Invoice, *, seq: int | None = None) -> None:
        assert invoice.id is not None
        stored = self._stored_status.get(invoice.id)
        if stored is None:
            stored = self.conn.execute(
                select(t.invoices.c.status).where(t.invoices.c.id == invoice.id)
            ).scalar_one()
        values = self._lifecycle_values(invoice)
        if stored == InvoiceStatus.DRAFT.value:
            # a draft is rewritten whole; issued documents are immutable, so after issue
            # only lifecycle and payment fields are ever written (whatever the caller did)
            values.update(self._document_values(invoice))
            if seq is not None:
                values["seq"] = seq
            self.conn.execute(
                delete(t.invoice_lines).where(t.invoice_lines.c.invoice_id == invoice.id)
            )
            self._insert_lines(invoice)
        self.conn.execute(update(t.invoices).where(t.invoices.c.id == invoice.id).values(**values))
        self._stored_status[invoice.id] = invoice.status.value

    def save_many(self, invoices: Sequence[Invoice]) -> None:
        rows = []
        for inv in invoices:
            assert inv.id is not None
            if self._stored_status.get(inv.id) in (None, InvoiceStatus.DRAFT.value):
                self.save(inv)  # a draft (or one not read here) is saved the careful way
                continue
            rows.append({"_id": inv.id, **self._lifecycle_values(inv)})
            self._stored_status[inv.id] = inv.status.value
        if rows:  # SET takes the columns of the parameters
            self.conn.execute(_UPDATE_BY_ID, rows)

    def delete_draft(self, invoice_id: int) -> None:
        inv = self.get(invoice_id)
        if inv.status is not InvoiceStatus.DRAFT:
            from ...domain.errors import InvoiceImmutable

            raise InvoiceImmutable(
                f"invoice {inv.number} is {inv.status}; only drafts are deleted", field="status"
            )
        self.conn.execute(delete(t.invoice_lines).where(t.invoice_lines.c.invoice_id == invoice_id))
        self.conn.execute(delete(t.invoices).where(t.invoices.c.id == invoice_id))

    def _lines_of(self, ids: list[int]) -> dict[int, list[InvoiceLine]]:
        out: dict[int, list[InvoiceLine]] = {i: [] for i in ids}
        q = (
            select(t.invoice_lines)
            .where(t.invoice_lines.c.invoice_id.in_(ids))
            .order_by(t.invoice_lines.c.invoice_id, t.invoice_lines.c.position)
        )
        for x in self.conn.execute(q):
            out[x.invoice_id].append(
                InvoiceLine(
                    description=x.description,
                    quantity=x.quantity,
                    unit_price=x.unit_price,
                    tax=tax_from_json(x.tax),
                    unit=x.unit,
                    period_start=x.period_start,
                    period_end=x.period_end,
                    group=x.line_group,
                )
            )
        return out

    def _load(self, r: Any, lines: list[InvoiceLine] | None = None) -> Invoice:
        self._stored_status[r.id] = r.status
        if lines is None:
            lines = self._lines_of([r.id])[r.id]
        return Invoice(
            seller=party_from_json(r.seller),
            buyer=party_from_json(r.buyer),
            currency=r.currency,
            terms=PaymentTerms.parse(r.terms),
            lines=lines,
            status=InvoiceStatus(r.status),
            kind=InvoiceKind(r.kind),
            id=r.id,
            number=r.number,
            issue_date=r.issue_date,
            due_date=r.due_date,
            rounding=RoundingPolicy(r.rounding),
            amount_paid=r.amount_paid,
            issued_at=r.issued_at,
            sent_at=r.sent_at,
            viewed_at=r.viewed_at,
            paid_at=r.paid_at,
            voided_at=r.voided_at,
            void_reason=r.void_reason,
            buyer_reference=r.buyer_reference,
            notes=tuple(r.notes or ()),
            entity_id=r.entity_id,
            client_id=r.client_id,
            contract_id=r.contract_id,
            series_id=r.series_id,
            source_key=r.source_key,
            hold_reason=r.hold_reason,
            created_at=r.created_at,
            corrects=self._corrects(r.id) if r.kind == InvoiceKind.CREDIT_NOTE.value else None,
        )

    def _corrects(self, credit_note_id: int) -> tuple[str, Any] | None:
        """The number and issue date of the invoice a credit note corrects (BT-25, BT-26)."""
        i, cn = t.invoices, t.credit_notes
        row = self.conn.execute(
            select(i.c.number, i.c.issue_date)
            .join(cn, cn.c.invoice_id == i.c.id)
            .where(cn.c.id == credit_note_id)
        ).first()
        return (row.number, row.issue_date) if row and row.number else None

    def get_many(self, ids: Sequence[int], *, for_update: bool = False) -> dict[int, Invoice]:
        wanted = sorted(set(ids))  # a fixed order: row locks taken in id order cannot deadlock
        if not wanted:
            return {}
        q = select(t.invoices).where(t.invoices.c.id.in_(wanted)).order_by(t.invoices.c.id)
        if for_update:
            q = q.with_for_update()
        rows = self.conn.execute(q).all()
        lines = self._lines_of([r.id for r in rows])
        return {r.id: self._load(r, lines[r.id]) for r in rows}

    def portal_tokens(self, ids: Sequence[int]) -> dict[int, str]:
        rows = self.conn.execute(
            select(t.invoices.c.id, t.invoices.c.portal_token).where(t.invoices.c.id.in_(list(ids)))
        )
        return {i: tok for i, tok in rows if tok}

    def _one(self, where: Any, what: str, for_update: bool = False) -> Invoice:
        q = select(t.invoices).where(where)
        if for_update:
            q = q.with_for_update()
        r = self.conn.execute(q).first()
        if r is None:
            raise NotFound(f"invoice {what} does not exist", field="invoice")
        return self._load(r)

    def get(self, invoice_id: int, *, for_update: bool = False) -> Invoice:
        return self._one(t.invoices.c.id == invoice_id, str(invoice_id), for_update)

    def by_number(self, number: str) -> Invoice:
        return self._one(t.invoices.c.number == number, repr(number))

    def summaries(
        self,
        *,
        status: str | None = None,
        client_id: int | None = None,
        limit: int = 200,
        after_id: int | None = None,
        kind: str | None = None,
        issued_from: date | None = None,
        issued_to: date | None = None,
        number: str | None = None,
    ) -> list[InvoiceSummary]:
        i, c = t.invoices, t.clients
        q = (
            select(
                i.c.id,
                i.c.number,
                i.c.client_id,
                c.c.name,
                i.c.status,
                i.c.kind,
                i.c.currency,
                i.c.gross_total,
                i.c.amount_paid,
                i.c.issue_date,
                i.c.due_date,
                i.c.hold_reason,
                c.c.timezone,
            )
            .join(c, c.c.id == i.c.client_id)
            .order_by(i.c.id.desc())
            .limit(limit)
        )
        if status:
            q = q.where(i.c.status == status)
        if client_id is not None:
            q = q.where(i.c.client_id == client_id)
        if after_id is not None:
            q = q.where(i.c.id < after_id)
        if kind:
            q = q.where(i.c.kind == kind)
        if issued_from is not None:
            q = q.where(i.c.issue_date >= issued_from)
        if issued_to is not None:
            q = q.where(i.c.issue_date <= issued_to)
        if number:
            q = q.where(func.lower(i.c.number).contains(number.lower(), autoescape=True))
        return [
            InvoiceSummary(
                id=row.id,
                number=row.number,
                client_id=row.client_id,
                client_name=row.name,
                status=row.status,
                kind=row.kind,
                currency=row.currency,
                gross=quantize(row.gross_total, row.currency, HALF_UP),
                paid=quantize(row.amount_paid, row.currency, HALF_UP),
                issue_date=row.issue_date,
                due_date=row.due_date,
                hold_reason=row.hold_reason,
                client_timezone=row.timezone,
            )
            for row in self.conn.execute(q)
        ]

    def portal_token(self, invoice_id: int) -> str:
        """The client-portal token, made when the invoice was stored."""
        token = self.conn.execute(
            select(t.invoices.c.portal_token).where(t.invoices.c.id == invoice_id)
        ).scalar()
        if not token:
            raise NotFound(f"invoice {invoice_id} does not exist", field="invoice")
        return str(token)

    def by_portal_token(self, token: str) -> Invoice:
        if not token:
            raise NotFound("no such invoice link", field="token")
        return self._one(t.invoices.c.portal_token == token, "link")

    def rotate_portal_token(self, invoice_id: int) -> str:
        """A new link for the invoice; the old one stops working at once."""
        token = secrets.token_urlsafe(32)
        done = self.conn.execute(
            update(t.invoices).where(t.invoices.c.id == invoice_id).values(portal_token=token)
        )
        if not done.rowcount:
            raise NotFound(f"invoice {invoice_id} does not exist", field="invoice")
        return token


class SqlDocuments(_Repo):
    def get(self, invoice_id: int, kind: str) -> bytes | None:
        return self.conn.execute(
            select(t.documents.c.content).where(
                t.documents.c.invoice_id == invoice_id, t.documents.c.kind == kind
            )
        ).scalar()

    def get_many(self, ids: Sequence[int], kind: str) -> dict[int, bytes]:
        rows = self.conn.execute(
            select(t.documents.c.invoice_id, t.documents.c.content).where(
                t.documents.c.invoice_id.in_(list(ids)), t.documents.c.kind == kind
            )
        )
        return {i: c for i, c in rows}

    def put(self, invoice_id: int, kind: str, content: bytes, at: datetime) -> None:
        # the first stored document wins: an issued invoice's PDF is never replaced
        insert_ignore(
            self.conn,
            t.documents,
            ["invoice_id", "kind"],
            invoice_id=invoice_id,
            kind=kind,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            created_at=at,
        )


class SqlPayments(_Repo):
    def add(
        self,
        *,
        client_id: int,
        invoice_id: int | None,
        amount: Decimal,
        applied: Decimal,
        currency: str,
        method: str,
        reference: str | None,
        received_at: datetime,
        recorded_at: datetime,
        idempotency_key: str | None,
    ) -> int:
        return self.conn.execute(
            insert(t.payments)
            .values(
                client_id=client_id,
                invoice_id=invoice_id,
                amount=amount,
                applied=applied,
                currency=currency,
                method=method,
                reference=reference,
                received_at=received_at,
                recorded_at=recorded_at,
                idempotency_key=idempotency_key,
            )
            .returning(t.payments.c.id)
        ).scalar_one()

    def by_key(self, idempotency_key: str) -> tuple[int, int | None] | None:
        row = self.conn.execute(
            select(t.payments.c.id, t.payments.c.invoice_id).where(
                t.payments.c.idempotency_key == idempotency_key
            )
        ).first()
        return (row[0], row[1]) if row else None

    def by_keys(self, keys: Sequence[str]) -> dict[str, tuple[int, int | None]]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        p = t.payments.c
        q = select(p.idempotency_key, p.id, p.invoice_id).where(p.idempotency_key.in_(wanted))
        return {key: (pid, inv_id) for key, pid, inv_id in self.conn.execute(q)}

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if not rows:
            return []
        params = [{k: r[k] for k in _PAYMENT_KEYS} for r in rows]
        return insert_ids(self.conn, t.payments, params, ("idempotency_key",))

    def for_invoice(self, invoice_id: int) -> list[dict[str, Any]]:
        """Payments with a part on this invoice (``applied`` is that part; ``reversed_at`` is
        set when it was undone), and payments for it that went wholly to client credit."""
        p, a = t.payments, t.payment_allocations
        parts = self.conn.execute(
            select(p, a.c.amount.label("part"), a.c.reversed_at)
            .join(a, a.c.payment_id == p.c.id)
            .where(a.c.invoice_id == invoice_id)
        )
        out = {r.id: {**r._mapping, "applied": r.part} for r in parts}
        for r in self.conn.execute(select(p).where(p.c.invoice_id == invoice_id)):
            out.setdefault(r.id, {**r._mapping, "applied": Decimal(0), "reversed_at": None})
        for row in out.values():
            row.pop("part", None)
        return sorted(out.values(), key=lambda r: (r["received_at"], r["id"]))

    def for_client(self, client_id: int) -> list[dict[str, Any]]:
        """All the client's payments, a reversed one too: ``reversed_at`` and
        ``reversal_reason`` are set when it was undone (None otherwise), so a statement shows
        the payment on its day and the reversal on its own."""
        p, r = t.payments, t.payment_reversals
        rows = self.conn.execute(
            select(p, r.c.reversed_at, r.c.reason.label("reversal_reason"))
            .outerjoin(r, r.c.payment_id == p.c.id)
            .where(p.c.client_id == client_id)
            .order_by(p.c.received_at, p.c.id)
        )
        return [dict(r._mapping) for r in rows]


class SqlCredits(_Repo):
    def add(
        self,
        *,
        client_id: int,
        amount: Decimal,
        currency: str,
        payment_id: int | None,
        note: str,
        at: datetime,
    ) -> None:
        self.conn.execute(
            insert(t.client_credits).values(
                client_id=client_id,
                amount=amount,
                currency=currency,
                payment_id=payment_id,
                note=note,
                created_at=at,
            )
        )

    def balance(self, client_id: int, currency: str) -> Decimal:
        # summed in Python: SQLite keeps these exact decimals as text
        rows = self.conn.execute(
            select(t.client_credits.c.amount).where(
                t.client_credits.c.client_id == client_id, t.client_credits.c.currency == currency
            )
        )
        return sum((r[0] for r in rows), Decimal(0))


def _audit_row(
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int | None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return dict(
        at=at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        detail=detail or {},
    )


class SqlAudit(_Repo):
    def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str | int | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.conn.execute(
            _INSERT_AUDIT, _audit_row(at, actor, action, subject_type, subject_id, detail)
        )

    def record_many(self, entries: Sequence[dict[str, Any]]) -> None:
        if entries:
            self.conn.execute(_INSERT_AUDIT, [_audit_row(**e) for e in entries])

    def recent(
        self, limit: int = 100, subject_type: str | None = None, subject_id: str | None = None
    ) -> list[dict[str, Any]]:
        q = select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit)
        if subject_type:
            q = q.where(t.audit_log.c.subject_type == subject_type)
        if subject_id is not None:
            q = q.where(t.audit_log.c.subject_id == str(subject_id))
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        subject_type: str | None = None,
        subject_id: str | None = None,
        since: datetime | None = None,
        before: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        a = t.audit_log.c
        q = select(t.audit_log).order_by(a.id.desc()).limit(limit)
        if actor:
            q = q.where(func.lower(a.actor).contains(actor.lower(), autoescape=True))
        if action:
            q = q.where(a.action == action)
        if subject_type:
            q = q.where(a.subject_type == subject_type)
        if subject_id:
            q = q.where(a.subject_id == subject_id)
        if since is not None:
            q = q.where(a.at >= since)
        if before is not None:
            q = q.where(a.at < before)
        if before_id is not None:
            q = q.where(a.id < before_id)
        return [dict(r._mapping) for r in self.conn.execute(q)]

    def actions(self) -> list[str]:
        a = t.audit_log.c
        return list(self.conn.execute(select(a.action).distinct().order_by(a.action)).scalars())

    def has_action(self, actions: Sequence[str]) -> bool:
        q = select(t.audit_log.c.id).where(t.audit_log.c.action.in_(list(actions))).limit(1)
        return self.conn.execute(q).first() is not None


class SqlUsers(_Repo):
    def add(self, email: str, password_hash: str, role: str, at: datetime) -> int:
        return self.conn.execute(
            insert(t.users)
            .values(
                email=email.lower(),
                password_hash=password_hash,
                role=role,
                created_at=at,
            )
            .returning(t.users.c.id)
        ).scalar_one()

    def by_email(self, email: str) -> UserRecord | None:
        r = self.conn.execute(select(t.users).where(t.users.c.email == email.lower())).first()
        return UserRecord(r.id, r.email, r.password_hash, r.role) if r else None

    def get(self, user_id: int) -> UserRecord:
        r = self.conn.execute(select(t.users).where(t.users.c.id == user_id)).first()
        if r is None:
            raise NotFound(f"user {user_id} does not exist", field="user_id")
        return UserRecord(r.id, r.email, r.password_hash, r.role)

    def count(self) -> int:
        return self.conn.execute(select(func.count()).select_from(t.users)).scalar_one()

    def set_password(self, user_id: int, password_hash: str) -> None:
        self.conn.execute(
            update(t.users).where(t.users.c.id == user_id).values(password_hash=password_hash)
        )

    def signed_in(self, user_id: int, at: datetime) -> None:
        self.conn.execute(update(t.users).where(t.users.c.id == user_id).values(last_login_at=at))

    def add_key(
        self,
        *,
        user_id: int,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: Sequence[str],
        at: datetime,
    ) -> int:
        return self.conn.execute(
            insert(t.api_keys)
            .values(
                user_id=user_id,
                name=name,
                prefix=prefix,
                key_hash=key_hash,
                scopes=",".join(scopes),
                created_at=at,
            )
            .returning(t.api_keys.c.id)
        ).scalar_one()

    def key_by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        r = self.conn.execute(select(t.api_keys).where(t.api_keys.c.prefix == prefix)).first()
        if r is None:
            return None
        return ApiKeyRecord(
            r.id,
            r.user_id,
            r.name,
            r.prefix,
            r.key_hash,
            tuple(s for s in r.scopes.split(",") if s),
            r.revoked_at is not None,
        )

    def revoke_key(self, key_id: int, at: datetime) -> None:
        self.conn.execute(update(t.api_keys).where(t.api_keys.c.id == key_id).values(revoked_at=at))
