"""The first-run guide: the five set-up steps and how far each one is.

Every status is computed from what is stored — never from a box the user ticks — so a
step turns done the moment its work is done, wherever it was done (web, API or CLI):

1. organisation and billing models: the issuing entity has a name, an address, an email
   and a tax id where its country needs one on every invoice (EU VAT number, Art. 226(3)
   of Directive 2006/112/EC; Indian GSTIN, CGST Rule 46), and at least one contract exists;
2. sources and triggers: a source is connected and a trigger rule is enabled;
3. template: the invoice look was chosen or edited (an audit entry of ``TEMPLATE_ACTIONS``);
4. client data: at least one client, and every client's billing data complete
   (``weekly_audit.incomplete_billing_data``);
5. test cycle: a rule was run through the test cycle (an audit entry ``rules.tested``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..domain.tax import EU_COUNTRIES
from .ports import EntityRecord, UnitOfWork
from .weekly_audit import incomplete_billing_data

TEMPLATE_ACTIONS = ("template.saved", "entity.documents_changed", "branding.updated")
TEST_ACTIONS = ("rules.tested",)
MISSING_LABELS = {"address": "billing address", "email": "billing email", "tax_id": "tax ID"}


def seller_needs_tax_id(country: str) -> bool:
    """Whether invoices of a seller in ``country`` must carry its tax registration."""
    return country in EU_COUNTRIES or country == "IN"


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    href: str


@dataclass(frozen=True, slots=True)
class IncompleteClient:
    id: int
    name: str
    missing: tuple[str, ...]  # human labels


@dataclass(frozen=True, slots=True)
class Step:
    key: str
    title: str
    explain: str
    done: bool
    missing: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class SetupGuide:
    steps: tuple[Step, ...]
    incomplete_clients: tuple[IncompleteClient, ...] = ()
    has_organisation: bool = False
    organisation: str | None = None
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def done_count(self) -> int:
        return sum(1 for s in self.steps if s.done)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def complete(self) -> bool:
        return self.done_count == self.total


def organisation_gaps(entity: EntityRecord | None) -> list[str]:
    """What the issuing entity still lacks, in words (empty when complete)."""
    if entity is None:
        return ["the organisation's legal name, address and tax ID"]
    p, gaps = entity.party, []
    if p.address is None:
        gaps.append("the organisation's address")
    if not entity.email:
        gaps.append("the email invoices are sent from")
    if seller_needs_tax_id(p.country) and not p.tax_id:
        gaps.append("the organisation's tax ID")
    return gaps


def setup_guide(*, uow: UnitOfWork) -> SetupGuide:
    """The five steps, read in one transaction."""
    with uow:
        entity = uow.entities.first()
        contracts = len(uow.contracts.list())
        sources = len(uow.sources.list())
        rules = len(uow.rules.list(enabled_only=True))
        template_done = uow.audit.has_action(TEMPLATE_ACTIONS)
        tested = uow.audit.has_action(TEST_ACTIONS)
        clients = uow.clients.list()
    seller_country = entity.party.country if entity else None
    incomplete = tuple(
        IncompleteClient(c.id, c.party.name, tuple(MISSING_LABELS.get(m, m) for m in gaps))
        for c in clients
        if (gaps := incomplete_billing_data(c, seller_country))
    )
    org_missing = organisation_gaps(entity)
    if not contracts:
        org_missing.append("a contract: how a client is billed (retainer, milestones, rates)")
    source_missing = []
    if not sources:
        source_missing.append("a connected source (CRM, project or time tracker)")
    if not rules:
        source_missing.append("an enabled trigger rule")
    client_missing = []
    if not clients:
        client_missing.append("a client")
    elif incomplete:
        n = len(incomplete)
        client_missing.append(f"{n} client{'' if n == 1 else 's'} with incomplete billing data")
    steps = (
        Step(
            "organisation",
            "Organisation and billing models",
            "Who issues the invoices (legal name, address, tax ID) and how each client is "
            "billed: a retainer, milestones or hourly rates.",
            not org_missing,
            tuple(org_missing),
            (
                Link("Edit organisation", "/setup/organisation"),
                Link("Add a contract", "/contracts/new"),
            ),
        ),
        Step(
            "sources",
            "Sources and triggers",
            "Connect the products your work happens in, and write the rules that turn their "
            "events into invoices.",
            not source_missing,
            tuple(source_missing),
            (Link("Connect a source", "/sources/new"), Link("Write a rule", "/rules")),
        ),
        Step(
            "template",
            "Template",
            "Choose how your invoice PDF and email look: layout, colour, logo, wording.",
            template_done,
            () if template_done else ("a template chosen or edited",),
            (Link("Open templates", "/templates"),),
        ),
        Step(
            "clients",
            "Client data",
            "Every client needs a billing address, an email for invoices and, for businesses "
            "abroad, a tax ID — or invoices are held.",
            not client_missing,
            tuple(client_missing),
            (Link("Add a client", "/clients/new"), Link("All clients", "/clients")),
        ),
        Step(
            "test",
            "Test cycle",
            "Run a rule through the test cycle: it shows the invoices it would create, "
            "without numbering or sending anything.",
            tested,
            () if tested else ("a rule run with “Test this rule”",),
            (Link("Test a rule", "/rules"),),
        ),
    )
    return SetupGuide(
        steps,
        incomplete,
        has_organisation=entity is not None,
        organisation=entity.party.name if entity else None,
        extra={"contracts": contracts, "clients": len(clients)},
    )


__all__ = [
    "TEMPLATE_ACTIONS",
    "TEST_ACTIONS",
    "IncompleteClient",
    "Link",
    "SetupGuide",
    "Step",
    "organisation_gaps",
    "seller_needs_tax_id",
    "setup_guide",
]
