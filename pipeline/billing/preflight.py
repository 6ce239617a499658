"""preflight: what is checked before events are billed, and the warnings a run carries.

- metric_columns: every column a metric names (field, filters, group_by) must exist in some
  events file holding events of its event_type, else a ConfigError naming metric, column and
  the columns those files have (a typo in `field:` must not bill zero for everyone).
- Warnings do not stop a run; each is printed on stderr and recorded in manifest.json as
  {code, message}: `tax_id_invalid` (a customer's tax_id fails its checksum: taxed without
  reverse charge) and `metric_matched_nothing` (a metric that billed charges use matched no
  event while events of unmetered event types were read: the closest one is named).
"""
from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ..config.pricebook import Metric
from ..core.db import connect
from ..core.errors import ConfigError
from .ingest import EventFiles


@dataclass(frozen=True, order=True)
class Warning:  # the run's own warnings, never Python's
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def print_warnings(warnings: list[dict]) -> None:
    """The same lines as manifest.json's `warnings`, on stderr."""
    for w in warnings:
        sys.stderr.write(f"warning: [{w['code']}] {w['message']}\n")


def _may_hold(events: EventFiles, path, event_type: str) -> bool | None:  # a Path or s3:// URI
    """From the footer's statistics of event_type: False when no row group can hold the type, True
    when one row group holds only it, None when the statistics cannot tell."""
    meta = events.metadata(path)
    index = meta.schema.to_arrow_schema().get_field_index("event_type")
    unknown = False
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(index).statistics
        if stats is None or not stats.has_min_max or not isinstance(stats.min, str):
            unknown = True
            continue
        if stats.min == stats.max == event_type:
            return True
        if stats.min <= event_type <= stats.max:
            unknown = True
    return None if unknown else False


def _holds(events: EventFiles, files: list, event_type: str) -> list:
    """The files among `files` holding at least one event of event_type (statistics first, then a scan)."""
    out, unsure = [], []
    for path in files:
        verdict = _may_hold(events, path, event_type)
        if verdict:
            out.append(path)
        elif verdict is None:
            unsure.append(path)
    if unsure:
        con = events.attach(connect(1))
        try:
            rows = con.execute("SELECT DISTINCT filename FROM read_parquet($files, filename = true, "
                               "union_by_name = true) WHERE CAST(event_type AS VARCHAR) = $t",
                               {"files": [str(p) for p in unsure], "t": event_type}).fetchall()
        finally:
            con.close()
        found = {r[0] for r in rows}
        out += [p for p in unsure if str(p) in found]
    return out


def metric_columns(metrics: list[Metric], events: EventFiles) -> None:
    """Stop when a metric names a column that no events file holding its event_type has."""
    if not events.files:
        return
    columns = {p: set(events.read_schema(p).names) for p in events.files}
    problems = []
    for m in sorted(metrics, key=lambda m: m.id):
        needed = ([m.field] if m.field else []) + [c for c, _ in m.filters] + list(m.group_by)
        for col in dict.fromkeys(needed):
            lacking = [p for p in events.files if col not in columns[p]]
            if not lacking:
                continue
            having = [p for p in events.files if col in columns[p]]
            if having and _holds(events, having, m.event_type):
                continue
            holding = _holds(events, lacking, m.event_type)
            if not holding:
                continue  # no event of that type at all: nothing is billed wrongly by this column
            seen = sorted(set().union(*(columns[p] for p in holding)))
            role = "field" if col == m.field else "filters column" if col in dict(m.filters) else "group_by column"
            problems.append(f"pricebook.yaml: metrics[{m.id}]: {role} {col!r} is in no events file holding "
                            f"`{m.event_type}` events ({events.name(holding[0])} and "
                            f"{len(holding) - 1} more have: {', '.join(seen)}); correct the column name in "
                            "the metric or in the event files")
    if problems:
        raise ConfigError(problems)


def matched_nothing(metrics: list[Metric], usage: pa.Table, quarantine: pa.Table) -> list[Warning]:
    """metric_matched_nothing for each metric billed charges use that counted no event, when events of
    unmetered event types were read: the closest such event_type is named."""
    if "event_type" not in quarantine.column_names or not quarantine.num_rows:
        return []
    unmetered = quarantine.filter(pc.equal(quarantine.column("reason"), "unmetered"))
    types = sorted({str(t) for t in unmetered.column("event_type").to_pylist() if t is not None})
    if not types:
        return []
    sums = usage.group_by("metric_id", use_threads=False).aggregate([("events", "sum")])
    matched = dict(zip(sums.column("metric_id").to_pylist(), sums.column("events_sum").to_pylist()))
    out = []
    for m in sorted(metrics, key=lambda m: m.id):
        if matched.get(m.id) or m.event_type in types:  # a sum of no counted event is 0 or null
            continue
        closest = max(types, key=lambda t: (difflib.SequenceMatcher(None, m.event_type, t).ratio(), t))
        n = len(unmetered.filter(pc.equal(unmetered.column("event_type").cast(pa.string()), closest)))
        out.append(Warning("metric_matched_nothing",
                           f"metric {m.id} (event_type {m.event_type!r}) matched no event, while {n} events of "
                           f"the unmetered event_type {closest!r} were read; if they are the same, correct "
                           f"event_type in pricebook.yaml metrics[{m.id}] or in the event files"))
    return out
