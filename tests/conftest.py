from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from object_tables import assert_same_as_objects

from pipeline.billing.run import bill
from pipeline.billing.types import Bill, RunArgs

SCENARIOS = Path(__file__).parent / "scenarios"


def run_bill(ws: Path, first: str = "2026-10-01", stop: str = "2026-11-01", *, threads: int | None = None,
             **kw) -> Bill:
    """A run in memory, with its invoices also built as objects; every test that bills through here
    also checks that the run's columnar tables equal the objects' (tests/object_tables.py)."""
    result = bill(ws, RunArgs(dt.date.fromisoformat(first), dt.date.fromisoformat(stop), **kw), threads=threads,
                  objects=True)
    assert_same_as_objects(result, ws)
    return result


def lines_by(result: Bill) -> dict[tuple[str, str, str], dict]:
    """(line_type, charge_id, group_key) -> line, for a single-invoice bill."""
    return {(r["line_type"], r["charge_id"] or "", r["group_key"]): r for r in result.lines.to_pylist()}


@pytest.fixture
def scenarios() -> Path:
    return SCENARIOS
