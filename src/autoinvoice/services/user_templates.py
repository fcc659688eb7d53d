"""Email templates and invoice branding edited in the web app, and their previews.

An email (``invoice_email``, ``credit_note_email``, ``reminder_email``) is three Jinja2
templates: subject, plain-text body, HTML body. A user edits them starting from the shipped
text; each save is a new *version* (who, when) in ``uow.user_templates``, and the newest one
is what delivery and reminders send (``uow.user_templates.sources()`` feeds
``EmailTemplates.render_email``). "Reset to default" is a version without sources.

Rules:

* A template is saved only if it parses, reaches for nothing outside the sandbox, and
  renders against the context of a real invoice (`email_context`) — the same context the
  delivery service builds, so an unknown variable is caught before any client would see it.
* The context holds what the email prints — invoice figures, client and seller names, the
  portal link, the wording ``t`` — and nothing else: no settings, no secrets.
* Previews change nothing: no version, no audit record, no document kept.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from ..domain.documents import Branding
from ..domain.errors import InvalidValue
from ..domain.invoice import InvoiceStatus
from .delivery import DeliveryConfig, invoice_context
from .documents import invoice_document
from .errors import NotFound
from .labels import email_labels_for
from .ports import Clock, EmailTemplates, InvoiceSummary, UnitOfWork
from .reminder_wording import reminder_labels_for

__all__ = [
    "EMAILS",
    "PARTS",
    "EmailDraft",
    "UserTemplate",
    "UserTemplates",
    "check_email",
    "context_for",
    "current_draft",
    "email_context",
    "file_names",
    "preview_choices",
    "preview_document",
    "reset_email_template",
    "sample_context",
    "save_email_template",
    "variables",
]

EMAILS = {
    "invoice_email": "Invoice email",
    "credit_note_email": "Credit note email",
    "reminder_email": "Payment reminder",
}
# (form field, file suffix, label)
PARTS = (
    ("subject", ".subject.txt", "Subject"),
    ("text", ".txt", "Plain-text body"),
    ("html", ".html", "HTML body"),
)
MAX_FOOTER_CHARS = 500
_DRAFT_NUMBER = "INV-(number at issue)"


@dataclass(frozen=True, slots=True)
class UserTemplate:
    """One saved version of an email's three templates; all None: back to the default."""

    name: str
    version: int
    subject: str | None
    text: str | None
    html: str | None
    saved_by: str
    saved_at: datetime

    @property
    def is_reset(self) -> bool:
        return self.subject is None and self.text is None and self.html is None


class UserTemplates(Protocol):
    """Versions of the edited email templates. ``add`` writes the next version number of
    ``name`` (two saves at once: the second raises on the unique (name, version))."""

    def current(self, name: str) -> UserTemplate | None: ...
    def history(self, name: str, limit: int = 20) -> builtins.list[UserTemplate]: ...
    def add(
        self,
        name: str,
        *,
        subject: str | None,
        text: str | None,
        html: str | None,
        saved_by: str,
        at: datetime,
    ) -> UserTemplate: ...
    def sources(self) -> dict[str, str]:
        """File name → text of every edited template in force (none after a reset)."""
        ...


@dataclass(frozen=True, slots=True)
class EmailDraft:
    """The three texts of an email as the user typed them."""

    subject: str
    text: str
    html: str

    def part(self, field: str) -> str:
        value: str = getattr(self, field)
        return value


def file_names(name: str) -> dict[str, str]:
    """Form field → template file name of ``name``."""
    _known(name)
    return {field: f"{name}{suffix}" for field, suffix, _ in PARTS}


def _known(name: str) -> None:
    if name not in EMAILS:
        raise InvalidValue(
            f"{name!r} is not an email template; choose one of {', '.join(EMAILS)}",
            field="template",
        )


# -- the context of a real invoice --------------------------------------------------------
def preview_choices(uow: UnitOfWork) -> list[InvoiceSummary]:
    """Invoices to preview with: drafts first (newest first), then recent issued ones."""
    with uow:
        drafts = uow.invoices.summaries(status="draft", limit=20)
        recent = [s for s in uow.invoices.summaries(limit=40) if s.status != "draft"][:20]
    return drafts + recent


def email_context(
    name: str, invoice_id: int, *, uow: UnitOfWork, config: DeliveryConfig
) -> dict[str, Any]:
    """What ``name`` would be rendered with for invoice ``invoice_id`` (the delivery
    service's own context; a reminder gets a first, friendly step)."""
    _known(name)
    with uow:
        inv = uow.invoices.get(invoice_id)
        client = uow.clients.get(inv.client_id or 0)
        entity = uow.entities.get(client.entity_id)
        token = uow.invoices.portal_tokens([invoice_id]).get(invoice_id, "preview")
    context = invoice_context(inv, entity, client, token, config)
    if not inv.number:  # a draft: its number and due date come when it is issued
        context["invoice"]["number"] = _DRAFT_NUMBER
        if not context["invoice"]["settled"] and not context["invoice"]["due_date"]:
            context["invoice"]["due_date"] = "(date at issue)"
    lang = client.language
    if name == "reminder_email":
        context["reminder"] = {
            "tone": "friendly",
            "step": 1,
            "days_overdue": 0,
            "fee": None,
            "fee_invoice": None,
            "total_due": inv.balance.format(lang),
            "pay_by": None,
        }
        context["t"] = reminder_labels_for(lang)
    else:
        context["t"] = email_labels_for(lang)
    return context


def sample_context(name: str) -> dict[str, Any]:
    """A made-up invoice's context, for an installation that has no invoice yet."""
    _known(name)
    context: dict[str, Any] = {
        "invoice": {
            "number": "INV-2026-000001",
            "kind": "credit_note" if name == "credit_note_email" else "invoice",
            "total": "€1,190.00",
            "due_date": "" if name == "credit_note_email" else "31 Dec 2026",
            "currency": "EUR",
            "balance": "€1,190.00",
            "paid_so_far": None,
            "settled": name == "credit_note_email",
            "paid_from_credit": False,
            "corrects": "INV-2026-000000" if name == "credit_note_email" else None,
            "payment_reference": None if name == "credit_note_email" else "RF18 INV2 0260 0000 1",
        },
        "client": {"name": "Example Client Ltd", "contact_name": None},
        "seller": {"name": "Your Company", "email": "billing@example.com"},
        "portal_url": "https://invoices.example.com/portal/invoices/preview",
        "lang": "en",
    }
    if name == "reminder_email":
        context["reminder"] = {
            "tone": "friendly",
            "step": 1,
            "days_overdue": 0,
            "fee": None,
            "fee_invoice": None,
            "total_due": "€1,190.00",
            "pay_by": None,
        }
        context["t"] = reminder_labels_for("en")
    else:
        context["t"] = email_labels_for("en")
    return context


def context_for(
    name: str, invoice_id: int | None, *, uow: UnitOfWork, config: DeliveryConfig
) -> dict[str, Any]:
    """`email_context` of a real invoice, or `sample_context` when there is none."""
    if invoice_id is None:
        return sample_context(name)
    return email_context(name, invoice_id, uow=uow, config=config)


def variables(context: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The variables a template may use, as (``invoice.number``, example value); the
    wording ``t`` as one entry listing its keys."""
    out: list[tuple[str, str]] = []
    for key, value in context.items():
        if key == "t":
            continue
        if isinstance(value, Mapping):
            out += [(f"{key}.{k}", _example(v)) for k, v in value.items()]
        else:
            out.append((key, _example(value)))
    wording = context.get("t") or {}
    out.append(("t.…", "wording in the client's language: " + ", ".join(sorted(wording))))
    return out


def _example(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


# -- validating and saving ------------------------------------------------------------------
def check_email(
    name: str, draft: EmailDraft, context: dict[str, Any], *, templates: EmailTemplates
) -> dict[str, str]:
    """Each part of ``draft`` rendered for ``context``; raises ``InvalidValue`` whose
    ``field`` is the part at fault (``subject``, ``text`` or ``html``)."""
    out: dict[str, str] = {}
    for field, file_name in file_names(name).items():
        source = draft.part(field)
        if field == "subject" and not source.strip():
            raise InvalidValue("the subject is empty", field=field)
        try:
            out[field] = templates.check(file_name, source, context)
        except InvalidValue as exc:
            raise InvalidValue(exc.message, field=field) from exc
    out["subject"] = " ".join(out["subject"].split())
    return out


def save_email_template(
    name: str,
    draft: EmailDraft,
    *,
    invoice_id: int | None,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
    templates: EmailTemplates,
    config: DeliveryConfig,
) -> UserTemplate:
    """Store ``draft`` as the next version of ``name`` once it renders for invoice
    ``invoice_id`` (None: no invoice exists yet, a sample); a draft that fails is never
    stored."""
    context = context_for(name, invoice_id, uow=uow, config=config)
    check_email(name, draft, context, templates=templates)
    with uow:
        saved = uow.user_templates.add(
            name,
            subject=draft.subject,
            text=draft.text,
            html=draft.html,
            saved_by=actor,
            at=clock.now(),
        )
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="template.saved",
            subject_type="template",
            subject_id=name,
            detail={"version": saved.version, "checked_with_invoice": invoice_id},
        )
        uow.commit()
    return saved


def reset_email_template(name: str, *, uow: UnitOfWork, clock: Clock, actor: str) -> UserTemplate:
    """Go back to the shipped template (a new version without sources; history kept)."""
    _known(name)
    with uow:
        saved = uow.user_templates.add(
            name, subject=None, text=None, html=None, saved_by=actor, at=clock.now()
        )
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="template.reset",
            subject_type="template",
            subject_id=name,
            detail={"version": saved.version},
        )
        uow.commit()
    return saved


def current_draft(name: str, *, uow: UnitOfWork, templates: EmailTemplates) -> EmailDraft:
    """The texts in force for ``name``: the saved edit, else the default files."""
    with uow:
        saved = uow.user_templates.current(name)
    files = file_names(name)
    texts = {
        field: (getattr(saved, field) if saved is not None else None)
        or templates.default_source(file_name)
        for field, file_name in files.items()
    }
    return EmailDraft(**texts)


# -- the PDF preview --------------------------------------------------------------------------
def preview_document(
    invoice_id: int, branding: Branding, footer: str, *, uow: UnitOfWork
) -> dict[str, Any]:
    """Invoice ``invoice_id`` laid out with unsaved ``branding`` and ``footer``, marked as a
    draft (no number), for a preview render. Nothing is read beyond the invoice, its client
    and its issuing entity; nothing is written."""
    if len(footer) > MAX_FOOTER_CHARS:
        raise InvalidValue(
            f"the footer is {len(footer)} characters long; the limit is {MAX_FOOTER_CHARS}",
            field="footer",
        )
    with uow:
        try:
            inv = uow.invoices.get(invoice_id)
        except NotFound as exc:
            raise NotFound(f"no invoice {invoice_id} to preview with", field="invoice") from exc
        client = uow.clients.get(inv.client_id or 0)
        entity = uow.entities.get(client.entity_id)
    edited = replace(entity, branding=branding, footer=footer)
    doc = invoice_document(inv, edited, client.language)
    if inv.status is not InvoiceStatus.DRAFT:
        doc["number"] = None  # a preview is never the document sent: marked DRAFT
    return doc
