"""Email subjects and bodies from Jinja2 templates, rendered in a sandbox.

An email named ``invoice_email`` is three templates side by side: ``invoice_email.subject.txt``,
``invoice_email.txt`` and ``invoice_email.html``. The defaults ship in this package's
``templates/`` folder; a file of the same name in the override folder replaces one of them.

Users edit those overrides, so every template is treated as untrusted code and rendered in
Jinja2's ``SandboxedEnvironment``: reaching for ``__class__``, ``__mro__`` and the like raises
``jinja2.exceptions.SecurityError``. ``StrictUndefined`` makes a misspelt variable raise
``UndefinedError`` instead of mailing a blank. Only ``.html`` templates are HTML-escaped.
The subject is collapsed to one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment

from ...services.labels import email_labels_for

__all__ = ["EmailTemplates", "RenderedEmail"]

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


class RenderedEmail(NamedTuple):
    subject: str
    text: str
    html: str


class EmailTemplates:
    """Renders emails from the package's templates, or the user's overrides of them.

    >>> from autoinvoice.adapters.email.templates import EmailTemplates
    >>> EmailTemplates().render_email("invoice_email", context).subject  # doctest: +SKIP
    'Invoice INV-2026-000123 from Acme GmbH — €1,428.00 due 25 Dec 2026'
    """

    def __init__(self, override_folder: Path | None = None) -> None:
        loaders: list[BaseLoader] = []
        if override_folder is not None:
            loaders.append(FileSystemLoader(override_folder))
        loaders.append(PackageLoader("autoinvoice.adapters.email", "templates"))
        self._env = SandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(
                enabled_extensions=("html",), default_for_string=False, default=False
            ),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render_email(self, template_name: str, context: Mapping[str, Any]) -> RenderedEmail:
        """Subject, plain-text body and HTML body of ``template_name`` for ``context``.

        Raises jinja2's TemplateNotFound, UndefinedError, TemplateSyntaxError or SecurityError.
        """
        if not _NAME.fullmatch(template_name):
            raise ValueError(f"not a template name: {template_name!r}")
        subject = self._render(f"{template_name}.subject.txt", context)
        return RenderedEmail(
            subject=" ".join(subject.split()),
            text=self._render(f"{template_name}.txt", context),
            html=self._render(f"{template_name}.html", context),
        )

    def _render(self, name: str, context: Mapping[str, Any]) -> str:
        # ``t`` is the wording in the client's language; English when the caller gives none
        return self._env.get_template(name).render({"t": email_labels_for("en"), **context})
