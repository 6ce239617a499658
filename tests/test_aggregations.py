"""Hand-computed aggregations and event classification on one small workspace (October 2026, UTC)."""
from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest
from builders import ev, workspace
from conftest import lines_by, run_bill

D = Decimal
METRICS = [
    {"id": "calls", "event_type": "call", "aggregation": "count"},
    {"id": "cpu_sum", "event_type": "cpu", "aggregation": "sum", "field": "v"},
    {"id": "cpu_max", "event_type": "cpu", "aggregation": "max", "field": "v"},
    {"id": "cpu_latest", "event_type": "cpu", "aggregation": "latest", "field": "v"},
    {"id": "users", "event_type": "user", "aggregation": "unique_count", "field": "u"},
    {"id": "storage", "event_type": "disk", "aggregation": "weighted_sum", "field": "gb"},
    {"id": "paid", "event_type": "pay", "aggregation": "sum", "field": "amount"},
    {"id": "by_region", "event_type": "reg", "aggregation": "sum", "field": "v", "filters": {"region": ["a", "b"]},
     "group_by": ["region"]},
]
CHARGES = [{"id": m["id"], "metric": m["id"], "model": "per_unit", "unit_price": 1} for m in METRICS
           if m["id"] != "paid"] + [
    {"id": "fees", "metric": "paid", "model": "percentage", "percent": 10, "fixed_fee": 0.5, "free_events": 1,
     "per_event_min": 1, "per_event_max": 3},
    {"id": "fees_free_amount", "metric": "paid", "model": "percentage", "percent": 10, "fixed_fee": 0.5,
     "free_amount": 120, "per_event_max": 3},
    # no free limit: rated without ordering the events (sql/rate_percentage.sql), beside those that order them
    {"id": "fees_plain", "metric": "paid", "model": "percentage", "percent": 10, "fixed_fee": 0.5,
     "per_event_min": 1, "per_event_max": 3},
]
EVENTS = [[
    ev("c0", "2026-09-30T23:00", "call"),  # before the span: not read
    ev("c1", "2026-10-01T00:00", "call"), ev("c2", "2026-10-15T12:00", "call"), ev("c3", "2026-10-31T23:59:59", "call"),
    ev("cpu-a", "2026-10-02T00:00", "cpu", v=1.5), ev("cpu-b", "2026-10-03T00:00", "cpu", v=2.25),
    ev("cpu-c", "2026-10-03T00:00", "cpu", v=0.25), ev("cpu-nan", "2026-10-04T00:00", "cpu", v=float("nan")),
    ev("u1", "2026-10-02T00:00", "user", u="x"), ev("u2", "2026-10-03T00:00", "user", u="y"),
    ev("u3", "2026-10-04T00:00", "user", u="x"), ev("u4", "2026-10-05T00:00", "user", u=None),
    ev("d0", "2026-09-15T00:00", "disk", gb=10), ev("d1", "2026-10-11T00:00", "disk", gb=20),
    ev("d2", "2026-10-21T00:00", "disk", gb=-5),
    ev("p1", "2026-10-02T00:00", "pay", amount=100), ev("p2", "2026-10-03T00:00", "pay", amount=5),
    ev("p3", "2026-10-04T00:00", "pay", amount=50), ev("p4", "2026-10-05T00:00", "pay", amount=20),
    ev("r1", "2026-10-02T00:00", "reg", v=1, region="a"), ev("r2", "2026-10-03T00:00", "reg", v=2, region="a"),
    ev("r3", "2026-10-04T00:00", "reg", v=3, region="b"), ev("r4", "2026-10-05T00:00", "reg", v=5, region="c"),
], [
    ev("c1", "2026-10-01T05:00", "call"),  # a later copy of c1 in another file: duplicate
    ev("x1", "2026-10-03T00:00", "call", customer_id="nobody"),
    {**ev("t-null", "2026-10-03T00:00", "call"), "timestamp": None},
]]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    ws = workspace(tmp_path_factory.mktemp("agg") / "ws", metrics=METRICS, charges=CHARGES, events=EVENTS,
                   contracts=[{"contract_id": "k1", "customer_id": "c1", "plan_id": "p", "start_date": "2026-09-01"}])
    return run_bill(ws)


@pytest.mark.parametrize("charge, group, quantity, amount", [
    ("calls", "", "3", "3.00"),
    ("cpu_sum", "", "4", "4.00"),
    ("cpu_max", "", "2.25", "2.25"),
    ("cpu_latest", "", "0.25", "0.25"),  # tie on timestamp: greatest event_id (cpu-c)
    ("users", "", "2", "2.00"),  # distinct non-null values
    ("storage", "", "21.774193548", "21.77"),  # (10*10 + 30*10 + 25*11) day-GB / 31 days
    ("by_region", "region=a", "3", "3.00"),
    ("by_region", "region=b", "3", "3.00"),
    ("fees", "", "175", "6.50"),  # free, 1.0 (min 1), 5.5 capped at 3, 2.5
    ("fees_free_amount", "", "175", "5.50"),  # 100 and 105 within 120 free, 35 above: 4.0 capped at 3, then 2.5
    ("fees_plain", "", "175", "9.50"),  # 10.5 capped at 3, 1.0, 5.5 capped at 3, 2.5
])
def test_line_quantity_and_amount(result, charge, group, quantity, amount):
    line = lines_by(result)[("usage", charge, group)]
    assert line["quantity"] == D(quantity)
    assert line["amount"] == D(amount)


def test_counts_add_up_to_events_read(result):
    assert result.counts == {"read": 24, "billed": 19, "duplicate": 1, "invalid": 2, "unknown_customer": 1,
                             "no_active_contract": 0, "unmetered": 1, "outside_window": 0}


def test_quarantine_keeps_original_columns_and_reason(result):
    rows = result.quarantine.to_pylist()
    assert sorted((r["event_id"], r["reason"]) for r in rows) == [
        ("cpu-nan", "invalid"), ("r4", "unmetered"), ("t-null", "invalid"), ("x1", "unknown_customer")]
    assert {"event_id", "customer_id", "event_type", "timestamp", "v", "region", "reason", "source_file",
            "source_row"} <= set(result.quarantine.column_names)
    assert all(r["source_file"].startswith("part-") for r in rows)
    # read back on a connection of its own (ingest.quarantine): with the run's UTC session, not Etc/UTC
    assert result.quarantine.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")


def test_unused_group_does_not_appear(result):
    assert ("usage", "by_region", "region=c") not in lines_by(result)


def test_more_metrics_than_one_flag_mask_holds(tmp_path):
    """130 metrics: the fold keeps their flags in three 64-bit masks (pipeline/billing/meter.py MASK_BITS);
    every metric, the percentage charge on the last one, and daily usage still come out exact."""
    kinds = ("count", "sum", "max", "latest")
    metrics = [{"id": f"m{i}", "event_type": f"e{i % 5}", "aggregation": kinds[i % 4],
                **({} if kinds[i % 4] == "count" else {"field": "v"})} for i in range(130)]
    charges = [{"id": f"c{i}", "metric": f"m{i}", "model": "per_unit", "unit_price": 1} for i in range(130)]
    charges.append({"id": "fee", "metric": "m129", "model": "percentage", "percent": 10, "free_events": 1})
    events = [ev(f"x{t}-{n}", f"2026-10-{n + 1:02d}T0{t}:00", f"e{t}", v=float(n * 10 + t)) for t in range(5)
              for n in range(4)]
    ws = workspace(tmp_path / "ws", metrics=metrics, charges=charges, events=events)
    result = run_bill(ws)
    lines = lines_by(result)
    for i in range(130):
        t = i % 5
        values = [n * 10 + t for n in range(4)]
        expected = {"count": 4, "sum": sum(values), "max": max(values), "latest": values[-1]}[kinds[i % 4]]
        assert lines["usage", f"c{i}", ""]["quantity"] == D(expected), i
    # m129 is a sum over e4: 4, 14, 24, 34; the first event free, then 10 %
    assert lines["usage", "fee", ""]["amount"] == D("7.20")
    daily = result.daily_usage.to_pylist()
    assert {r["metric_id"] for r in daily} == {f"m{i}" for i in range(130)}
    assert all(r["events"] == 1 for r in daily) and len(daily) == 130 * 4
