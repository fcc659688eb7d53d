"""camt entries whose sign or split the parser must get right: a reversal booked as a debit
is money leaving the account, and a batch's transfers each carry their own amount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from autoinvoice.adapters.bank import StatementError, parse_statement


def _camt(entries: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-27T06:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>S1</Id>
   <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
   {entries}
  </Stmt>
 </BkToCstmrStmt>
</Document>
""".encode()


RETURNED = """
<Ntry>
 <Amt Ccy="EUR">119.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd>
 <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-26</Dt></BookgDt>
 <AcctSvcrRef>RET-1</AcctSvcrRef>
 <NtryDtls><TxDtls>
  <RltdPties><Dbtr><Pty><Nm>Acme GmbH</Nm></Pty></Dbtr></RltdPties>
  <RmtInf><Ustrd>INV-2026-000001</Ustrd></RmtInf>
 </TxDtls></NtryDtls>
</Ntry>
"""

DEBIT_UNDONE = """
<Ntry>
 <Amt Ccy="EUR">45.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd>
 <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-26</Dt></BookgDt>
 <AcctSvcrRef>RET-2</AcctSvcrRef>
</Ntry>
"""


def test_a_returned_credit_booked_as_a_debit_is_money_going_out_not_a_payment() -> None:
    # ISO 20022 ReportEntry RvslInd: "If the CreditDebitIndicator is DBIT and
    # ReversalIndicator is Yes, the original operation was a credit entry" — CdtDbtInd
    # already says which way the money moves now
    (line,) = parse_statement(_camt(RETURNED), "camt")
    assert line.amount == Decimal("-119.00")
    assert not line.is_credit


def test_a_reversed_debit_booked_as_a_credit_is_money_coming_in() -> None:
    (line,) = parse_statement(_camt(DEBIT_UNDONE), "camt")
    assert line.amount == Decimal("45.00")


BATCH_MISSING_AMOUNT = """
<Ntry>
 <Amt Ccy="EUR">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
 <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-26</Dt></BookgDt>
 <AcctSvcrRef>BATCH-9</AcctSvcrRef>
 <NtryDtls>
  <TxDtls><Amt Ccy="EUR">100.00</Amt><RmtInf><Ustrd>INV-2026-000001</Ustrd></RmtInf></TxDtls>
  <TxDtls><RmtInf><Ustrd>INV-2026-000002</Ustrd></RmtInf></TxDtls>
 </NtryDtls>
</Ntry>
"""


def test_a_batch_transfer_without_its_own_amount_is_refused_not_given_the_whole_batch() -> None:
    # the second transfer would otherwise be read as 300.00: 400.00 in for a 300.00 entry
    with pytest.raises(StatementError) as caught:
        parse_statement(_camt(BATCH_MISSING_AMOUNT), "camt")
    assert caught.value.field == "/Document/BkToCstmrStmt/Stmt/Ntry/NtryDtls/TxDtls[2]"


BATCH_OTHER_CURRENCY = """
<Ntry>
 <Amt Ccy="EUR">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
 <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-26</Dt></BookgDt>
 <AcctSvcrRef>BATCH-10</AcctSvcrRef>
 <NtryDtls>
  <TxDtls><Amt Ccy="EUR">100.00</Amt></TxDtls>
  <TxDtls><AmtDtls><TxAmt><Amt Ccy="USD">215.00</Amt></TxAmt></AmtDtls></TxDtls>
 </NtryDtls>
</Ntry>
"""


def test_a_batch_transfer_in_another_currency_than_its_entry_is_refused() -> None:
    # 215.00 USD must never be stored (and matched) as 215.00 EUR
    with pytest.raises(StatementError) as caught:
        parse_statement(_camt(BATCH_OTHER_CURRENCY), "camt")
    assert "USD" in caught.value.message
