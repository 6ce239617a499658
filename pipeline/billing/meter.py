"""meter: folded events -> metered quantities per contract, period, metric and group.

The events are folded in the classify pass (sql/classify_events.sql, fragments from
MetricSql.fold); the per-metric queries (sql/meter_usage.sql, sql/rate_percentage.sql)
read that small table, and weighted_sum reads its history (sql/meter_weighted.sql). This
module builds the SQL fragments from validated, quoted identifiers and turns the small
results into `Metered` rows.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import duckdb
import numpy as np
import pyarrow as pa

from ..config.pricebook import Metric
from ..core.db import fetch_table, sql
from ..core.money import round_quantity
from .ingest import Columns, EventFiles, relation
from .scope import Scope

GroupValues = tuple[str, ...]
MASK_BITS = 64  # metric flags per mask column of `folded` (UBIGINT)


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
    # The classify query's `classified` rows keep, per event, only the values its own event type's
    # metrics read: number slot j (v<j>) is the j-th number field used by metrics of the event's
    # type, text slot j (t<j>) likewise for unique_count fields and group_by columns. One slot
    # serves every event type, so the fold is as narrow as the busiest event type.
    number_slots: dict[tuple[str, str], int] = field(default_factory=dict)
    text_slots: dict[tuple[str, str], int] = field(default_factory=dict)
    kept_params: dict = field(default_factory=dict)

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
        for m in self.metrics:
            texts = [m.field] if m.aggregation == "unique_count" else []
            for col in texts + list(m.group_by):
                _slot(self.text_slots, m.event_type, col)
            if m.needs_number and m.aggregation != "unique_count":
                _slot(self.number_slots, m.event_type, m.field)
        types = sorted({t for t, _ in [*self.text_slots, *self.number_slots]})
        self._type_param = {t: f"$et{i}" for i, t in enumerate(types)}
        # parameters of kept_columns() only (a query given unused parameters fails)
        self.kept_params: dict = {f"et{i}": t for i, t in enumerate(types)}
        # event order (ts, event_id) matters to `latest` and to percentage charges (on `sum` metrics)
        self.kept_params["ordered_types"] = sorted({m.event_type for m in self.metrics
                                                    if m.aggregation in ("latest", "sum")})

    def kept_columns(self) -> str:
        """The SELECT-list prefix that fills the slots of `classified` from the aliased columns
        (e.u<i>, e.n<i>), and keeps event_id only for event types that need event order."""
        def slots(table: dict[tuple[str, str], int], alias_of, prefix: str, sql_type: str) -> list[str]:
            out = []
            for j in sorted(set(table.values())):
                whens = " ".join(f"WHEN {self._type_param[t]} THEN e.{alias_of(col)}"
                                 for (t, col), i in sorted(table.items()) if i == j)
                out.append(f"CAST(CASE e.event_type {whens} END AS {sql_type}) AS {prefix}{j}, ")
            return out
        parts = slots(self.text_slots, self.columns.text_of, "t", "VARCHAR")
        parts += slots(self.number_slots, self.columns.number_of, "v", "DECIMAL(38, 9)")
        parts.append("CASE WHEN list_contains($ordered_types, e.event_type) THEN e.event_id END AS event_id, ")
        return "".join(parts)

    def value(self, k: int, kept: bool = False) -> str:
        """Metric k's value: from the aliased event columns, or (kept) from the slots of `classified`."""
        m = self.metrics[k]
        if m.aggregation == "unique_count":
            return f"t{self.text_slots[m.event_type, m.field]}" if kept else self.columns.text_of(m.field)
        if not m.needs_number:
            return "NULL"
        return f"v{self.number_slots[m.event_type, m.field]}" if kept else self.columns.number_of(m.field)

    def group(self, k: int, kept: bool = False) -> str:
        m = self.metrics[k]
        cols = [f"coalesce({f't{self.text_slots[m.event_type, c]}' if kept else self.columns.text_of(c)}, '')"
                for c in m.group_by]
        return f"[{', '.join(cols)}]::VARCHAR[]"

    def _filter(self, k: int) -> str:
        parts = []
        for j, (col, values) in enumerate(self.metrics[k].filters):
            name = f"f{k}_{j}"
            self.params[name] = list(values)
            parts.append(f"coalesce(list_contains(${name}, {self.columns.text_of(col)}), false)")  # null: no match
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

    def flag(self, k: int) -> str:
        """Metric k counts the events of a `folded` row: bit k of its flag masks."""
        return f"((mask{k // MASK_BITS} >> {k % MASK_BITS}) & 1) = 1"

    def fold(self, percentage_metrics: list[int]) -> dict[str, str]:
        """The fold fragments of sql/classify_events.sql: billed events grouped per period, text slots
        and flag masks (percentage metrics' events one per row, by ts and event_id), and per UTC day
        and masks; aggregates n, s<j>, mx<j>, l<j> (see partial_aggregate)."""
        texts = [f"t{j}" for j in sorted(set(self.text_slots.values()))]
        numbers = sorted(set(self.number_slots.values()))
        latest = sorted({self.number_slots[m.event_type, m.field] for m in self.metrics if m.aggregation == "latest"})
        maxed = sorted({self.number_slots[m.event_type, m.field] for m in self.metrics if m.aggregation == "max"})
        billed = "status = 0"  # every fold column but status, q_file and q_row is null for other events
        masks, mask_sql = [], []
        for i in range(0, len(self.metrics), MASK_BITS):
            bits = " | ".join(f"(CAST(coalesce(ok{k}, false) AS UBIGINT) << {k - i})"
                              for k in range(i, min(i + MASK_BITS, len(self.metrics))))
            masks.append(f"mask{i // MASK_BITS}")
            mask_sql.append(f"CASE WHEN {billed} THEN {bits} END AS {masks[-1]}")
        one_by_one = " OR ".join(f"ok{k}" for k in percentage_metrics) or "false"
        inner = [f"CASE WHEN {billed} THEN period_idx END AS period_idx",
                 *(f"CASE WHEN {billed} THEN {t} END AS {t}" for t in texts), *mask_sql,
                 *(f"CASE WHEN {billed} THEN v{j} END AS v{j}" for j in numbers),
                 f"CASE WHEN {billed} THEN CAST(timezone('UTC', ts) AS DATE) END AS day",
                 f"CASE WHEN {billed} AND ({one_by_one}) THEN ts END AS ev_ts",
                 f"CASE WHEN {billed} AND ({one_by_one}) THEN event_id END AS ev_id"]
        for j in latest:
            on = " OR ".join(f"ok{k}" for k, m in enumerate(self.metrics)
                             if m.aggregation == "latest" and self.number_slots[m.event_type, m.field] == j)
            last = f"struct_pack(t := ts, e := event_id, v := v{j})"
            inner.append(f"CASE WHEN {billed} AND ({on}) THEN {last} END AS lv{j}")
        usage = ["period_idx", *texts, *masks, "ev_ts", "ev_id"]
        aggregates = ["count(*) AS n", *(f"sum(v{j}) AS s{j}" for j in numbers),
                      *(f"max(v{j}) AS mx{j}" for j in maxed), *(f"max(lv{j}) AS l{j}" for j in latest)]
        return {"fold_inner": ",\n             ".join(inner), "fold_columns": ", ".join(["day", *usage]),
                "usage_keys": ", ".join(usage), "daily_keys": ", ".join(["day", *masks]),
                "fold_aggregates": ", ".join(aggregates)}

    def partial_aggregate(self, k: int) -> str:
        """Metric k's aggregate over the `folded` usage rows it counts: count = sum(n), sum = sum(s<j>),
        max = max(mx<j>), unique_count = count(DISTINCT t<j>), latest = the value of max(l<j>)."""
        m = self.metrics[k]
        if m.aggregation == "unique_count":
            return f"count(DISTINCT {self.value(k, kept=True)})"
        if m.aggregation == "count":
            return "sum(n)"
        j = self.number_slots[m.event_type, m.field]
        return {"sum": f"sum(s{j})", "max": f"max(mx{j})", "latest": f"max(l{j}).v"}[m.aggregation]

    def indices(self, *aggregations: str) -> list[int]:
        return [k for k, m in enumerate(self.metrics) if m.aggregation in aggregations]


def _slot(table: dict[tuple[str, str], int], event_type: str, column: str) -> None:
    """Give (event_type, column) the next free slot of its event type."""
    if (event_type, column) not in table:
        table[event_type, column] = sum(1 for t, _ in table if t == event_type)


EMPTY = pa.table({})


def meter_usage(con: duckdb.DuckDBPyConnection, ms: MetricSql) -> pa.Table:
    """Quantities of count, sum, max, unique_count and latest metrics from `folded` (its usage rows)."""
    ks = ms.indices("count", "sum", "max", "unique_count", "latest")
    if not ks:
        return EMPTY
    branches = "\n    UNION ALL\n".join(
        f"    SELECT period_idx, {k} AS metric_idx, {ms.group(k, kept=True)} AS group_values,\n"
        f"           CAST({ms.partial_aggregate(k)} AS DECIMAL(38, 9)) AS quantity, CAST(sum(n) AS BIGINT) AS events\n"
        f"    FROM folded WHERE fold = 'usage' AND {ms.flag(k)} GROUP BY ALL" for k in ks)
    return fetch_table(con, sql("meter_usage", branches=branches))


def rate_percentage(con: duckdb.DuckDBPyConnection, ms: MetricSql, pct: pa.Table) -> pa.Table:
    """Exact per-event percentage amounts per contract, period, charge and group (from `folded`,
    whose usage rows hold these metrics' events one per row)."""
    ks = percentage_metrics(pct)
    if not ks:
        return EMPTY
    con.register("pct_t", pct)
    branches = "\n    UNION ALL\n".join(
        f"    SELECT period_idx, {k} AS metric_idx, {ms.group(k, kept=True)} AS group_values, ev_ts AS ts,\n"
        f"           ev_id AS event_id, s{ms.number_slots[ms.metrics[k].event_type, ms.metrics[k].field]} AS amount\n"
        f"    FROM folded WHERE fold = 'usage' AND {ms.flag(k)}" for k in ks)
    return fetch_table(con, sql("rate_percentage", branches=branches))


def percentage_metrics(pct: pa.Table) -> list[int]:
    """The metrics percentage charges rate (pct_t's metric_idx)."""
    return sorted(set(pct.column("metric_idx").to_pylist())) if pct.num_rows else []


def weighted_history_start(ms: MetricSql, scope: Scope) -> dt.datetime | None:
    """Where the weighted_sum metrics' history starts (two days before the earliest start of a contract
    billed for one: its level sums every change since), or None when no billed period has one."""
    ks = ms.indices("weighted_sum")
    if not ks or scope.span is None:
        return None
    ws = scope.workspace
    basis = scope.whole or scope  # a shard reads the history its whole run reads
    ids = {ms.metrics[i].id for i in ks}
    # contracts whose terms never change meter their plan's metrics: looked at once per plan
    of_plan = {p: any(c.metric_id in ids for c in plan.charges) for p, plan in ws.pricebook.plans.items()}

    def billed_and_weighted(s: Scope) -> list:
        billed = [s.contracts[i] for i in np.unique(s.billed.contract).tolist()]
        return [k for k, plain in zip(billed, ws.unchanging_each(billed))
                if (of_plan[k.plan_id] if plain else ws.metric_ids_ever(k) & ids)]

    mine = billed_and_weighted(scope)
    starts = [k.start_date for k in (mine if basis is scope else billed_and_weighted(basis))]
    if not starts or not mine:
        return None
    return dt.datetime.combine(min(starts) - dt.timedelta(days=2), dt.time(0), tzinfo=dt.UTC)


def meter_weighted(con: duckdb.DuckDBPyConnection, ms: MetricSql, scope: Scope, events: EventFiles,
                   history_start: dt.datetime | None, staged: bool = False) -> pa.Table:
    """Opening level and time-weighted integral of weighted_sum metrics per billed period, from
    history_start (weighted_history_start; None: no billed period has such a metric) to the span's end
    (staged: read the selected customers' rows that ingest.stage_selected put in `selected_events`)."""
    if history_start is None or not events.files:
        return EMPTY
    ks = ms.indices("weighted_sum")
    branches = "\n    UNION ALL\n".join(
        f"    SELECT contract_id, {k} AS metric_idx, {ms.group(k)} AS group_values, ts, {ms.value(k)} AS value\n"
        f"    FROM owned WHERE ok{k}" for k in ks)
    source, files = relation(events, staged)
    query = sql("meter_weighted", projection=ms.columns.projection(), metric_flags=ms.flags(), branches=branches,
                events=source)
    params = {**files, "event_types": sorted({ms.metrics[k].event_type for k in ks}),
              "history_start": history_start, "span_end": scope.span[1], **ms.params}
    return fetch_table(events.attach(con), query, params)


def weighted_quantity(level_us: Decimal, full_us: int) -> Decimal:
    """Integral of the level over the period / length of the full period, to 9 fractional digits."""
    return round_quantity(Fraction(level_us) / full_us)
