"""Prepaid credit: grants imported once, drawn at issue in the documented order, expiry, customer credit
(overpayments, credited invoices), apply and refund, and where people see it (invoices, ar, PDF, UBL, exports,
preview). Expected amounts are worked out by hand in the comments from the public example's invoices:

    nightly as of 2026-11-01 (midnight UTC): HC-1 initech Jul 44.10 (issued 08-01), HC-2 initech Aug 44.10 (09-01),
    HC-3 acme Sep 60.67 (10-01), HC-4 initech Sep 46.83 (10-01), HC-5 initech Oct 59.87 (10-25),
    HC-6 globex Oct 51.96 (11-01), HC-7 umbrella Oct 180.00 (11-01: 150.00 + 20 % VAT 30.00).
"""
from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from builders import ev
from documents_support import printable
from ledger_support import add_late_events, copy_example, day, ledger_problems, noon, rows, usagebill, window
from pypdf import PdfReader

from pipeline.core.errors import BillingError
from pipeline.ledger.credit_grants import import_grants
from pipeline.ledger.credits import Due, Grant, apply_credits, plan
from pipeline.ledger.issue import issue, nightly
from pipeline.ledger.reconcile import reconcile
from pipeline.month_end.documents.validate import schematron_problems, xsd_problems

HEADER = "grant_id,customer_id,currency,amount,effective_date,expiry_date,priority,description\n"
MIDNIGHT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def ok(*args) -> str:
    p = usagebill(*args)
    assert p.returncode == 0, (args, p.stderr)
    return p.stdout


def grants_file(tmp_path: Path, text: str, name: str = "grants.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + text, encoding="utf-8")
    return path


def invoice_rows(ws: Path) -> dict[str, dict]:
    return {r["invoice_number"]: r for r in json.loads(ok("invoices", ws, "--format", "json"))}


def allocations(ws: Path) -> list[tuple]:
    return [(r["invoice_number"], r["source"], r["grant_id"], r["amount"]) for r in
            rows(ws / "ledger.duckdb", "SELECT * FROM credit_allocations ORDER BY allocation_id")]


def credits_json(ws: Path, as_of: str, *extra: str) -> dict:
    return json.loads(ok("credits", ws, "--as-of", as_of, "--format", "json", *extra))


@pytest.fixture
def ws(tmp_path) -> Path:
    return printable(copy_example(tmp_path / "ws"))


# The issue's example, end to end through the command line --------------------------------------------------------

def test_a_grant_pays_umbrellas_october_and_every_view_shows_it(ws, tmp_path):
    ok("credits", "import", ws, grants_file(tmp_path, "G1,umbrella,USD,100.00,2026-10-01,,,\n"))
    out = ok("nightly", ws, "--as-of", "2026-11-01", "--allow-future")
    assert "USD: prepaid credit applied 100.00 on 1 invoice" in out
    hc7 = invoice_rows(ws)["HC-7"]
    assert (hc7["customer_id"], hc7["total"], hc7["credits_applied"], hc7["paid"], hc7["balance"]) == \
        ("umbrella", "180.00", "100.00", "0.00", "80.00")
    ar = ok("ar", ws, "--as-of", "2026-11-15", "--invoices", "--format", "csv").splitlines()
    assert ar[0] == ("invoice_number,customer_id,currency,issue_date,due_date,total,credited,credits_applied,paid,"
                     "balance,payment_status,days_past_due,bucket")
    assert "HC-7,umbrella,USD,2026-11-01,2026-12-01,180.00,0.00,100.00,0.00,80.00,partially_paid,-16,current" in ar
    summary = ok("ar", ws, "--as-of", "2026-11-15", "--customer", "umbrella", "--format", "csv").splitlines()
    assert summary[1] == "umbrella,Umbrella Ltd,USD,80.00,0.00,0.00,0.00,0.00,80.00,0.00,80.00"

    ok("render", ws, "--format", "pdf", "--invoice", "HC-7", "--out", tmp_path / "pdf")
    text = PdfReader(io.BytesIO((tmp_path / "pdf" / "HC-7.pdf").read_bytes())).pages[0].extract_text()
    assert "Total (USD) 180.00" in text and "Prepaid credit applied -100.00" in text
    assert "from grant G1: 100.00" in text and "Amount due (USD) 80.00" in text
    assert "Please pay 80.00 USD by 2026-12-01, quoting HC-7." in text

    ok("render", ws, "--format", "ubl", "--invoice", "HC-7", "--out", tmp_path / "ubl")
    xml = (tmp_path / "ubl" / "HC-7.xml").read_bytes()
    assert xsd_problems("HC-7", xml) == [] and schematron_problems("HC-7", xml) == []
    assert b'<cbc:TaxInclusiveAmount currencyID="USD">180.00<' in xml
    assert b'<cbc:PrepaidAmount currencyID="USD">100.00<' in xml
    assert b'<cbc:PayableAmount currencyID="USD">80.00<' in xml

    doc = credits_json(ws, "2026-11-01")
    assert [(g["grant_id"], g["granted"], g["used"], g["expired"], g["remaining"], g["status"])
            for g in doc["grants"]] == [("G1", "100.00", "100.00", "0.00", "0.00", "used_up")]
    assert doc["customer_credit"] == []
    assert "ledger ok" in ok("check-ledger", ws)


def test_importing_the_grant_file_twice_changes_nothing(ws, tmp_path):
    file = grants_file(tmp_path, "G1,umbrella,USD,100.00,2026-10-01,,,\nG2,acme,usd,25,2026-09-01,2027-01-01,7,Promo\n")
    first = ok("credits", "import", ws, file)
    assert "2 new grants, 0 already imported; import 1" in first
    before = rows(ws / "ledger.duckdb", "SELECT * FROM credit_grants ORDER BY grant_id")
    assert [(r["grant_id"], r["currency"], r["amount"], r["expiry_date"], r["priority"], r["description"])
            for r in before] == [("G1", "USD", Decimal("100.0000"), None, 100, ""),
                                 ("G2", "USD", Decimal("25.0000"), day("2027-01-01"), 7, "Promo")]
    assert "0 new grants, 2 already imported" in ok("credits", "import", ws, file)
    assert rows(ws / "ledger.duckdb", "SELECT * FROM credit_grants ORDER BY grant_id") == before


@pytest.mark.parametrize("line, message", [
    ("G9,nobody,USD,10,2026-10-01,,,", "line 3, customer_id: unknown customer 'nobody'"),
    ("G9,umbrella,EUR,10,2026-10-01,,,", "line 3, currency: grant 'G9' is in EUR, but customer 'umbrella' is "
                                         "billed in USD"),
    ("G9,umbrella,XXY,10,2026-10-01,,,", "line 3, currency: 'XXY' is not an ISO 4217 currency"),
    ("G9,umbrella,USD,0,2026-10-01,,,", "line 3, amount: '0' is not a positive amount"),
    ("G9,umbrella,USD,1.005,2026-10-01,,,", "line 3, amount: 1.005 has more decimals than USD's 2"),
    ("G9,umbrella,USD,10,1.10.2026,,,", "line 3, effective_date: '1.10.2026' is not a date; write YYYY-MM-DD"),
    ("G9,umbrella,USD,10,2026-10-01,2026-10-01,,", "line 3, expiry_date: 2026-10-01 is not after the effective_date"),
    ("G9,umbrella,USD,10,2026-10-01,,high,", "line 3, priority: 'high' is not a whole number from 0 to 1000000"),
    ("G1,umbrella,USD,90,2026-10-01,,,", "line 3, grant_id: 'G1' is also on line 2 with other values"),
    (",umbrella,USD,10,2026-10-01,,,", "line 3, grant_id: is empty"),
    ("G9,umbrella,USD,10", "line 3: 4 cells for 8 columns"),
])
def test_a_bad_line_rejects_the_whole_file_and_no_ledger_is_made(ws, tmp_path, line, message):
    file = grants_file(tmp_path, "G1,umbrella,USD,100.00,2026-10-01,,,\n" + line + "\n")
    p = usagebill("credits", "import", ws, file)
    assert p.returncode == 1
    assert p.stderr.startswith("error: grants.csv " + message) and "nothing was imported" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not (ws / "ledger.duckdb").exists()


def test_the_same_grant_id_with_other_values_against_the_ledger_is_refused(ws, tmp_path):
    import_grants(ws, grants_file(tmp_path, "G1,umbrella,USD,100.00,2026-10-01,,,\n"))
    before = rows(ws / "ledger.duckdb", "SELECT * FROM credit_grants")
    with pytest.raises(BillingError, match=r"other.csv line 3, grant_id: 'G1' was imported before \(from grants.csv "
                                           r"line 2\) with other values; .*nothing was imported"):
        import_grants(ws, grants_file(tmp_path, "G2,umbrella,USD,5,2026-10-01,,,\n"
                                                "G1,umbrella,USD,100.00,2026-10-02,,,\n", "other.csv"))
    assert rows(ws / "ledger.duckdb", "SELECT * FROM credit_grants") == before
    p = usagebill("credits", "import", ws, grants_file(tmp_path, "", "empty.csv").with_name("missing.csv"))
    assert p.returncode == 1 and "missing.csv" in p.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("grant_id,customer_id,currency,amount,effective_date,expiry\n", encoding="utf-8")
    p = usagebill("credits", "import", ws, bad)
    assert p.returncode == 1 and "bad.csv line 1: unknown column(s) expiry" in p.stderr


# The order, expiry, the dates of a grant ---------------------------------------------------------------------------

def test_grants_are_drawn_by_priority_then_expiry_then_effective_date_then_id(ws, tmp_path):
    import_grants(ws, grants_file(tmp_path,
                                  "z-first,initech,USD,20.00,2026-08-01,,1,\n"          # lowest priority number
                                  "y-expiring,initech,USD,30.00,2026-07-01,2027-01-01,,\n"  # earliest expiry
                                  "b-later,initech,USD,10.00,2026-07-15,,,\n"           # effective later
                                  "c-early,initech,USD,10.00,2026-07-01,,,\n"           # same as a-early, id after
                                  "a-early,initech,USD,10.00,2026-07-01,,,\n"))
    nightly(ws, MIDNIGHT)
    # HC-1 (08-01) 44.10: z-first 20.00, y-expiring 24.10 (5.90 left). HC-2 (09-01) 44.10: y-expiring 5.90,
    # a-early 10.00, c-early 10.00, b-later 10.00, 8.20 due. Nothing is left for HC-4 and HC-5.
    assert allocations(ws) == [
        ("HC-1", "grant", "z-first", Decimal("20.0000")), ("HC-1", "grant", "y-expiring", Decimal("24.1000")),
        ("HC-2", "grant", "y-expiring", Decimal("5.9000")), ("HC-2", "grant", "a-early", Decimal("10.0000")),
        ("HC-2", "grant", "c-early", Decimal("10.0000")), ("HC-2", "grant", "b-later", Decimal("10.0000"))]
    got = invoice_rows(ws)
    assert [(n, got[n]["credits_applied"], got[n]["balance"], got[n]["payment_status"]) for n in
            ("HC-1", "HC-2", "HC-4")] == [("HC-1", "44.10", "0.00", "paid"),
                                          ("HC-2", "35.90", "8.20", "partially_paid"),
                                          ("HC-4", "0.00", "46.83", "open")]
    ar = ok("ar", ws, "--as-of", "2026-11-01", "--invoices", "--format", "csv")
    assert "HC-1,initech,USD,2026-08-01,2026-08-31,44.10,0.00,44.10,0.00,0.00,paid,," in ar  # in no bucket


def test_a_grant_expiring_before_the_issue_date_is_not_drawn_and_shows_as_expired(ws, tmp_path):
    import_grants(ws, grants_file(tmp_path,
                                  "old,umbrella,USD,50.00,2026-09-01,2026-10-15,,\n"      # gone before 11-01
                                  "edge,umbrella,USD,40.00,2026-10-01,2026-11-01,,\n"     # 11-01 is not < 11-01
                                  "sept,acme,USD,100.00,2026-09-01,2026-10-20,,\n"))      # pays HC-3 (10-01)
    nightly(ws, MIDNIGHT)
    assert allocations(ws) == [("HC-3", "grant", "sept", Decimal("60.6700"))]
    assert invoice_rows(ws)["HC-7"]["credits_applied"] == "0.00"
    figures = {g["grant_id"]: (g["used"], g["expired"], g["remaining"], g["status"])
               for g in credits_json(ws, "2026-11-01")["grants"]}
    assert figures == {"old": ("0.00", "50.00", "0.00", "expired"), "edge": ("0.00", "40.00", "0.00", "expired"),
                       "sept": ("60.67", "39.33", "0.00", "expired")}  # 100.00 - 60.67
    before = {g["grant_id"]: (g["used"], g["expired"], g["remaining"], g["status"])
              for g in credits_json(ws, "2026-10-14")["grants"]}
    assert before == {"old": ("0.00", "0.00", "50.00", "active"), "edge": ("0.00", "0.00", "40.00", "active"),
                      "sept": ("60.67", "0.00", "39.33", "active")}
    early = {g["grant_id"]: g["status"] for g in credits_json(ws, "2026-09-15")["grants"]}
    assert early == {"old": "active", "edge": "not_yet_effective", "sept": "active"}
    only = credits_json(ws, "2026-11-01", "--customer", "acme")["grants"]
    assert [g["grant_id"] for g in only] == ["sept"]
    table = ok("credits", ws, "--as-of", "2026-11-01")
    assert "grants:" in table and "customer credit" in table and "expired" in table


def test_the_draw_down_plan_by_hand():
    d = dt.date
    grants = [Grant("b", "c1", "USD", d(2026, 1, 1), None, 100, Decimal("5")),
              Grant("a", "c1", "USD", d(2026, 1, 1), None, 100, Decimal("5")),
              Grant("x", "c1", "EUR", d(2026, 1, 1), None, 1, Decimal("50")),
              Grant("late", "c1", "USD", d(2026, 6, 1), None, 0, Decimal("50"))]
    dues = [Due("I1", "c1", "USD", d(2026, 3, 1), Decimal("7")), Due("I2", "c1", "USD", d(2026, 3, 2), Decimal("9"))]
    credit = {d(2026, 3, 1): Decimal("1"), d(2026, 3, 2): Decimal("4")}  # the customer's credit on each day
    drawn = plan(dues, grants, lambda customer, currency, day: credit[day])
    # I1: a 5 (id before b), b 2, 0 from credit; I2: b 3, then credit: 4 on 03-02, none taken yet: 4; 2 left due
    assert [(x.invoice_number, x.grant_id, x.amount) for x in drawn] == [
        ("I1", "a", Decimal("5")), ("I1", "b", Decimal("2")), ("I2", "b", Decimal("3")), ("I2", None, Decimal("4"))]
    # applied on 06-02 instead: "late" (priority 0) is in effect on the day but not on the invoices' dates
    on = plan(dues, grants, lambda customer, currency, day: Decimal("3"), on=d(2026, 6, 2))
    assert [(x.invoice_number, x.grant_id, x.amount) for x in on] == [
        ("I1", "a", Decimal("5")), ("I1", "b", Decimal("2")), ("I2", "b", Decimal("3")), ("I2", None, Decimal("3"))]


# Customer credit: overpayments, credited invoices, apply, refund ---------------------------------------------------

def pay(ws: Path, tmp_path: Path, text: str, name: str = "bank.csv") -> str:
    path = tmp_path / name
    path.write_text("payment_id,customer_id,received_date,amount,currency,invoice_number\n" + text, encoding="utf-8")
    return ok("payments", "import", ws, path)


def test_an_overpayment_is_applied_to_the_next_invoice_and_a_refund_lowers_the_credit(ws, tmp_path):
    nightly(ws, noon("2026-10-01"))  # HC-1..HC-4; umbrella has no invoice yet
    assert "credit umbrella: 200.00 USD (not allocated)" in pay(ws, tmp_path, "P1,umbrella,2026-10-20,200.00,USD,\n")
    nightly(ws, noon("2026-11-02"))  # umbrella's October (180.00) draws 180.00 of its 200.00
    umbrella = [r for r in invoice_rows(ws).values() if r["customer_id"] == "umbrella"]
    assert [(r["total"], r["credits_applied"], r["balance"], r["payment_status"]) for r in umbrella] == \
        [("180.00", "180.00", "0.00", "paid")]
    credit = credits_json(ws, "2026-11-05")["customer_credit"]
    assert [(c["customer_id"], c["received"], c["applied"], c["refunded"], c["credit"]) for c in credit] == \
        [("umbrella", "200.00", "180.00", "0.00", "20.00")]
    summary = ok("ar", ws, "--as-of", "2026-11-05", "--customer", "umbrella", "--format", "csv").splitlines()
    assert summary[1:] == ["umbrella,Umbrella Ltd,USD,0.00,0.00,0.00,0.00,0.00,0.00,20.00,-20.00"]

    p = usagebill("credits", "refund", ws, "--customer", "umbrella", "--amount", "25.00", "--currency", "USD",
                  "--reference", "TR-1", "--date", "2026-11-10")
    assert p.returncode == 1 and "customer 'umbrella' holds 20.00 USD of credit" in p.stderr
    out = ok("credits", "refund", ws, "--customer", "umbrella", "--amount", "15.00", "--currency", "USD",
             "--reference", "TR-1", "--date", "2026-11-10")
    assert "15.00 USD paid back to umbrella on 2026-11-10" in out
    assert "already recorded" in ok("credits", "refund", ws, "--customer", "umbrella", "--amount", "15.00",
                                    "--currency", "USD", "--reference", "TR-1", "--date", "2026-11-10")
    p = usagebill("credits", "refund", ws, "--customer", "umbrella", "--amount", "5.00", "--currency", "USD",
                  "--reference", "TR-1", "--date", "2026-11-10")
    assert p.returncode == 1 and "--reference TR-1: a refund of 15.00" in p.stderr
    credit = credits_json(ws, "2026-11-30")["customer_credit"]
    assert [(c["refunded"], c["credit"]) for c in credit] == [("15.00", "5.00")]
    assert [c["credit"] for c in credits_json(ws, "2026-11-09")["customer_credit"]] == ["20.00"]  # before the refund
    assert "ledger ok" in ok("check-ledger", ws)


def test_a_reissue_gives_the_replacement_what_was_paid_and_drawn_on_the_cancelled_invoice(ws, tmp_path):
    import_grants(ws, grants_file(tmp_path, "G1,umbrella,USD,100.00,2026-10-01,,,\n"))
    nightly(ws, noon("2026-11-01"))  # HC-1..HC-8: HC-7 globex 51.96, HC-8 umbrella 180.00 (draws 100.00)
    pay(ws, tmp_path, "P1,globex,2026-11-02,20.00,USD,HC-7\n")
    issue(ws, window("2026-10-01", "2026-11-01", contracts=("globex-1", "umbrella-1")), reissue=True,
          issue_date=day("2026-11-03"))
    got = invoice_rows(ws)
    # HC-CN-1 credits HC-7 (globex), HC-CN-2 credits HC-8 (umbrella); HC-9 and HC-10 replace them. The 20.00 paid
    # on HC-7 is globex's credit and pays HC-9; the 100.00 HC-8 drew goes back to G1 and pays HC-10.
    assert [(n, got[n]["status"], got[n]["credits_applied"], got[n]["paid"], got[n]["balance"])
            for n in ("HC-7", "HC-8", "HC-9", "HC-10")] == [
        ("HC-7", "credited", "0.00", "20.00", "0.00"), ("HC-8", "credited", "100.00", "0.00", "0.00"),
        ("HC-9", "issued", "20.00", "0.00", "31.96"), ("HC-10", "issued", "100.00", "0.00", "80.00")]
    assert allocations(ws)[-2:] == [("HC-9", "customer_credit", None, Decimal("20.0000")),
                                    ("HC-10", "grant", "G1", Decimal("100.0000"))]
    doc = credits_json(ws, "2026-11-30")
    assert [(g["used"], g["remaining"]) for g in doc["grants"]] == [("100.00", "0.00")]
    assert [(c["customer_id"], c["received"], c["applied"], c["credit"]) for c in doc["customer_credit"]] == \
        [("globex", "20.00", "20.00", "0.00")]
    assert ledger_problems(ws / "ledger.duckdb") == []


def test_credits_apply_pays_invoices_already_open_once(ws, tmp_path):
    nightly(ws, MIDNIGHT)  # HC-7 umbrella 180.00 open, no credit yet
    import_grants(ws, grants_file(tmp_path, "G1,umbrella,USD,100.00,2026-10-01,,,\n"
                                            "short,initech,USD,30.00,2026-08-01,2026-11-03,,\n"))
    assert "nothing to apply" in ok("credits", "apply", ws, "--customer", "globex", "--date", "2026-11-05")
    out = ok("credits", "apply", ws, "--customer", "umbrella", "--date", "2026-11-05")
    assert "1 allocation; apply 1" in out and "grant G1 -> HC-7: 100.00 USD" in out
    assert "nothing to apply" in ok("credits", "apply", ws, "--customer", "umbrella", "--date", "2026-11-06")
    # initech's grant has expired by 11-05, though it was in effect when HC-2 was issued: nothing
    assert apply_credits(ws, day("2026-11-05")).apply_seq is None
    done = apply_credits(ws, day("2026-11-02"))  # in effect on 11-02: initech's oldest open invoice, HC-1 (due 08-31)
    assert [(a["invoice_number"], a["amount"]) for a in done.allocations] == [("HC-1", Decimal("30.0000"))]
    assert done.apply_seq == 2
    hc7 = invoice_rows(ws)["HC-7"]
    assert (hc7["credits_applied"], hc7["balance"]) == ("100.00", "80.00")
    # applied on 11-05, after HC-7 was issued: not on the document, which is as it was issued
    ok("render", ws, "--format", "ubl", "--invoice", "HC-7", "--out", tmp_path / "ubl")
    assert b"PrepaidAmount" not in (tmp_path / "ubl" / "HC-7.xml").read_bytes()
    aging = ok("ar", ws, "--as-of", "2026-11-04", "--invoices", "--format", "csv")
    assert "HC-7,umbrella,USD,2026-11-01,2026-12-01,180.00,0.00,0.00,0.00,180.00," in aging  # applied on 11-05
    assert ledger_problems(ws / "ledger.duckdb") == []


def test_an_adjustment_invoice_from_reconcile_draws_credit(tmp_path):
    ws = copy_example(tmp_path / "ws")
    issue(ws, window("2026-10-01", "2026-11-01"))  # HC-2 acme October, issued before the grant
    import_grants(ws, grants_file(tmp_path, "A1,acme,USD,5.00,2026-11-01,,,\n"))
    add_late_events(ws, "late-1", [ev("late-1", "2026-10-15T12:00", "compute", "acme", hours=10.0, region="us-east")])
    done = reconcile(ws, window("2026-10-01", "2026-11-01"), do_adjust=True, issue_date=day("2026-11-21"))
    assert done.outcome.docs["invoices"].column("total").to_pylist() == [Decimal("1.20")]  # 10 h x 0.12
    assert allocations(ws) == [("HC-5", "grant", "A1", Decimal("1.2000"))]
    assert credits_json(ws, "2026-11-30")["grants"][0]["remaining"] == "3.80"


# Documents and exports ---------------------------------------------------------------------------------------------

def test_a_fully_prepaid_invoice_asks_nothing_and_its_ubl_is_valid(ws, tmp_path):
    import_grants(ws, grants_file(tmp_path, "big,umbrella,USD,500.00,2026-10-01,2027-01-02,,Annual commit 2026\n"))
    nightly(ws, MIDNIGHT)
    ok("render", ws, "--format", "ubl", "--invoice", "HC-7", "--out", tmp_path / "ubl")
    xml = (tmp_path / "ubl" / "HC-7.xml").read_bytes()
    assert xsd_problems("HC-7", xml) == [] and schematron_problems("HC-7", xml) == []
    assert b'<cbc:PrepaidAmount currencyID="USD">180.00<' in xml and b'<cbc:PayableAmount currencyID="USD">0.00<' in xml
    ok("render", ws, "--format", "pdf", "--invoice", "HC-7", "--out", tmp_path / "pdf")
    text = PdfReader(io.BytesIO((tmp_path / "pdf" / "HC-7.pdf").read_bytes())).pages[0].extract_text()
    assert "from grant big (Annual commit 2026): 180.00" in text and "Amount due (USD) 0.00" in text
    assert "Nothing to pay: prepaid credit covers this invoice in full." in text and "Please pay" not in text
    every = ok("render", ws, "--format", "ubl", "--out", tmp_path / "all")  # every document still valid
    assert "7 valid EN 16931 UBL files" in every


def test_exports_carry_the_allocations(ws, tmp_path):
    import_grants(ws, grants_file(tmp_path, "G1,umbrella,USD,100.00,2026-10-01,,,Commit\n"))
    nightly(ws, MIDNIGHT)
    (ws / "accounting.yaml").write_text("netsuite: {subsidiary: Heldout GmbH, ar_account: 1200 AR, "
                                        "prepaid_account: 2400 Customer Deposits}\n", encoding="utf-8")
    ok("export", ws, "--format", "csv", "--out", tmp_path / "csv")
    assert (tmp_path / "csv" / "credit_allocations.csv").read_text() == (
        "invoice_number,customer_id,customer_name,currency,issue_date,status,source,grant_id,description,amount,"
        "invoice_total,amount_due\n"
        "HC-7,umbrella,Umbrella Ltd,USD,2026-11-01,applied,grant,G1,Commit,100.00,180.00,80.00\n")
    manifest = json.loads((tmp_path / "csv" / "manifest.json").read_text())
    assert manifest["prepaid_credit"] == {"USD": {"invoices": 1, "prepaid": "100.00", "amount_due": "80.00"}}
    assert [f["name"] for f in manifest["files"]] == ["documents.csv", "credit_allocations.csv"]
    ok("export", ws, "--format", "netsuite", "--out", tmp_path / "ns")
    assert (tmp_path / "ns" / "netsuite-credit-applications.csv").read_bytes().decode() == (
        "External ID,Customer,Date,Currency,Subsidiary,Account,A/R Account,Memo,Invoice,Payment Amount\r\n"
        "HC-7-CR-1,umbrella,01/11/2026,USD,Heldout GmbH,2400 Customer Deposits,1200 AR,Prepaid credit G1 (Commit),"
        "HC-7,100.00\r\n")
    ok("export", ws, "--format", "xero", "--out", tmp_path / "xero")
    assert sorted(p.name for p in (tmp_path / "xero").iterdir()) == ["manifest.json", "xero-sales-invoices-1.csv"]


def test_preview_shows_the_credit_the_open_period_would_draw(ws, tmp_path):
    nightly(ws, MIDNIGHT)
    import_grants(ws, grants_file(tmp_path, "G1,umbrella,USD,100.00,2026-10-01,,,\n"
                                            "G2,umbrella,USD,500.00,2026-12-01,,,\n"))
    # November's invoice would be dated 2026-12-01: G1 (100.00, unused: HC-7 was issued before it) and G2
    out = ok("preview", ws, "--contract", "umbrella-1", "--as-of", "2026-11-15")
    assert "prepaid credit it would draw if issued now: 180.00 (grant G1 100.00, grant G2 80.00); amount due 0.00 USD" \
        in out
    doc = json.loads(ok("preview", ws, "--contract", "umbrella-1", "--as-of", "2026-11-15", "--format", "json"))
    assert doc["prepaid_credit"]["prepaid"] == "180.00" and doc["prepaid_credit"]["amount_due"] == "0.00"
    assert rows(ws / "ledger.duckdb", "SELECT count(*) AS n FROM credit_allocations") == [{"n": 0}]  # nothing written


# The ledger's rules and old ledgers ------------------------------------------------------------------------------

def test_check_ledger_finds_a_grant_drawn_twice(ws, tmp_path):
    import_grants(ws, grants_file(tmp_path, "G1,umbrella,USD,100.00,2026-10-01,,,\n"))
    nightly(ws, MIDNIGHT)
    broken = Path(shutil.copytree(ws, tmp_path / "broken"))
    import duckdb
    con = duckdb.connect(str(broken / "ledger.duckdb"))
    con.execute("INSERT INTO credit_allocations SELECT 2, 'HC-6', 'grant', 'G1', 50, DATE '2026-11-01', 'issue', 1, "
                "NULL")
    con.close()
    p = usagebill("check-ledger", broken)
    assert p.returncode == 1
    assert "credit of another customer: allocation 2: grant G1 is umbrella USD, invoice HC-6 globex USD" in p.stderr
    assert "grant overdrawn: grant G1 of 100.0000: invoices hold 150.0000" in p.stderr


def test_a_ledger_made_before_credits_is_read_as_having_none_and_upgraded_on_first_write(ws, tmp_path):
    nightly(ws, MIDNIGHT)
    import duckdb
    con = duckdb.connect(str(ws / "ledger.duckdb"))
    con.execute("DROP TABLE credit_grants; DROP TABLE credit_allocations; DROP TABLE credit_refunds")
    con.close()
    assert invoice_rows(ws)["HC-7"]["credits_applied"] == "0.00"
    assert credits_json(ws, "2026-11-01") == {"as_of": "2026-11-01", "grants": [], "customer_credit": []}
    assert "ledger ok" in ok("check-ledger", ws)
    assert "umbrella,Umbrella Ltd,USD,180.00," in ok("ar", ws, "--as-of", "2026-11-01", "--format", "csv")
    ok("credits", "import", ws, grants_file(tmp_path, "G1,umbrella,USD,100.00,2026-10-01,,,\n"))
    assert "1 allocation" in ok("credits", "apply", ws, "--date", "2026-11-02")
    assert invoice_rows(ws)["HC-7"]["credits_applied"] == "100.00"
