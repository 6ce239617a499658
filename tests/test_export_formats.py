"""Accounting exports: golden files per format, the systems' documented headers, totals equal to the ledger.

Golden files live in tests/golden/export/<format>/; USAGEBILL_UPDATE_GOLDEN=1 rewrites them
(then read the diff before committing it).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from documents_support import GOLDEN, issued_workspace
from independent import half_away
from ledger_support import day, rows, usagebill

from pipeline.core.errors import ConfigError
from pipeline.month_end.accounting import netsuite, quickbooks, xero
from pipeline.month_end.accounting.config import load_accounting
from pipeline.month_end.accounting.export import export_documents
from pipeline.month_end.accounting.lines import spread_tax

FORMATS = ("csv", "xero", "quickbooks", "netsuite")

# The importers' documented column lists, written out here independently of the code.
# Xero: SalesInvoiceTemplate.csv, Xero Central "Import or create invoices using a CSV file".
XERO_DOCUMENTED = ("*ContactName,EmailAddress,POAddressLine1,POAddressLine2,POAddressLine3,POAddressLine4,POCity,"
                   "PORegion,POPostalCode,POCountry,*InvoiceNumber,Reference,*InvoiceDate,*DueDate,InventoryItemCode,"
                   "*Description,*Quantity,*UnitAmount,Discount,*AccountCode,*TaxType,TrackingName1,TrackingOption1,"
                   "TrackingName2,TrackingOption2,Currency,BrandingTheme")
# QuickBooks Online: sample invoice import file (Intuit, "Import invoices in batches"), non-US layout.
QUICKBOOKS_DOCUMENTED = ("InvoiceNo,Customer,InvoiceDate,DueDate,Terms,Location,Memo,Item(Product/Service),"
                         "ItemDescription,ItemQuantity,ItemRate,ItemAmount,ItemTaxCode,ItemTaxAmount,Currency,"
                         "Service Date")
# NetSuite: field labels of the Invoice and Credit Memo records (body and Items sublist) the Import Assistant maps.
NETSUITE_INVOICE = ("External ID,Invoice #,Customer,Date,Due Date,Currency,Subsidiary,Account,Memo,Item,Description,"
                    "Quantity,Rate,Amount,Tax Code,Tax Amount")
NETSUITE_CREDIT_MEMO = ("External ID,Credit Memo #,Customer,Date,Currency,Subsidiary,Account,Created From,Memo,Item,"
                        "Description,Quantity,Rate,Amount,Tax Code,Tax Amount")

ACCOUNTING_YAML = """\
account_code: "4000"
accounts: {platform_fee: "4010", discount: "4900", commitment: "4020"}
item_codes: {api: API, compute: COMPUTE, platform_fee: PLATFORM, discount: DISCOUNT, commitment: COMMITMENT}
tax_codes: {reverse_charge: Reverse charge EU, "19": MwSt 19%, "0": Zero rated}
xero:
  date_format: YYYY-MM-DD
  tax_codes: {"20": 20% (VAT on Income)}
  branding_theme: Standard
netsuite: {subsidiary: Heldout GmbH, ar_account: 1200 Accounts Receivable}
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    return issued_workspace(tmp_path_factory.mktemp("export"))


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def ledger_documents(ws: Path) -> dict[str, dict]:
    """Every document's header money from the ledger, by number."""
    docs = rows(ws / "ledger.duckdb", "SELECT invoice_number AS number, 'invoice' AS t, subtotal, discount_total, "
                                      "tax_percent, tax_total, total FROM invoices UNION ALL "
                                      "SELECT credit_note_number, 'credit_note', subtotal, discount_total, "
                                      "tax_percent, tax_total, total FROM credit_notes")
    return {d["number"]: d for d in docs}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_matches_its_golden_files(ws, tmp_path, fmt):
    done = export_documents(ws, fmt, out=tmp_path / fmt)
    golden = GOLDEN / "export" / fmt
    written = sorted(p.name for p in (tmp_path / fmt).iterdir())
    if os.environ.get("USAGEBILL_UPDATE_GOLDEN"):  # rewrite, then fail: an update is never a passing run
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(tmp_path / fmt, golden)
        pytest.fail(f"golden files of {fmt} rewritten in {golden}; review the diff and rerun without "
                    "USAGEBILL_UPDATE_GOLDEN")
    assert written == sorted(p.name for p in golden.iterdir())
    for name in written:
        assert (tmp_path / fmt / name).read_bytes() == (golden / name).read_bytes(), name
    assert done.manifest["documents"] == {"invoices": 9, "credit_notes": 1}


def test_headers_are_the_documented_column_lists(ws, tmp_path):
    assert ",".join(xero.HEADER) == XERO_DOCUMENTED
    assert ",".join(quickbooks.HEADER) == QUICKBOOKS_DOCUMENTED
    assert ",".join(netsuite.INVOICE_HEADER) == NETSUITE_INVOICE
    assert ",".join(netsuite.CREDIT_MEMO_HEADER) == NETSUITE_CREDIT_MEMO
    expected = {"xero-sales-invoices-1.csv": XERO_DOCUMENTED, "quickbooks-invoices.csv": QUICKBOOKS_DOCUMENTED,
                "quickbooks-credit-memos.csv": QUICKBOOKS_DOCUMENTED, "netsuite-invoices.csv": NETSUITE_INVOICE,
                "netsuite-credit-memos.csv": NETSUITE_CREDIT_MEMO}
    for fmt in ("xero", "quickbooks", "netsuite"):
        export_documents(ws, fmt, out=tmp_path / fmt)
    for name, header in expected.items():
        (path,) = tmp_path.glob(f"*/{name}")
        assert path.read_bytes().decode("utf-8").split("\r\n", 1)[0] == header, name


def _by_number(records: list[dict[str, str]], column: str) -> dict[str, list[dict[str, str]]]:
    out = defaultdict(list)
    for r in records:
        out[r[column]].append(r)
    return out


@pytest.mark.parametrize("with_config", [False, True])
def test_totals_in_every_export_equal_the_ledgers_to_the_minor_unit(ws, tmp_path, with_config):
    if with_config:
        (ws / "accounting.yaml").write_text(ACCOUNTING_YAML, encoding="utf-8")
    try:
        for fmt in FORMATS:
            export_documents(ws, fmt, out=tmp_path / fmt)
    finally:
        (ws / "accounting.yaml").unlink(missing_ok=True)
    ledger = ledger_documents(ws)
    cent = Decimal("0.01")

    long_rows = _by_number(read_csv(tmp_path / "csv" / "documents.csv"), "number")
    assert set(long_rows) == set(ledger)
    for number, lines in long_rows.items():
        d = ledger[number]
        assert {(r["subtotal"], r["discount_total"], r["tax_total"], r["total"]) for r in lines} == \
            {tuple(f"{d[k].quantize(cent)}" for k in ("subtotal", "discount_total", "tax_total", "total"))}
        assert sum(Decimal(r["amount"]) for r in lines) == d["subtotal"] - d["discount_total"]

    xero_rows = _by_number(read_csv(tmp_path / "xero" / "xero-sales-invoices-1.csv"), "*InvoiceNumber")
    assert set(xero_rows) == set(ledger)
    for number, lines in xero_rows.items():  # Xero computes tax from TaxType on the tax-exclusive amounts
        d, sign = ledger[number], -1 if "-CN-" in number else 1
        net = sum(Decimal(r["*Quantity"]) * Decimal(r["*UnitAmount"]) for r in lines)
        assert net == sign * (d["subtotal"] - d["discount_total"]), number
        assert half_away(abs(net) * d["tax_percent"] / 100, 2) == d["tax_total"], number

    for fmt, files, amount, tax, number_col in (
            ("quickbooks", ("quickbooks-invoices.csv", "quickbooks-credit-memos.csv"), "ItemAmount", "ItemTaxAmount",
             "InvoiceNo"),
            ("netsuite", ("netsuite-invoices.csv", "netsuite-credit-memos.csv"), "Amount", "Tax Amount",
             "External ID")):
        found = _by_number([r for f in files for r in read_csv(tmp_path / fmt / f)], number_col)
        assert set(found) == set(ledger), fmt
        for number, lines in found.items():
            d = ledger[number]
            assert sum(Decimal(r[amount]) for r in lines) == d["subtotal"] - d["discount_total"], (fmt, number)
            assert sum(Decimal(r[tax]) for r in lines) == d["tax_total"], (fmt, number)
            for r in lines:  # quantity x rate is the amount exactly, whatever the system's rounding
                rate = "ItemRate" if fmt == "quickbooks" else "Rate"
                qty = "ItemQuantity" if fmt == "quickbooks" else "Quantity"
                assert Decimal(r[qty]) * Decimal(r[rate]) == Decimal(r[amount]), (fmt, number, r)

    manifest = json.loads((tmp_path / "xero" / "manifest.json").read_text())
    invoiced = sum(d["total"] for n, d in ledger.items() if "-CN-" not in n)
    assert manifest["totals"]["USD"]["invoice"]["total"] == f"{invoiced:.2f}"


def test_mapping_from_accounting_yaml(ws, tmp_path):
    (ws / "accounting.yaml").write_text(ACCOUNTING_YAML, encoding="utf-8")
    try:
        export_documents(ws, "xero", out=tmp_path / "xero")
        export_documents(ws, "netsuite", out=tmp_path / "netsuite")
    finally:
        (ws / "accounting.yaml").unlink()
    lines = read_csv(tmp_path / "xero" / "xero-sales-invoices-1.csv")
    hc5 = [r for r in lines if r["*InvoiceNumber"] == "HC-5"]
    assert [(r["InventoryItemCode"], r["*AccountCode"]) for r in hc5] == [
        ("PLATFORM", "4010"), ("API", "4000"), ("COMPUTE", "4000"), ("COMPUTE", "4000"), ("DISCOUNT", "4900")]
    assert {r["*TaxType"] for r in hc5} == {"Reverse charge EU"}
    assert hc5[0]["*InvoiceDate"] == "2026-10-25" and hc5[0]["*DueDate"] == "2026-11-24"
    assert {r["*TaxType"] for r in lines if r["*InvoiceNumber"] == "HC-8"} == {"20% (VAT on Income)"}
    assert {r["*TaxType"] for r in lines if r["*InvoiceNumber"] == "HC-3"} == {"Zero rated"}
    assert {r["BrandingTheme"] for r in lines} == {"Standard"}
    ns = read_csv(tmp_path / "netsuite" / "netsuite-invoices.csv")
    assert {(r["Subsidiary"], r["Account"]) for r in ns} == {("Heldout GmbH", "1200 Accounts Receivable")}
    assert ns[0]["Date"] == "01/08/2026"  # the company is in DE: day first unless configured


def test_accounting_yaml_mistakes_are_reported_together(tmp_path):
    (tmp_path / "accounting.yaml").write_text("acount_code: 1\ndate_format: D/M/Y\nxero: {tax_codes: {twenty: x}, "
                                              "max_documents_per_file: 900}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_accounting(tmp_path, "xero", "DE")
    text = str(err.value)
    assert "unknown key 'acount_code'" in text and "unknown date format 'D/M/Y'" in text
    assert "accounting.yaml: xero: tax_codes.twenty" in text
    (tmp_path / "accounting.yaml").write_text("xero: {max_documents_per_file: 900}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="above xero's limit of 500"):
        load_accounting(tmp_path, "xero", "DE")
    assert load_accounting(tmp_path / "none", "quickbooks", "US").date(dt.date(2026, 11, 3)) == "11/03/2026"


def test_xero_files_hold_at_most_500_invoices_and_never_split_one(ws, tmp_path):
    from pipeline.config.workspace import load_workspace
    from pipeline.ledger.store import open_ledger
    from pipeline.month_end.documents.model import load_documents

    with open_ledger(ws / "ledger.duckdb", write=False, wait=30) as led:
        docs = load_documents(led, load_workspace(ws))
    many = [replace(docs[i % len(docs)], number=f"HC-{1000 + i}") for i in range(1203)]
    files = xero.files(many, load_accounting(tmp_path, "xero", "DE"))
    assert [f.name for f in files] == ["xero-sales-invoices-1.csv", "xero-sales-invoices-2.csv",
                                       "xero-sales-invoices-3.csv"]
    assert [f.documents for f in files] == [500, 500, 203]
    seen: dict[str, str] = {}
    for f in files:
        numbers = {r["*InvoiceNumber"] for r in f.rows}
        assert len(numbers) == f.documents
        for n in numbers:
            assert seen.setdefault(n, f.name) == f.name


def test_cells_a_spreadsheet_would_run_are_neutralized_and_numbers_are_not(ws, tmp_path):
    from pipeline.config.workspace import load_workspace
    from pipeline.ledger.store import open_ledger
    from pipeline.month_end.documents.model import load_documents

    with open_ledger(ws / "ledger.duckdb", write=False, wait=30) as led:
        doc = load_documents(led, load_workspace(ws), numbers=("HC-5",))[0]
    doc.buyer = replace(doc.buyer, name="=HYPERLINK(\"http://x\")", address_line1="+1 street", email="@sum(1)")
    doc.lines[0] = replace(doc.lines[0], description="-2+3")
    cfg = load_accounting(tmp_path, "xero", "DE")
    text = xero.files([doc], cfg)[0].text()
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["*ContactName"] == "'=HYPERLINK(\"http://x\")" and row["POAddressLine1"] == "'+1 street"
    assert row["EmailAddress"] == "'@sum(1)" and row["*Description"] == "'-2+3"
    discount = list(csv.DictReader(io.StringIO(text)))[-1]
    assert discount["*UnitAmount"] == "-6.65"  # a number keeps its minus sign
    ns = netsuite.files([doc], load_accounting(tmp_path, "netsuite", "DE"))[0].text()
    assert "'-2+3" in ns and ",-6.65," in ns


def test_tax_spread_over_lines_adds_up_exactly():
    assert spread_tax(Decimal("8.30"), [Decimal("31.61"), Decimal("0"), Decimal("5.57"), Decimal("6.48")], 2) == \
        [Decimal("6.01"), Decimal("0.00"), Decimal("1.06"), Decimal("1.23")]
    shares = spread_tax(Decimal("0.10"), [Decimal("0.01")] * 3 + [Decimal("-0.01")], 2)
    assert sum(shares) == Decimal("0.10")
    assert spread_tax(Decimal("0"), [Decimal("0"), Decimal("0")], 0) == [Decimal(0), Decimal(0)]


def test_window_and_command_line(ws, tmp_path):
    p = usagebill("export", ws, "--format", "quickbooks", "--from", "2026-11-02", "--to", "2026-12-01",
                  "--out", tmp_path / "qb")
    assert p.returncode == 0, p.stderr
    # the reissue day's window holds the credit note and the replacement it goes with (both dated 2026-11-03)
    assert "export quickbooks: 1 invoice, 1 credit note in 2 files" in p.stdout
    assert {r["InvoiceNo"] for r in read_csv(tmp_path / "qb" / "quickbooks-invoices.csv")} == {"HC-9"}
    assert {r["InvoiceNo"] for r in read_csv(tmp_path / "qb" / "quickbooks-credit-memos.csv")} == {"HC-CN-1"}
    p = usagebill("export", ws, "--format", "xero", "--run", "1")
    assert p.returncode == 2 and "either --run N" in p.stderr
    p = usagebill("export", ws)
    assert p.returncode == 2 and "either --run N" in p.stderr
    again = export_documents(ws, "xero", first=day("2026-10-01"), stop=day("2026-11-01"), out=tmp_path / "a")
    assert [d.number for d in again.documents] == ["HC-3", "HC-4", "HC-5"]


@pytest.mark.parametrize("char", ["=", "+", "-", "@", "\t", "\r"])  # written here, not emit.FORMULA_STARTS
def test_every_export_layout_neutralizes_each_formula_character(ws, tmp_path, char):
    from pipeline.config.workspace import load_workspace
    from pipeline.ledger.store import open_ledger
    from pipeline.month_end.accounting import long_csv
    from pipeline.month_end.documents.model import load_documents

    with open_ledger(ws / "ledger.duckdb", write=False, wait=30) as led:
        doc = load_documents(led, load_workspace(ws), numbers=("HC-5",))[0]
    doc.buyer = replace(doc.buyer, name=f"{char}name")
    doc.lines[0] = replace(doc.lines[0], description=f"{char}desc")
    for module, fmt in ((xero, "xero"), (quickbooks, "quickbooks"), (netsuite, "netsuite"), (long_csv, None)):
        cfg = load_accounting(tmp_path, fmt, "DE") if fmt else None
        text = "".join(f.text() for f in module.files([doc], cfg))
        got = [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]
        assert f"'{char}desc" in got, (fmt, char)  # one cell: a CR inside it is quoted, never a row break
        assert not [c for c in got if c[:1] == char and not (char == "-" and c[1:2].isdigit())], (fmt, char)
        if fmt in ("xero", "quickbooks"):  # the layouts with a customer name column
            assert f"'{char}name" in got, (fmt, char)
