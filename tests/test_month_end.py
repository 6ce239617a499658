"""Month end through the real command: documents dated when issued, export exactly once, invoices with balances.

Expected values are worked out by hand from tests/scenarios/example/ws (every customer on the default
30 payment days; umbrella-1 bills its minimum commitment of 150.00 with 20% GB tax).
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from decimal import Decimal

import duckdb
from ledger_support import copy_example, ledger_problems, rows, usagebill

AS_OF = "2026-11-01T12:00:00Z"  # after Chicago's October ended (05:00 UTC on Nov 1)
OCTOBER = ("--from", "2026-10-01", "--to", "2026-11-01")


def ok(*args):
    p = usagebill(*args)
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p


def documents_csv(folder) -> dict[str, dict]:
    """number -> its first row in documents.csv (the header columns repeat on every line)."""
    out: dict[str, dict] = {}
    with (folder / "documents.csv").open(newline="") as fh:
        for r in csv.DictReader(fh):
            out.setdefault(r["number"], r)
    return out


def october_reissued_on_december_1st(tmp_path):
    ws = copy_example(tmp_path / "ws")
    ok("nightly", ws, "--as-of", AS_OF, "--out", tmp_path / "n")  # HC-1 .. HC-8
    ok("issue", ws, *OCTOBER, "--reissue", "--issue-date", "2026-12-01", "--out", tmp_path / "r")
    return ws


# documents dated when issued -------------------------------------------------------------------------------

def test_a_replacement_invoice_is_dated_its_issue_day_and_due_by_the_payment_terms(tmp_path):
    ws = october_reissued_on_december_1st(tmp_path)
    led = ws / "ledger.duckdb"
    got = rows(led, "SELECT invoice_number, original_invoice_number, issue_date, due_date, status FROM invoices "
                    "WHERE sequence >= 5 ORDER BY sequence")
    d = dt.date
    assert got == [
        {"invoice_number": "HC-5", "original_invoice_number": None, "issue_date": d(2026, 10, 25),
         "due_date": d(2026, 11, 24), "status": "credited"},
        {"invoice_number": "HC-6", "original_invoice_number": None, "issue_date": d(2026, 11, 1),
         "due_date": d(2026, 12, 1), "status": "credited"},
        {"invoice_number": "HC-7", "original_invoice_number": None, "issue_date": d(2026, 11, 1),
         "due_date": d(2026, 12, 1), "status": "credited"},
        {"invoice_number": "HC-8", "original_invoice_number": None, "issue_date": d(2026, 11, 1),
         "due_date": d(2026, 12, 1), "status": "credited"},
    ] + [{"invoice_number": f"HC-{n}", "original_invoice_number": f"HC-{n - 4}", "issue_date": d(2026, 12, 1),
          "due_date": d(2026, 12, 31), "status": "issued"} for n in (9, 10, 11, 12)]
    assert ledger_problems(led) == []


def test_the_reissue_days_export_holds_the_credit_notes_and_the_replacements(tmp_path):
    ws = october_reissued_on_december_1st(tmp_path)
    ok("export", ws, "--format", "csv", "--from", "2026-12-01", "--to", "2026-12-02", "--out", tmp_path / "e")
    docs = documents_csv(tmp_path / "e")
    assert sorted(docs) == sorted(["HC-9", "HC-10", "HC-11", "HC-12", "HC-CN-1", "HC-CN-2", "HC-CN-3", "HC-CN-4"])
    assert {n: (r["reference"], r["issue_date"], r["due_date"]) for n, r in docs.items() if r["document_type"] ==
            "invoice"} == {f"HC-{n}": (f"HC-{n - 4}", "2026-12-01", "2026-12-31") for n in (9, 10, 11, 12)}
    umbrella = docs["HC-12"]  # minimum commitment 150.00 + 20% tax
    assert (umbrella["subtotal"], umbrella["tax_total"], umbrella["total"]) == ("150.00", "30.00", "180.00")
    # the window of the originals' day holds the originals, not the replacements
    ok("export", ws, "--format", "csv", "--from", "2026-11-01", "--to", "2026-11-02", "--out", tmp_path / "nov")
    assert sorted(documents_csv(tmp_path / "nov")) == ["HC-6", "HC-7", "HC-8"]


def test_reconcile_adjust_dates_its_replacement_on_its_issue_day(tmp_path):
    ws = copy_example(tmp_path / "ws")
    ok("nightly", ws, "--as-of", AS_OF, "--out", tmp_path / "n")
    # GB tax goes from 20% to 10%: umbrella's terms changed, so reconcile cancels HC-8 and reissues it
    path = ws / "tax_rates.csv"
    path.write_text(path.read_text().replace("GB,20,", "GB,10,"))
    ok("reconcile", ws, *OCTOBER, "--adjust", "--issue-date", "2026-12-03", "--out", tmp_path / "r")
    got = rows(ws / "ledger.duckdb", "SELECT invoice_number, original_invoice_number, issue_date, due_date, total "
                                     "FROM invoices WHERE original_invoice_number = 'HC-8'")
    assert [r["total"] for r in got] == [Decimal("165.00")]  # 150.00 + 10%
    assert [(r["issue_date"], r["due_date"]) for r in got] == [(dt.date(2026, 12, 3), dt.date(2027, 1, 2))]
    assert ledger_problems(ws / "ledger.duckdb") == []


# export exactly once -----------------------------------------------------------------------------------------

def test_pending_exports_each_document_once_and_an_old_export_is_written_again_byte_for_byte(tmp_path):
    ws = copy_example(tmp_path / "ws")
    ok("nightly", ws, "--as-of", AS_OF, "--out", tmp_path / "n")  # HC-1 .. HC-8
    first = ok("export", ws, "--format", "csv", "--pending", "--out", tmp_path / "p1")
    assert "export csv 1: 8 invoices, 0 credit notes in 1 file" in first.stdout
    assert sorted(documents_csv(tmp_path / "p1")) == sorted(f"HC-{n}" for n in range(1, 9))
    original = (tmp_path / "p1" / "documents.csv").read_bytes()
    assert {r["status"] for r in documents_csv(tmp_path / "p1").values()} == {"issued"}
    # a pending export in another format is independent of csv's
    ok("export", ws, "--format", "xero", "--pending", "--out", tmp_path / "x1")
    # December 1st: October reissued; HC-5 .. HC-8 become credited
    ok("issue", ws, *OCTOBER, "--reissue", "--issue-date", "2026-12-01", "--out", tmp_path / "r")
    second = ok("export", ws, "--format", "csv", "--pending", "--out", tmp_path / "p2")
    assert "export csv 3: 4 invoices, 4 credit notes in 1 file" in second.stdout
    assert sorted(documents_csv(tmp_path / "p2")) == sorted(
        ["HC-9", "HC-10", "HC-11", "HC-12", "HC-CN-1", "HC-CN-2", "HC-CN-3", "HC-CN-4"])
    # twice in a row: the second writes nothing, says so, exit 0
    third = ok("export", ws, "--format", "csv", "--pending", "--out", tmp_path / "p3")
    assert "nothing to export" in third.stdout and not (tmp_path / "p3").exists()
    # the record: each document exactly once per format
    led = ws / "ledger.duckdb"
    per_format = rows(led, "SELECT e.format, count(*) AS n, count(DISTINCT ed.document_number) AS distinct_n "
                           "FROM export_documents ed JOIN exports e USING (export_id) GROUP BY ALL ORDER BY 1")
    assert per_format == [{"format": "csv", "n": 16, "distinct_n": 16}, {"format": "xero", "n": 8, "distinct_n": 8}]
    recorded = rows(led, "SELECT export_id, format, documents, files FROM exports ORDER BY export_id")
    assert [(r["export_id"], r["format"], r["documents"]) for r in recorded] == [(1, "csv", 8), (2, "xero", 8),
                                                                               (3, "csv", 8)]
    assert json.loads(recorded[0]["files"]) == [{"name": "documents.csv",
                                                 "sha256": hashlib.sha256(original).hexdigest()}]
    # --list
    listed = ok("export", ws, "--list").stdout.splitlines()
    assert listed[0].split() == ["id", "format", "created_at", "documents", "files", "folder"]
    assert [line.split()[:2] + line.split()[3:5] for line in listed[1:]] == [
        ["1", "csv", "8", "documents.csv"], ["2", "xero", "8", "xero-sales-invoices-1.csv"],
        ["3", "csv", "8", "documents.csv"]]
    # --id 1: the same bytes as the first time, although HC-5 .. HC-8 are credited since
    again = ok("export", ws, "--id", "1", "--out", tmp_path / "again")
    assert "identical to export 1" in again.stdout
    assert (tmp_path / "again" / "documents.csv").read_bytes() == original
    # still nothing pending: writing an export again records nothing
    assert "nothing to export" in ok("export", ws, "--format", "csv", "--pending").stdout
    assert ledger_problems(led) == []


def test_pending_options_are_checked_and_an_older_ledger_gets_the_exports_tables(tmp_path):
    ws = copy_example(tmp_path / "ws")
    assert "nothing to export" in ok("export", ws, "--format", "csv", "--pending").stdout  # no ledger yet
    assert not (ws / "ledger.duckdb").exists()
    ok("nightly", ws, "--as-of", AS_OF, "--out", tmp_path / "n")
    with duckdb.connect(str(ws / "ledger.duckdb")) as con:  # as a ledger written before exports existed
        con.execute("DROP TABLE export_documents")
        con.execute("DROP TABLE exports")
    assert "no exports recorded yet" in ok("export", ws, "--list").stdout
    p = usagebill("export", ws, "--id", "1")
    assert p.returncode != 0 and "no export 1" in p.stderr
    assert "export csv 1: 8 invoices" in ok("export", ws, "--format", "csv", "--pending").stdout
    assert (ws / "out" / "export-csv-1" / "documents.csv").exists()  # the default folder
    for args, message in [(("--pending",), "--pending needs --format"),
                          (("--format", "csv", "--pending", "--from", "2026-10-01"), "--from and --to go with"),
                          (("--format", "csv", "--id", "1"), "take no --format"),
                          (("--list", "--id", "1"), "either --run N")]:
        p = usagebill("export", ws, *args)
        assert p.returncode == 2 and message in p.stderr, (args, p.stderr)


# invoices with payment status -----------------------------------------------------------------------------------

def test_invoices_shows_payment_status_paid_and_balance(tmp_path):
    ws = october_reissued_on_december_1st(tmp_path)
    empty = json.loads(ok("invoices", ws, "--format", "json").stdout)  # no payments tables yet: nothing paid
    assert {(r["payment_status"], r["paid"]) for r in empty if r["status"] == "issued"} == {("open", "0.00")}
    bank = tmp_path / "bank.csv"
    bank.write_text("payment_id,customer_id,received_date,amount,currency,invoice_number\n"
                    "P1,acme,2026-12-05,100.00,USD,HC-10\n"       # 100.00 of HC-10's 162.99
                    "P2,umbrella,2026-12-06,180.00,USD,HC-12\n"   # HC-12 in full
                    "P3,initech,2026-12-07,44.10,USD,HC-1\n", encoding="utf-8")
    ok("payments", "import", ws, bank)
    got = {r["invoice_number"]: (r["status"], r["payment_status"], r["paid"], r["balance"])
           for r in json.loads(ok("invoices", ws, "--format", "json").stdout)}
    assert got["HC-10"] == ("issued", "partially_paid", "100.00", "62.99")  # 162.99 - 100.00
    assert got["HC-12"] == ("issued", "paid", "180.00", "0.00")
    assert got["HC-1"] == ("issued", "paid", "44.10", "0.00")
    assert got["HC-2"] == ("issued", "open", "0.00", "44.10")
    assert got["HC-8"] == ("credited", "credited", "0.00", "0.00")  # replaced by HC-12: nothing owed on it
    table = ok("invoices", ws, "--contract", "acme-1").stdout.splitlines()
    assert table[0].split()[14:18] == ["payment_status", "credits_applied", "paid", "balance"]
    assert [line.split()[0] + " " + " ".join(line.split()[14:18]) for line in table[1:]] == [
        "HC-3 open 0.00 0.00 60.67", "HC-6 credited 0.00 0.00 0.00", "HC-10 partially_paid 0.00 100.00 62.99"]


def test_the_month_end_flow_runs_exactly_as_the_docs_print_it(tmp_path):
    """docs/month-end.md's first code block, command by command, on the public example."""
    import shlex
    import subprocess
    from pathlib import Path

    from ledger_support import CLI

    text = (Path(__file__).parent.parent / "docs" / "month-end.md").read_text()
    block = text.split("```\n", 2)[1]
    commands = [shlex.split(line.split("#", 1)[0]) for line in block.splitlines() if line.startswith("usagebill")]
    assert [c[1] for c in commands] == ["nightly", "export", "render", "render", "payments", "ar"]
    copy_example(tmp_path / "ws")
    (tmp_path / "bank").mkdir()
    (tmp_path / "bank" / "2026-11.csv").write_text(
        "payment_id,customer_id,received_date,amount,currency,invoice_number\nP1,umbrella,2026-11-20,180.00,USD,\n")
    outputs = []
    for cmd in commands:
        p = subprocess.run(CLI + cmd[1:], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, (cmd, p.stderr)
        outputs.append(p.stdout)
    # 1: every period closed by Nov 2 02:15Z since each contract's start (8 invoices, HC-1..HC-8)
    assert rows(tmp_path / "ws" / "ledger.duckdb", "SELECT count(*) AS n FROM invoices")[0]["n"] == 8
    # 2: the first --pending sends all 8; a second one sends nothing
    assert "8 invoices" in outputs[1]
    again = subprocess.run(CLI + commands[1][1:], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "nothing to export" in again.stdout
    # 3: the documents dated Nov 1-2: the four October invoices (initech's ended Oct 25: dated then)
    pdfs = sorted(p.name for p in (tmp_path / "ws" / "out" / "render-pdf-2026-11-01-2026-11-03").glob("*.pdf"))
    assert len(pdfs) == 3, pdfs
    # 4, 5: umbrella paid its 180.00 October invoice (HC-8) in full: it is not in the aging at all;
    # acme owes 162.99 (October, current) + 60.67 (September, 1-30 days late)
    assert "P1 -> HC-8: 180.00 USD" in outputs[4]
    aging = {line.split()[0]: line.split() for line in outputs[5].splitlines()[1:]}
    assert "umbrella" not in aging and aging["acme"][-1] == "223.66"
