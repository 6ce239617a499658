"""explain_events: the events behind one usage line: how many, the first few, and for percentage
charges how each of those first events was priced.

One small DuckDB query (sql/explain_sample.sql) over the customer's events of the period, for all
its usage lines at once, deduplicated as the
run does (the earliest copy by timestamp, file, row), restricted to the metric's event type,
filters and group values. Column names are quoted by ingest.Columns; every value travels as a
parameter.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ..billing.ingest import Columns, EventFiles
from ..config.pricebook import Metric
from ..core.db import connect, fetch_table, sql
from ..rate.percentage import Percentage

SAMPLE = 5


def samples(events: EventFiles, lines: list[tuple[Metric, tuple[str, ...]]], customer_id: str,
            start_at: dt.datetime, end_at: dt.datetime, dedup_window_days: int, limit: int = SAMPLE
            ) -> list[tuple[int, list[dict]]]:
    """Per (metric, group values) of one customer's period: (events counted, the first `limit` of
    them in (timestamp, event_id) order). One query for all the lines."""
    if not events.files or not lines:
        return [(0, []) for _ in lines]
    cols = Columns.empty(events.schema)
    params: dict = {}
    branches, shown = [], []
    for i, (metric, group_values) in enumerate(lines):
        params[f"et{i}"] = metric.event_type
        conditions = [f"event_type = $et{i}"]
        for j, (col, values) in enumerate(metric.filters):
            params[f"f{i}_{j}"] = list(values)
            conditions.append(f"coalesce(list_contains($f{i}_{j}, {cols.text_of(col)}), false)")
        for j, (col, value) in enumerate(zip(metric.group_by, group_values)):
            params[f"g{i}_{j}"] = value
            conditions.append(f"coalesce({cols.text_of(col)}, '') = $g{i}_{j}")
        names = {}  # output name -> alias
        if metric.field and metric.aggregation == "unique_count":
            names[metric.field] = cols.text_of(metric.field)
        elif metric.field and metric.needs_number:
            names[metric.field] = cols.number_of(metric.field)
            conditions.append(f"{cols.number_of(metric.field)} IS NOT NULL")
        for col in [c for c, _ in metric.filters] + list(metric.group_by):
            names.setdefault(col, cols.text_of(col))
        shown.append(names)
        branches.append(f"SELECT * FROM (SELECT {i} AS line, *, count(*) OVER () AS matched FROM kept\n"
                        f"    WHERE {' AND '.join(conditions)} ORDER BY ts, event_id LIMIT $limit)")
    query = sql("explain_sample", projection=cols.projection(), branches="\nUNION ALL\n".join(branches))
    con = events.attach(connect(threads=2))
    try:
        rows = fetch_table(con, query, {
            "files": [str(p) for p in events.files], "customer_id": customer_id,
            "lookback_start": start_at - dt.timedelta(days=dedup_window_days), "start_at": start_at,
            "end_at": end_at, "limit": limit, **params}).to_pylist()
    finally:
        con.close()
    out: list[tuple[int, list[dict]]] = [(0, []) for _ in lines]
    for r in rows:
        i = r["line"]
        out[i][1].append({"event_id": r["event_id"], "timestamp": r["ts"].astimezone(dt.UTC).isoformat(),
                          "source_file": events.relative(events.files[r["_file"]]), "source_row": r["_row"],
                          **{name: r[alias] for name, alias in shown[i].items()}})
        out[i] = (r["matched"], out[i][1])
    return out


def percentage_events(charge: Percentage, amounts: list[Decimal]) -> list[dict]:
    """Per-event pricing of the first events of a line, in order (the rules of sql/rate_percentage.sql).

    Exact for these events: an event's status depends only on the events before it."""
    out = []
    total = Decimal(0)
    rate = charge.percent / 100
    for n, amount in enumerate(amounts, start=1):
        total += amount
        no_free = charge.free_events is None and charge.free_amount is None
        if no_free or charge.free_events is not None and n > charge.free_events:
            charged = amount
        elif charge.free_amount is None or total <= charge.free_amount:
            charged = None
        elif total - amount < charge.free_amount:
            charged = total - charge.free_amount
        else:
            charged = amount
        row = {"n": n, "amount": amount, "running_total": total,
               "status": "free" if charged is None else "charged" if charged == amount else "partly free",
               "chargeable": charged or Decimal(0)}
        if charged is None:
            row.update(cost_before_limits=Decimal(0), cost=Decimal(0), limit="")
        else:
            raw = charged * rate + charge.fixed_fee
            cost, limit = raw, ""
            if charge.per_event_min is not None and cost < charge.per_event_min:
                cost, limit = charge.per_event_min, "raised to per_event_min"
            if charge.per_event_max is not None and cost > charge.per_event_max:
                cost, limit = charge.per_event_max, "capped at per_event_max"
            row.update(cost_before_limits=raw, cost=cost, limit=limit)
        out.append(row)
    return out
