"""The ledger: issue and nightly number invoices gaplessly, never twice, and reissue through credit notes."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import run_bill
from ledger_support import copy_example, day, documents, ledger_problems, noon, rows, snapshot, usagebill, window

import pipeline.ledger.issue as issuing
from pipeline.billing.run import write_outputs
from pipeline.core.errors import BillingError
from pipeline.ledger import store
from pipeline.ledger.issue import issue, nightly

# The example's periods by (period_end, contract_id): the order numbers are given in.
ORDER = [("2026-08-01", "initech-1"), ("2026-09-01", "initech-1"), ("2026-10-01", "acme-1"),
         ("2026-10-01", "initech-1"), ("2026-10-25", "initech-1"), ("2026-11-01", "acme-1"),
         ("2026-11-01", "globex-1"), ("2026-11-01", "umbrella-1")]


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "ws")


def numbers(outcome, table: str = "invoices", column: str = "invoice_number") -> list[str]:
    return outcome.docs[table].column(column).to_pylist()


def without(row: dict, *names: str) -> dict:
    return {k: v for k, v in row.items() if k not in names}


def test_nightly_issues_every_closed_period_once_with_the_totals_of_run(ws):
    first = nightly(ws, noon("2026-11-01"))
    invoices = first.docs["invoices"].to_pylist()
    assert numbers(first) == [f"HC-{n}" for n in range(1, 9)]
    assert [(r["period_end"].isoformat(), r["contract_id"]) for r in invoices] == ORDER
    assert {r["status"] for r in invoices} == {"issued"} and {r["kind"] for r in invoices} == {"invoice"}

    drafts = run_bill(ws, "2026-01-01", "2026-11-01")  # the same periods as drafts
    by_period = {(r["contract_id"], r["period_start"]): r for r in drafts.invoices.to_pylist()}
    assert len(by_period) == len(invoices)
    for r in invoices:
        draft = by_period[(r["contract_id"], r["period_start"])]
        assert without(r, "invoice_number", "status", "kind", "original_invoice_number") == \
            without(draft, "invoice_number", "status")
    assert sum(r["total"] for r in invoices) == sum(by_period[k]["total"] for k in by_period) == Decimal("650.52")
    assert first.manifest["totals"]["USD"]["total"] == "650.52"

    second = nightly(ws, noon("2026-11-01"))
    assert second.run_seq is None and second.out is None and not second.docs
    assert len(list((ws / "out").iterdir())) == 1
    assert ledger_problems(ws / "ledger.duckdb") == []


def test_missed_nights_catch_up_to_the_same_invoices_and_numbers(tmp_path):
    nightly_ws, once_ws = copy_example(tmp_path / "a"), copy_example(tmp_path / "b")
    issued = [nightly(nightly_ws, noon(d)).docs.get("invoices") for d in
              ("2026-08-15", "2026-09-01", "2026-09-01", "2026-10-20", "2026-11-01")]
    assert [0 if t is None else t.num_rows for t in issued] == [1, 1, 0, 2, 4]
    nightly(once_ws, noon("2026-11-01"))
    assert documents(nightly_ws / "ledger.duckdb") == documents(once_ws / "ledger.duckdb")


def test_nightly_issues_nothing_before_a_contract_starts_and_from_its_start_after(ws):
    assert nightly(ws, noon("2026-07-01")).run_seq is None  # initech's first period ends 2026-08-01
    assert not (ws / "out").exists()
    assert numbers(nightly(ws, noon("2026-08-01"))) == ["HC-1"]


def test_issue_fills_numbers_and_status_into_the_outputs_of_run(ws, tmp_path):
    issue(ws, window("2026-10-01", "2026-11-01"), out=tmp_path / "issued")
    drafts = write_outputs(run_bill(ws), tmp_path / "drafts")
    inv = pq.read_table(tmp_path / "issued" / "invoices.parquet")
    assert inv.column_names[:18] == pq.read_table(drafts / "invoices.parquet").column_names
    assert inv.column("invoice_number").to_pylist() == ["HC-1", "HC-2", "HC-3", "HC-4"]
    assert set(inv.column("status").to_pylist()) == {"issued"}
    draft_rows = pq.read_table(drafts / "invoices.parquet").to_pylist()
    assert [without(r, "invoice_number", "status", "kind", "original_invoice_number") for r in inv.to_pylist()] == \
        [without(r, "invoice_number", "status") for r in draft_rows]
    lines = pq.read_table(tmp_path / "issued" / "invoice_lines.parquet")
    assert lines.drop_columns(["invoice_number"]).equals(pq.read_table(drafts / "invoice_lines.parquet"))
    for name in ("usage", "quarantine"):
        assert pq.read_table(tmp_path / "issued" / f"{name}.parquet").equals(
            pq.read_table(drafts / f"{name}.parquet"))
    csv_head = (tmp_path / "issued" / "invoices.csv").read_text().splitlines()[1]
    assert ",HC-1,issued," in csv_head
    manifest = json.loads((tmp_path / "issued" / "manifest.json").read_text())
    assert manifest["command"] == "issue" and manifest["skipped"] == []
    assert manifest["ledger"]["invoices"] == {"count": 4, "first": "HC-1", "last": "HC-4"}
    assert manifest["counts"] == json.loads((drafts / "manifest.json").read_text())["counts"]


def test_an_issued_period_is_skipped_not_issued_twice(ws, tmp_path):
    issue(ws, window("2026-10-01", "2026-11-01"))
    again = issue(ws, window("2026-10-01", "2026-11-01"), out=tmp_path / "again")
    assert again.run_seq is None and not (tmp_path / "again").exists()
    assert [(s.contract_id, s.invoice_number) for s in again.skipped] == [
        ("initech-1", "HC-1"), ("acme-1", "HC-2"), ("globex-1", "HC-3"), ("umbrella-1", "HC-4")]
    wider = issue(ws, window("2026-09-01", "2026-11-01"))  # adds September, skips October
    assert numbers(wider) == ["HC-5", "HC-6"]
    assert [s["invoice_number"] for s in wider.manifest["skipped"]] == ["HC-1", "HC-2", "HC-3", "HC-4"]
    live = rows(ws / "ledger.duckdb", "SELECT contract_id, period_start, count(*) AS n FROM invoices "
                                      "WHERE status = 'issued' GROUP BY ALL HAVING n > 1")
    assert live == []


def test_reissue_credits_the_invoice_and_issues_it_again_both_series_gapless(ws):
    issue(ws, window("2026-10-01", "2026-11-01"))
    first = issue(ws, window("2026-10-01", "2026-11-01", contracts=("acme-1",)), reissue=True,
                  issue_date=day("2026-11-20"))
    assert numbers(first) == ["HC-5"] and numbers(first, "credit_notes", "credit_note_number") == ["HC-CN-1"]
    (note,) = first.docs["credit_notes"].to_pylist()
    (new,) = first.docs["invoices"].to_pylist()
    old = rows(ws / "ledger.duckdb", "SELECT * FROM invoices WHERE invoice_number = 'HC-2'")[0]
    assert old["status"] == "credited" and new["original_invoice_number"] == "HC-2"
    assert note["invoice_number"] == "HC-2" and note["reason"] == "reissue"
    assert note["issue_date"] == day("2026-11-20")
    assert {k: note[k] for k in ("subtotal", "discount_total", "tax_total", "total")} == \
        {k: old[k] for k in ("subtotal", "discount_total", "tax_total", "total")}
    old_lines = rows(ws / "ledger.duckdb", "SELECT * EXCLUDE (invoice_number) FROM invoice_lines "
                                           "WHERE invoice_number = 'HC-2' ORDER BY line_number")
    assert [without(r, "credit_note_number") for r in first.docs["credit_note_lines"].to_pylist()] == old_lines
    assert new["total"] == old["total"]  # nothing changed in between: the same amounts, a new number
    # the replacement is dated when reissued and due by acme's terms (30 days, the default): 11-20 + 30 days
    assert (old["issue_date"], old["due_date"]) == (day("2026-11-01"), day("2026-12-01"))
    assert (new["issue_date"], new["due_date"]) == (day("2026-11-20"), day("2026-12-20"))

    second = issue(ws, window("2026-10-01", "2026-11-01"), reissue=True, issue_date=day("2026-11-21"))
    assert numbers(second) == ["HC-6", "HC-7", "HC-8", "HC-9"]
    assert numbers(second, "credit_notes", "credit_note_number") == ["HC-CN-2", "HC-CN-3", "HC-CN-4", "HC-CN-5"]
    assert second.docs["credit_notes"].column("invoice_number").to_pylist() == ["HC-1", "HC-5", "HC-3", "HC-4"]
    statuses = rows(ws / "ledger.duckdb", "SELECT status, count(*) AS n FROM invoices GROUP BY ALL ORDER BY 1")
    assert statuses == [{"status": "credited", "n": 5}, {"status": "issued", "n": 4}]
    assert ledger_problems(ws / "ledger.duckdb") == []


def test_same_ledger_and_inputs_give_the_same_numbers_and_bytes(tmp_path):
    a, b = copy_example(tmp_path / "a"), copy_example(tmp_path / "b")
    for ws in (a, b):
        nightly(ws, noon("2026-10-01"))
        issue(ws, window("2026-09-01", "2026-11-01"), reissue=True, issue_date=day("2026-11-05"),
              out=ws.parent / f"{ws.name}-out")
    files = sorted(p.name for p in (tmp_path / "a-out").iterdir() if p.name != "manifest.json")
    assert "credit_notes.parquet" in files
    for name in files:
        assert (tmp_path / "a-out" / name).read_bytes() == (tmp_path / "b-out" / name).read_bytes(), name
    assert snapshot(a / "ledger.duckdb") == snapshot(b / "ledger.duckdb")


def test_a_batch_that_fails_before_commit_leaves_the_ledger_as_before_and_burns_no_number(ws, monkeypatch):
    nightly(ws, noon("2026-10-01"))
    before = snapshot(ws / "ledger.duckdb")
    real = store.run

    def failing(con, statement, params=None):
        if "INSERT INTO runs" in statement:
            raise OSError("disk full")
        return real(con, statement, params)

    monkeypatch.setattr(store, "run", failing)
    with pytest.raises(OSError):
        nightly(ws, noon("2026-11-01"))
    monkeypatch.undo()
    assert snapshot(ws / "ledger.duckdb") == before
    assert numbers(nightly(ws, noon("2026-11-01"))) == [f"HC-{n}" for n in range(5, 9)]


def test_a_batch_that_would_break_the_ledger_rules_is_refused_whole(ws, monkeypatch):
    from pipeline.core.errors import CheckError
    from pipeline.ledger.documents import Numbering

    nightly(ws, noon("2026-10-01"))
    before = snapshot(ws / "ledger.duckdb")
    real = Numbering.next
    monkeypatch.setattr(Numbering, "next", lambda self, series: (real(self, series), real(self, series))[1])
    with pytest.raises(CheckError, match="gapless numbers"):  # a numbering bug skipping every other number
        nightly(ws, noon("2026-11-01"))
    assert snapshot(ws / "ledger.duckdb") == before


def _set(table, name: str, row: int, value):
    import pyarrow as pa

    values = table.column(name).to_pylist()
    values[row] = value
    return table.set_column(table.schema.get_field_index(name), name, pa.array(values, table.schema.field(name).type))


def _total_plus_one(tables, credited, old):
    tables["invoices"] = _set(tables["invoices"], "total", 0, tables["invoices"]["total"][0].as_py() + 1)


def _line_dropped(tables, credited, old):
    lines = tables["invoice_lines"]
    tables["invoice_lines"] = lines.slice(0, lines.num_rows - 1)


def _line_of_an_old_invoice(tables, credited, old):
    import pyarrow as pa

    extra = _set(_set(tables["invoice_lines"].slice(0, 1), "invoice_number", 0, old["invoice_number"]),
                 "line_number", 0, 999)
    tables["invoice_lines"] = pa.concat_tables([tables["invoice_lines"], extra])


def _period_issued_twice(tables, credited, old):
    invoices = _set(tables["invoices"], "contract_id", 0, old["contract_id"])
    tables["invoices"] = _set(invoices, "period_start", 0, old["period_start"])


def _credited_without_credit_note(tables, credited, old):
    credited.append(old["invoice_number"])


@pytest.mark.parametrize(("tamper", "rule"), [
    (_total_plus_one, "header arithmetic"), (_line_dropped, "lines"), (_line_of_an_old_invoice, "orphan lines"),
    (_period_issued_twice, "one live invoice per period"),
    (_credited_without_credit_note, "credited has a credit note")])
def test_the_commit_check_refuses_a_broken_batch_whole(ws, monkeypatch, tamper, rule):
    """The rules are checked on what the batch writes (sql/ledger/check_batch.sql), before COMMIT: a
    bug that breaks one leaves the ledger as it was; check-ledger's whole-ledger rules agree."""
    from pipeline.core.errors import CheckError

    first = nightly(ws, noon("2026-10-01")).docs["invoices"].to_pylist()[0]
    before = snapshot(ws / "ledger.duckdb")
    real = store.commit

    def tampered(ledger, tables, credited, *args, **kwargs):
        tables, credited = dict(tables), list(credited)
        tamper(tables, credited, first)
        return real(ledger, tables, credited, *args, **kwargs)

    monkeypatch.setattr(issuing, "commit", tampered)
    with pytest.raises(CheckError, match=rule):
        nightly(ws, noon("2026-11-01"))
    assert snapshot(ws / "ledger.duckdb") == before
    monkeypatch.undo()
    assert ledger_problems(ws / "ledger.duckdb") == []
    assert numbers(nightly(ws, noon("2026-11-01"))) == [f"HC-{n}" for n in range(5, 9)]


def test_a_ledger_of_a_newer_schema_or_another_database_is_refused(ws, tmp_path):
    import duckdb

    nightly(ws, noon("2026-09-01"))
    con = duckdb.connect(str(ws / "ledger.duckdb"))
    con.execute("UPDATE ledger_info SET value = '2' WHERE key = 'schema_version'").fetchall()
    con.close()
    with pytest.raises(BillingError, match="schema version 2 is newer than this usagebill understands"):
        nightly(ws, noon("2026-11-01"))
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE sales (id INTEGER)").fetchall()
    con.close()
    with pytest.raises(BillingError, match="is a DuckDB file but not a usagebill ledger"):
        nightly(ws, noon("2026-11-01"), ledger=other)


def test_the_ledger_can_live_elsewhere(ws, tmp_path):
    outcome = nightly(ws, noon("2026-11-01"), ledger=tmp_path / "books.duckdb", out=tmp_path / "o")
    assert outcome.run_seq == 1 and (tmp_path / "books.duckdb").exists()
    assert not (ws / "ledger.duckdb").exists()
    with pytest.raises(BillingError, match="folder not found"):
        nightly(ws, noon("2026-11-01"), ledger=tmp_path / "missing" / "books.duckdb")


def test_cli_nightly_issue_listings_export_and_check(ws, tmp_path):
    p = usagebill("nightly", ws, "--as-of", "2026-11-01T12:00:00Z")
    assert p.returncode == 0, p.stderr
    assert "issued 8 invoices (HC-1 to HC-8), 0 credit notes; ledger run 1" in p.stdout
    p = usagebill("nightly", ws, "--as-of", "2026-11-01T12:00:00Z")
    assert p.returncode == 0 and "nothing issued" in p.stdout
    p = usagebill("issue", ws, "--from", "2026-10-01", "--to", "2026-11-01", "--contract", "globex-1")
    assert p.returncode == 0 and "globex-1 2026-10-12 to 2026-11-01: HC-7" in p.stdout
    p = usagebill("issue", ws, "--from", "2026-10-01", "--to", "2026-11-01", "--contract", "globex-1",
                  "--reissue", "--issue-date", "2026-11-03")
    assert p.returncode == 0, p.stderr
    assert "issued 1 invoice (HC-9), 1 credit note (HC-CN-1)" in p.stdout

    p = usagebill("invoices", ws, "--format", "csv")
    header, *lines = p.stdout.splitlines()
    assert header.startswith("invoice_number,status,kind,contract_id,customer_id,period_start,period_end,")
    assert {"currency", "total"} <= set(header.split(","))
    assert len(lines) == 9 and lines[6].startswith("HC-7,credited,invoice,globex-1,globex,2026-10-12,2026-11-01,")
    p = usagebill("invoices", ws, "--status", "issued", "--contract", "globex-1", "--format", "json")
    assert [(r["invoice_number"], r["total"]) for r in json.loads(p.stdout)] == [("HC-9", "51.96")]
    p = usagebill("credit-notes", ws)
    assert p.returncode == 0 and "HC-CN-1" in p.stdout and "HC-7" in p.stdout and "reissue" in p.stdout

    (batch,) = [d for d in (ws / "out").iterdir() if d.name.startswith("issue-")]
    p = usagebill("export", ws, "--run", "2", "--out", tmp_path / "again")
    assert p.returncode == 0, p.stderr
    for f in (tmp_path / "again").iterdir():
        assert f.read_bytes() == (batch / f.name).read_bytes(), f.name
    p = usagebill("export", ws, "--run", "7")
    assert p.returncode == 1 and "runs are numbered 1 to 2" in p.stderr
    p = usagebill("check-ledger", ws)
    assert p.returncode == 0 and "ledger ok: 9 invoices, 1 credit note, 2 runs" in p.stdout


def test_cli_ledger_errors_are_one_red_line(ws, tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database\n")
    p = usagebill("nightly", ws, "--as-of", "2026-11-01T12:00:00Z", "--ledger", bogus)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert [x for x in p.stderr.splitlines() if not x.startswith("usagebill: [")][0].startswith(
        f"error: {bogus}: cannot open the ledger")
    (ws / "pricebook.yaml").write_text((ws / "pricebook.yaml").read_text().replace("currency: USD", "currency: XYZ"))
    p = usagebill("issue", ws, "--from", "2026-10-01", "--to", "2026-11-01")
    assert p.returncode == 1 and "XYZ" in p.stderr
    assert not (ws / "ledger.duckdb").exists() and not (ws / "out").exists()
    p = usagebill("invoices", ws, "--format", "csv")  # no ledger yet: an empty listing
    assert p.returncode == 0 and p.stdout.startswith("invoice_number,status,") and len(p.stdout.splitlines()) == 1
    assert not (ws / "ledger.duckdb").exists()


def test_batch_tables_in_sequence_order_whether_or_not_they_are_already():
    """A batch's tables already in `sequence` order are kept as they are; others are sorted, stably."""
    import pyarrow as pa

    from pipeline.ledger.issue import _by_sequence

    ordered = pa.table({"sequence": [1, 2, 2, 5], "x": ["a", "b", "c", "d"]})
    assert _by_sequence(ordered) is ordered
    mixed = pa.table({"sequence": [3, 1, 2, 1], "x": ["a", "b", "c", "d"]})
    assert _by_sequence(mixed).to_pydict() == {"sequence": [1, 1, 2, 3], "x": ["b", "d", "c", "a"]}
    holed = pa.table({"sequence": pa.array([2, None, 1], pa.int64()), "x": ["a", "b", "c"]})
    assert _by_sequence(holed).column("sequence").to_pylist() == [1, 2, None]
