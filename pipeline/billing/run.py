"""run: the billing chain end to end, ingest -> meter -> rate -> invoice -> emit.

`bill()` does the work in memory and returns a `Bill`; `write_outputs()` publishes
it atomically. Nothing is written before every stage has succeeded.
"""
from __future__ import annotations

import datetime as dt
import importlib
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from decimal import localcontext
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from ..config.workspace import Workspace, load_workspace
from ..core import storage
from ..core.db import connect, done, in_background
from ..core.errors import InputDataError
from ..core.gcpause import paused_gc
from ..core.io import fingerprint, staged_dir, write_bytes
from ..core.money import EXACT
from . import daily, emit, ingest, meter, preflight
from .assemble import assemble
from .invoice import build_invoice
from .meter import Metered, MetricSql
from .periods import closing_periods
from .scope import Scope, cut, drop_lookup_tables, lookup_tables, select, selected_customers
from .shards import Shard, row_filter
from .types import Bill, Part, RunArgs, Stopwatch, run_id


def events_of(ws: Workspace, override: str | None = None) -> Path | storage.Prefix:
    """Where the workspace's events are: --events, settings.yaml `events:`, or WORKSPACE/events."""
    return storage.events_location(ws.root, ws.settings.events, override)


def fingerprints(ws: Workspace, events: ingest.EventFiles) -> dict[str, str]:
    """sha256 of every configuration and event file, by name (the manifest's `inputs`); an object in
    object storage: its ETag and size."""
    out = {p.name: fingerprint(p) for p in ws.config_files}
    out.update({f"events/{events.relative(p)}": events.fingerprint(p) for p in events.files})
    return out


def _metered_by_period(scope: Scope, ms: MetricSql, usage: list[dict], weighted: list[dict],
                       percentage: list[dict], pct_charges: list[str]) -> list[Metered]:
    """One Metered per billed period, in scope.periods order (period_idx)."""
    by = [Metered() for _ in scope.periods]
    for r in usage:
        by[r["period_idx"]].add(ms.metrics[r["metric_idx"]].id, tuple(r["group_values"]), r["quantity"], r["events"])
    for r in weighted:
        if r["events"] == 0 and r["opening"] == 0 and ms.metrics[r["metric_idx"]].group_by:
            continue  # a group appears when it has events in the period or a non-zero opening level
        i = r["period_idx"]
        quantity = meter.weighted_quantity(r["level_us"], scope.periods[i].full_seconds_us)
        by[i].add(ms.metrics[r["metric_idx"]].id, tuple(r["group_values"]), quantity, r["events"])
    for r in percentage:
        amounts = by[r["period_idx"]].event_amount.setdefault(pct_charges[r["charge_idx"]], {})
        amounts[tuple(r["group_values"])] = r["event_amount"]
    return by


def _percentage_table(scope: Scope, ms: MetricSql) -> tuple[pa.Table, list[str]]:
    """pct_t: one row per billed period and percentage charge of its plan, with the charge's parameters
    (charge_idx = the row's place; the second value names each row's charge). Each charge list's
    percentage charges are found once; periods of a plan share its list."""
    index = {m.id: k for k, m in enumerate(ms.metrics)}
    of_list: dict[int, list[int]] = {}  # id(charge list) -> its percentage charges' template rows
    template: list[dict] = []
    per_terms = []  # per distinct terms of the run: its template rows
    for t in scope.billed.terms:
        rows = of_list.get(id(t.charges))
        if rows is None:
            rows = of_list[id(t.charges)] = []
            for c in t.charges:
                if c.model == "percentage":
                    p = c.params
                    rows.append(len(template))
                    template.append({"charge_id": c.id, "metric_idx": index[c.metric_id], "rate": p.percent / 100,
                                     "fixed_fee": p.fixed_fee, "per_event_min": p.per_event_min,
                                     "per_event_max": p.per_event_max, "free_events": p.free_events,
                                     "free_amount": p.free_amount})
        per_terms.append(rows)
    # each period's rows, in period order: its terms' template rows, gathered without a loop per period
    sizes = np.array([len(r) for r in per_terms], np.int64)
    counts = sizes[scope.billed.terms_idx]
    flat = np.array([x for r in per_terms for x in r], np.int64)
    period_of = np.repeat(np.arange(len(counts)), counts)
    within = np.arange(len(period_of)) - np.repeat(np.cumsum(counts) - counts, counts)
    take = flat[np.repeat((np.cumsum(sizes) - sizes)[scope.billed.terms_idx], counts) + within]
    dec = pa.decimal128(38, 12)
    schema = pa.schema([("charge_id", pa.string()), ("metric_idx", pa.int32()), ("rate", pa.decimal128(38, 14)),
                        ("fixed_fee", dec), ("per_event_min", dec), ("per_event_max", dec),
                        ("free_events", pa.int64()), ("free_amount", pa.decimal128(38, 9))])
    rows_t = pa.Table.from_pylist(template, schema=schema).take(pa.array(take, pa.int64()))
    table = pa.table({"period_idx": pa.array(period_of.astype(np.int32)), "metric_idx": rows_t["metric_idx"],
                      "charge_idx": pa.array(range(len(take)), pa.int32()),
                      **{n: rows_t[n] for n in ("rate", "fixed_fee", "per_event_min", "per_event_max", "free_events",
                                                "free_amount")}})
    return table, rows_t["charge_id"].to_pylist()


@contextmanager
def _overflow_is_input_error(ms: MetricSql) -> Iterator[None]:
    """Each value too large for DECIMAL(38, 9) is quarantined as invalid; a sum of valid values can
    still overflow it. That is no usage a price applies to: stop, naming the fields to look at."""
    try:
        yield
    except duckdb.OutOfRangeException as exc:
        fields = sorted({m.field for m in ms.metrics if m.needs_number and m.field})
        raise InputDataError(f"events: a metered quantity overflows DECIMAL(38, 9) (29 integer digits) "
                             f"({str(exc).splitlines()[0]}); look for absurdly large values in the events' "
                             f"{', '.join(fields) or 'number'} column(s) and remove those events") from None


def billed_metrics(ws: Workspace, scope: Scope) -> list:
    """The metrics that the charges in force of the billed periods use (a metric named by a charge
    that prices none of this run's periods cannot bill anyone wrongly)."""
    lists = {id(t.charges): t for t in scope.billed.terms}  # the distinct terms of the run's periods
    ids = set().union(*(t.metric_ids() for t in lists.values()))
    return [ws.pricebook.metrics[m] for m in sorted(ids) if m in ws.pricebook.metrics]


def run_warnings(ws: Workspace, scope: Scope, usage: pa.Table, quarantine: pa.Table) -> list[dict]:
    """The run's warnings, sorted, each printed on stderr as it is recorded."""
    found = [preflight.Warning(code, message) for code, message in ws.warnings]
    found += preflight.matched_nothing(billed_metrics(ws, scope), usage, quarantine)
    out = [w.as_dict() for w in sorted(found)]
    preflight.print_warnings(out)
    return out


def bill(workspace: Path, args: RunArgs, *, threads: int | None = None, memory_limit: str | None = None,
         progress: Callable[[str], None] | None = None, periods_of: Callable = closing_periods,
         until: dt.datetime | None = None, objects: bool = False, loaded: Workspace | None = None) -> Bill:
    """Rate the window [first_day, stop_day) of a workspace, every stage in memory: validated, the
    rated part, finished (fingerprints, run_id, warnings, checks).

    periods_of(contract, first_day, stop_day) picks the periods billed (default: those closing in
    the window); until, when given, caps the span: events at or after that instant are not read
    (`usagebill preview` bills an open period with the usage so far); objects: also build each invoice
    as Python objects (`Bill.invoice_objects`, for explain and preview); loaded: the workspace, when the
    caller has just loaded it (issue, nightly), so that it is not read twice. The cyclic garbage
    collector is paused meanwhile (pipeline/core/gcpause.py)."""
    watch = Stopwatch(progress)
    with paused_gc():
        part, ws, whole, hashing = _rate(workspace, args, watch, threads, memory_limit, None, periods_of, until,
                                            objects, loaded)
        return finished(part, ws, whole, hashing, watch)


def rate_part(workspace: Path, args: RunArgs, shard: Shard, *, threads: int | None = None,
              memory_limit: str | None = None) -> Part:
    """One shard's part of a run (a task of pipeline/scale_out/engine.py): the same stages over the whole
    run's span and metrics, for the shard's customers only; its driver fingerprints, merges and checks."""
    with paused_gc():
        return _rate(workspace, args, Stopwatch(), threads, memory_limit, shard)[0]


def _rate(workspace: Path, args: RunArgs, watch: Stopwatch, threads: int | None, memory_limit: str | None,
          shard: Shard | None, periods_of: Callable = closing_periods, until: dt.datetime | None = None,
          objects: bool = False, loaded: Workspace | None = None) -> tuple[Part, Workspace, Scope, Future | None]:
    """The stages from validate to assemble: (the part, the workspace, the whole run's scope, the inputs'
    fingerprints being taken meanwhile, or None for a shard: its driver takes them once)."""
    with watch.stage("validate"):
        ws, events, whole = validated(workspace, args, None if shard is None else shard.files, periods_of, until,
                                      loaded)
        scope = whole if shard is None else cut(whole, shard)
    hashing = None  # a shard's inputs are fingerprinted once, by its driver
    if shard is None:
        hashing = in_background(fingerprints, ws, events)  # overlaps the queries
    with watch.stage("scope"):  # the lookup tables the event queries join
        used = sorted(ws.metric_ids_of(whole.contracts))
        ms = MetricSql([ws.pricebook.metrics[m] for m in used], ingest.Columns.empty(events.schema))
        con = connect(threads, memory_limit)
        lookup_tables(con, scope, used)
        span = scope.span
        pct, pct_charges = _percentage_table(scope, ms)
    checks = in_background(importlib.import_module, "schemas")  # Pandera's import, while DuckDB reads
    staged = False  # the events read from the files, or from the selected customers' rows (ingest.stage_selected)
    history = None  # where the weighted_sum history starts (meter.weighted_history_start)
    with watch.stage("ingest"):
        if span is None or not events.files:
            counts = {"read": 0, **dict.fromkeys(ingest.STATUSES, 0)}
        else:
            params = {"lookback_start": span[0] - dt.timedelta(days=args.dedup_window_days),
                      "span_start": span[0], "span_end": span[1]}
            history = meter.weighted_history_start(ms, scope)
            if scope.selected and shard is None:  # the selected customers' rows, read once for every query
                start = params["lookback_start"] if history is None else min(params["lookback_start"], history)
                staged = ingest.stage_selected(con, events, ms.columns, start, span[1])
            flags = ms.flags()
            with _overflow_is_input_error(ms):  # the fold sums billed values
                counts = ingest.classify(con, events, ms.columns, flags, ms.kept_columns(),
                                        {**params, **ms.params, **ms.kept_params},
                                        scope.selected, ms.fold(meter.percentage_metrics(pct)), row_filter(shard),
                                        staged)
    with watch.stage("meter"):
        usage_rows = weighted_rows = pct_rows = meter.EMPTY
        daily_t = daily.empty()
        if span is not None and events.files:
            with _overflow_is_input_error(ms):
                usage_rows = meter.meter_usage(con, ms)
                pct_rows = meter.rate_percentage(con, ms, pct)
                weighted_rows = meter.meter_weighted(con, ms, scope, events, history, staged)
            daily_t = daily.daily_usage(con, ms)
        drop_lookup_tables(con)
    # read back while the invoices are assembled (their pricing is Python, which leaves a core to DuckDB)
    quarantine = (done(ingest.empty_quarantine(events)) if span is None or not events.files
                  else ingest.quarantine(con, events, selected_customers(scope) if scope.selected else None, staged))
    con.execute("DROP TABLE IF EXISTS folded")  # every reader of the fold is done: its memory is assembling's
    # explain and preview read the invoices as objects (invoice.py), a few contracts' worth
    by = _metered_by_period(scope, ms, usage_rows.to_pylist(), weighted_rows.to_pylist(), pct_rows.to_pylist(),
                            pct_charges) if objects else []
    metered_rows = [usage_rows, weighted_rows, pct_rows]
    del usage_rows, weighted_rows, pct_rows  # assemble lets go of them once its lines are made
    with watch.stage("rate"):
        tables = assemble(con, scope, ms, metered_rows, pct_charges)
    with watch.stage("assemble"):
        invoices = []
        if objects:
            with localcontext(EXACT):
                invoices = [build_invoice(scope, b, metered) for b, metered in zip(scope.periods, by)]
    quarantine = quarantine.result()  # read back meanwhile (ingest.quarantine)
    checks.result()
    con.close()
    digits = {p.currency: p.digits for p in ws.pricebook.plans.values()}
    return Part(args, counts, tables.invoices, tables.lines, tables.usage, quarantine, digits, watch.timings,
                invoices, daily_t), ws, whole, hashing


def validated(workspace: Path, args: RunArgs, files: tuple[str, ...] | None = None,
              periods_of: Callable = closing_periods, until: dt.datetime | None = None,
              loaded: Workspace | None = None) -> tuple[Workspace, ingest.EventFiles, Scope]:
    """The validate stage of every engine: the workspace, its event files (only `files` of a bucket
    layout when given: a shard's own) and the whole run's scope. A run that reads every file (not a
    shard) also checks that each metric's column is in some file of its event type."""
    ws = load_workspace(workspace) if loaded is None else loaded
    events = ingest.discover(events_of(ws, args.events), files)
    scope = select(ws, args.first_day, args.stop_day, args.contracts, args.customers, periods_of, until)
    if files is None:  # a driver checks for its shards
        preflight.metric_columns(billed_metrics(ws, scope), events)
    return ws, events, scope


def finished(part: Part, ws: Workspace, scope: Scope, hashing: Future, watch: Stopwatch) -> Bill:
    """A whole run's Bill from its rated part (local, or merged from shards): the inputs' fingerprints,
    the run_id they give, the warnings, then the Pandera checks of every output table."""
    with watch.stage("fingerprint"):
        inputs = hashing.result()
    result = Bill(run_id(part.args, inputs), part.args, inputs, part.counts, part.invoices, part.lines, part.usage,
                  part.quarantine, part.digits, part.timings, part.invoice_objects, part.daily_usage,
                  run_warnings(ws, scope, part.usage, part.quarantine))
    with watch.stage("check"):
        from schemas import validate_bill
        validate_bill(result)
    return result


def write_outputs(result: Bill, out: Path, *, report: bool = True) -> Path:
    """Publish every output file atomically into `out` (with report.html unless report=False)."""
    start = time.perf_counter()
    parquet = {"invoices": result.invoices, "invoice_lines": result.lines, "usage": result.usage,
               "quarantine": result.quarantine,
               "daily_usage": daily.empty() if result.daily_usage is None else result.daily_usage}
    with paused_gc(), staged_dir(out) as stage:
        emit.write_files({stage / f"{n}.parquet": t for n, t in parquet.items()},
                         {stage / f"{n}.csv": parquet[n] for n in ("invoices", "invoice_lines")}, result.digits)
        result.timings["emit"] = time.perf_counter() - start
        if report:
            from .report import write_report

            write_report(stage, result, out)
            result.timings["report"] = time.perf_counter() - start - result.timings["emit"]
        write_bytes(stage / "manifest.json", (json.dumps(result.manifest(), indent=2, sort_keys=True) + "\n").encode())
    return out
