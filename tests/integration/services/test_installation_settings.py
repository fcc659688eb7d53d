"""Installation settings on both databases: series changes that keep numbering gapless,
default terms and taxes, the sealed SMTP password and the mailer that uses it, users and
roles administered by the owner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from autoinvoice.bootstrap import App
from autoinvoice.domain.errors import InvalidValue
from autoinvoice.domain.tax import TaxKind
from autoinvoice.services import accounts, clients, team
from autoinvoice.services import installation_settings as s
from autoinvoice.services.errors import Conflict
from autoinvoice.services.invoicing import issue_invoice
from autoinvoice.services.jobs import run_jobs_once
from builders import draft_for, make_app, make_client, make_entity
from smtp_server import SmtpTestServer

TODAY = date(2026, 3, 2)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[App]:
    a = make_app(database_url, tmp_path)
    yield a
    a.engine.dispose()


def issue_one(app: App, client_id: int) -> str:
    inv_id = draft_for(app, client_id)
    issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="test")
    with app.uow(read_only=True) as uow:
        number = uow.invoices.get(inv_id).number
    assert number is not None
    return number


def test_a_new_format_applies_to_the_next_number_and_the_counter_carries_on(app: App) -> None:
    client = make_client(app, make_entity(app))
    first = issue_one(app, client)
    [row] = s.list_series(uow=app.uow())
    assert row.issued == 1
    changed = s.change_series(
        row.record.id,
        "NL/{yyyy}/{seq:04d}",
        True,
        uow=app.uow(),
        clock=app.clock,
        actor="test",
        today=app.clock.now().date(),
    )
    assert changed.series.yearly_reset
    second = issue_one(app, client)
    assert second.endswith("/0002") and second.startswith("NL/")  # gapless, no restart at 1
    with app.uow(read_only=True) as uow:
        assert uow.invoices.by_number(first).number == first  # issued ones keep theirs


def test_a_change_that_would_repeat_an_issued_number_is_refused(app: App) -> None:
    client = make_client(app, make_entity(app))
    issue_one(app, client)
    [row] = s.list_series(uow=app.uow())
    credit = s.add_series(
        row.record.entity_id,
        "credit_notes",
        "CN-{seq}",
        False,
        uow=app.uow(),
        clock=app.clock,
        actor="test",
    )
    with pytest.raises(Conflict, match="already prints numbers"):
        s.change_series(
            credit,
            row.record.series.pattern,
            row.record.series.yearly_reset,
            uow=app.uow(),
            clock=app.clock,
            actor="test",
            today=TODAY,
        )
    with pytest.raises(InvalidValue, match="must contain"):
        s.change_series(
            credit, "CN", False, uow=app.uow(), clock=app.clock, actor="test", today=TODAY
        )


def test_the_counter_is_seeded_when_the_yearly_reset_is_switched(app: App) -> None:
    entity = make_entity(app)
    [row] = s.list_series(uow=app.uow())
    with app.uow() as uow:
        for _ in range(4):
            uow.numbering.allocate(row.record.id, row.record.series.period_key(TODAY))
        uow.commit()
    seq, _ = s.next_number(s.list_series(uow=app.uow())[0], TODAY)
    pattern = "A-{yyyy}-{seq}"
    reset = not row.record.series.yearly_reset
    s.change_series(
        row.record.id, pattern, reset, uow=app.uow(), clock=app.clock, actor="t", today=TODAY
    )
    [after] = s.list_series(uow=app.uow())
    assert s.next_number(after, TODAY) == (seq, f"A-2026-{seq}")
    assert entity == after.record.entity_id


def test_default_terms_and_tax_kind_are_stored(app: App) -> None:
    entity = make_entity(app)
    assert s.default_terms(uow=app.uow()).code == "net:30"
    assert s.default_tax_kind(entity, uow=app.uow()) is TaxKind.STANDARD
    s.set_defaults("eom:15", {entity: "reduced"}, uow=app.uow(), clock=app.clock, actor="t")
    assert s.default_terms(uow=app.uow()).code == "eom:15"
    assert s.default_tax_kind(entity, uow=app.uow()) is TaxKind.REDUCED
    s.set_defaults("net:14", {entity: "exempt"}, uow=app.uow(), clock=app.clock, actor="t")
    assert s.default_terms(uow=app.uow()).code == "net:14"
    with pytest.raises(InvalidValue):
        s.set_defaults("net:14", {entity: "luxury"}, uow=app.uow(), clock=app.clock, actor="t")
    [tax] = s.entity_taxes(uow=app.uow())
    assert tax.kind is TaxKind.EXEMPT and tax.rates["standard"] == "19"


def test_a_new_client_gets_the_default_terms_unless_it_names_its_own(app: App) -> None:
    entity = make_entity(app)
    s.set_defaults("eom:15", {entity: "standard"}, uow=app.uow(), clock=app.clock, actor="t")
    base = dict(name="Fjord AS", country="NO", currency="NOK")
    plain = clients.create_client(
        entity, clients.ClientFields(**base), uow=app.uow(), clock=app.clock, actor="t"
    )
    own = clients.create_client(
        entity,
        clients.ClientFields(**base, terms="net:7"),
        uow=app.uow(),
        clock=app.clock,
        actor="t",
    )
    with app.uow(read_only=True) as uow:
        assert uow.clients.get(plain).terms.code == "eom:15"
        assert uow.clients.get(own).terms.code == "net:7"


def test_rates_in_use_are_read_from_invoice_lines(app: App) -> None:
    issue_one(app, make_client(app, make_entity(app)))
    used = s.taxes_in_use(uow=app.uow())
    assert used and all(u.lines > 0 for u in used)


def test_the_smtp_password_is_sealed_and_kept_when_not_typed_again(app: App) -> None:
    save = dict(host="smtp.example.com", port="587", security="starttls", from_address=None)
    s.save_smtp(
        **save,
        username="u",
        password="pw-123456",
        uow=app.uow(),
        clock=app.clock,
        box=app.box,
        actor="t",
    )
    with app.uow(read_only=True) as uow:
        raw = uow.installation.get("smtp")
    assert raw is not None and "pw-123456" not in repr(raw)
    s.save_smtp(
        **save, username="u", password="", uow=app.uow(), clock=app.clock, box=app.box, actor="t"
    )
    config = s.smtp_config(uow=app.uow(), box=app.box)
    assert config is not None and config.password == "pw-123456"
    assert "pw-123456" not in repr(config)
    shown = s.smtp_settings(uow=app.uow())
    assert shown is not None and shown.password_set
    s.forget_smtp(uow=app.uow(), clock=app.clock, actor="t")
    assert s.smtp_config(uow=app.uow(), box=app.box) is None


def test_the_delivery_worker_sends_through_the_stored_smtp_server(app: App) -> None:
    client = make_client(app, make_entity(app))
    with SmtpTestServer(credentials=("mailer", "pw-123456")) as server:
        s.save_smtp(
            host=server.host,
            port=str(server.port),
            security="none",
            username="mailer",
            password="pw-123456",
            from_address="invoices@nordlicht.example",
            uow=app.uow(),
            clock=app.clock,
            box=app.box,
            actor="t",
        )
        issue_one(app, client)
        run_jobs_once(uow=app.uow(), clock=app.clock, worker="w", handlers=app.handlers("w"))
        [msg] = server.wait_for(1)
    assert msg.login == "mailer"
    assert msg.message["From"].addresses[0].addr_spec == "invoices@nordlicht.example"
    assert msg.message["Reply-To"].addresses[0].addr_spec == "billing@nordlicht.example"


def test_the_environment_mailer_is_used_while_nothing_is_stored(
    database_url: str, tmp_path: Path
) -> None:
    with SmtpTestServer() as server:
        app = make_app(database_url, tmp_path, smtp_host=server.host, smtp_port=server.port)
        issue_one(app, make_client(app, make_entity(app)))
        run_jobs_once(uow=app.uow(), clock=app.clock, worker="w", handlers=app.handlers("w"))
        [msg] = server.wait_for(1)
        app.engine.dispose()
    assert msg.message["From"].addresses[0].addr_spec == "billing@nordlicht.example"


def test_roles_change_but_the_last_owner_stays_and_removal_drops_keys(app: App) -> None:
    def add(email: str, role: str) -> int:
        return accounts.create_user(
            email,
            "long enough pw",
            role,
            uow=app.uow(),
            clock=app.clock,
            hasher=app.hasher,
            actor="t",
        )

    boss, clerk = add("boss@x.example", "owner"), add("clerk@x.example", "accountant")
    with app.uow(read_only=True) as uow:
        me, other = uow.users.get(boss), uow.users.get(clerk)
    with pytest.raises(Conflict, match="own role"):
        team.change_role(boss, "viewer", uow=app.uow(), clock=app.clock, by=me)
    team.change_role(clerk, "owner", uow=app.uow(), clock=app.clock, by=me)
    with app.uow(read_only=True) as uow:
        other = uow.users.get(clerk)
    team.change_role(boss, "viewer", uow=app.uow(), clock=app.clock, by=other)
    with app.uow(read_only=True) as uow:
        me = uow.users.get(boss)
    with pytest.raises(Conflict, match="last owner"):
        team.remove_user(clerk, uow=app.uow(), clock=app.clock, by=me)  # (a viewer, even)
    key = accounts.create_api_key(boss, "k", ["read"], uow=app.uow(), clock=app.clock)
    assert [k.name for k in team.list_keys(uow=app.uow())] == ["k"]
    team.remove_user(boss, uow=app.uow(), clock=app.clock, by=other)
    assert team.list_keys(uow=app.uow()) == []
    assert [u.email for u in team.list_users(uow=app.uow())] == ["clerk@x.example"]
    with pytest.raises(accounts.AuthError):
        accounts.authenticate_key(key, "read", uow=app.uow())
