"""Every kind of invoice line, worked out by hand on a small month: descriptions (a metric's unit, or its id;
a charge's name, or its id; the proration of a flat fee), quantities, amounts and exact amounts, the events
of a usage line, and the minimum, commitment and discount lines. Checked on the run's columnar tables
(pipeline/billing/assemble.py) and on the invoice objects that explain and preview read
(pipeline/billing/invoice.py); `run_bill` also checks that the two agree."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from builders import ev, workspace
from conftest import run_bill

D = Decimal
METRICS = [{"id": "calls", "event_type": "call", "aggregation": "count", "unit": "requests"},
           {"id": "idle", "event_type": "idle", "aggregation": "count"}]  # no unit: its id is printed
BASE = {"id": "base", "model": "flat", "amount": 31}
CALLS = {"id": "calls", "name": "API", "metric": "calls", "model": "per_unit", "unit_price": 0.5}
IDLE = {"id": "idle", "metric": "idle", "model": "per_unit", "unit_price": 1, "min_amount": 10}


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    """k1 (c1, plan p): the whole of October, 10 % discount; k2 (c2, plan q): from October 11th with periods
    anchored on the 1st, so its October is 21 of 31 days, and a minimum commitment of 62."""
    ws = workspace(
        tmp_path_factory.mktemp("lines") / "ws", metrics=METRICS, charges=[],
        plans=[{"id": "p", "currency": "USD", "charges": [BASE, CALLS, IDLE]},
               {"id": "q", "currency": "USD", "charges": [BASE, CALLS]}],
        customers=[{"customer_id": "c1", "name": "One", "country": "US"},
                   {"customer_id": "c2", "name": "Two", "country": "US"}],
        contracts=[{"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-10-01",
                    "billing_anchor_day": "", "discount_percent": "10", "minimum_commitment": ""},
                   {"contract_id": "k2", "customer_id": "c2", "plan_id": "q", "start_date": "2026-10-11",
                    "billing_anchor_day": "1", "discount_percent": "", "minimum_commitment": "62"}],
        events=[ev("e1", "2026-10-02T10:00"), ev("e2", "2026-10-09T10:00"), ev("e3", "2026-10-30T10:00"),
                ev("e4", "2026-10-12T10:00", customer_id="c2"), ev("e5", "2026-10-20T10:00", customer_id="c2")])
    return run_bill(ws)


def table_lines(result, contract: str) -> list[tuple]:
    (inv,) = [r for r in result.invoices.to_pylist() if r["contract_id"] == contract]
    return [(r["line_number"], r["line_type"], r["charge_id"], r["description"], r["quantity"], r["amount"])
            for r in result.lines.to_pylist() if r["invoice_id"] == inv["invoice_id"]]


def objects(result, contract: str):
    (inv,) = [i for i in result.invoice_objects if i.billed.contract.contract_id == contract]
    return inv


def test_a_whole_month_with_a_minimum_and_a_discount(month):
    # 3 calls x 0.50 = 1.50; idle unused: 0, topped up to its min_amount 10; subtotal 31 + 1.50 + 10 = 42.50,
    # discount 10 % of it = 4.25
    assert table_lines(month, "k1") == [
        (1, "flat", "base", "base", D(1), D("31.00")),
        (2, "usage", "calls", "API: 3 requests", D(3), D("1.50")),
        (3, "usage", "idle", "idle: 0 idle", D(0), D("0.00")),
        (4, "minimum", "idle", "idle: minimum", D(1), D("10.00")),
        (5, "discount", None, "Discount 10%", D(1), D("-4.25"))]
    (inv,) = [r for r in month.invoices.to_pylist() if r["contract_id"] == "k1"]
    assert (inv["subtotal"], inv["discount_total"], inv["total"]) == (D("42.50"), D("4.25"), D("38.25"))


def test_the_objects_of_a_whole_month(month):
    inv = objects(month, "k1")
    assert [(x.line_number, x.line_type, x.description, x.quantity, x.amount, x.exact_amount, x.events)
            for x in inv.lines] == [
        (1, "flat", "base", D(1), D("31.00"), D(31), 0),
        (2, "usage", "API: 3 requests", D(3), D("1.50"), D("1.5"), 3),
        (3, "usage", "idle: 0 idle", D(0), D("0.00"), D(0), 0),
        (4, "minimum", "idle: minimum", D(1), D("10.00"), D(10), 0),
        (5, "discount", "Discount 10%", D(1), D("-4.25"), D("-4.25"), 0)]
    assert (inv.subtotal, inv.discount_total, inv.tax_total, inv.total) == (D("42.50"), D("4.25"), D("0.00"),
                                                                           D("38.25"))
    assert inv.issue_date == dt.date(2026, 11, 1) and inv.due_date(30) == dt.date(2026, 12, 1)


def test_a_prorated_month_with_a_commitment(month):
    # 21/31 of the 31.00 fee = 21.00; 2 calls = 1.00; the commitment, 62 x 21/31 = 42.00, tops 22.00 up by 20.00
    assert table_lines(month, "k2") == [
        (1, "flat", "base", "base (prorated 21/31)", D("0.677419355"), D("21.00")),
        (2, "usage", "calls", "API: 2 requests", D(2), D("1.00")),
        (3, "commitment", None, "Minimum commitment", D(1), D("20.00"))]
    inv = objects(month, "k2")
    assert [(x.line_number, x.description, x.quantity, x.exact_amount, x.events) for x in inv.lines] == [
        (1, "base (prorated 21/31)", D("0.677419355"), D(21), 0),
        (2, "API: 2 requests", D(2), D("1.0"), 2),
        (3, "Minimum commitment", D(1), D(20), 0)]
    assert (inv.subtotal, inv.discount_total, inv.total) == (D("42.00"), D(0), D("42.00"))


def test_the_runs_invoice_ids_follow_the_invoice_id_rule():
    """assemble_periods.sql computes every period's invoice_id at once; it is invoice.invoice_id's
    rule, for any contract id (non-ASCII, a comma, the separator itself) and any date."""
    import hashlib

    import duckdb
    import pyarrow as pa

    from pipeline.billing.invoice import invoice_id
    from pipeline.core.db import fetch_table, sql

    ids = ["k1", "ünï,cöde", "a\x1fb", "", "K1"]
    days = [dt.date(2026, 10, 1), dt.date(1, 1, 1), dt.date(999, 12, 31), dt.date(9999, 12, 31), dt.date(2026, 10, 1)]
    con = duckdb.connect()
    con.register("periods_base", pa.table({"period_idx": pa.array(range(5), pa.int32()), "contract_id": ids,
                                           "plan_id": ["p"] * 5, "period_start": pa.array(days, pa.date32())}))
    con.register("plan_t", pa.table({"plan_id": ["p"], "currency": ["USD"], "digits": pa.array([2], pa.int32())}))
    got = fetch_table(con, sql("assemble_periods"))
    assert got.column_names[:2] == ["period_idx", "invoice_id"]
    assert got["invoice_id"].to_pylist() == [invoice_id(k, d) for k, d in zip(ids, days)]
    assert invoice_id("k1", dt.date(2026, 10, 1)) == "in_" + hashlib.sha256(b"k1\x1f2026-10-01").hexdigest()[:24]
