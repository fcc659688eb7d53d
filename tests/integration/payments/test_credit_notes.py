"""Credit notes: numbered in their own series, linked to the invoice they correct, reducing
its balance — on real storage (SQLite and PostgreSQL), with their documents rendered."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from autoinvoice.adapters.documents.schemas import schematron_xslt, validate_ubl
from autoinvoice.domain.errors import InvalidTransition, InvalidValue
from autoinvoice.domain.invoice import InvoiceKind, InvoiceStatus
from autoinvoice.services.credit_notes import CreditLine, IssueCreditNote, issue_credit_note
from autoinvoice.services.einvoices import document_for
from autoinvoice.services.invoicing import void_invoice
from autoinvoice.services.payments import RecordPayment, record_payment
from builders import draft_for
from ledger_world import check_ledger, credit, invoice, issued
from saxon_worker import SaxonWorker

pytest_plugins = ["ledger_fixtures"]  # the app and client_id fixtures
D = Decimal
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
UBL_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
UBL_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"


def credit_note(app, invoice_id: int, reason: str = "hours billed twice", **kw):  # type: ignore[no-untyped-def]
    cmd = IssueCreditNote(invoice_id, reason, **kw)
    return issue_credit_note(cmd, uow=app.uow(), clock=app.clock, actor="test")


def test_a_full_credit_note_settles_an_open_invoice_and_takes_its_own_number(
    app, client_id
) -> None:
    inv = issued(app, client_id, "100.00")
    out = credit_note(app, inv)
    assert (out.number, out.gross, out.applied, out.credited) == (
        "CN-2026-000001",
        D("119.00"),
        D("119.00"),
        D(0),
    )
    corrected = invoice(app, inv)
    assert (corrected.status, corrected.balance.amount) == (InvoiceStatus.PAID, D(0))
    cn = invoice(app, out.credit_note_id)
    assert cn.kind is InvoiceKind.CREDIT_NOTE and cn.status is InvoiceStatus.PAID
    assert cn.corrects == (corrected.number, corrected.issue_date)
    assert "hours billed twice" in cn.notes[0]
    with app.uow(read_only=True) as uow:
        [a] = uow.ledger.allocations(invoice_id=inv)
        [link] = uow.ledger.credit_notes_of(inv)
    assert (a.kind, a.credit_note_id, link.credit_note_id) == ("credit_note", cn.id, cn.id)
    # the next invoice keeps its own sequence
    assert invoice(app, issued(app, client_id)).number == "INV-2026-000002"
    assert check_ledger(app, client_id) == []


def test_credit_above_the_open_balance_becomes_client_credit(app, client_id) -> None:
    inv = issued(app, client_id, "100.00")
    record_payment(RecordPayment(inv, "100.00"), uow=app.uow(), clock=app.clock, actor="t")
    out = credit_note(app, inv, amount="50.00")  # 59.50 gross against a 19.00 balance
    assert (out.gross, out.applied, out.credited) == (D("59.50"), D("19.00"), D("40.50"))
    assert invoice(app, inv).status is InvoiceStatus.PAID
    assert credit(app, client_id) == D("40.50")
    assert check_ledger(app, client_id) == []


def test_chosen_lines_are_credited_in_part(app, client_id) -> None:
    inv_id = draft_for(
        app, client_id, lines=[("Consulting, senior", "10", "100.00"), ("Licences", "3", "20.00")]
    )
    from autoinvoice.services.invoicing import issue_invoice

    issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="t")
    out = credit_note(app, inv_id, lines=(CreditLine(1, "2"),))
    assert out.gross == D("238.00")
    cn = invoice(app, out.credit_note_id)
    assert [(ln.description, ln.quantity) for ln in cn.lines] == [("Consulting, senior", D(2))]
    with pytest.raises(InvalidValue) as err:
        credit_note(app, inv_id, lines=(CreditLine(2, "4"),))
    assert err.value.field == "lines[0].quantity"
    with pytest.raises(InvalidValue) as pos:
        credit_note(app, inv_id, lines=(CreditLine(3),))
    assert pos.value.field == "lines[0].position"


def test_credit_notes_together_never_exceed_the_invoice(app, client_id) -> None:
    inv = issued(app, client_id, "100.00")
    credit_note(app, inv, amount="60.00")
    with pytest.raises(InvalidValue) as err:
        credit_note(app, inv, amount="41.00")
    assert err.value.field == "amount" and "not yet credited" in err.value.message
    with app.uow(read_only=True) as uow:
        assert len(uow.ledger.credit_notes_of(inv)) == 1
    assert check_ledger(app, client_id) == []


def test_a_draft_void_or_credit_note_cannot_be_credited(app, client_id) -> None:
    draft = draft_for(app, client_id)
    with pytest.raises(InvalidTransition):
        credit_note(app, draft)
    inv = issued(app, client_id)
    cn = credit_note(app, inv, amount="1.00")
    with pytest.raises(InvalidValue) as err:
        credit_note(app, cn.credit_note_id)
    assert err.value.field == "invoice_id"
    other = issued(app, client_id)
    void_invoice(other, "duplicate", uow=app.uow(), clock=app.clock, actor="t")
    with pytest.raises(InvalidTransition):
        credit_note(app, other)
    with pytest.raises(InvalidValue) as blank:
        credit_note(app, inv, reason=" ")
    assert blank.value.field == "reason"


def test_the_credit_note_renders_as_a_ubl_credit_note_naming_its_invoice_and_as_a_pdf(
    app, client_id
) -> None:
    inv = issued(app, client_id, "100.00")
    out = credit_note(app, inv)
    kw = dict(uow=app.uow(), clock=app.clock, renderer=app.renderer, writer=app.einvoices)
    _, xml = document_for(out.credit_note_id, "ubl", **kw)  # type: ignore[arg-type]
    validate_ubl(xml)
    root = etree.fromstring(xml)
    assert etree.QName(root).localname == "CreditNote"
    ref = root.find(f"{{{UBL_CAC}}}BillingReference/{{{UBL_CAC}}}InvoiceDocumentReference")
    assert ref is not None and ref.findtext(f"{{{UBL_CBC}}}ID") == invoice(app, inv).number
    total = root.find(f"{{{UBL_CAC}}}LegalMonetaryTotal")
    assert total is not None and total.findtext(f"{{{UBL_CBC}}}PayableAmount") == "119.00"
    _, pdf = document_for(out.credit_note_id, "pdf", **kw)  # type: ignore[arg-type]
    assert pdf.startswith(b"%PDF")


def test_the_credit_notes_ubl_and_cii_keep_every_en16931_rule(app, client_id) -> None:
    """The official EN 16931 schematron (in Saxon) finds no broken rule in a ledger-made
    credit note that settled part of a paid invoice — prepaid stays 0 (BR-CO-16)."""
    inv = issued(app, client_id, "100.00")
    record_payment(RecordPayment(inv, "100.00"), uow=app.uow(), clock=app.clock, actor="t")
    note = credit_note(app, inv, amount="20.00")
    kw = dict(uow=app.uow(), clock=app.clock, renderer=app.renderer, writer=app.einvoices)
    saxon = SaxonWorker({kind: schematron_xslt(kind) for kind in ("ubl", "cii")})
    try:
        for kind in ("ubl", "cii"):
            _, xml = document_for(note.credit_note_id, kind, **kw)  # type: ignore[arg-type]
            report = etree.fromstring(saxon.transform(kind, xml).encode())
            broken = [
                e.get("id")
                for e in report.iter(f"{SVRL}failed-assert", f"{SVRL}successful-report")
                if e.get("flag") != "warning"
            ]
            assert broken == [], kind
    finally:
        saxon.close()
