"""meter: classified events -> metered quantities per contract, period, metric and group.

All aggregation runs in DuckDB over the whole event set at once (sql/meter_*.sql,
sql/rate_percentage.sql); this module builds the per-metric SQL fragments from
validated, quoted identifiers and turns the small results into `Metered` rows.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import duckdb
import pyarrow as pa

from .config.pricebook import Metric
from .db import fetch_table, sql
from .ingest import Columns, EventFiles
from .money import round_quantity
from .scope import Scope

GroupValues = tuple[str, ...]


@dataclass
class Metered:
    """What one billed period metered: metric_id -> group_values -> (quantity, events counted),
    and for percentage charges charge_id -> group_values -> exact sum of per-event costs."""

    usage: dict[str, dict[GroupValues, tuple[Decimal, int]]] = field(default_factory=dict)
    event_amount: dict[str, dict[GroupValues, Decimal]] = field(default_factory=dict)

    def add(self, metric_id: str, group: GroupValues, quantity: Decimal, events: int) -> None:
        self.usage.setdefault(metric_id, {})[group] = (quantity, events)


@dataclass
class MetricSql:
    """SQL fragments for the metrics a run uses, with their parameters."""

    metrics: list[Metric]
    columns: Columns
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for m in self.metrics:  # register every column up front so projections agree
            for col in m.group_by:
                self.columns.text_of(col)
            for col, _ in m.filters:
                self.columns.text_of(col)
            if m.aggregation == "unique_count":
                self.columns.text_of(m.field)
            elif m.needs_number:
                self.columns.number_of(m.field)

    def value(self, k: int) -> str:
        m = self.metrics[k]
        if m.aggregation == "unique_count":
            return self.columns.text_of(m.field)
        return self.columns.number_of(m.field) if m.needs_number else "NULL"

    def group(self, k: int) -> str:
        cols = [f"coalesce({self.columns.text_of(c)}, '')" for c in self.metrics[k].group_by]
        return f"[{', '.join(cols)}]::VARCHAR[]"

    def _filter(self, k: int) -> str:
        parts = []
        for j, (col, values) in enumerate(self.metrics[k].filters):
            name = f"f{k}_{j}"
            self.params[name] = list(values)
            parts.append(f"list_contains(${name}, {self.columns.text_of(col)})")
        return " AND ".join(parts) or "true"

    def flags(self) -> str:
        """ok<k>: metric k meters the event and finds the number it needs; is_metered: some metric meters
        it (filters pass); is_counted: some metric counts it."""
        exprs = []
        meters, counts = [], []
        for k, m in enumerate(self.metrics):
            p = f"(coalesce(cv.m{k}, false) AND {self._filter(k)})"
            ok = f"({p} AND {self.value(k)} IS NOT NULL)" if m.needs_number else p
            exprs.append(f"{ok} AS ok{k}")
            meters.append(p)
            counts.append(ok)
        exprs.append(f"({' OR '.join(meters) or 'false'}) AS is_metered")
        exprs.append(f"({' OR '.join(counts) or 'false'}) AS is_counted")
        return ",\n           ".join(exprs)

    def aggregate(self, k: int) -> str:
        m, v = self.metrics[k], self.value(k)
        return {
            "count": "count(*)",
            "sum": f"sum({v})",
            "max": f"max({v})",
            "unique_count": f"count(DISTINCT {v})",
            "latest": f"arg_max({v}, struct_pack(t := ts, e := event_id))",
        }[m.aggregation]

    def indices(self, *aggregations: str) -> list[int]:
        return [k for k, m in enumerate(self.metrics) if m.aggregation in aggregations]


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: dict) -> list[dict]:
    return fetch_table(con, query, params).to_pylist()


def meter_usage(con: duckdb.DuckDBPyConnection, ms: MetricSql) -> list[dict]:
    """Quantities of count, sum, max, unique_count and latest metrics from `classified`."""
    ks = ms.indices("count", "sum", "max", "unique_count", "latest")
    if not ks:
        return []
    branches = "\n    UNION ALL\n".join(
        f"    SELECT period_idx, {k} AS metric_idx, {ms.group(k)} AS group_values,\n"
        f"           CAST({ms.aggregate(k)} AS DECIMAL(38, 9)) AS quantity, count(*) AS events\n"
        f"    FROM classified WHERE status = 0 AND ok{k} GROUP BY ALL" for k in ks)
    return _rows(con, sql("meter_usage", branches=branches), {})


def rate_percentage(con: duckdb.DuckDBPyConnection, ms: MetricSql, pct: pa.Table) -> list[dict]:
    """Exact per-event percentage amounts per contract, period, charge and group."""
    ks = sorted(set(pct.column("metric_idx").to_pylist())) if pct.num_rows else []
    if not ks:
        return []
    con.register("pct_t", pct)
    branches = "\n    UNION ALL\n".join(
        f"    SELECT period_idx, {k} AS metric_idx, {ms.group(k)} AS group_values, ts, event_id,\n"
        f"           {ms.value(k)} AS amount\n"
        f"    FROM classified WHERE status = 0 AND ok{k}" for k in ks)
    return _rows(con, sql("rate_percentage", branches=branches), {})


def meter_weighted(con: duckdb.DuckDBPyConnection, ms: MetricSql, scope: Scope, events: EventFiles) -> list[dict]:
    """Opening level and time-weighted integral of weighted_sum metrics per billed period."""
    ks = ms.indices("weighted_sum")
    span = scope.span
    if not ks or span is None or not events.files:
        return []
    ws = scope.workspace
    weighted_plans = {k.contract_id for k in scope.contracts
                      if any(c.metric_id in {ms.metrics[i].id for i in ks} for c in ws.plan_of(k).charges)}
    starts = [b.contract.start_date for b in scope.periods if b.contract.contract_id in weighted_plans]
    if not starts:
        return []
    history_start = dt.datetime.combine(min(starts) - dt.timedelta(days=2), dt.time(0), tzinfo=dt.timezone.utc)
    branches = "\n    UNION ALL\n".join(
        f"    SELECT contract_id, {k} AS metric_idx, {ms.group(k)} AS group_values, ts, {ms.value(k)} AS value\n"
        f"    FROM owned WHERE ok{k}" for k in ks)
    query = sql("meter_weighted", projection=ms.columns.projection(), metric_flags=ms.flags(), branches=branches)
    params = {"files": [str(p) for p in events.files], "event_types": sorted({ms.metrics[k].event_type for k in ks}),
              "history_start": history_start, "span_end": span[1], **ms.params}
    return _rows(con, query, params)


def weighted_quantity(level_us: Decimal, full_us: int) -> Decimal:
    """Integral of the level over the period / length of the full period, to 9 fractional digits."""
    return round_quantity(Fraction(level_us) / full_us)
