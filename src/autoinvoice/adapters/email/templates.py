"""Email subjects and bodies from Jinja2 templates, rendered in a sandbox.

An email named ``invoice_email`` is three templates side by side: ``invoice_email.subject.txt``,
``invoice_email.txt`` and ``invoice_email.html``. The defaults ship in this package's
``templates/`` folder; a file of the same name in the override folder replaces one of them.

A third source wins over both: templates edited in the web app and stored in the database
(``user_templates``), which the caller reads in its transaction and passes as ``sources``
(file name → template text). `check` validates such a source before it is stored.

Users edit those overrides, so every template is treated as untrusted code and rendered in
Jinja2's ``SandboxedEnvironment``: reaching for ``__class__``, ``__mro__`` and the like raises
``jinja2.exceptions.SecurityError``. ``StrictUndefined`` makes a misspelt variable raise
``UndefinedError`` instead of mailing a blank. ``*`` may not build a string or list over
``_MAX_SIZE`` items or a number over ``_MAX_INT``, and ``**`` is refused, so a preview
cannot make the server build huge values. Only ``.html`` templates are HTML-escaped —
edited ones too (the escaping follows the file an edit replaces). The subject is collapsed
to one line.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
    nodes,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ...domain.errors import InvalidValue
from ...services.labels import email_labels_for

__all__ = ["LAYOUT", "MAX_SOURCE_CHARS", "EmailTemplates", "RenderedEmail"]

LAYOUT = "_email_layout.html"  # the one file an edited template may extend
MAX_SOURCE_CHARS = 20_000
_MAX_RANGE = 1_000  # range() in an edited template; loops nest at most _MAX_LOOP_DEPTH deep
_MAX_LOOP_DEPTH = 2
_MAX_SIZE = 100_000  # characters or items that ``*`` may build
_MAX_INT = 10**12  # the largest whole number ``*`` may make

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


class RenderedEmail(NamedTuple):
    subject: str
    text: str
    html: str


_WIDE = re.compile(r"\d{6,}")  # a width or count of 100,000 or more inside a format string


def _check_sizes(*values: Any) -> None:
    """Refuse a whole number, or a number written in a format string, over ``_MAX_SIZE``:
    what a string method, a filter or ``%`` would build from it is bounded so."""
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > _MAX_SIZE:
            raise SecurityError(f"a template may not ask for more than {_MAX_SIZE:,} of anything")
        if isinstance(v, str) and any(int(n) > _MAX_SIZE for n in _WIDE.findall(v)):
            raise SecurityError(f"a format may not be wider than {_MAX_SIZE:,} characters")


def _bounded(name: str, f: Any) -> Any:
    """Filter ``f`` refusing sizes over the bound in its arguments (``center(10**8)``) — and,
    for ``format``, in the format string it is applied to. Jinja's pass_* marker is kept."""
    passed = getattr(f, "jinja_pass_arg", None)
    skip = 2 if passed is not None else 1  # (context/environment,) value, arguments…

    def bounded(*args: Any, **kwargs: Any) -> Any:
        if name == "format":  # the values it fills in are not sizes: "%d"|format(10**6)
            _check_sizes(*args[skip - 1 : skip])
        else:
            _check_sizes(*args[skip:], *kwargs.values())
        return f(*args, **kwargs)

    if passed is not None:
        bounded.jinja_pass_arg = passed  # type: ignore[attr-defined]
    return bounded


class _BoundedSandbox(SandboxedEnvironment):
    """The sandbox with a bound on what an operator can build (the pattern of Jinja's
    sandbox documentation): ``"x" * 10**8`` or ``9 ** 9 ** 9`` raise ``SecurityError``."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # filters are called directly by compiled templates, not through ``call``
        self.filters = {name: _bounded(name, f) for name, f in self.filters.items()}

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # "x".ljust(10**8), "{:100000000}".format(x): a string or list method may not be
        # asked for more (the values a format fills in are not sizes: "{:,}".format(10**6))
        # (the sandbox hands out str.format wrapped; the wrapper keeps the bound method)
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(owner, str) and getattr(__obj, "__name__", "") in ("format", "format_map"):
            _check_sizes(owner)
        elif isinstance(owner, str | list | tuple):
            _check_sizes(*args, *kwargs.values())
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%":
            _check_sizes(left)
            return super().call_binop(context, operator, left, right)
        if operator == "**":
            raise SecurityError("the power operator ** is not allowed in a template")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, (str, list, tuple)) and isinstance(times, int)
                if sized and len(seq) * times > _MAX_SIZE:
                    raise SecurityError(
                        f"* may not build more than {_MAX_SIZE:,} characters or items"
                    )
            result = super().call_binop(context, operator, left, right)
            if isinstance(result, int) and abs(result) > _MAX_INT:
                raise SecurityError(f"* may not make a number over {_MAX_INT:,}")
            return result
        return super().call_binop(context, operator, left, right)


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
        self._env = _BoundedSandbox(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(
                enabled_extensions=("html",), default_for_string=False, default=False
            ),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.globals["range"] = _small_range
        # an edited source is compiled from a string: escape it as the file it replaces
        self._edited_env = {
            escape: self._env.overlay(autoescape=escape) for escape in (False, True)
        }
        self._edited = lru_cache(maxsize=64)(self._compile_edited)

    def render_email(
        self,
        template_name: str,
        context: Mapping[str, Any],
        sources: Mapping[str, str] | None = None,
    ) -> RenderedEmail:
        """Subject, plain-text body and HTML body of ``template_name`` for ``context``;
        ``sources`` (file name → text, edited in the web app) win over the files.

        Raises jinja2's TemplateNotFound, UndefinedError, TemplateSyntaxError or SecurityError.
        """
        if not _NAME.fullmatch(template_name):
            raise ValueError(f"not a template name: {template_name!r}")
        sources = sources or {}
        subject = self._render(f"{template_name}.subject.txt", context, sources)
        return RenderedEmail(
            subject=" ".join(subject.split()),
            text=self._render(f"{template_name}.txt", context, sources),
            html=self._render(f"{template_name}.html", context, sources),
        )

    def default_source(self, file_name: str) -> str:
        """The text of ``file_name`` as it is without an edit: the override folder's or the
        package's (what "Reset to default" goes back to)."""
        loader = self._env.loader
        assert loader is not None
        return loader.get_source(self._env, file_name)[0]

    def check(self, file_name: str, source: str, context: Mapping[str, Any]) -> str:
        """Validate an edited ``source`` for ``file_name`` and return it rendered for
        ``context``. Raises `InvalidValue` saying what is wrong and on which line: a syntax
        error, a reach for Python internals (``__class__``…), an ``include``/``import`` or an
        ``extends`` of anything but the email frame, a loop nested too deep, a variable the
        context does not have. Nothing of a rejected source runs except the sandboxed render.
        """
        if len(source) > MAX_SOURCE_CHARS:
            raise InvalidValue(
                f"the template is {len(source):,} characters long; the limit is "
                f"{MAX_SOURCE_CHARS:,}"
            )
        try:
            tree = self._env.parse(source)
        except TemplateSyntaxError as exc:
            raise InvalidValue(f"line {exc.lineno}: {exc.message}") from exc
        _refuse_unsafe(tree, file_name)
        return self._run(self._edited(file_name, source), context, source)

    def _render(self, name: str, context: Mapping[str, Any], sources: Mapping[str, str]) -> str:
        edited = sources.get(name)
        if edited is not None:
            try:
                tree = self._env.parse(edited)
            except TemplateSyntaxError as exc:
                raise InvalidValue(f"{name}, line {exc.lineno}: {exc.message}") from exc
            _refuse_unsafe(tree, name)  # checked when saved; again, the database is not code
            template = self._edited(name, edited)
        else:
            template = self._env.get_template(name)
        # ``t`` is the wording in the client's language; English when the caller gives none
        return template.render({"t": email_labels_for("en"), **context})

    def _compile_edited(self, file_name: str, source: str) -> Template:
        env: Environment = self._edited_env[file_name.endswith(".html")]
        return env.from_string(source)

    def _run(self, template: Template, context: Mapping[str, Any], source: str) -> str:
        try:
            return template.render({"t": email_labels_for("en"), **context})
        except UndefinedError as exc:
            raise InvalidValue(f"{_where(exc)}{_unknown(exc, source)}") from exc
        except SecurityError as exc:
            raise InvalidValue(f"{_where(exc)}not allowed in a template: {exc}") from exc
        except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
            raise InvalidValue(f"{_where(exc)}{type(exc).__name__}: {exc}") from exc
        except RecursionError as exc:
            raise InvalidValue("the template calls itself without end") from exc


def _small_range(*args: int) -> range:
    r = range(*args)
    if len(r) > _MAX_RANGE:
        raise SecurityError(f"range() is limited to {_MAX_RANGE} items in a template")
    return r


_MISSING_ATTR = re.compile(r"has no attribute '([^']+)'")
_MISSING_NAME = re.compile(r"'([^']+)' is undefined")


def _unknown(exc: UndefinedError, source: str) -> str:
    """Jinja's "'dict object' has no attribute 'totl'" as "there is no variable
    invoice.totl", naming the variable as written on the line."""
    message = exc.message or str(exc)
    attr, name = _MISSING_ATTR.search(message), _MISSING_NAME.search(message)
    if attr is not None:
        lines = source.splitlines()
        where = _line_of(exc)
        text = lines[where - 1] if where and where <= len(lines) else source
        dotted = re.search(r"[A-Za-z_][\w.]*\." + re.escape(attr.group(1)) + r"\b", text)
        name_text = dotted.group(0) if dotted else attr.group(1)
    elif name is not None:
        name_text = name.group(1)
    else:
        return f"{message} (see the list of variables)"
    return f"there is no variable {name_text!r} (see the list of variables you can use)"


def _line_of(exc: BaseException) -> int | None:
    lines = [
        line
        for f, line in traceback.walk_tb(exc.__traceback__)
        if f.f_code.co_filename == "<template>"  # Jinja's name for a template from a string
    ]
    return lines[-1] if lines else None


def _where(exc: BaseException) -> str:
    """The prefix "line N: " where a render error happened in an edited template, or ''."""
    line = _line_of(exc)
    return f"line {line}: " if line else ""


def _refuse_unsafe(tree: nodes.Template, file_name: str) -> None:
    """Refuse what the sandbox would stop only at run time, before anything runs."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else _const(node.arg)  # type: ignore[attr-defined]
        if isinstance(name, str) and name.startswith("_"):
            raise InvalidValue(
                f"line {node.lineno}: {name!r} is not allowed: names starting with _ are "
                "Python internals, not invoice data"
            )
    for ref in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport)):
        raise InvalidValue(
            f"line {ref.lineno}: templates cannot include or import other files; "
            f"an HTML email may only extend {LAYOUT!r}"
        )
    for ext in tree.find_all(nodes.Extends):
        if not file_name.endswith(".html") or _const(ext.template) != LAYOUT:
            raise InvalidValue(
                f"line {ext.lineno}: an HTML email may only extend {LAYOUT!r}"
                if file_name.endswith(".html")
                else f"line {ext.lineno}: a subject or text body cannot extend another template"
            )
    _check_loops(tree, 0)


def _check_loops(node: nodes.Node, depth: int) -> None:
    for child in node.iter_child_nodes():
        inner = depth + isinstance(child, nodes.For)
        if inner > _MAX_LOOP_DEPTH:
            raise InvalidValue(
                f"line {child.lineno}: loops may nest at most {_MAX_LOOP_DEPTH} deep in an email"
            )
        _check_loops(child, inner)


def _const(node: nodes.Node) -> object:
    return node.value if isinstance(node, nodes.Const) else None
