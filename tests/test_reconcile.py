"""reconcile: a re-rating compared with what was issued; --adjust bills each difference exactly once."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from builders import ev
from ledger_support import add_late_events, copy_example, day, ledger_problems, rows, usagebill, window

from pipeline.ledger.issue import issue
from pipeline.ledger.reconcile import reconcile

OCTOBER = ("2026-10-01", "2026-11-01")
COLUMNS = ("invoice_number,difference,contract_id,customer_id,currency,period_start,period_end,line_type,charge_id,"
           "metric_id,group_key,description,issued_quantity,recomputed_quantity,delta_quantity,issued_amount,"
           "recomputed_amount,delta_amount")
# Issued for October: HC-1 initech-1 (ends 10-25), HC-2 acme-1, HC-3 globex-1, HC-4 umbrella-1.
LATE_COMPUTE = ev("late-1", "2026-10-15T12:00", "compute", "acme", hours=10.0, region="us-east")  # +1.20 USD
LATE_CALL = ev("late-2", "2026-10-15T12:00", "api_call", "acme")  # +1 call at 0.001: the amount stays 6.55


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ws = copy_example(tmp_path / "ws")
    issue(ws, window(*OCTOBER))
    return ws


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def check(ws: Path, **kw):
    return reconcile(ws, window(*OCTOBER, **kw), issue_date=day("2026-11-21"))


def adjust(ws: Path, **kw):
    return reconcile(ws, window(*OCTOBER, **kw), do_adjust=True, issue_date=day("2026-11-21"))


def test_nothing_differs_right_after_issue(ws):
    done = check(ws)
    assert done.compared == 4 and not done.differs and done.table.num_rows == 0
    assert (done.outcome.out / "reconciliation.csv").read_text().strip() == COLUMNS


def test_cli_late_event_is_named_adjusted_once_and_then_reconciled(ws):
    add_late_events(ws, "late-1", [LATE_COMPUTE, LATE_CALL])
    p = usagebill("reconcile", ws, "--from", OCTOBER[0], "--to", OCTOBER[1])
    assert p.returncode == 3, p.stderr
    assert "1 differ (1 changed, 0 not issued, 0 no longer billable), 2 lines" in p.stdout
    assert "HC-2 acme-1 2026-10-01 changed: usage compute [region=us-east]: quantity 464.93 -> 474.93, " \
           "amount 55.79 -> 56.99 (+1.20 USD)" in p.stdout
    report = p.stdout.strip().splitlines()[-1].removeprefix("reconciliation: ")
    with open(report, newline="") as fh:
        found = list(csv.DictReader(fh))
    assert ",".join(found[0]) == COLUMNS
    assert [(r["invoice_number"], r["line_type"], r["charge_id"], r["group_key"], r["issued_quantity"],
             r["recomputed_quantity"], r["delta_amount"]) for r in found] == [
        ("HC-2", "usage", "api", "", "2545.000000000", "2546.000000000", "0.00"),
        ("HC-2", "usage", "compute", "region=us-east", "464.930000000", "474.930000000", "1.20")]

    p = usagebill("reconcile", ws, "--from", OCTOBER[0], "--to", OCTOBER[1], "--adjust", "--issue-date", "2026-11-21")
    assert p.returncode == 0, p.stderr
    assert "adjusted: issued 1 invoice (HC-5), 0 credit notes; ledger run 2" in p.stdout
    (adj,) = rows(ws / "ledger.duckdb", "SELECT * FROM invoices WHERE kind = 'adjustment'")
    assert (adj["invoice_number"], adj["original_invoice_number"], adj["status"]) == ("HC-5", "HC-2", "issued")
    assert (adj["subtotal"], adj["total"], adj["issue_date"].isoformat()) == (Decimal("1.20"), Decimal("1.20"),
                                                                              "2026-11-21")
    assert adj["due_date"].isoformat() == "2026-12-21"  # issued 11-21, acme's terms: 30 days
    p = usagebill("reconcile", ws, "--from", OCTOBER[0], "--to", OCTOBER[1])
    assert p.returncode == 0 and "0 differ" in p.stdout
    p = usagebill("reconcile", ws, "--from", OCTOBER[0], "--to", OCTOBER[1], "--adjust")
    assert p.returncode == 0 and "adjusted" not in p.stdout  # billed once and only once
    assert rows(ws / "ledger.duckdb", "SELECT count(*) AS n FROM invoices") == [{"n": 5}]


def test_each_late_batch_is_billed_by_its_own_adjustment(ws):
    add_late_events(ws, "late-1", [LATE_COMPUTE])
    first = adjust(ws)
    add_late_events(ws, "late-2", [ev("late-3", "2026-10-20T12:00", "compute", "acme", hours=5.0, region="eu-west")])
    second = adjust(ws)
    assert [t.docs["invoices"].column("total").to_pylist() for t in (first.outcome, second.outcome)] == \
        [[Decimal("1.20")], [Decimal("0.60")]]
    assert not check(ws).differs
    net = rows(ws / "ledger.duckdb", "SELECT sum(total) AS t FROM invoices WHERE contract_id = 'acme-1'")
    assert net == [{"t": Decimal("162.99") + Decimal("1.80")}]


def test_reissue_after_an_adjustment_credits_the_whole_net_of_the_period(ws):
    add_late_events(ws, "late-1", [LATE_COMPUTE])
    adjust(ws)  # HC-5 adjusts HC-2 by 1.20
    again = issue(ws, window(*OCTOBER, contracts=("acme-1",)), reissue=True, issue_date=day("2026-11-22"))
    (note,) = again.docs["credit_notes"].to_pylist()
    (new,) = again.docs["invoices"].to_pylist()
    assert (note["invoice_number"], note["total"]) == ("HC-2", Decimal("164.19"))  # 162.99 + 1.20
    assert (new["invoice_number"], new["original_invoice_number"], new["total"]) == ("HC-6", "HC-2",
                                                                                     Decimal("164.19"))
    credited = rows(ws / "ledger.duckdb", "SELECT invoice_number FROM invoices WHERE status = 'credited' ORDER BY 1")
    assert [r["invoice_number"] for r in credited] == ["HC-2", "HC-5"]
    assert not check(ws).differs
    assert ledger_problems(ws / "ledger.duckdb") == []


def test_a_quantity_only_change_is_recorded_by_a_zero_adjustment(ws):
    add_late_events(ws, "late-1", [LATE_CALL])
    done = adjust(ws)
    (inv,) = done.outcome.docs["invoices"].to_pylist()
    (line,) = done.outcome.docs["invoice_lines"].to_pylist()
    assert inv["total"] == 0 and inv["kind"] == "adjustment"
    assert (line["quantity"], line["amount"], line["description"]) == (1, 0, "Correction of HC-2: api: 2546 api_calls")
    assert not check(ws).differs


def test_a_lower_amount_is_credited_by_an_adjustment_credit_note(ws):
    edit(ws / "pricebook.yaml", "unit_price: 0.12", "unit_price: 0.10")
    done = check(ws, contracts=("acme-1",))
    assert done.compared == 1 and [r["delta_amount"] for r in done.table.to_pylist()] == [Decimal("-8.61"),
                                                                                         Decimal("-9.30")]
    adjusted = adjust(ws, contracts=("acme-1",)).outcome
    assert "invoices" not in adjusted.docs or adjusted.docs["invoices"].num_rows == 0
    (note,) = adjusted.docs["credit_notes"].to_pylist()
    assert (note["credit_note_number"], note["invoice_number"], note["reason"], note["total"]) == \
        ("HC-CN-1", "HC-2", "adjustment", Decimal("17.91"))
    assert [line["amount"] for line in adjusted.docs["credit_note_lines"].to_pylist()] == [Decimal("8.61"),
                                                                                          Decimal("9.30")]
    assert rows(ws / "ledger.duckdb", "SELECT status FROM invoices WHERE invoice_number = 'HC-2'") == \
        [{"status": "issued"}]
    assert not check(ws, contracts=("acme-1",)).differs
    assert ledger_problems(ws / "ledger.duckdb") == []


def test_a_new_tax_rate_credits_the_invoice_in_full_and_reissues_it(ws):
    edit(ws / "tax_rates.csv", "GB,20,", "GB,25,")
    done = check(ws)
    assert [(r["invoice_number"], r["line_type"], r["issued_amount"], r["recomputed_amount"])
            for r in done.table.to_pylist()] == [("HC-4", "tax", Decimal("30.00"), Decimal("37.50"))]
    adjusted = adjust(ws).outcome
    (note,) = adjusted.docs["credit_notes"].to_pylist()
    (new,) = adjusted.docs["invoices"].to_pylist()
    assert (note["invoice_number"], note["reason"], note["total"]) == ("HC-4", "reissue", Decimal("180.00"))
    assert (new["invoice_number"], new["original_invoice_number"], new["total"]) == ("HC-5", "HC-4", Decimal("187.50"))
    # the replacement of HC-4 (issued 11-01, due 12-01) is dated when reissued, due 30 days later
    assert (new["issue_date"].isoformat(), new["due_date"].isoformat()) == ("2026-11-21", "2026-12-21")
    assert rows(ws / "ledger.duckdb", "SELECT status FROM invoices WHERE invoice_number = 'HC-4'") == \
        [{"status": "credited"}]
    assert not check(ws).differs
    assert ledger_problems(ws / "ledger.duckdb") == []


def test_missing_invoices_are_issued_and_vanished_periods_cancelled(tmp_path):
    ws = copy_example(tmp_path / "ws")
    issue(ws, window(*OCTOBER, contracts=("acme-1",)))  # HC-1
    edit(ws / "contracts.csv", "acme-1,acme,growth_usd,2026-09-01,,,,",
         "acme-1,acme,growth_usd,2026-09-01,,2026-10-01,,")
    done = check(ws)
    assert done.differs
    assert [(d.key[0], d.difference) for d in done.differences] == [
        ("initech-1", "not_issued"), ("acme-1", "not_billable"), ("globex-1", "not_issued"),
        ("umbrella-1", "not_issued")]
    not_issued = [r for r in done.table.to_pylist() if r["difference"] == "not_issued"]
    assert {r["invoice_number"] for r in not_issued} == {None}
    adjusted = adjust(ws).outcome
    assert adjusted.docs["invoices"].column("invoice_number").to_pylist() == ["HC-2", "HC-3", "HC-4"]
    assert adjusted.docs["invoices"].column("contract_id").to_pylist() == ["initech-1", "globex-1", "umbrella-1"]
    (note,) = adjusted.docs["credit_notes"].to_pylist()
    assert (note["invoice_number"], note["reason"], note["total"]) == ("HC-1", "cancellation", Decimal("162.99"))
    assert not check(ws).differs
    assert ledger_problems(ws / "ledger.duckdb") == []


def test_without_a_ledger_everything_is_not_issued_and_no_ledger_is_created(tmp_path):
    ws = copy_example(tmp_path / "ws")
    done = check(ws)
    assert [d.difference for d in done.differences] == ["not_issued"] * 4
    assert not (ws / "ledger.duckdb").exists()
