"""merge: the parts of a sharded run -> the tables the whole run gives, in its order, same bytes.

Each part holds whole invoices (a contract belongs to one shard) and its customers' events, so:
- invoices: concatenated and ordered like a run's billed periods, by (period_end, contract_id,
  period_start) (scope.select);
- lines and usage: grouped by their invoice in that order, each invoice's rows in their part's
  order (line_number order);
- quarantine: ordered by (file, row) over all event files, the file order of the dedup
  tie-break (ingest.discover). A part reads its quarantined rows' files together, as a run reads
  all of them together: when every part's columns have the types the whole run's files give
  (always when the files share one schema), the parts are its rows; otherwise the driver reads
  the rows again, from the files, exactly as a run does;
- daily usage: per (day, metric) the parts' events and quantities summed (each event is in one
  part), ordered by (metric_id, day) like daily.daily_usage;
- counts: summed.
Every table comes out in one chunk, like a run's, so Parquet pages fall in the same places.
"""
from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..billing import daily, ingest
from ..billing.types import Part


def counts(parts: list[Part]) -> dict[str, int]:
    return {"read": sum(p.counts["read"] for p in parts),
            **{s: sum(p.counts[s] for p in parts) for s in ingest.STATUSES}}


def invoices(parts: list[Part]) -> pa.Table:
    t = pa.concat_tables([p.invoices for p in parts])
    order = pc.sort_indices(t, sort_keys=[("period_end", "ascending"), ("contract_id", "ascending"),
                                          ("period_start", "ascending")])
    return t.take(order).combine_chunks()


def _by_invoice(tables: list[pa.Table], invoice_ids: pa.ChunkedArray, within: str | None) -> pa.Table:
    """Rows grouped by invoice in invoice order; inside an invoice by `within`, or in part order."""
    t = pa.concat_tables(tables)
    rank = pc.index_in(t.column("invoice_id"), value_set=invoice_ids.combine_chunks())  # ids are unique
    inside = pa.array(range(t.num_rows), pa.int64()) if within is None else t.column(within)
    order = pc.sort_indices(pa.table({"_rank": rank, "_n": inside}),
                            sort_keys=[("_rank", "ascending"), ("_n", "ascending")])
    return t.take(order).combine_chunks()


def lines(parts: list[Part], invoice_ids: pa.ChunkedArray) -> pa.Table:
    return _by_invoice([p.lines for p in parts], invoice_ids, "line_number")


def usage(parts: list[Part], invoice_ids: pa.ChunkedArray) -> pa.Table:
    return _by_invoice([p.usage for p in parts], invoice_ids, None)


def quarantine(parts: list[Part], events: ingest.EventFiles, con: duckdb.DuckDBPyConnection) -> pa.Table:
    filled = [p.quarantine for p in parts if p.quarantine.num_rows]
    if not filled:
        return ingest.empty_quarantine(events)

    def column(name: str) -> pa.Array:
        return pa.concat_arrays([t.column(name).combine_chunks() for t in filled])

    names = pa.array([events.relative(p) for p in events.files], pa.string())
    file_index, rows = pc.index_in(column("source_file"), value_set=names), column("source_row")
    wanted = pc.unique(file_index)
    nothing = ingest.read_quarantined(con, events, wanted, pa.array([-1] * len(wanted), pa.int64()),
                                      pa.array([""] * len(wanted), pa.string()))
    if all(t.schema.equals(nothing.schema) for t in filled):
        order = pc.sort_indices(pa.table({"_file": file_index, "_row": rows}),
                                sort_keys=[("_file", "ascending"), ("_row", "ascending")])
        return pa.concat_tables(filled).take(order).combine_chunks()
    return ingest.read_quarantined(con, events, file_index, rows, column("reason"))


def daily_usage(parts: list[Part]) -> pa.Table:
    filled = [p.daily_usage for p in parts if p.daily_usage is not None and p.daily_usage.num_rows]
    if not filled:
        return daily.empty()
    summed = pa.concat_tables(filled).group_by(["day", "metric_id"], use_threads=False).aggregate(
        [("events", "sum"), ("quantity", "sum")])
    t = pa.table({"day": summed["day"], "metric_id": summed["metric_id"], "events": summed["events_sum"],
                  "quantity": summed["quantity_sum"]}).cast(daily.SCHEMA)
    order = pc.sort_indices(t, sort_keys=[("metric_id", "ascending"), ("day", "ascending")])
    return t.take(order).combine_chunks()
