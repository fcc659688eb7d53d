"""The statement parsers on their own: versions and shapes of each format, and the place a
broken file is rejected at."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from autoinvoice.adapters.bank import StatementError, detect_format, parse_statement
from bank_world import CSV_MAPPING, SAMPLES

CAMT_02 = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-27T06:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>S1</Id>
   <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
   <Ntry>
    <Amt Ccy="EUR">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-11-23</Dt></BookgDt><ValDt><Dt>2026-11-24</Dt></ValDt>
    <AcctSvcrRef>BATCH-1</AcctSvcrRef>
    <NtryDtls>
     <TxDtls>
      <Refs><EndToEndId>E1</EndToEndId></Refs>
      <AmtDtls><TxAmt><Amt Ccy="EUR">100.00</Amt></TxAmt></AmtDtls>
      <RltdPties><Dbtr><Nm>First Payer</Nm></Dbtr></RltdPties>
      <RmtInf><Ustrd>INV-2026-000001</Ustrd></RmtInf>
     </TxDtls>
     <TxDtls>
      <Refs><EndToEndId>E2</EndToEndId></Refs>
      <AmtDtls><TxAmt><Amt Ccy="EUR">200.00</Amt></TxAmt></AmtDtls>
      <RltdPties><Dbtr><Nm>Second Payer</Nm></Dbtr></RltdPties>
      <RmtInf><Ustrd>INV-2026-000002</Ustrd><Ustrd>second part</Ustrd></RmtInf>
     </TxDtls>
    </NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">50.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>
    <BookgDt><Dt>2026-11-24</Dt></BookgDt>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">75.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts>
    <BookgDt><DtTm>2026-11-25T10:00:00</DtTm></BookgDt><AcctSvcrRef>RV-1</AcctSvcrRef>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"""


def test_a_batch_entry_of_an_early_camt_version_becomes_one_line_per_transfer() -> None:
    batch, second, reversal = parse_statement(CAMT_02, "camt")
    assert (batch.amount, batch.counterparty_name, batch.end_to_end_id) == (
        Decimal("100.00"),
        "First Payer",
        "E1",
    )
    assert second.remittance == "INV-2026-000002 second part"
    assert (batch.bank_ref, second.bank_ref) == ("BATCH-1/1", "BATCH-1/2")
    assert batch.value_date == date(2026, 11, 24)
    # CRDT with RvslInd: a debit undone, money back on the account (CdtDbtInd says the way)
    assert (reversal.amount, reversal.booking_date) == (Decimal("75.00"), date(2026, 11, 25))


def test_a_pending_entry_is_not_money_on_the_account_yet() -> None:
    assert len(parse_statement(CAMT_02, "camt")) == 3


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (b"<BookgDt><Dt>2026-11-23</Dt></BookgDt>", b"", "/Document/BkToCstmrStmt/Stmt/Ntry[1]"),
        (
            b"<CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK",
            b"<CdtDbtInd>CRED</CdtDbtInd><Sts>BOOK",
            "/Document/BkToCstmrStmt/Stmt/Ntry[1]/CdtDbtInd",
        ),
        (
            b'<Amt Ccy="EUR">300.00',
            b'<Amt Ccy="EUX">300.00',
            "/Document/BkToCstmrStmt/Stmt/Ntry[1]/Amt",
        ),
        (b"camt.053.001.02", b"pain.001.001.03", "/Document"),
    ],
)
def test_a_broken_camt_names_the_element_at_fault(old: bytes, new: bytes, where: str) -> None:
    with pytest.raises(StatementError) as caught:
        parse_statement(CAMT_02.replace(old, new, 1), "camt")
    assert caught.value.field == where


def test_an_mt940_without_its_account_or_tags_is_refused() -> None:
    with pytest.raises(StatementError, match="not an MT940"):
        parse_statement(b"hello\nworld\n", "mt940")


def test_a_file_that_is_not_ofx_is_refused() -> None:
    with pytest.raises(StatementError, match="OFX"):
        parse_statement(b"OFXHEADER:100\nnonsense", "ofx")


def test_a_csv_with_separate_credit_and_debit_columns_is_signed() -> None:
    data = b"Date,In,Out,Text\n2026-11-23,119.00,,INV-2026-000001\n2026-11-24,,45.00,fee\n"
    mapping = {
        "account": "DE89",
        "date_col": "Date",
        "credit_col": "In",
        "debit_col": "Out",
        "text_col": "Text",
        "currency": "EUR",
    }
    credit, debit = parse_statement(data, "csv", mapping=mapping)
    assert (credit.amount, debit.amount) == (Decimal("119.00"), Decimal("-45.00"))


def test_a_csv_whose_header_lacks_a_mapped_column_is_refused_at_line_1() -> None:
    with pytest.raises(StatementError) as caught:
        parse_statement(b"Datum;Betrag\n", "csv", mapping=CSV_MAPPING)
    assert caught.value.field == "line 1"


def test_the_format_is_told_from_the_first_bytes() -> None:
    assert [
        detect_format((SAMPLES / n).read_bytes(), n)
        for n in (
            "camt053_valid.xml",
            "camt054_valid.xml",
            "mt940_valid.sta",
            "ofx_valid.ofx",
            "csv_valid.csv",
        )
    ] == ["camt", "camt", "mt940", "ofx", "csv"]
