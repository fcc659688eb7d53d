"""The e-invoice writers behind the ``EInvoiceWriter`` port.

* UBL 2.1 / Peppol BIS Billing 3.0 — ``ubl.py``; UN/CEFACT CII, EN 16931 profile — ``cii.py``.
* Factur-X 1.07 / ZUGFeRD 2.3 (FNFE-MPE and FeRD, "Factur-X specification", EN 16931
  profile): a PDF/A-3b (rendered by Typst with ``pdf_standards=["a-3b"]``) with the CII XML
  embedded as ``factur-x.xml`` (AFRelationship ``Data``) and the Factur-X XMP extension
  schema in the document metadata. The ``factur-x`` package (Akretion) does the embedding and
  the XMP; it does not make a PDF PDF/A by itself, which is why the PDF must already be
  PDF/A-3b when it arrives here. Every XML is checked against its XSD before it leaves.
"""

from __future__ import annotations

import logging

from facturx import generate_from_binary

from ...domain.en16931 import EInvoice
from .cii import write_cii
from .schemas import validate_cii, validate_ubl
from .ubl import write_ubl

# factur-x logs each step at INFO; its messages say nothing our audit does not
logging.getLogger("factur-x").setLevel(logging.WARNING)


class EInvoiceWriters:
    """UBL, CII and Factur-X from the EN 16931 model; each XML is XSD-valid or raises."""

    def __init__(self, *, check_schemas: bool = True) -> None:
        self.check_schemas = check_schemas

    def ubl(self, doc: EInvoice) -> bytes:
        xml = write_ubl(doc)
        if self.check_schemas:
            validate_ubl(xml)
        return xml

    def cii(self, doc: EInvoice) -> bytes:
        xml = write_cii(doc)
        if self.check_schemas:
            validate_cii(xml)
        return xml

    def facturx(self, pdf_a3: bytes, cii: bytes, *, number: str, seller: str) -> bytes:
        return bytes(
            generate_from_binary(
                pdf_a3,
                cii,
                flavor="factur-x",
                level="en16931",
                check_xsd=False,  # cii() has checked it
                pdf_metadata={
                    "author": seller,
                    "keywords": "Factur-X, Invoice",
                    "title": f"{seller}: Invoice {number}",
                    "subject": f"Factur-X invoice {number} issued by {seller}",
                },
            )
        )


__all__ = ["EInvoiceWriters"]
