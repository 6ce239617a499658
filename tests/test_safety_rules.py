"""Safety rules of the README pinned through the real command line, with expectations computed by hand.

- `run --out` into a folder that is not a usagebill output is refused and the folder is left byte-identical;
- dedup keeps the earliest copy by (timestamp, file path, row) and looks back --dedup-window-days (34) before S;
- every CSV writer neutralizes cells starting with = + - @ tab CR (list written here, not the product's);
- credit notes and adjustment invoices are never dated before the invoice they correct;
- invoice_id is in_ + 24 hex of sha256(contract_id, period_start); numbers are PREFIX-n / PREFIX-CN-n, gapless.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from builders import ev, workspace, write_events
from conftest import run_bill
from independent import FORMULA_CHARS, invoice_id
from ledger_support import copy_example, rows, usagebill

WINDOW = ["--from", "2026-10-01", "--to", "2026-11-01"]


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>" for p in sorted(folder.rglob("*"))}


# publishing into a folder that is not an output -----------------------------------------------------------------

@pytest.mark.parametrize("extra", [False, True])
def test_run_into_a_folder_that_is_not_an_output_is_refused_and_left_untouched(tmp_path, extra):
    ws = copy_example(tmp_path / "ws")
    mydocs = tmp_path / "mydocs"
    mydocs.mkdir()
    (mydocs / "thesis.txt").write_bytes(b"Chapter 1\r\nmy only copy\x00\xff")
    if extra:  # a folder with sub-folders and an invoices.csv of its own is still not an output of ours
        (mydocs / "drafts").mkdir()
        (mydocs / "drafts" / "notes.md").write_text("notes")
        (mydocs / "invoices.csv").write_text("not ours")
    before = tree(mydocs)
    p = usagebill("run", ws, *WINDOW, "--out", mydocs)
    assert p.returncode != 0 and "not a usagebill output" in p.stderr, p.stdout + p.stderr
    assert tree(mydocs) == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["mydocs", "ws"]  # no staging folder left beside it
    # an output of ours in the same place is replaced (the refusal is about the folder, not about --out)
    out = tmp_path / "out"
    assert usagebill("run", ws, *WINDOW, "--out", out).returncode == 0
    assert usagebill("run", ws, *WINDOW, "--out", out).returncode == 0


# dedup: the earliest copy, and the window -----------------------------------------------------------------------

METRICS = [{"id": "h", "event_type": "compute", "aggregation": "sum", "field": "hours"}]
CHARGES = [{"id": "hours", "metric": "h", "model": "per_unit", "unit_price": 1}]
CONTRACTS = [{"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-07-01"}]


def billed(tmp_path: Path, files: list[list[dict]], *extra: str) -> tuple[Decimal, dict]:
    ws = workspace(tmp_path / "ws", metrics=METRICS, charges=CHARGES, events=files, contracts=CONTRACTS)
    out = tmp_path / "out"
    p = usagebill("run", ws, *WINDOW, "--out", out, *extra)
    assert p.returncode == 0, p.stderr
    lines = pq.read_table(out / "invoice_lines.parquet").to_pylist()
    import json
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    return sum(Decimal(str(r["quantity"])) for r in lines if r["charge_id"] == "hours"), counts


def test_dedup_keeps_the_earliest_copy_by_timestamp_then_file_then_row(tmp_path):
    files = [
        [ev("t", "2026-10-06T10:00", "compute", hours=7.0),     # later copy first in the file
         ev("t", "2026-10-05T10:00", "compute", hours=3.0),     # earliest by timestamp: kept
         ev("f", "2026-10-07T10:00", "compute", hours=10.0),    # same instant as in part-1: file part-0 kept
         ev("r", "2026-10-08T10:00", "compute", hours=100.0),   # same instant, same file: row 4 before row 5
         ev("r", "2026-10-08T10:00", "compute", hours=200.0)],
        [ev("f", "2026-10-07T10:00", "compute", hours=20.0)],
    ]
    quantity, counts = billed(tmp_path, files)
    assert quantity == Decimal(3 + 10 + 100)  # by hand: 113, not the later copies' 7 + 20 + 200
    assert counts["duplicate"] == 3 and counts["billed"] == 3


@pytest.mark.parametrize("extra, expected, duplicates", [
    ((), 1 + 10 + 100, 0),  # 34 days: the copy 33 days before S and the one at S-34d 00:00 are found
    (("--dedup-window-days", "36"), 10 + 100, 0),  # 36 days: the copy 35 days before S is found too
    (("--dedup-window-days", "7"), 1 + 10 + 100 + 1000 + 10000, 0),  # 7 days: none of them is found
])
def test_dedup_window_looks_back_exactly_the_window_before_s(tmp_path, extra, expected, duplicates):
    # S = 2026-10-01T00:00Z; S - 34 days = 2026-08-28T00:00Z. Each in-span copy has an earlier copy before S.
    files = [[
        ev("a", "2026-08-27T10:00", "compute", hours=0.5),      # 35 days before S: not looked for (34)
        ev("a", "2026-10-05T10:00", "compute", hours=1.0),
        ev("b", "2026-08-29T10:00", "compute", hours=0.5),      # 33 days before S: found, so b below is a copy
        ev("b", "2026-10-05T10:00", "compute", hours=1000.0),
        ev("c", "2026-08-28T00:00", "compute", hours=0.5),      # exactly S - 34 days: "at or after", found
        ev("c", "2026-10-05T10:00", "compute", hours=10000.0),
        ev("d", "2026-10-05T10:00", "compute", hours=10.0),     # no copy at all
        ev("e", "2026-10-06T10:00", "compute", hours=100.0),
    ]]
    quantity, counts = billed(tmp_path, files, *extra)
    assert quantity == Decimal(str(expected))
    if not extra:  # the library's default window (RunArgs, as nightly and explain use it) is 34 days too
        result = run_bill(tmp_path / "ws")
        assert sum(Decimal(str(r["quantity"])) for r in result.lines.to_pylist()
                   if r["charge_id"] == "hours") == Decimal(str(expected))
        assert result.args.dedup_window_days == 34
    found = {(): 2, ("--dedup-window-days", "36"): 3, ("--dedup-window-days", "7"): 0}[extra]
    assert counts["duplicate"] == found  # in-span copies counted as duplicates


# formula neutralization in every CSV writer ---------------------------------------------------------------------

NUMBER = re.compile(r"-\d+(\.\d+)?")


def formula_ws(root: Path) -> Path:
    metrics = [{"id": "-mt", "event_type": "compute", "aggregation": "sum", "field": "hours", "group_by": ["\tg"]},
               {"id": "mr", "event_type": "compute", "aggregation": "sum", "field": "hours", "group_by": ["\rg"]}]
    charges = [{"id": "=fee", "model": "flat", "amount": 10},
               {"id": "+use", "metric": "-mt", "model": "per_unit", "unit_price": 1},
               {"id": "@use", "metric": "mr", "model": "per_unit", "unit_price": 1}]
    ids = [f"{c}c{i}" if c.strip() else f"c{i}" for i, c in enumerate(FORMULA_CHARS)]  # ids lose tab/CR: stripped
    customers = [{"customer_id": cid, "name": f"{c}name{i}", "country": "US", "email": f"{c}x@example.com"}
                 for i, (c, cid) in enumerate(zip(FORMULA_CHARS, ids))]
    contracts = [{"contract_id": f"-k{i}", "customer_id": cid, "plan_id": "-p", "start_date": "2026-10-01"}
                 for i, cid in enumerate(ids)]
    events = [ev(f"e{i}", "2026-10-05T10:00", "compute", customer_id=cid, hours=1.0, **{"\tg": f"{c}r", "\rg": "x"})
              for i, (c, cid) in enumerate(zip(FORMULA_CHARS, ids))]
    return workspace(root, metrics=metrics, charges=[], customers=customers, contracts=contracts, events=events,
                     plans=[{"id": "-p", "currency": "USD", "charges": charges}],
                     tax_rates=[{"country": "*", "percent": "20", "name": "@TAX"}])


def cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


def check_cells(name: str, text: str) -> set[str]:
    """No cell starts with a formula character unless it is a negative number; returns the characters
    found neutralized (a cell "'" + char + ...), so that a test can require its fixture reached them."""
    for cell in cells(text):
        if cell[:1] in FORMULA_CHARS:
            assert cell[0] == "-" and NUMBER.fullmatch(cell), f"{name}: formula cell {cell!r}"
    return {c[1] for c in cells(text) if c[:1] == "'" and c[1:2] in FORMULA_CHARS}


def customer_rows(ws: Path) -> list[dict]:
    with open(ws / "customers.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def formula_ledger(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("formulas")
    ws = formula_ws(root / "ws")
    grants = root / "grants.csv"  # prepaid credit drawn at issue: credit_allocations.csv and NetSuite's file
    with open(grants, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["grant_id", "customer_id", "currency", "amount", "effective_date", "description"])
        for i, r in enumerate(customer_rows(ws)):
            c = FORMULA_CHARS[i]
            w.writerow([f"{c}g{i}" if c.strip() else f"g{i}", r["customer_id"], "USD", "5.00", "2026-10-01",
                        f"{c}prepaid {i}"])
    p = usagebill("credits", "import", ws, grants)
    assert p.returncode == 0, p.stderr
    p = usagebill("issue", ws, *WINDOW, "--out", root / "issue")
    assert p.returncode == 0, p.stderr
    late = [ev(f"l{i}", "2026-10-06T10:00", "compute", customer_id=r["customer_id"], hours=2.0,
               **{"\tg": f"{c}r", "\rg": "x"})
            for i, (c, r) in enumerate(zip(FORMULA_CHARS, customer_rows(ws)))]
    schema = pq.read_schema(next((ws / "events").glob("*.parquet")))
    write_events(ws / "events" / "late.parquet", late, schema)
    for args, out, status in ((("reconcile", ws, *WINDOW), "reconcile", 3),  # 3: differences found
                              (("reconcile", ws, *WINDOW, "--adjust", "--issue-date", "2026-11-10"), "adjust", 0),
                              (("issue", ws, *WINDOW, "--reissue", "--issue-date", "2026-11-20"), "reissue", 0)):
        p = usagebill(*args, "--out", root / out)
        assert p.returncode == status, p.stderr
        assert (root / out / "manifest.json").exists(), p.stderr
    return root, ws


def test_every_csv_writer_neutralizes_formula_cells(formula_ledger, tmp_path):
    root, ws = formula_ledger
    found: dict[str, set[str]] = {}
    run = tmp_path / "run"
    assert usagebill("run", ws, *WINDOW, "--out", run).returncode == 0
    for folder in (run, root / "issue", root / "reconcile", root / "adjust", root / "reissue"):
        for f in sorted(folder.glob("*.csv")):
            found[f"{folder.name}/{f.name}"] = check_cells(f.name, f.read_bytes().decode("utf-8"))
    for fmt in ("csv", "xero", "quickbooks", "netsuite"):
        out = tmp_path / f"x-{fmt}"
        p = usagebill("export", ws, "--format", fmt, "--out", out)
        assert p.returncode == 0, p.stderr
        for f in out.glob("*.csv"):
            found[f"export {fmt}/{f.name}"] = check_cells(f.name, f.read_bytes().decode("utf-8"))
        found[f"export {fmt}"] = set().union(*(v for k, v in found.items() if k.startswith(f"export {fmt}/")))
    for n in (1, 2, 3):
        out = tmp_path / f"run-{n}"
        p = usagebill("export", ws, "--run", str(n), "--out", out)
        assert p.returncode == 0, p.stderr
        found[f"export --run {n}"] = set().union(*(check_cells(f.name, f.read_bytes().decode("utf-8"))
                                                  for f in out.glob("*.csv")))
    for args in (("ar", ws, "--as-of", "2026-12-31", "--format", "csv"),
                 ("ar", ws, "--as-of", "2026-12-31", "--format", "csv", "--invoices"),
                 ("invoices", ws, "--format", "csv"), ("credit-notes", ws, "--format", "csv")):
        p = usagebill(*args)
        assert p.returncode == 0, p.stderr
        found[" ".join(map(str, args[:1] + args[2:]))] = check_cells(args[0], p.stdout)
    every, ids = set(FORMULA_CHARS), {"=", "+", "-", "@"}  # ids and names lose a leading tab/CR (stripped)
    required = dict.fromkeys((
        "run/invoice_lines.csv", "issue/invoice_lines.csv", "reconcile/reconciliation.csv",
        "adjust/reconciliation.csv", "reissue/invoice_lines.csv", "reissue/credit_note_lines.csv", "export csv",
        "export --run 1", "export --run 2", "export --run 3"), every)
    required |= dict.fromkeys((
        "run/invoices.csv", "issue/invoices.csv", "adjust/invoices.csv", "reissue/invoices.csv",
        "reissue/credit_notes.csv", "export xero", "export quickbooks", "export netsuite",
        "ar --as-of 2026-12-31 --format csv", "ar --as-of 2026-12-31 --format csv --invoices",
        "invoices --format csv", "credit-notes --format csv", "export netsuite/netsuite-credit-applications.csv"), ids)
    required["export csv/credit_allocations.csv"] = ids  # grant ids and descriptions (a leading tab/CR is stripped)
    required["adjust/invoice_lines.csv"] = every - {"="}  # an adjustment has no flat-fee line
    missing = {name: sorted(want - found.get(name, set())) for name, want in required.items()
               if not want <= found.get(name, set())}
    assert not missing, missing  # each writer met (and neutralized) each character the fixture gives it


# document dates ------------------------------------------------------------------------------------------------

def test_corrections_are_never_dated_before_the_invoice_they_correct(tmp_path):
    ws = copy_example(tmp_path / "ws")
    assert usagebill("issue", ws, *WINDOW, "--out", tmp_path / "o1").returncode == 0
    # reissue and adjust dated 2026-10-15, before every October invoice (dated their period_end)
    p = usagebill("issue", ws, *WINDOW, "--reissue", "--issue-date", "2026-10-15", "--out", tmp_path / "o2")
    assert p.returncode == 0, p.stderr
    led = ws / "ledger.duckdb"
    pairs = rows(led, "SELECT c.credit_note_number, c.issue_date AS cn, i.issue_date AS inv FROM credit_notes c "
                      "JOIN invoices i ON i.invoice_number = c.invoice_number")
    assert pairs and all(r["cn"] >= r["inv"] for r in pairs), pairs
    assert any(str(r["inv"]) > "2026-10-15" for r in pairs)  # the rule was exercised, not vacuous
    # late events, then reconcile --adjust dated 2026-10-20: the adjustment invoices and credit notes too
    copy_late = ws / "events" / "late.parquet"
    schema = pq.read_schema(next((ws / "events").rglob("*.parquet")))
    write_events(copy_late, [ev(f"late{i}", "2026-10-20T10:00", "api_call", customer_id=c)
                             for i, c in enumerate(["acme"] * 3000 + ["globex"] * 2000)], schema)
    p = usagebill("reconcile", ws, *WINDOW, "--adjust", "--issue-date", "2026-10-20", "--out", tmp_path / "o3")
    assert p.returncode == 0, p.stderr
    adjusted = rows(led, "SELECT a.issue_date AS adj, a.due_date - a.issue_date AS terms, o.issue_date AS inv, "
                         "o.due_date - o.issue_date AS o_terms FROM invoices a "
                         "JOIN invoices o ON o.invoice_number = a.original_invoice_number WHERE a.kind = 'adjustment'")
    assert adjusted and all(r["adj"] >= r["inv"] and str(r["inv"]) > "2026-10-20" for r in adjusted), adjusted
    pairs = rows(led, "SELECT c.issue_date AS cn, i.issue_date AS inv FROM credit_notes c "
                      "JOIN invoices i ON i.invoice_number = c.invoice_number")
    assert all(r["cn"] >= r["inv"] for r in pairs), pairs
    # reissued invoices keep their period_end date
    assert all(str(r["issue_date"]) == str(r["period_end"]) for r in rows(
        led, "SELECT issue_date, period_end FROM invoices WHERE status = 'issued' AND kind <> 'adjustment'"))


# ids and numbers ------------------------------------------------------------------------------------------------

def test_invoice_ids_and_numbers_keep_their_documented_form(tmp_path):
    ws = copy_example(tmp_path / "ws")
    out = tmp_path / "run"
    assert usagebill("run", ws, *WINDOW, "--out", out).returncode == 0
    invoices = pq.read_table(out / "invoices.parquet").to_pylist()
    assert invoices
    for r in invoices:
        assert re.fullmatch(r"in_[0-9a-f]{24}", r["invoice_id"]), r["invoice_id"]
        assert r["invoice_id"] == invoice_id(r["contract_id"], r["period_start"].isoformat())
    # hand check of one: sha256("acme-1" US "2026-10-01"), first 24 hex digits
    digest = hashlib.sha256(b"acme-1\x1f2026-10-01").hexdigest()
    assert {r["invoice_id"] for r in invoices if r["contract_id"] == "acme-1"} == {"in_" + digest[:24]}
    assert usagebill("issue", ws, *WINDOW, "--out", tmp_path / "o1").returncode == 0
    assert usagebill("issue", ws, *WINDOW, "--reissue", "--issue-date", "2026-11-05",
                     "--out", tmp_path / "o2").returncode == 0
    led = ws / "ledger.duckdb"
    numbers = [r["invoice_number"] for r in rows(led, "SELECT invoice_number FROM invoices ORDER BY sequence")]
    credits = [r["credit_note_number"] for r in rows(led, "SELECT credit_note_number FROM credit_notes "
                                                          "ORDER BY sequence")]
    assert numbers == [f"HC-{n}" for n in range(1, len(numbers) + 1)]
    assert credits == [f"HC-CN-{n}" for n in range(1, len(credits) + 1)] and credits
    issued = rows(led, "SELECT invoice_id, contract_id, period_start FROM invoices")
    assert all(r["invoice_id"] == invoice_id(r["contract_id"], r["period_start"].isoformat()) for r in issued)


def test_an_invalid_copy_is_invalid_not_a_duplicate(tmp_path):
    # README: invalid before anything else. x has two valid copies and a third with a null event_type
    # (which never counts as a copy of another): billed 1 (the earliest), duplicate 1, invalid 1.
    files = [[ev("x", "2026-10-05T10:00", "compute", hours=1.0), ev("x", "2026-10-06T10:00", "compute", hours=2.0),
              {**ev("x", "2026-10-07T10:00", "compute", hours=4.0), "event_type": None}]]
    quantity, counts = billed(tmp_path, files)
    assert quantity == 1 and (counts["billed"], counts["duplicate"], counts["invalid"]) == (1, 1, 1), counts


def test_an_event_at_the_contract_end_date_has_no_active_contract(tmp_path):
    # DATA_CONTRACT.md: end_date is exclusive. Contract k1 ends 2026-10-15 (UTC customer): an event at
    # 2026-10-14T23:59:59.999999 is billed, one at 2026-10-15T00:00 exactly is quarantined no_active_contract.
    # c2's open contract keeps the run's span to 2026-11-01 (else the span would end at k1's end).
    contracts = [{"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-07-01",
                  "end_date": "2026-10-15"},
                 {"contract_id": "k2", "customer_id": "c2", "plan_id": "p", "start_date": "2026-07-01"}]
    customers = [{"customer_id": "c1", "name": "One", "country": "US"},
                 {"customer_id": "c2", "name": "Two", "country": "US"}]
    ws = workspace(tmp_path / "ws", metrics=METRICS, charges=CHARGES, contracts=contracts, customers=customers,
                   events=[
        ev("last", "2026-10-14T23:59:59.999999", "compute", hours=1.0), ev("end", "2026-10-15T00:00", "compute",
                                                                         hours=10.0)])
    p = usagebill("run", ws, *WINDOW, "--out", tmp_path / "out")
    assert p.returncode == 0, p.stderr
    quarantine = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert [(q["event_id"], q["reason"]) for q in quarantine] == [("end", "no_active_contract")]
    lines = pq.read_table(tmp_path / "out" / "invoice_lines.parquet").to_pylist()
    assert sum(Decimal(str(r["quantity"])) for r in lines if r["charge_id"] == "hours") == 1  # c2 has no events


def test_manifest_inputs_are_the_sha256_of_each_input_file(tmp_path):
    ws = copy_example(tmp_path / "ws")
    out = tmp_path / "out"
    assert usagebill("run", ws, *WINDOW, "--out", out).returncode == 0
    import json
    inputs = json.loads((out / "manifest.json").read_text())["inputs"]
    files = {p.name: p for p in ws.glob("*") if p.is_file()}
    files |= {"events/" + str(p.relative_to(ws / "events")): p for p in (ws / "events").rglob("*.parquet")}
    assert inputs and inputs == {k: hashlib.sha256(files[k].read_bytes()).hexdigest() for k in inputs}
    assert set(inputs) == set(files)


def test_os_reason_gives_the_systems_words():
    from pipeline.core.io import os_reason
    assert os_reason(OSError(28, "No space left on device")) == "No space left on device"
    assert os_reason(OSError("disk gone")) == "disk gone"
    assert os_reason(OSError("IOError: [Errno 13] oops")) == "Permission denied"
