"""daily: billed events per UTC day and metric (daily_usage.parquet), for the run report's charts.

Read from the daily rows of `folded` (sql/classify_events.sql), folded in the pass that classifies
the events: one column per metric, unpivoted here (a few dozen rows). Days are UTC calendar days of
the event timestamp, one calendar for every customer (a customer's local day may straddle two bars).
"""
from __future__ import annotations

import duckdb
import pyarrow as pa

from ..core.db import fetch_table, sql
from .meter import MetricSql

SCHEMA = pa.schema([("day", pa.date32()), ("metric_id", pa.string()), ("events", pa.int64()),
                    ("quantity", pa.decimal128(38, 9))])  # quantity: sum metrics only (the field's sum)


def empty() -> pa.Table:
    return SCHEMA.empty_table()


def daily_usage(con: duckdb.DuckDBPyConnection, ms: MetricSql) -> pa.Table:
    """One row per UTC day and metric with events counted: events, and the field's sum for sum metrics."""
    if not ms.metrics:
        return empty()
    columns = []
    for k, m in enumerate(ms.metrics):
        columns.append(f"CAST(coalesce(sum(n) FILTER (WHERE {ms.flag(k)}), 0) AS BIGINT) AS e{k}")
        if m.aggregation == "sum":
            j = ms.number_slots[m.event_type, m.field]
            columns.append(f"CAST(sum(s{j}) FILTER (WHERE {ms.flag(k)}) AS DECIMAL(38, 9)) AS q{k}")
    rows = fetch_table(con, sql("daily_usage", columns=", ".join(columns))).to_pylist()
    out = [{"day": r["day"], "metric_id": m.id, "events": r[f"e{k}"], "quantity": r.get(f"q{k}")}
           for r in rows for k, m in enumerate(ms.metrics) if r[f"e{k}"]]
    out.sort(key=lambda r: (r["metric_id"], r["day"]))
    return pa.Table.from_pylist(out, schema=SCHEMA)
