"""Connectors: one module per outside product, each implementing the port in
:mod:`autoinvoice.services.connectors`. ``connector(kind)`` returns the one for a kind."""

from __future__ import annotations

from importlib import import_module

from ...services.connectors import Connector, Poller

KINDS = (
    "hubspot",
    "pipedrive",
    "jira",
    "linear",
    "asana",
    "clickup",
    "github",
    "toggl",
    "clockify",
    "generic",
    "harvest",
    "csv",
)
WEBHOOK_KINDS = KINDS[:10]
POLL_KINDS = (
    "harvest",
    "toggl",
    "clockify",
    "github",
    "jira",
    "hubspot",
    "pipedrive",
    "linear",
    "asana",
    "clickup",
)


def connector(kind: str) -> Connector:
    if kind not in WEBHOOK_KINDS:
        raise KeyError(kind)
    module = import_module(f"{__name__}.{kind}")
    return module.CONNECTOR


def poller(kind: str) -> Poller:
    if kind not in POLL_KINDS:
        raise KeyError(kind)
    module = import_module(f"{__name__}.{kind}")
    return module.POLLER
