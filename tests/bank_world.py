"""A small installation for the bank statement tests: four clients and ten issued invoices
INV-2026-000001 … 000010, the ones the sample files in ``tests/samples/bank/`` pay.

=====  ======================  ========  ==========================================
 no.   client                  gross     paid in the samples by
=====  ======================  ========  ==========================================
  1    Hanseatic Logistics AG    119.00  RF reference (structured)
  2    Hanseatic Logistics AG    238.00  RF reference in the text (overlap file)
  3    Brightwave Media GmbH     357.00  one transfer for 3 and 4 ("… und -000004")
  4    Brightwave Media GmbH     476.00
  5    Kestrel Analytics Ltd     595.00  noisy number "inv-2026-000005"
  6    Kestrel Analytics Ltd    1190.00  split: 590.00 + 600.00
  7    Nordsee Foods GmbH        297.50  ambiguous: 7 and 8 have the same amount
  8    Nordsee Foods GmbH        297.50
  9    Hanseatic Logistics AG    178.50  known payer, exact open amount, no reference
 10    Brightwave Media GmbH      95.20  unknown payer, amount only
=====  ======================  ========  ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoinvoice.services.invoicing import issue_invoice
from builders import draft_for, make_app, make_client, make_entity

SAMPLES = Path(__file__).parent / "samples" / "bank"
CSV_MAPPING = {
    "account": "DE89370400440532013000",
    "date_col": "Buchungstag",
    "date_format": "%d.%m.%Y",
    "value_date_col": "Valuta",
    "name_col": "Name",
    "iban_col": "IBAN",
    "text_col": "Verwendungszweck",
    "amount_col": "Betrag",
    "currency_col": "Waehrung",
    "delimiter": ";",
    "decimal": ",",
}
CLIENTS = (
    "Hanseatic Logistics AG",
    "Brightwave Media GmbH",
    "Kestrel Analytics Ltd",
    "Nordsee Foods GmbH",
)
# (client index, net) per invoice, in number order; 19 % VAT on top
INVOICES = (
    (0, "100.00"),
    (0, "200.00"),
    (1, "300.00"),
    (1, "400.00"),
    (2, "500.00"),
    (2, "1000.00"),
    (3, "250.00"),
    (3, "250.00"),
    (0, "150.00"),
    (1, "80.00"),
)
# what each credit in the samples should do: bank reference → invoice numbers (auto) or
# "review"; the match rate is counted against this
EXPECTED = {
    "2026112300001": ("auto", [1]),
    "2026112300002": ("auto", [3, 4]),
    "2026112400003": ("auto", [6]),
    "2026112500004": ("auto", [6]),
    "2026112400005": ("auto", [5]),
    "2026112400006": ("auto", [9]),
    "2026112500007": ("review", [7, 8]),
    "2026112500008": ("review", [10]),
    "2026112600010": ("review", []),
    "2026112700011": ("auto", [2]),
    "2026112700012": ("review", [4]),  # invoice 4 is paid by then: review
}


@dataclass
class BankWorld:
    app: Any
    clients: list[int]
    invoices: dict[int, int]  # number (1…10) → invoice id


def make_bank_world(database_url: str, tmp_path: Path) -> BankWorld:
    app = make_app(database_url, tmp_path)
    entity = make_entity(app)
    clients = [make_client(app, entity, name=name) for name in CLIENTS]
    invoices = {}
    for no, (who, net) in enumerate(INVOICES, 1):
        inv_id = draft_for(
            app, clients[who], lines=[("Managed IT services, November 2026", "1", net)]
        )
        issue_invoice(inv_id, uow=app.uow(), clock=app.clock, actor="test")
        invoices[no] = inv_id
    return BankWorld(app, clients, invoices)
