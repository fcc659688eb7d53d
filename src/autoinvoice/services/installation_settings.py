"""Installation settings changed in the web app: numbering series, default taxes and payment
terms, the SMTP server, and sandbox mode.

What is stored where:

* numbering series are rows of ``number_series`` (the domain's :class:`NumberSeries`); a
  change of format applies to numbers not yet issued — issued invoices keep theirs, and the
  counter carries on, so numbering stays gapless. When the yearly reset is switched, the
  counter of the new period starts where the old one stands, and a change is refused if the
  next number it would render is one already issued, or another series of the entity uses
  the same format (two series printing the same numbers would break uniqueness).
* the default payment terms for new clients (``terms``) and the default tax kind of each
  issuing entity's new lines (``tax:<entity id>``) are named values in
  ``installation_settings``; rates follow the entity's country (``domain/tax.py``).
* the SMTP server (``smtp``): its password sealed with the app's SecretBox, entered once and
  never shown or logged again. When stored, mail goes through it in preference to the
  ``AUTOINVOICE_SMTP_*`` environment settings.

Every change is audited (``settings.*``); no secret is ever in an audit detail.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from typing import Any, Literal, Protocol

from ..domain.errors import InvalidValue
from ..domain.numbering import NumberSeries
from ..domain.tax import RATES, TaxKind
from ..domain.terms import PaymentTerms
from .errors import Conflict, NotFound
from .ports import Clock, Mailer, MailError, OutgoingEmail, SecretBox, SeriesRecord, UnitOfWork

SMTP, TERMS = "smtp", "terms"
DEFAULT_TERMS = PaymentTerms.parse("net:30")
CREDIT_NOTE_SERIES = "credit_notes"  # the name services/credit_notes.py's series is stored under
Security = Literal["none", "starttls", "tls"]
SECURITIES: tuple[Security, ...] = ("none", "starttls", "tls")


@dataclass(frozen=True, slots=True)
class SeriesRow:
    record: SeriesRecord
    counters: dict[str, int]  # period → next number to hand out
    issued: int  # documents numbered from this series


@dataclass(frozen=True, slots=True)
class TaxInUse:
    label: str
    category: str
    rate: str
    lines: int


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    email: str
    role: str
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: int
    user_email: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


class Installation(Protocol):
    """Storage of the installation's settings, users and keys (``uow.installation``)."""

    def users(self) -> builtins.list[UserRow]: ...
    def set_role(self, user_id: int, role: str) -> None: ...
    def remove_user(self, user_id: int, at: datetime) -> None:
        """Delete the user and their API keys (the audit log keeps who made and used them)."""
        ...

    def keys(self) -> builtins.list[KeyRow]: ...

    def entity_ids(self) -> builtins.list[int]: ...
    def sandbox_inboxes(self) -> dict[int, str]:
        """Entity id → test inbox, for the entities in sandbox mode."""
        ...

    def get(self, name: str) -> dict[str, Any] | None: ...
    def put(self, name: str, value: dict[str, Any], at: datetime, actor: str) -> None: ...
    def delete(self, name: str) -> None: ...
    def series(self, entity_id: int | None = None) -> builtins.list[SeriesRow]: ...
    def update_series(self, series_id: int, series: NumberSeries) -> None: ...
    def seed_counter(self, series_id: int, period: str, next_value: int) -> None:
        """Raise the counter of ``period`` to at least ``next_value`` (creating it)."""
        ...

    def number_taken(self, entity_id: int, number: str) -> bool:
        """Whether a document of the entity carries ``number`` already."""
        ...

    def taxes_in_use(self) -> builtins.list[TaxInUse]: ...


def _audit(uow: UnitOfWork, clock: Clock, actor: str, action: str, detail: dict[str, Any]) -> None:
    uow.audit.record(
        at=clock.now(),
        actor=actor,
        action=action,
        subject_type="settings",
        subject_id=None,
        detail=detail,
    )


# -- numbering series -------------------------------------------------------------------------
def next_number(row: SeriesRow, today: date) -> tuple[int, str]:
    """The next sequence number of the series and how it will print when issued ``today``."""
    seq = row.counters.get(row.record.series.period_key(today), 1)
    return seq, row.record.series.render(seq, today)


def preview_number(pattern: str, yearly_reset: bool, seq: int, today: date) -> str:
    """What number ``seq`` looks like in a format being typed; raises InvalidValue."""
    return NumberSeries(pattern.strip(), yearly_reset).render(max(seq, 1), today)


def list_series(*, uow: UnitOfWork) -> builtins.list[SeriesRow]:
    with uow:
        return uow.installation.series()


def _check_unique(uow: UnitOfWork, entity_id: int, series_id: int | None, pattern: str) -> None:
    for other in uow.installation.series(entity_id):
        if other.record.id != series_id and other.record.series.pattern == pattern:
            raise Conflict(
                f"the series {other.record.name!r} already prints numbers as {pattern}; "
                "give each series its own prefix",
                field="pattern",
            )


def change_series(
    series_id: int,
    pattern: str,
    yearly_reset: bool,
    *,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
    today: date,
) -> SeriesRecord:
    """Change how the numbers not yet issued look. Issued numbers never change."""
    new = NumberSeries(pattern.strip(), yearly_reset)
    with uow:
        rows = {r.record.id: r for r in uow.installation.series()}
        row = rows.get(series_id)
        if row is None:
            raise NotFound(f"numbering series {series_id} does not exist", field="series_id")
        old = row.record.series
        _check_unique(uow, row.record.entity_id, series_id, new.pattern)
        seq, _ = next_number(row, today)
        if old.yearly_reset != new.yearly_reset:
            # the counter carries on: never hand out a number twice, never skip one
            start = seq if new.yearly_reset else max([seq, *row.counters.values()])
            uow.installation.seed_counter(series_id, new.period_key(today), start)
            seq = max(row.counters.get(new.period_key(today), 1), start)
        number = new.render(seq, today)
        if uow.installation.number_taken(row.record.entity_id, number):
            raise Conflict(
                f"the next number would be {number}, which is already issued; "
                "change the prefix or keep the yearly reset as it was",
                field="pattern",
            )
        uow.installation.update_series(series_id, new)
        _audit(
            uow,
            clock,
            actor,
            "settings.series_changed",
            {
                "series": row.record.name,
                "entity_id": row.record.entity_id,
                "pattern": [old.pattern, new.pattern],
                "yearly_reset": [old.yearly_reset, new.yearly_reset],
                "next_number": number,
            },
        )
        uow.commit()
        return SeriesRecord(series_id, row.record.entity_id, row.record.name, new)


def add_series(
    entity_id: int,
    name: str,
    pattern: str,
    yearly_reset: bool,
    *,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
) -> int:
    name = name.strip().lower().replace(" ", "_")
    if not name or len(name) > 50 or not name.replace("_", "").replace("-", "").isalnum():
        raise InvalidValue("name the series with letters, digits, - or _", field="name")
    series = NumberSeries(pattern.strip(), yearly_reset)
    with uow:
        uow.entities.get(entity_id)
        existing = uow.installation.series(entity_id)
        if any(r.record.name == name for r in existing):
            raise Conflict(f"there is a series {name!r} already", field="name")
        _check_unique(uow, entity_id, None, series.pattern)
        sid = uow.numbering.add_series(entity_id, name, series)
        _audit(
            uow,
            clock,
            actor,
            "settings.series_added",
            {"series": name, "entity_id": entity_id, "pattern": series.pattern},
        )
        uow.commit()
    return sid


# -- taxes and payment terms ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EntityTax:
    entity_id: int
    name: str
    country: str
    kind: TaxKind
    rates: dict[str, str]  # kind → rate in percent, as the law of the country has them


def default_terms(*, uow: UnitOfWork) -> PaymentTerms:
    """The payment terms a new client gets unless told otherwise."""
    with uow:
        stored = uow.installation.get(TERMS)
    return PaymentTerms.parse(stored["code"]) if stored else DEFAULT_TERMS


def default_tax_kind(entity_id: int, *, uow: UnitOfWork) -> TaxKind:
    """The tax kind new contracts (and their lines) of the entity get unless told otherwise."""
    with uow:
        return entity_tax_kind(uow, entity_id)


def entity_tax_kind(uow: UnitOfWork, entity_id: int) -> TaxKind:
    """``default_tax_kind`` read within a unit of work the caller has open."""
    stored = uow.installation.get(f"tax:{entity_id}")
    return TaxKind(stored["kind"]) if stored else TaxKind.STANDARD


def entity_taxes(*, uow: UnitOfWork) -> builtins.list[EntityTax]:
    out = []
    with uow:
        for entity_id in uow.installation.entity_ids():
            entity = uow.entities.get(entity_id)
            stored = uow.installation.get(f"tax:{entity.id}")
            rates = RATES.get(entity.party.country, {})
            out.append(
                EntityTax(
                    entity.id,
                    entity.party.name,
                    entity.party.country,
                    TaxKind(stored["kind"]) if stored else TaxKind.STANDARD,
                    {k.value: format(v.normalize(), "f") for k, v in rates.items()},
                )
            )
    return out


def taxes_in_use(*, uow: UnitOfWork) -> builtins.list[TaxInUse]:
    with uow:
        return uow.installation.taxes_in_use()


def set_defaults(
    terms: str,
    tax_kinds: Mapping[int, str],
    *,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
) -> None:
    """Store the default payment terms and each entity's default tax kind."""
    parsed = PaymentTerms.parse(terms)
    kinds: dict[int, TaxKind] = {}
    for entity_id, raw in tax_kinds.items():
        try:
            kinds[entity_id] = TaxKind(raw)
        except ValueError:
            raise InvalidValue(
                f"{raw!r} is not a tax kind; use {', '.join(k.value for k in TaxKind)}",
                field=f"tax_kind_{entity_id}",
            ) from None
    now = clock.now()
    with uow:
        for entity_id, kind in kinds.items():
            entity = uow.entities.get(entity_id)
            known = RATES.get(entity.party.country)
            if kind in (TaxKind.STANDARD, TaxKind.REDUCED) and known and kind not in known:
                raise InvalidValue(
                    f"{entity.party.country} has no {kind.value} rate",
                    field=f"tax_kind_{entity_id}",
                )
            uow.installation.put(f"tax:{entity_id}", {"kind": kind.value}, now, actor)
        uow.installation.put(TERMS, {"code": parsed.code}, now, actor)
        _audit(
            uow,
            clock,
            actor,
            "settings.defaults_changed",
            {"terms": parsed.code, "tax_kinds": {str(k): v.value for k, v in kinds.items()}},
        )
        uow.commit()


# -- SMTP -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """What the settings page shows: everything but the password, which is only "set"."""

    host: str
    port: int
    security: Security
    username: str | None
    from_address: str | None
    password_set: bool
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """What a mailer is built from, password opened. Never rendered, logged or audited."""

    host: str
    port: int
    security: Security
    username: str | None
    password: str | None = None
    from_address: str | None = None

    def __repr__(self) -> str:
        return f"SmtpConfig(host={self.host!r}, port={self.port}, security={self.security!r})"


def smtp_settings(*, uow: UnitOfWork) -> SmtpSettings | None:
    with uow:
        stored = uow.installation.get(SMTP)
    if not stored:
        return None
    return SmtpSettings(
        host=stored["host"],
        port=int(stored["port"]),
        security=stored["security"],
        username=stored.get("username"),
        from_address=stored.get("from_address"),
        password_set=bool(stored.get("password")),
    )


def smtp_config(*, uow: UnitOfWork, box: SecretBox) -> SmtpConfig | None:
    """The stored server with its password opened, or None when none is stored."""
    with uow:
        stored = uow.installation.get(SMTP)
    if not stored:
        return None
    sealed = stored.get("password")
    return SmtpConfig(
        host=stored["host"],
        port=int(stored["port"]),
        security=stored["security"],
        username=stored.get("username"),
        password=box.open(sealed)["password"] if sealed else None,
        from_address=stored.get("from_address"),
    )


def _address(value: str | None, field: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or " " in value:
        raise InvalidValue(f"{value!r} is not an email address", field=field)
    return value


def _checked_smtp(
    host: str, port: str | int, security: str, username: str | None, from_address: str | None
) -> dict[str, Any]:
    host = host.strip()
    if not host or " " in host or len(host) > 253:
        raise InvalidValue("enter the mail server's host name, e.g. smtp.example.com", field="host")
    try:
        number = int(str(port).strip())
    except ValueError:
        raise InvalidValue(f"{port!r} is not a port number", field="port") from None
    if not 1 <= number <= 65535:
        raise InvalidValue("a port is between 1 and 65535 (usually 587 or 465)", field="port")
    if security not in SECURITIES:
        raise InvalidValue("security is none, starttls or tls", field="security")
    return {
        "host": host,
        "port": number,
        "security": security,
        "username": (username or "").strip() or None,
        "from_address": _address(from_address, "from_address"),
    }


def save_smtp(
    *,
    host: str,
    port: str | int,
    security: str,
    username: str | None,
    password: str | None,
    from_address: str | None,
    clear_password: bool = False,
    uow: UnitOfWork,
    clock: Clock,
    box: SecretBox,
    actor: str,
) -> None:
    """Store the SMTP server. An empty ``password`` keeps the stored one (it is never shown
    again, so the form cannot send it back); ``clear_password`` removes it."""
    value = _checked_smtp(host, port, security, username, from_address)
    with uow:
        current = uow.installation.get(SMTP) or {}
        sealed = None if clear_password else current.get("password")
        if password:
            sealed = box.seal({"password": password})
        if (value["username"] is None) != (sealed is None):
            raise InvalidValue(
                "a user name needs a password and a password needs a user name",
                field="password" if value["username"] else "username",
            )
        uow.installation.put(SMTP, {**value, "password": sealed}, clock.now(), actor)
        detail = {k: v for k, v in value.items()}
        detail["password"] = "changed" if password else ("removed" if clear_password else "kept")
        _audit(uow, clock, actor, "settings.smtp_changed", detail)
        uow.commit()


def forget_smtp(*, uow: UnitOfWork, clock: Clock, actor: str) -> None:
    """Remove the stored server: mail goes by the environment's settings again."""
    with uow:
        uow.installation.delete(SMTP)
        _audit(uow, clock, actor, "settings.smtp_removed", {})
        uow.commit()


def send_test_email(
    to: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    box: SecretBox,
    actor: str,
    mailer_for: Callable[[SmtpConfig], Mailer],
) -> tuple[bool, str]:
    """Send a short message through the stored server at once — a diagnostic the owner asks
    for, so it does not wait in the outbox — and say what the server answered. The result
    (never the password) is audited."""
    address = _address(to, "to")
    if address is None:
        raise InvalidValue("enter the address to send the test email to", field="to")
    config = smtp_config(uow=uow, box=box)
    if config is None:
        raise Conflict("save the SMTP settings first", field="host")
    with uow:
        entity = uow.entities.first()
    sender = config.from_address or (entity.email if entity else address)
    now = clock.now()
    mail = OutgoingEmail(
        message_id=f"<test.{secrets.token_hex(8)}@autoinvoice>",
        sender=str(Address(display_name="autoinvoice", addr_spec=sender)),
        to=(address,),
        subject="autoinvoice: test email",
        text_body="This test email shows that autoinvoice can send through "
        f"{config.host}:{config.port}. Invoices and reminders will go out the same way.\n",
        html_body="",
        date=now,
    )
    mailer = mailer_for(config)
    try:
        result = mailer.send(mail)
        ok, answer = result.accepted, result.detail or "the server accepted the message"
    except MailError as exc:
        ok, answer = False, str(exc)
    finally:
        close = getattr(mailer, "close", None)
        if callable(close):
            close()
    if config.password:
        answer = answer.replace(config.password, "•••")
    with uow:
        _audit(
            uow,
            clock,
            actor,
            "settings.smtp_tested",
            {"to": address, "host": config.host, "ok": ok, "answer": answer[:300]},
        )
        uow.commit()
    return ok, answer


# -- sandbox ----------------------------------------------------------------------------------
def sandbox_addresses(*, uow: UnitOfWork) -> dict[int, str]:
    """Entity id → the test inbox every email goes to, for the entities in sandbox mode."""
    with uow:
        return uow.installation.sandbox_inboxes()


__all__ = [
    "CREDIT_NOTE_SERIES",
    "DEFAULT_TERMS",
    "EntityTax",
    "Installation",
    "KeyRow",
    "SeriesRow",
    "SmtpConfig",
    "SmtpSettings",
    "TaxInUse",
    "UserRow",
    "add_series",
    "change_series",
    "default_tax_kind",
    "default_terms",
    "entity_tax_kind",
    "entity_taxes",
    "forget_smtp",
    "list_series",
    "next_number",
    "preview_number",
    "sandbox_addresses",
    "save_smtp",
    "send_test_email",
    "set_defaults",
    "smtp_config",
    "taxes_in_use",
]
