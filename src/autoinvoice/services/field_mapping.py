"""A source's field map: extra canonical fields read from the vendor's record by dotted
path (``po_number → properties.po_number``), checked before it is saved and previewed
against a request the source really sent.

Rules a field map obeys (:func:`check_field_map`):

* a field name is a lower-case identifier (``po_number``), at most 64 characters;
* a path is dot-separated keys or list indices with no blanks (``properties.po_number``,
  ``products.0.name``), at most 300 characters;
* a name the connector fills itself (the canonical names of :mod:`..domain.events`:
  ``amount``, ``client_ref`` …) is refused unless the user says it may be overwritten —
  a typo there would silently change what is billed.

The preview (:func:`preview_mapping`) runs the source's own connector (``parse`` is pure: no
network, no clock) over the recorded body three times: without the map (what the connector
fills itself), with probe paths (which paths of the record resolve, with the connector's own
path rules), and with the edited map (the events the rules would see). A path that resolves
to nothing is reported with the closest path the record has (:func:`difflib.get_close_matches`).

>>> check_field_map([("po_number", "properties.po_number"), ("Bad name", "x..y")])[1]
{'name-1': "'Bad name' is not a field name: use lower-case letters, digits and _", \
'path-1': "'x..y' is not a dotted path like properties.po_number"}
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..domain.errors import DomainError, InvalidValue
from .connectors import Connector, SourceConfig
from .ports import Clock, UnitOfWork

# the canonical field names every connector may fill (domain/events.py module docstring)
CANONICAL_FIELDS = frozenset(
    {
        "client_ref",
        "client_name",
        "project_ref",
        "project_name",
        "deal_id",
        "name",
        "amount",
        "currency",
        "stage",
        "pipeline",
        "status",
        "close_date",
        "products",
        "title",
        "key",
        "status_category",
        "labels",
        "url",
        "entry_id",
        "person",
        "person_ref",
        "task",
        "description",
        "hours",
        "day",
        "billable",
        "started_at",
        "updated_at",
    }
)
FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
PATH = re.compile(r"[^.\s]{1,100}(\.[^.\s]{1,100})*")
MAX_PATH = 300
MAX_ROWS = 50
MAX_PROBES = 4000
LIST_ITEMS = 3  # paths offered into a list: its first few items
PROBE = "__autoinvoice_probe_"


# -- checking and saving ---------------------------------------------------------------------
def check_field_map(
    rows: Sequence[tuple[str, str]], *, allow_override: bool = False
) -> tuple[dict[str, str], dict[str, str]]:
    """The field map of the rows (blank rows skipped) and the errors per row, keyed
    ``name-<i>`` / ``path-<i>`` (``i`` the row's index)."""
    result: dict[str, str] = {}
    errors: dict[str, str] = {}
    for i, (raw_name, raw_path) in enumerate(rows):
        name, path = raw_name.strip(), raw_path.strip()
        if not name and not path:
            continue
        if not name:
            errors[f"name-{i}"] = "give the canonical field this path fills"
        elif not FIELD_NAME.fullmatch(name):
            errors[f"name-{i}"] = (
                f"{name!r} is not a field name: use lower-case letters, digits and _"
            )
        elif name in result:
            errors[f"name-{i}"] = f"{name!r} is mapped twice"
        elif name in CANONICAL_FIELDS and not allow_override:
            errors[f"name-{i}"] = (
                f"{name!r} is filled by the connector itself; tick “let the map overwrite "
                "connector fields” to replace it"
            )
        if not path:
            errors[f"path-{i}"] = "give the dotted path to read, e.g. properties.po_number"
        elif len(path) > MAX_PATH or not PATH.fullmatch(path):
            errors[f"path-{i}"] = f"{path!r} is not a dotted path like properties.po_number"
        if f"name-{i}" not in errors and f"path-{i}" not in errors:
            result[name] = path
    if len(result) > MAX_ROWS:
        errors["rows"] = f"a field map holds at most {MAX_ROWS} fields"
    return result, errors


def update_field_map(
    source_name: str,
    rows: Sequence[tuple[str, str]],
    *,
    allow_override: bool = False,
    uow: UnitOfWork,
    clock: Clock,
    actor: str,
) -> dict[str, str]:
    """Replace a source's field map (audited ``source.mapping_updated`` with the map before
    and after; a map holds no secret). Bad rows raise InvalidValue naming the first one."""
    field_map, errors = check_field_map(rows, allow_override=allow_override)
    if errors:
        where, message = next(iter(errors.items()))
        raise InvalidValue(message, field=where)
    with uow:
        src = uow.sources.by_name(source_name)
        before = dict(src.config.field_map)
        uow.sources.update(src.id, config=replace(src.config, field_map=field_map))
        uow.audit.record(
            at=clock.now(),
            actor=actor,
            action="source.mapping_updated",
            subject_type="source",
            subject_id=src.id,
            detail={"before": before, "after": field_map},
        )
        uow.commit()
    return field_map


# -- preview ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class MappedValue:
    """One row of the map against one event: what the path found, or why not."""

    name: str
    path: str
    found: bool
    value: str = ""
    suggestion: str | None = None
    deferred: bool = False  # the record is read from the vendor's API later: not checkable
    connector_value: str | None = None  # the connector fills this name itself, differently


@dataclass(frozen=True)
class PreviewEvent:
    type: str
    subject: str
    external_id: str
    occurred_at: datetime
    own: dict[str, str]  # what the connector fills itself
    mapped: list[MappedValue]
    fields: dict[str, str]  # the event's fields with the map applied, as rules see them
    paths: list[str]  # every path of the record the map can read
    values: dict[str, str] = field(default_factory=dict)  # path → its value, shown
    needs_fetch: bool = False


@dataclass(frozen=True)
class Preview:
    events: list[PreviewEvent] = field(default_factory=list)
    error: str | None = None

    @property
    def paths(self) -> list[str]:
        seen: dict[str, None] = {}
        for e in self.events:
            seen.update(dict.fromkeys(e.paths))
        return list(seen)

    def path_values(self, contains: str = "", limit: int = 300) -> list[tuple[str, str]]:
        """(path, value of the first event that has it), paths containing ``contains``
        (any case), at most ``limit``."""
        out: dict[str, str] = {}
        needle = contains.lower()
        for e in self.events:
            for p in e.paths:
                if p not in out and needle in p.lower():
                    out[p] = e.values.get(p, "")
        return sorted(out.items())[:limit]


def show(value: Any, limit: int = 200) -> str:
    """A value as the preview shows it: strings as they are, the rest as JSON."""
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def leaf_paths(obj: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths to every scalar of a JSON value (the first items of lists).

    >>> list(leaf_paths({"a": {"b": 1, "c": [{"d": 2}]}, "e.f": 3}))
    ['a.b', 'a.c.0.d']
    """
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            k = str(key)
            if "." in k or not k or any(ch.isspace() for ch in k):
                continue  # not addressable by a dotted path
            yield from leaf_paths(value, f"{prefix}{k}.")
    elif isinstance(obj, list):
        for i, value in enumerate(obj[:LIST_ITEMS]):
            yield from leaf_paths(value, f"{prefix}{i}.")
    elif prefix and obj is not None:
        yield prefix[:-1]


def _suffixes(path: str) -> Iterator[str]:
    parts = path.split(".")
    for i in range(len(parts)):
        yield ".".join(parts[i:])


def preview_mapping(
    connector: Connector,
    headers: Mapping[str, str],
    body: bytes,
    config: SourceConfig,
    field_map: Mapping[str, str],
) -> Preview:
    """What the connector makes of ``body`` with ``field_map`` (see the module docstring).
    A body the connector refuses gives a preview with only ``error``."""
    try:
        plain = connector.parse(headers, body, replace(config, field_map={}))
        candidates: dict[str, None] = {}
        for event in plain:
            for leaf in leaf_paths(dict(event.raw)):
                candidates.update(dict.fromkeys(_suffixes(leaf)))
        probes = list(candidates)[:MAX_PROBES]
        wanted = list(field_map.values())
        probe_map = {f"{PROBE}{i}": p for i, p in enumerate([*probes, *wanted])}
        probed = connector.parse(headers, body, replace(config, field_map=probe_map))
        mapped = connector.parse(headers, body, replace(config, field_map=dict(field_map)))
    except (DomainError, ValueError) as exc:
        return Preview(error=str(exc))
    if not (len(plain) == len(probed) == len(mapped)):
        return Preview(error="the connector made a different number of events for each map")
    out: list[PreviewEvent] = []
    for base, probe, final in zip(plain, probed, mapped, strict=True):
        values = {
            p: show(probe.fields[f"{PROBE}{i}"], 80)
            for i, p in enumerate(probes)
            if probe.fields.get(f"{PROBE}{i}") is not None
        }
        paths = list(values)
        rows = []
        for j, (name, path) in enumerate(field_map.items()):
            value = probe.fields.get(f"{PROBE}{len(probes) + j}")
            found = value is not None
            suggestion = None
            if not found:
                close = difflib.get_close_matches(path, paths, n=1, cutoff=0.6)
                suggestion = close[0] if close else None
            rows.append(
                MappedValue(
                    name=name,
                    path=path,
                    found=found,
                    value=show(value) if found else "",
                    suggestion=suggestion,
                    deferred=not found and final.needs_fetch,
                    connector_value=(
                        show(base.fields[name])
                        if base.fields.get(name) is not None and base.fields[name] != value
                        else None
                    ),
                )
            )
        out.append(
            PreviewEvent(
                type=final.type,
                subject=final.subject.value,
                external_id=final.external_id,
                occurred_at=final.occurred_at,
                own={k: show(v) for k, v in base.fields.items()},
                mapped=rows,
                fields={k: show(v) for k, v in final.fields.items() if v is not None},
                paths=sorted(paths),
                values=values,
                needs_fetch=final.needs_fetch,
            )
        )
    return Preview(events=out)


__all__ = [
    "CANONICAL_FIELDS",
    "MappedValue",
    "Preview",
    "PreviewEvent",
    "check_field_map",
    "leaf_paths",
    "preview_mapping",
    "show",
    "update_field_map",
]
