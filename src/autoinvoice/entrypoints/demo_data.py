"""Demo data: a German GmbH with clients in Germany, France, the USA, India and Norway, and
one contract of each billing model. Loaded by ``serve --demo-data`` on first start and by
``autoinvoice demo``. The tax ids carry valid check digits but belong to no one."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ..bootstrap import App
from ..domain.contracts import BillingModel, Contract, Milestone, Rate
from ..domain.documents import DocumentSettings
from ..domain.numbering import NumberSeries
from ..domain.parties import Address, Party
from ..domain.recurrence import Recurrence
from ..domain.terms import PaymentTerms
from ..services.ports import ClientRecord, EntityRecord
from ..services.reminders import set_policy
from ..services.setup import add_client, add_contract, create_entity


def seller() -> EntityRecord:
    party = Party(
        name="Nordlicht IT Services GmbH",
        country="DE",
        tax_id="DE136695976",
        address=Address(("Speicherstadt 12",), "Hamburg", "20457", "DE"),
        emails=("billing@nordlicht-it.example",),
    )
    return EntityRecord(
        id=0,
        party=party,
        email="billing@nordlicht-it.example",
        timezone="Europe/Berlin",
        locale="en",
        phone="+49 40 1234567",
        bank={
            "bank_name": "Hamburger Sparkasse",
            "iban": "DE89370400440532013000",
            "bic": "COBADEFFXXX",
            "account_holder": "Nordlicht IT Services GmbH",
        },
        footer="Nordlicht IT Services GmbH · Amtsgericht Hamburg HRB 123456 · "
        "Managing director: Jana Behrens",
    )


def clients(entity_id: int) -> list[ClientRecord]:
    net30 = PaymentTerms.parse("net:30")
    return [
        ClientRecord(
            0,
            entity_id,
            Party(
                name="Hanseatic Logistics AG",
                country="DE",
                tax_id="DE811907980",
                address=Address(("Am Sandtorkai 50",), "Hamburg", "20457", "DE"),
                emails=("ap@hanseatic-logistics.example",),
            ),
            "EUR",
            net30,
            "de",
            "Europe/Berlin",
        ),
        ClientRecord(
            0,
            entity_id,
            Party(
                name="Atelier Lumière SAS",
                country="FR",
                tax_id="FR40303265045",
                address=Address(("18 rue de la République",), "Lyon", "69002", "FR"),
                emails=("compta@atelier-lumiere.example",),
                peppol_id="0009:30326504500021",
            ),
            "EUR",
            PaymentTerms.parse("eom:15"),
            "fr",
            "Europe/Paris",
            # a French client's accounting reads the Factur-X PDF and the UBL file
            DocumentSettings(("facturx", "ubl")),
        ),
        ClientRecord(
            0,
            entity_id,
            Party(
                name="Brightwave Analytics Inc.",
                country="US",
                address=Address(
                    ("500 Market Street", "Suite 400"), "San Francisco", "94105", "US", "CA"
                ),
                emails=("accounts.payable@brightwave.example",),
            ),
            "USD",
            net30,
            "en",
            "America/Los_Angeles",
        ),
        ClientRecord(
            0,
            entity_id,
            Party(
                name="Kaveri Software Pvt Ltd",
                country="IN",
                tax_id="29AAGCB7383J1Z4",
                address=Address(
                    ("4th Floor, Prestige Tech Park", "Outer Ring Road"),
                    "Bengaluru",
                    "560103",
                    "IN",
                    "KA",
                ),
                emails=("finance@kaveri-software.example",),
            ),
            "EUR",
            PaymentTerms.parse("net:15"),
            "en",
            "Asia/Kolkata",
        ),
        # Norway: reminders follow the inkassoloven (a 14-day deadline with each, purregebyr)
        ClientRecord(
            0,
            entity_id,
            Party(
                name="Fjordlys Digital AS",
                country="NO",
                tax_id="NO921843658MVA",
                address=Address(("Karl Johans gate 22",), "Oslo", "0159", "NO"),
                emails=("faktura@fjordlys.example",),
            ),
            "NOK",
            PaymentTerms.parse("net:14"),
            "en",
            "Europe/Oslo",
        ),
    ]


NORWEGIAN_LADDER = {
    "steps": [
        {"offset_days": 0, "tone": "due"},
        {"offset_days": 14, "tone": "firm", "fee": {"kind": "statutory"}},
        {"offset_days": 28, "tone": "final", "fee": {"kind": "statutory"}},
    ]
}


def contracts(client_ids: list[int], start: datetime) -> list[Contract]:
    monthly = Recurrence(
        "FREQ=MONTHLY;BYMONTHDAY=1",
        "Europe/Berlin",
        start.replace(hour=6, minute=0, second=0, microsecond=0, tzinfo=None),
    )
    hanseatic, lumiere, brightwave, kaveri = client_ids[:4]
    return [
        Contract(
            name="Managed IT retainer",
            model=BillingModel.RETAINER,
            currency="EUR",
            terms=PaymentTerms.parse("net:30"),
            client_id=hanseatic,
            description="Managed IT services retainer",
            amount=Decimal("4500.00"),
            recurrence=monthly,
        ),
        Contract(
            name="Design system support",
            model=BillingModel.RETAINER,
            currency="EUR",
            terms=PaymentTerms.parse("eom:15"),
            client_id=lumiere,
            description="Design system support",
            seats=12,
            seat_price=Decimal("85.00"),
            recurrence=monthly,
        ),
        Contract(
            name="Data platform build",
            model=BillingModel.MILESTONE,
            currency="USD",
            terms=PaymentTerms.parse("net:30"),
            client_id=brightwave,
            milestones=(
                Milestone("Discovery and architecture", Decimal("12000")),
                Milestone("Pipeline implementation", Decimal("28000")),
                Milestone("Handover and training", Decimal("6000")),
            ),
        ),
        Contract(
            name="Platform engineering (T&M)",
            model=BillingModel.TIME_AND_MATERIALS,
            currency="EUR",
            terms=PaymentTerms.parse("net:15"),
            client_id=kaveri,
            rates=(
                Rate("Senior engineer", Decimal("120")),
                Rate("Engineer", Decimal("95")),
                Rate("Project manager", Decimal("110")),
            ),
        ),
    ]


def load_demo_data(app: App, *, bill_from: datetime | None = None) -> dict[str, list[int]]:
    """Create the demo organisation. Returns the ids created."""
    clock, actor = app.clock, "demo"
    eid = create_entity(
        seller(),
        NumberSeries("INV-{yyyy}-{seq:06d}", yearly_reset=True),
        uow=app.uow(),
        clock=clock,
        actor=actor,
    )
    cids = [add_client(c, uow=app.uow(), clock=clock, actor=actor) for c in clients(eid)]
    # the Norwegian client's ladder: purregebyr on the reminder and on the inkassovarsel
    set_policy(NORWEGIAN_LADDER, client_id=cids[4], uow=app.uow(), clock=clock, actor=actor)
    now = clock.now()
    kids = [
        add_contract(k, uow=app.uow(), clock=clock, actor=actor, bill_from=bill_from)
        for k in contracts(cids, bill_from or now)
    ]
    return {"entities": [eid], "clients": cids, "contracts": kids}


def has_data(app: App) -> bool:
    with app.uow(read_only=True) as uow:
        return uow.entities.first() is not None
