"""The run's columnar invoices (pipeline/billing/assemble.py) against the same invoices built one by
one as objects (pipeline/billing/invoice.py): equal tables on generated workspaces with every
charge model, grouped metrics, minimums, commitments, discounts, proration stubs, plan versions,
contract terms and one-time charges; and the errors the columnar form keeps."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from builders import ev, workspace
from conftest import run_bill
from object_tables import assert_same_as_objects

from pipeline.billing.run import bill
from pipeline.billing.types import RunArgs
from pipeline.core.errors import InputDataError

GENERATE = Path(__file__).parent / "tools" / "generate.py"


def _generated(tmp_path: Path, *flags: str) -> Path:
    ws = tmp_path / "ws"
    subprocess.run([sys.executable, str(GENERATE), "--customers", "120", "--events", "20000", *flags, str(ws)],
                   check=True, capture_output=True)
    return ws


@pytest.mark.parametrize("flags", [(), ("--terms",), ("--incremental", "--terms", "--seed", "7")],
                         ids=["plain", "terms", "incremental"])
def test_columnar_invoices_equal_the_objects_on_a_generated_month(tmp_path, flags):
    ws = _generated(tmp_path, *flags)
    result = run_bill(ws)  # asserts the tables equal those from the invoice objects
    kinds = set(result.lines.column("line_type").to_pylist())
    assert {"flat", "usage", "minimum", "discount"} <= kinds, kinds
    if "--terms" in flags:
        assert "one_time" in kinds
    assert result.invoices.num_rows > 100


def test_a_grouped_metric_without_usage_has_no_line_but_its_minimum(tmp_path):
    ws = workspace(tmp_path, charges=[{"id": "compute", "metric": "hours", "model": "per_unit", "unit_price": "2",
                                       "min_amount": "5"}],
                   metrics=[{"id": "hours", "event_type": "compute", "aggregation": "sum", "field": "hours",
                             "group_by": ["region"]}], events=[])
    result = run_bill(ws)
    assert [(r["line_number"], r["line_type"], str(r["amount"])) for r in result.lines.to_pylist()] == \
        [(1, "minimum", "5.0000")]


def test_two_groups_are_numbered_by_group_key_then_the_minimum(tmp_path):
    ws = workspace(tmp_path, charges=[{"id": "compute", "metric": "hours", "model": "per_unit", "unit_price": "2",
                                       "min_amount": "50"}],
                   metrics=[{"id": "hours", "event_type": "compute", "aggregation": "sum", "field": "hours",
                             "group_by": ["region"]}],
                   events=[ev("e1", "2026-10-05T10:00", "compute", hours=3, region="us"),
                           ev("e2", "2026-10-06T10:00", "compute", hours=1.5, region="eu")])
    rows = run_bill(ws).lines.to_pylist()
    assert [(r["line_number"], r["line_type"], r["group_key"], str(r["amount"])) for r in rows] == [
        (1, "usage", "region=eu", "3.0000"), (2, "usage", "region=us", "6.0000"), (3, "minimum", "", "41.0000")]
    assert rows[0]["description"] == "compute: 1.5 hours (region=eu)"  # trailing zeros dropped


def test_an_amount_too_large_names_its_invoice_contract_and_charge(tmp_path):
    ws = workspace(tmp_path, charges=[{"id": "hours", "metric": "hours", "model": "per_unit", "unit_price": "9e24"}],
                   metrics=[{"id": "hours", "event_type": "compute", "aggregation": "sum", "field": "hours"}],
                   events=[ev("e1", "2026-10-05T10:00", "compute", hours=9e27, region="eu")])
    with pytest.raises(InputDataError) as err:
        bill(ws, RunArgs(dt.date(2026, 10, 1), dt.date(2026, 11, 1)))
    text = str(err.value)
    assert "contract_id k1" in text and "charge_id hours" in text and "invoice_id in_" in text
    assert "does not fit the outputs' DECIMAL(38, 4)" in text


def test_objects_are_built_only_when_asked(tmp_path):
    ws = _generated(tmp_path)
    args = RunArgs(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    plain, asked = bill(ws, args), bill(ws, args, objects=True)
    assert plain.invoice_objects == [] and len(asked.invoice_objects) == asked.invoices.num_rows
    assert plain.lines.equals(asked.lines) and plain.invoices.equals(asked.invoices)
    assert_same_as_objects(asked, ws)
