"""Documents end to end, on both databases: a draft that fails its checks is held and the
owner told; a good one is issued, and the client receives the Factur-X PDF and the UBL XML
over real SMTP; the portal, the API and the CLI serve the same stored bytes; every document
shows the same totals."""

from __future__ import annotations

import io
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pypdf
from facturx import get_xml_from_pdf
from lxml import etree
from typer.testing import CliRunner

from autoinvoice.adapters.documents.schemas import validate_cii, validate_ubl
from autoinvoice.domain.documents import Branding, DocumentSettings
from autoinvoice.domain.invoice import InvoiceLine
from autoinvoice.domain.tax import TaxKind, determine_tax
from autoinvoice.entrypoints.cli import cli
from autoinvoice.services import accounts, setup
from autoinvoice.services.invoicing import save_draft
from builders import client_party, seller_party
from trigger_world import World

UBL = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
CII = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
    b'<rect width="120" height="40" fill="#0a7d5a"/></svg>'
)


def _api(world: World) -> None:
    app = world.app
    uid = accounts.create_user(
        "owner@nordlicht.example",
        "correct horse battery",
        "owner",
        uow=app.uow(),
        clock=app.clock,
        hasher=app.hasher,
        actor="test",
    )
    key = accounts.create_api_key(uid, "ci", ["read", "write"], uow=app.uow(), clock=app.clock)
    world.web.headers["Authorization"] = f"Bearer {key}"


def _draft(world: World, *lines: tuple[str, str, str]) -> int:
    seller, buyer = seller_party(), client_party()
    tax = determine_tax(seller.tax_profile, buyer.tax_profile, TaxKind.STANDARD)
    with world.app.uow() as uow:
        client = uow.clients.get(world.client_id)
        from autoinvoice.domain.invoice import Invoice

        inv = Invoice(seller, client.party, "EUR", client.terms)
        for desc, qty, price in lines:
            inv.add_line(InvoiceLine(desc, Decimal(qty), Decimal(price), tax, "h"))
        inv_id = save_draft(
            inv, uow=uow, client_id=world.client_id, now=world.clock.now(), actor="test"
        )
        uow.commit()
    return inv_id


def _brand(world: World) -> None:
    setup.update_entity_documents(
        world.entity_id,
        uow=world.app.uow(),
        clock=world.app.clock,
        actor="test",
        branding=Branding("modern", "#0a7d5a", None, LOGO, "svg"),
        footer="Nordlicht IT Services GmbH · HRB 123456 Hamburg",
    )
    setup.set_client_documents(
        world.client_id,
        DocumentSettings(("facturx", "ubl")),
        uow=world.app.uow(),
        clock=world.app.clock,
        actor="test",
    )


def test_a_draft_that_fails_its_checks_is_held_and_the_owner_told(world: World) -> None:
    _api(world)
    inv_id = _draft(world, ("Services", "10", "120"))
    answer = world.web.post(f"/api/v1/invoices/{inv_id}/issue")
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "needs_attention"
    assert [f["check"] for f in problem["findings"]] == ["line_description"]
    assert problem["findings"][0]["field"] == "lines[0].description"
    [inv] = world.invoices()
    assert inv.status == "draft" and inv.number is None
    assert inv.hold_reason.startswith("line_description: line 1 says only 'Services'")
    checks = world.web.get(f"/api/v1/invoices/{inv_id}/checks").json()
    assert checks["ready"] is False
    # trying again for the same reason tells the owner nothing new: one alert, not two
    assert world.web.post(f"/api/v1/invoices/{inv_id}/issue").status_code == 422
    world.work()
    [alert] = [m.message for m in world.smtp.messages]
    assert "needs attention" in alert["Subject"]
    assert "describe what was delivered" in alert.get_content()
    # the owner switches the check off for this organisation: now it issues
    off = world.web.put(
        "/api/v1/settings/checks", json={"checks": {"line_description": {"enabled": False}}}
    )
    assert off.status_code == 200, off.text
    assert off.json()["checks"]["line_description"]["enabled"] is False
    assert world.web.post(f"/api/v1/invoices/{inv_id}/issue").status_code == 200


def test_the_client_gets_facturx_and_ubl_and_every_channel_serves_the_same_bytes(
    world: World, tmp_path: Path
) -> None:
    _api(world)
    _brand(world)
    inv_id = _draft(
        world,
        ("Backend development: payment service migration", "32", "120.00"),
        ("Architecture and code review", "6.5", "150.00"),
    )
    issued = world.web.post(f"/api/v1/invoices/{inv_id}/issue")
    assert issued.status_code == 200, issued.text
    number = issued.json()["number"]
    world.work()

    [received] = world.smtp.messages
    mail = received.message
    files = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert set(files) == {f"{number}-facturx.pdf", f"{number}.ubl.xml"}
    facturx_pdf, ubl = files[f"{number}-facturx.pdf"], files[f"{number}.ubl.xml"]
    validate_ubl(ubl)
    name, cii = get_xml_from_pdf(facturx_pdf, check_xsd=True)
    assert name == "factur-x.xml"
    validate_cii(cii)
    metadata = pypdf.PdfReader(io.BytesIO(facturx_pdf)).xmp_metadata
    assert metadata is not None
    assert (
        b"pdfaid"
        in pypdf.PdfReader(io.BytesIO(facturx_pdf))
        .trailer["/Root"]["/Metadata"]
        .get_object()
        .get_data()
    )

    # the same stored bytes from the API, the portal and the CLI
    api_ubl = world.web.get(f"/api/v1/invoices/{inv_id}/documents/ubl")
    assert api_ubl.status_code == 200 and api_ubl.content == ubl
    assert api_ubl.headers["content-type"].startswith("application/xml")
    token = re.search(r"/portal/invoices/([A-Za-z0-9_-]+)", mail.get_body(("plain",)).get_content())
    assert token
    portal = world.web.get(f"/portal/invoices/{token[1]}/download/facturx")
    assert portal.status_code == 200 and portal.content == facturx_pdf
    out = tmp_path / "out.xml"
    result = CliRunner().invoke(
        cli,
        [
            "invoices",
            "export",
            number,
            "--format",
            "ubl",
            "-o",
            str(out),
            "--database-url",
            str(world.app.engine.url.render_as_string(hide_password=False)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == ubl

    # one set of numbers: UBL, CII, PDF text, portal page, email and API agree to the cent
    doc = etree.fromstring(ubl)
    total = doc.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=UBL)
    tax = doc.findtext("cac:TaxTotal/cbc:TaxAmount", namespaces=UBL)
    assert (total, tax) == ("5729.85", "914.85")
    cii_doc = etree.fromstring(cii)
    assert cii_doc.findtext(".//ram:DuePayableAmount", namespaces=CII) == total
    assert cii_doc.findtext(".//ram:TaxTotalAmount", namespaces=CII) == tax
    api = world.web.get(f"/api/v1/invoices/{inv_id}").json()
    assert (api["totals"]["gross"], api["totals"]["tax"]) == (total, tax)
    shown = "€5,729.85"
    pdf_text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=facturx_pdf, capture_output=True, check=True
    ).stdout.decode()
    assert shown in pdf_text and "€914.85" in pdf_text
    assert shown in world.web.get(f"/portal/invoices/{token[1]}").text
    assert shown in mail.get_body(("plain",)).get_content()
