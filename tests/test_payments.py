"""Payments: import, allocation (named invoice, oldest open, credit), idempotency, rejects, aging."""
from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from documents_support import issued_workspace
from ledger_support import day, ledger_problems, rows, usagebill

from pipeline.core.db import sql
from pipeline.core.errors import BillingError
from pipeline.month_end.payments.aging import aging
from pipeline.month_end.payments.importer import import_payments

HEADER = "payment_id,customer_id,received_date,amount,currency,invoice_number\n"


@pytest.fixture(scope="module")
def issued(tmp_path_factory) -> Path:
    return issued_workspace(tmp_path_factory.mktemp("payments"))


@pytest.fixture
def ws(issued, tmp_path) -> Path:
    """A fresh copy of the issued workspace (ledger included) for each test."""
    return Path(shutil.copytree(issued, tmp_path / "ws"))


def write(tmp_path: Path, text: str, name: str = "bank.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def status(ws: Path) -> dict[str, tuple[str, str, str]]:
    """invoice -> (paid, balance, payment_status), from the ledger."""
    _, invoices = aging(ws, day("2026-12-31"))
    return {r["invoice_number"]: (r["paid"], r["balance"], r["payment_status"]) for r in invoices}


def payments_state(ws: Path) -> list:
    """Every payment and allocation row; [] only when the ledger (which must exist) has no payments tables yet.
    Any other failure to read the ledger is an error of the test, never "nothing was imported"."""
    ledger = ws / "ledger.duckdb"
    assert ledger.is_file(), ledger
    tables = {r["table_name"] for r in rows(ledger, "SELECT table_name FROM duckdb_tables()")}
    assert "invoices" in tables, tables  # the ledger was read
    if not {"payments", "payment_allocations"} & tables:
        return []
    return rows(ledger, "SELECT payment_id, invoice_number, amount FROM payment_allocations ORDER BY ALL") + \
        rows(ledger, "SELECT payment_id, amount FROM payments ORDER BY ALL")


def test_named_invoice_then_oldest_open_then_credit(ws, tmp_path):
    done = import_payments(ws, write(tmp_path, HEADER +
                                     "P1,acme,2026-11-05,100.00,USD,\n"          # HC-3 (oldest), then part of HC-6
                                     "P2,initech,2026-11-06,44.10,USD,HC-2\n"    # the named one, not the oldest HC-1
                                     "P3,globex,2026-11-07,60,USD,HC-9\n"))      # HC-9 in full, 8.04 credit
    assert done.allocations == [("P1", "HC-3", Decimal("60.67")), ("P1", "HC-6", Decimal("39.33")),
                                ("P2", "HC-2", Decimal("44.10")), ("P3", "HC-9", Decimal("51.96"))]
    assert done.credit == {("globex", "USD"): Decimal("8.04")}
    s = status(ws)
    assert s["HC-3"] == ("60.67", "0.00", "paid") and s["HC-6"] == ("39.33", "123.66", "partially_paid")
    assert s["HC-1"] == ("0.00", "44.10", "open") and s["HC-2"] == ("44.10", "0.00", "paid")
    assert s["HC-7"][2] == "credited" and s["HC-9"] == ("51.96", "0.00", "paid")
    summary, _ = aging(ws, day("2026-12-31"))
    globex = next(r for r in summary if r["customer_id"] == "globex")
    assert (globex["open"], globex["credit"], globex["balance"]) == ("0.00", "8.04", "-8.04")
    assert ledger_problems(ws / "ledger.duckdb") == []


def test_a_named_invoice_paid_already_passes_the_rest_to_the_oldest_open(ws, tmp_path):
    import_payments(ws, write(tmp_path, HEADER + "P1,initech,2026-11-06,44.10,USD,HC-2\n", "a.csv"))
    done = import_payments(ws, write(tmp_path, HEADER + "P2,initech,2026-11-09,50,USD,HC-2\n", "b.csv"))
    assert done.allocations == [("P2", "HC-1", Decimal("44.10")), ("P2", "HC-4", Decimal("5.90"))]


def test_the_same_payment_id_is_allocated_once(ws, tmp_path):
    file = write(tmp_path, HEADER + "P1,acme,2026-11-05,100.00,USD,\nP1,acme,2026-11-05,100.00,USD,\n")
    first = import_payments(ws, file)
    assert [p.payment_id for p in first.payments] == ["P1"]
    before = payments_state(ws)
    again = import_payments(ws, file)
    assert again.payments == [] and [p.payment_id for p in again.skipped] == ["P1"] and again.allocations == []
    assert payments_state(ws) == before
    changed = write(tmp_path, HEADER + "P1,acme,2026-11-05,90.00,USD,\nP4,acme,2026-11-05,1,USD,\n", "other.csv")
    with pytest.raises(BillingError, match=r"other.csv line 2, payment_id: 'P1' was imported before \(from bank.csv "
                                           r"line 2\) with other values; .*nothing was imported"):
        import_payments(ws, changed)
    assert payments_state(ws) == before
    with pytest.raises(BillingError, match="line 3, payment_id: 'P1' is also on line 2 with other values"):
        import_payments(ws, write(tmp_path, HEADER + "P1,acme,2026-11-05,100,USD,\nP1,acme,2026-11-06,100,USD,\n"))


@pytest.mark.parametrize("line, message", [
    ("P9,acme,2026-11-05,10,EUR,", "line 3, currency: payment 'P9' is in EUR, but customer 'acme' is billed in USD"),
    ("P9,nobody,2026-11-05,10,USD,", "line 3, customer_id: unknown customer 'nobody'"),
    ("P9,acme,2026-11-05,10,USD,HC-99", "line 3, invoice_number: no issued invoice 'HC-99' in the ledger"),
    ("P9,acme,2026-11-05,10,USD,HC-1", "line 3, invoice_number: invoice HC-1 is customer 'initech''s, not 'acme''s"),
    ("P9,acme,5.11.2026,10,USD,", "line 3, received_date: '5.11.2026' is not a date; write YYYY-MM-DD"),
    ("P9,acme,2026-11-05,-10,USD,", "line 3, amount: '-10' is not a positive amount"),
    ("P9,acme,2026-11-05,1.005,USD,", "line 3, amount: 1.005 has more decimals than USD's 2"),
    ("P9,acme,2026-11-05,ten,USD,", "line 3, amount: 'ten' is not a positive amount"),
    ("P9,acme,2026-11-05,10,XXY,", "line 3, currency: 'XXY' is not an ISO 4217 currency"),
    (",acme,2026-11-05,10,USD,", "line 3, payment_id: is empty"),
    ("P9,acme,2026-11-05,10", "line 3: 4 cells for 6 columns"),
])
def test_a_bad_line_rejects_the_whole_file_and_changes_nothing(ws, tmp_path, line, message):
    good = "P1,acme,2026-11-05,100.00,USD,\n"
    with pytest.raises(BillingError) as err:
        import_payments(ws, write(tmp_path, HEADER + good + line + "\n"))
    assert str(err.value).startswith("bank.csv " + message) and "nothing was imported" in str(err.value)
    assert "\n" not in str(err.value)
    assert payments_state(ws) == []


@pytest.mark.parametrize("header, message", [
    ("payment_id,customer,received_date,amount,currency", "missing column(s) customer_id; unknown column(s) customer"),
    ("payment_id,customer_id,received_date,amount,currency,invoice_numbr", "unknown column(s) invoice_numbr"),
    ("payment_id,customer_id,received_date,amount,amount,currency", "column(s) amount twice"),
])
def test_a_malformed_header_is_refused(ws, tmp_path, header, message):
    with pytest.raises(BillingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_payments(ws, write(tmp_path, header + "\nP1,acme,2026-11-05,1,USD\n"))


def _bucket(days_past_due: int) -> str:
    """The bucket sql/ledger/aging_invoices.sql gives an open invoice `days_past_due` days past due."""
    import duckdb
    as_of = dt.date(2026, 12, 31)
    con = duckdb.connect()
    con.register("invoice_balances_t", pa.table({
        "invoice_number": ["X-1"], "sequence": [1], "customer_id": ["c"], "currency": ["USD"], "status": ["issued"],
        "issue_date": [as_of], "due_date": [as_of - dt.timedelta(days=days_past_due)], "total": [Decimal(1)],
        "credited": [Decimal(0)], "credits_applied": [Decimal(0)], "paid": [Decimal(0)], "balance": [Decimal(1)],
        "payment_status": ["open"]}))
    rows = con.sql(sql("ledger/aging_invoices"), params={"as_of": as_of, "customers": []}).fetchall()
    assert rows[0][-2] == days_past_due
    return rows[0][-1]


def test_aging_buckets_by_days_past_due_at_the_as_of_date(ws, tmp_path):
    assert [_bucket(d) for d in (-5, 0, 1, 30, 31, 60, 61, 90, 91, 400)] == \
        ["current", "current", "1-30", "1-30", "31-60", "31-60", "61-90", "61-90", "90+", "90+"]
    import_payments(ws, write(tmp_path, HEADER + "P1,initech,2026-11-06,44.10,USD,HC-2\n"
                                                 "P2,umbrella,2027-01-15,180,USD,\n"))
    summary, invoices = aging(ws, day("2026-12-20"))
    by = {r["customer_id"]: r for r in summary}
    # initech: HC-1 due 08-31 (111 days), HC-4 due 10-31 (50), HC-5 due 11-24 (26); HC-2 paid
    assert (by["initech"]["1-30"], by["initech"]["31-60"], by["initech"]["61-90"], by["initech"]["90+"]) == \
        ("59.87", "46.83", "0.00", "44.10")
    assert by["umbrella"]["1-30"] == "180.00"  # its payment arrives after the as-of date
    assert by["globex"]["31-60"] == "51.96" and by["globex"]["open"] == "51.96"  # HC-9 (due 11-15): HC-7 is credited
    early, _ = aging(ws, day("2026-09-15"))  # only HC-1 and HC-2 were issued by then
    assert [(r["customer_id"], r["current"], r["1-30"]) for r in early] == [("initech", "44.10", "44.10")]
    late, _ = aging(ws, day("2027-01-31"))
    assert "umbrella" not in {r["customer_id"] for r in late}


def test_ledgers_made_before_payments_get_their_tables_on_first_import(ws, tmp_path):
    summary, _ = aging(ws, day("2026-12-01"))  # readers of an old ledger: empty temporary tables
    assert {r["credit"] for r in summary} == {"0.00"}
    assert rows(ws / "ledger.duckdb", "SELECT count(*) AS n FROM information_schema.tables "
                                      "WHERE table_name = 'payments'") == [{"n": 0}]
    import_payments(ws, write(tmp_path, HEADER + "P1,acme,2026-11-05,1,USD,\n"))
    assert rows(ws / "ledger.duckdb", "SELECT import_seq, source_file, source_line FROM payments") == \
        [{"import_seq": 1, "source_file": "bank.csv", "source_line": 2}]
    p = usagebill("check-ledger", ws)
    assert p.returncode == 0 and "ledger ok" in p.stdout


def test_command_line(ws, tmp_path):
    file = write(tmp_path, HEADER + "P1,acme,2026-11-05,100.00,USD,\nP3,globex,2026-11-07,60,USD,HC-9\n")
    p = usagebill("payments", "import", ws, file)
    assert p.returncode == 0, p.stderr
    assert "2 new payments, 0 already imported; 3 allocations to 3 invoices; import 1" in p.stdout
    assert "P1 -> HC-3: 60.67 USD" in p.stdout and "credit globex: 8.04 USD" in p.stdout
    p = usagebill("payments", "import", ws, file)
    assert "0 new payments, 2 already imported" in p.stdout
    p = usagebill("payments", "import", ws, write(tmp_path, HEADER + "P9,acme,2026-11-05,1,EUR,\n", "eur.csv"))
    assert p.returncode == 1 and p.stderr.strip().splitlines() == [
        "error: eur.csv line 2, currency: payment 'P9' is in EUR, but customer 'acme' is billed in USD; "
        "nothing was imported"]
    p = usagebill("ar", ws, "--as-of", "2026-12-20", "--format", "csv")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "customer_id,name,currency,current,1-30,31-60,61-90,90+,open,credit,balance"
    assert "globex,Globex GmbH,USD,0.00,0.00,0.00,0.00,0.00,0.00,8.04,-8.04" in lines
    p = usagebill("ar", ws, "--as-of", "2026-12-20", "--invoices")
    assert p.returncode == 0 and "partially_paid" in p.stdout
