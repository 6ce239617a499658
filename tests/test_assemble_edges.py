"""Edges of the run's columnar invoices (pipeline/billing/assemble.py), worked out by hand: which groups of a
grouped weighted_sum metric have a line, quantities near the top of DECIMAL(38, 9), prices with many integer
digits, and the error that names the one amount too large for the outputs."""
from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from builders import ev, workspace, write_csv
from conftest import run_bill

from pipeline.billing.run import bill
from pipeline.billing.types import RunArgs
from pipeline.core.errors import InputDataError

OCTOBER = RunArgs(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
CALLS = {"id": "calls", "event_type": "call", "aggregation": "count"}
HOURS = {"id": "hours", "event_type": "compute", "aggregation": "sum", "field": "hours"}


def usage_lines(result) -> list[tuple]:
    return [(r["line_number"], r["line_type"], r["charge_id"], r["group_key"], r["quantity"], r["amount"])
            for r in result.lines.to_pylist()]


def test_a_grouped_weighted_sum_has_a_line_per_group_with_events_or_an_opening_level(tmp_path):
    # contract from September 1st; October billed. bucket a: +10 on Sep 20, nothing in October: its opening
    # level all month, 10. bucket b: +31 on Oct 16 (00:00 UTC), 16 of 31 days: 31 x 16/31 = 16. bucket c: +5 and
    # -5 in September: level 0 and no October events, so no line.
    disk = {"id": "disk", "event_type": "disk", "aggregation": "weighted_sum", "field": "gb", "group_by": ["bucket"]}
    ws = workspace(tmp_path / "ws", metrics=[disk],
                   charges=[{"id": "disk", "metric": "disk", "model": "per_unit", "unit_price": 1}],
                   contracts=[{"contract_id": "k1", "customer_id": "c1", "plan_id": "p",
                               "start_date": "2026-09-01"}],
                   events=[ev("a1", "2026-09-20T00:00", "disk", gb=10, bucket="a"),
                           ev("b1", "2026-10-16T00:00", "disk", gb=31, bucket="b"),
                           ev("c1", "2026-09-10T00:00", "disk", gb=5, bucket="c"),
                           ev("c2", "2026-09-25T00:00", "disk", gb=-5, bucket="c")])
    result = run_bill(ws)
    assert usage_lines(result) == [(1, "usage", "disk", "bucket=a", Decimal(10), Decimal("10.00")),
                                   (2, "usage", "disk", "bucket=b", Decimal(16), Decimal("16.00"))]
    assert [(r["group_key"], r["events"]) for r in result.usage.to_pylist()] == [("bucket=a", 0), ("bucket=b", 1)]


def test_a_quantity_near_the_top_of_decimal_38_9_is_billed(tmp_path):
    # 5e28 hours fit DECIMAL(38, 9) (below 10^29); at 0 per hour the amount is 0
    ws = workspace(tmp_path / "ws", metrics=[HOURS],
                   charges=[{"id": "hours", "metric": "hours", "model": "per_unit", "unit_price": 0}],
                   events=[ev("e1", "2026-10-05T10:00", "compute", hours=5e28)])
    result = run_bill(ws)
    ((_, kind, _, _, quantity, amount),) = usage_lines(result)
    assert kind == "usage" and amount == 0
    assert Decimal("4.99999e28") < quantity < Decimal("5.00001e28")  # the float 5e28, as a decimal


def test_prices_with_sixteen_integer_digits_are_billed(tmp_path):
    # 10^15 per call, one call; a flat fee of 10^15: each line 10^15, the invoice 2 x 10^15
    ws = workspace(tmp_path / "ws", metrics=[CALLS],
                   charges=[{"id": "fee", "model": "flat", "amount": "1000000000000000"},
                            {"id": "calls", "metric": "calls", "model": "per_unit", "unit_price": "1000000000000000"}],
                   events=[ev("e1", "2026-10-05T10:00")])
    result = run_bill(ws)
    assert [(r["line_type"], r["unit_price"], r["amount"]) for r in result.lines.to_pylist()] == [
        ("flat", Decimal(10) ** 15, Decimal(10) ** 15), ("usage", Decimal(10) ** 15, Decimal(10) ** 15)]
    assert result.invoices.column("total").to_pylist() == [2 * Decimal(10) ** 15]


def test_a_unit_price_of_ten_to_the_sixteen_is_billed(tmp_path):
    """Was a known bug: quantizing under the default 28-digit context stopped the run (InvalidOperation)."""
    ws = workspace(tmp_path / "ws", metrics=[CALLS],
                   charges=[{"id": "calls", "metric": "calls", "model": "per_unit", "unit_price": "1e16"}],
                   events=[ev("e1", "2026-10-05T10:00")])
    result = bill(ws, OCTOBER)
    assert result.lines.column("amount").to_pylist() == [Decimal(10) ** 16]


def test_the_amount_too_large_is_named_not_the_first_amount(tmp_path):
    # api: one call at 1 (fits); hours: 1e28 hours at 5,000,000 = about 5 x 10^34, just above what
    # DECIMAL(38, 4) holds (below 10^34)
    ws = workspace(tmp_path / "ws", metrics=[CALLS, HOURS],
                   charges=[{"id": "api", "metric": "calls", "model": "per_unit", "unit_price": 1},
                            {"id": "hours", "metric": "hours", "model": "per_unit", "unit_price": 5000000}],
                   events=[ev("e1", "2026-10-05T10:00"), ev("e2", "2026-10-05T11:00", "compute", hours=1e28)])
    with pytest.raises(InputDataError) as err:
        bill(ws, OCTOBER)
    text = str(err.value)
    assert "contract_id k1, charge_id hours: amount 4999999" in text
    assert "does not fit the outputs' DECIMAL(38, 4) (below 10^34)" in text
    assert "charge_id api" not in text


def test_an_amount_of_exactly_ten_to_the_34_is_too_large(tmp_path):
    # 10^9 hours (exact as a float) at 10^25 = 10^34 (USD: two places): one more than DECIMAL(38, 4) holds
    ws = workspace(tmp_path / "ws", metrics=[HOURS],
                   charges=[{"id": "hours", "metric": "hours", "model": "per_unit", "unit_price": "1e25"}],
                   events=[ev("e1", "2026-10-05T11:00", "compute", hours=1e9)])
    with pytest.raises(InputDataError) as err:
        bill(ws, OCTOBER)
    assert f"charge_id hours: amount {Decimal(10) ** 34:.2f} does not fit the outputs' DECIMAL(38, 4) " \
           "(below 10^34)" in str(err.value)



def test_a_one_time_amount_too_large_names_its_invoice_contract_and_charge(tmp_path):
    # k2's setup: 10^20 units at 10^15 = 10^35, above what DECIMAL(38, 4) holds; k1 (the first period) has none
    ws = workspace(tmp_path / "ws", metrics=[CALLS], charges=[{"id": "fee", "model": "flat", "amount": 1}], events=[],
                   customers=[{"customer_id": "c1", "name": "One", "country": "US"},
                              {"customer_id": "c2", "name": "Two", "country": "US"}],
                   contracts=[{"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-10-01"},
                              {"contract_id": "k2", "customer_id": "c2", "plan_id": "p", "start_date": "2026-10-01"}])
    write_csv(ws / "one_time_charges.csv", [{"charge_id": "setup", "contract_id": "k2", "date": "2026-10-12",
                                             "description": "Setup", "quantity": "100000000000000000000",
                                             "unit_price": "1000000000000000"}])
    with pytest.raises(InputDataError) as err:
        bill(ws, OCTOBER)
    k2 = "in_" + hashlib.sha256(b"k2\x1f2026-10-01").hexdigest()[:24]  # the documented invoice id
    assert str(err.value).startswith(f"invoice_id {k2}, contract_id k2, charge_id setup: amount 1{'0' * 35}.00 "
                                     "does not fit the outputs' DECIMAL(38, 4) (below 10^34)")


def test_amounts_that_each_fit_but_not_their_sum_are_one_clean_error(tmp_path):
    # 10^19 hours at 6 x 10^14 under two charges: 6 x 10^33 each (fits), 1.2 x 10^34 together (does not)
    ws = workspace(tmp_path / "ws", metrics=[HOURS],
                   charges=[{"id": "a", "metric": "hours", "model": "per_unit", "unit_price": "600000000000000"},
                            {"id": "b", "metric": "hours", "model": "per_unit", "unit_price": "600000000000000"}],
                   events=[ev("e1", "2026-10-05T11:00", "compute", hours=1e19)])
    with pytest.raises(InputDataError) as err:
        bill(ws, OCTOBER)
    text = str(err.value)
    assert text.startswith("the invoices' amounts overflow DECIMAL(38, 4) (Out of Range Error: ")  # DuckDB's words
    assert text.endswith("); check the events' values and the prices that produce them") and "\n" not in text

