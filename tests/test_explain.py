"""explain: for every line of every invoice of the scenarios, the explanation's figures add up to the line.

Each scenario is rated once; every invoice of it is explained from that rating (explain_invoice, the
same code `usagebill explain` runs after re-rating one contract and period). The checks: the pricing
terms make the exact amount (tiers + flat fees, packages, free units, minimum and commitment
top-ups, discount), the exact amount rounds to the line's amount, quantity and events counted are
the line's, and the events query finds exactly the events the run counted. Then the command itself:
issued numbers and invoice_ids, a late event flagged against the ledger, errors, JSON.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from builders import ev, write_events
from conftest import SCENARIOS, run_bill
from independent import half_away

from pipeline.analysis.explain import explain, explain_invoice
from pipeline.analysis.explain_text import to_json, to_text
from pipeline.billing.ingest import discover
from pipeline.config.workspace import load_workspace
from pipeline.core.errors import BillingError
from pipeline.core.money import to_decimal

USAGEBILL = str(Path(sys.executable).with_name("usagebill"))
CASES = sorted(p.name for p in SCENARIOS.iterdir() if (p / "expected.json").exists())


def check_line(x: dict, line, inv) -> None:
    p, digits = x["pricing"], inv.digits
    assert x["quantity"] == line.quantity and x["amount"] == line.amount and x["exact_amount"] == line.exact_amount
    assert half_away(x["exact_amount"], digits) == x["amount"] == x["rounding"]["amount"]
    assert p["exact"] == line.exact_amount, (x["line_number"], p)
    model = p["model"]
    if model == "graduated":
        assert sum((t["units"] * t["unit_price"] + t["flat_fee"] for t in p["tiers"]), Decimal(0)) == p["exact"]
        assert sum(t["amount"] for t in p["tiers"]) == p["exact"]
        reached = [t for t in p["tiers"] if t["units"] > 0]
        assert sum((t["units"] for t in reached), Decimal(0)) == max(line.quantity, Decimal(0))
    elif model == "per_unit":
        assert p["billable_units"] == max(p["quantity"] - p["free_units"], 0)
        assert p["billable_units"] * p["unit_price"] == p["exact"]
    elif model == "volume":
        assert p["quantity"] * p["unit_price"] + p["flat_fee"] == p["exact"]
        assert p["unit_price"] == line.unit_price
    elif model == "package":
        assert p["packages"] * p["package_price"] == p["exact"]
        assert (p["packages"] - 1) * p["package_size"] < p["billable_units"] <= p["packages"] * p["package_size"] \
            or p["packages"] == p["billable_units"] == 0
    elif model == "flat":
        factor = Fraction(p["proration_factor"])
        assert factor == inv.billed.period.factor
        prorated = p["prorate"] and factor != 1
        assert p["exact"] == (to_decimal(factor * Fraction(p["amount"])) if prorated else p["amount"])
    elif model == "percentage":
        events = p["events"]
        assert len(events) == min(5, line.events)
        if line.events <= 5:  # every event shown: their costs are the line
            assert sum((e["cost"] for e in events), Decimal(0)) == p["exact"]
        for e in events:
            assert e["chargeable"] <= e["amount"]
            if p["per_event_max"] is not None:
                assert e["cost"] <= p["per_event_max"]
    elif model == "minimum":
        assert p["floor"] - p["charge_lines_total"] == p["exact"] > 0
        assert p["floor"] == half_away(Fraction(p["min_amount"]) * inv.billed.period.factor, digits)
    elif model == "commitment":
        assert p["floor"] - p["charges_subtotal"] == p["exact"] > 0
    elif model == "discount":
        assert p["exact"] == -half_away(p["exact_discount"], digits) == -inv.discount_total
    elif model == "one_time":
        assert p["quantity"] * p["unit_price"] == p["exact"] and x["terms_source"] == "one_time_charges"
    else:
        raise AssertionError(f"unexplained model {model}")
    if x["line_type"] == "usage":
        assert x["events_counted"] == line.events
        assert x["events_matched"] == line.events, (x["metric"], x["group_key"])  # the query finds what was counted
        assert len(x["events_sample"]) == min(5, line.events)
        stamps = [e["timestamp"] for e in x["events_sample"]]
        assert stamps == sorted(stamps)
        start, end = inv.billed.start_at.isoformat(), inv.billed.end_at.isoformat()
        assert all(start <= s < end for s in stamps)


@pytest.mark.parametrize("case", CASES)
def test_every_line_of_every_invoice_adds_up(case):
    expected = json.loads((SCENARIOS / case / "expected.json").read_text())
    ws_path = SCENARIOS / case / "ws"
    result = run_bill(ws_path, expected["from"], expected["to"])
    ws, events = load_workspace(ws_path), discover(ws_path / "events")
    lines_checked = 0
    for inv in result.invoice_objects:
        doc = explain_invoice(ws, events, inv)
        assert [x["line_number"] for x in doc["lines"]] == [x.line_number for x in inv.lines]
        for x, line in zip(doc["lines"], inv.lines):
            check_line(x, line, inv)
            lines_checked += 1
        charge_lines = [x["amount"] for x in doc["lines"] if x["line_type"] != "discount"]
        assert sum(charge_lines, Decimal(0)) == doc["totals"]["subtotal"] == inv.subtotal
        t = doc["tax"]
        assert t["base"] == inv.subtotal - inv.discount_total
        assert half_away(t["exact"], inv.digits) == t["tax_total"] == inv.tax_total
        assert doc["totals"]["total"] == inv.subtotal - inv.discount_total + inv.tax_total
        json.loads(to_json(doc))
        assert f"Total      {inv.total:.{inv.digits}f} {inv.currency}" in to_text(doc)
    assert lines_checked == result.lines.num_rows


@pytest.fixture
def issued_ws(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(SCENARIOS / "example" / "ws", ws)
    p = subprocess.run([USAGEBILL, "issue", str(ws), "--from", "2026-10-01", "--to", "2026-11-01",
                        "--issue-date", "2026-11-02"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return ws


def test_explain_an_issued_number_and_a_late_event(issued_ws):
    listing = json.loads(subprocess.run([USAGEBILL, "invoices", str(issued_ws), "--format", "json"],
                                        capture_output=True, text=True, check=True).stdout)
    first = listing[0]
    p = subprocess.run([USAGEBILL, "explain", str(issued_ws), "--invoice", first["invoice_number"], "--format", "json"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["invoice"]["invoice_number"] == first["invoice_number"] and doc["invoice"]["status"] == "issued"
    assert doc["invoice"]["total"] == first["total"] and doc["issued_differences"] == []
    # the same invoice by its invoice_id, one line, as text
    text = subprocess.run([USAGEBILL, "explain", str(issued_ws), "--invoice", doc["invoice"]["invoice_id"],
                           "--line", "1"], capture_output=True, text=True, check=True).stdout
    assert f"matches the issued invoice {first['invoice_number']}" in text and "Line 1:" in text
    assert "Line 2:" not in text
    # a late event of a metered type in that period: the re-rating differs from what was issued
    usage_line = next(x for x in doc["lines"] if x["line_type"] == "usage" and x["events_sample"])
    metric = usage_line["metric"]
    late = ev("late-1", usage_line["events_sample"][0]["timestamp"][:19], metric["event_type"],
              doc["invoice"]["customer_id"], **{k: v for k, v in usage_line["events_sample"][0].items()
                                                if k not in ("event_id", "timestamp", "source_file", "source_row")})
    for k, v in list(late.items()):
        if isinstance(v, str) and k not in ("event_id", "customer_id", "event_type") and v.replace(".", "").isdigit():
            late[k] = float(v)
    write_events(issued_ws / "events" / "late" / "late.parquet", [late])
    text = subprocess.run([USAGEBILL, "explain", str(issued_ws), "--invoice", first["invoice_number"]],
                          capture_output=True, text=True, check=True).stdout
    assert "DIFFERS from the issued invoice" in text and "usagebill reconcile" in text


def test_draft_invoice_id_is_found_without_a_ledger():
    result = run_bill(SCENARIOS / "example" / "ws")
    inv = result.invoice_objects[-1]
    doc = explain(SCENARIOS / "example" / "ws", inv.invoice_id, 2, today=dt.date(2026, 11, 5))
    assert doc["invoice"]["status"] == "draft" and doc["invoice"]["invoice_number"] is None
    assert [x["line_number"] for x in doc["lines"]] == [2]
    assert doc["lines"][0]["amount"] == inv.lines[1].amount


def test_unknown_keys_and_lines_are_clear_errors():
    ws = SCENARIOS / "example" / "ws"
    with pytest.raises(BillingError, match="no contract period of this workspace"):
        explain(ws, "in_000000000000000000000000", today=dt.date(2026, 11, 5))
    with pytest.raises(BillingError, match="not in the ledger"):
        explain(ws, "INV-7", today=dt.date(2026, 11, 5))
    inv = run_bill(ws).invoice_objects[0]
    with pytest.raises(BillingError, match=f"--line 99: invoice {inv.invoice_id} has lines 1 to {len(inv.lines)}"):
        explain(ws, inv.invoice_id, 99, today=dt.date(2026, 11, 5))
    p = subprocess.run([USAGEBILL, "explain", str(ws), "--invoice", "INV-7"], capture_output=True, text=True)
    assert p.returncode == 1 and "error: invoice INV-7: not in the ledger" in p.stderr
