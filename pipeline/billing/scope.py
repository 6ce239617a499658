"""scope: what one run bills, and the lookup tables the event queries join against.

From the workspace and the run's arguments: the selected contracts, their periods
that close in [from, to), the span [S, E) of instants those periods cover, and the
small Arrow tables (customers, coverage, active contracts, periods) DuckDB joins
events with. A shard of a distributed run (`cut`) is the same with fewer customers.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import duckdb
import pyarrow as pa

from ..config.terms import Terms
from ..config.workspace import Contract, Workspace
from ..core.db import sql
from ..core.errors import ConfigError
from .periods import Period, closing_periods, instant, terms_starts
from .shards import Shard, customers_table, shard_of

FOREVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
BEGINNING = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class BilledPeriod:
    contract: Contract
    period: Period
    timezone: str
    terms: Terms  # in force on period.start (pipeline/config/terms.py)

    @property
    def start_at(self) -> dt.datetime:
        return instant(self.period.start, self.timezone)

    @property
    def end_at(self) -> dt.datetime:
        return instant(self.period.end, self.timezone)

    @property
    def full_seconds_us(self) -> int:
        span = instant(self.period.full_end, self.timezone) - instant(self.period.full_start, self.timezone)
        return span // dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Scope:
    workspace: Workspace
    contracts: tuple[Contract, ...]  # selected, sorted by id
    periods: tuple[BilledPeriod, ...]  # sorted by (period_end, contract_id)
    selected: bool  # --contract or --customer given
    shard: Shard | None = None  # a shard of a distributed run: only the customers hashing to it
    whole: Scope | None = None  # the run a shard is cut from: its span bounds every event read
    until: dt.datetime | None = None  # preview: events at or after this instant are not read

    @cached_property  # read by several stages; the periods do not change
    def span(self) -> tuple[dt.datetime, dt.datetime] | None:
        if self.whole is not None:
            return self.whole.span
        if not self.periods:
            return None
        end = max(p.end_at for p in self.periods)
        return min(p.start_at for p in self.periods), end if self.until is None else min(end, self.until)


def select(ws: Workspace, first_day: dt.date, stop_day: dt.date, contract_ids: tuple[str, ...] = (),
           customer_ids: tuple[str, ...] = (), periods_of=closing_periods,
           until: dt.datetime | None = None) -> Scope:
    """The contracts and periods a run bills (until: read no event at or after it). Unknown ids in the
    selection are a ConfigError."""
    unknown = [f"--contract {c}: no such contract in contracts" for c in contract_ids if c not in ws.contracts]
    unknown += [f"--customer {c}: no such customer in customers" for c in customer_ids if c not in ws.customers]
    if unknown:
        raise ConfigError(unknown)
    wanted_contracts, wanted_customers = set(contract_ids), set(customer_ids)
    chosen = [k for k in ws.contracts.values()
              if (not contract_ids and not customer_ids) or k.contract_id in wanted_contracts
              or k.customer_id in wanted_customers]
    chosen.sort(key=lambda k: k.contract_id)
    if periods_of is closing_periods:  # a pure function of the calendar fields many contracts share
        calendars: dict[tuple, list[Period]] = {}

        def periods_of(k: Contract, first: dt.date, stop: dt.date) -> list[Period]:
            key = (k.start_date, k.end_date, k.billing_period, k.anchor_day)
            found = calendars.get(key)
            if found is None:
                found = calendars[key] = closing_periods(k, first, stop)
            return found
    periods = [BilledPeriod(k, p, ws.customers[k.customer_id].timezone, ws.terms_at(k, p.start))
               for k in chosen for p in periods_of(k, first_day, stop_day)]
    periods.sort(key=lambda b: (b.period.end, b.contract.contract_id, b.period.start))
    return Scope(ws, tuple(chosen), tuple(periods), bool(contract_ids or customer_ids), until=until)


def cut(scope: Scope, shard: Shard) -> Scope:
    """The part of a run that one shard rates: the contracts and periods of the customers hashing to
    it, in the run's order, with the run's span (so outside_window, the dedup lookback and the
    weighted_sum history are the same as in the whole run)."""
    def mine(k: Contract) -> bool:
        return shard_of(k.customer_id, shard.count) == shard.index
    return Scope(scope.workspace, tuple(k for k in scope.contracts if mine(k)),
                 tuple(b for b in scope.periods if mine(b.contract)), scope.selected, shard, scope)


def _active_range(ws: Workspace, k: Contract) -> tuple[dt.datetime, dt.datetime]:
    tz = ws.customers[k.customer_id].timezone
    return instant(k.start_date, tz), instant(k.end_date, tz) if k.end_date else FOREVER


def _segments(ws: Workspace, k: Contract) -> list[tuple[dt.datetime, dt.datetime, set[str]]]:
    """The contract's active range cut where its terms change (at period starts), each piece
    with the metrics its charges use."""
    lo, hi = _active_range(ws, k)
    starts = terms_starts(k, ws.terms.change_dates(k))
    if len(starts) == 1:
        return [(lo, hi, ws.terms_at(k, k.start_date).metric_ids())]
    tz = ws.customers[k.customer_id].timezone
    bounds = [instant(d, tz) for d in starts[1:]] + [hi]
    return [(instant(d, tz) if i else lo, bounds[i], ws.terms_at(k, d).metric_ids()) for i, d in enumerate(starts)]


def _segments_table(ws: Workspace, contracts: list[Contract], segmented: bool,
                   shapes: dict[frozenset[str], int]) -> pa.Table:
    """segments_t: one row per contract's whole active range, or (segmented) per piece of it between
    changes of terms, with shape_idx = the index in `shapes` of the set of metrics in force there."""
    cols: dict[str, list] = {"customer_id": [], "contract_id": [], "active_from": [], "active_to": [],
                             "shape_idx": []}
    customer, contract, active_from, active_to, shape = cols.values()
    plain: dict[str, int] = {}  # plan_id -> the shape of its contracts whose terms never change
    for k in contracts:
        if ws.unchanging(k):
            lo, hi = _active_range(ws, k)
            s = plain.get(k.plan_id)
            if s is None:
                used = frozenset(c.metric_id for c in ws.pricebook.plans[k.plan_id].charges if c.metric_id)
                s = plain[k.plan_id] = shapes.setdefault(used, len(shapes))
            customer.append(k.customer_id)
            contract.append(k.contract_id)
            active_from.append(lo)
            active_to.append(hi)
            shape.append(s)
            continue
        if segmented:
            pieces = _segments(ws, k)
        else:
            lo, hi = _active_range(ws, k)
            pieces = [(lo, hi, ws.metric_ids_ever(k))]
        for lo, hi, used in pieces:
            customer.append(k.customer_id)
            contract.append(k.contract_id)
            active_from.append(lo)
            active_to.append(hi)
            shape.append(shapes.setdefault(frozenset(used), len(shapes)))
    return pa.table({"seq": pa.array(range(len(customer)), pa.int64()),
                     "customer_id": pa.array(customer, pa.string()), "contract_id": pa.array(contract, pa.string()),
                     "active_from": pa.array(active_from, TS), "active_to": pa.array(active_to, TS),
                     "shape_idx": pa.array(shape, pa.int32())})


def _shapes_table(ws: Workspace, shapes: dict[frozenset[str], int], metric_ids: list[str]) -> pa.Table:
    """shapes_t: per set of metrics, the event types they read (ord = sorted order), each with a
    flag m<k> per metric of the run that is in the set and reads that event type."""
    metrics = ws.pricebook.metrics
    rows: dict[str, list] = {"shape_idx": [], "ord": [], "event_type": [],
                             **{f"m{i}": [] for i in range(len(metric_ids))}}
    for used, idx in shapes.items():
        metered = {m for m in used if m in metrics}
        for ord_, et in enumerate(sorted({metrics[m].event_type for m in metered})):
            rows["shape_idx"].append(idx)
            rows["ord"].append(ord_)
            rows["event_type"].append(et)
            for i, m in enumerate(metric_ids):
                rows[f"m{i}"].append(m in metered and metrics[m].event_type == et)
    return pa.table({"shape_idx": pa.array(rows["shape_idx"], pa.int32()), "ord": pa.array(rows["ord"], pa.int32()),
                     "event_type": pa.array(rows["event_type"], pa.string()),
                     **{f"m{i}": pa.array(rows[f"m{i}"], pa.bool_()) for i in range(len(metric_ids))}})


def _ranges_table(ws: Workspace) -> pa.Table:
    """ranges_t: every contract's active range [lo, hi) as instants (sql/lookup_timeline.sql)."""
    ranges = [(k.customer_id, *_active_range(ws, k)) for k in ws.contracts.values()]
    return pa.table({"customer_id": pa.array([r[0] for r in ranges], pa.string()),
                     "lo": pa.array([r[1] for r in ranges], TS), "hi": pa.array([r[2] for r in ranges], TS)})


def lookup_tables(con: duckdb.DuckDBPyConnection, scope: Scope, metric_ids: list[str]) -> None:
    """Make in `con` the tables the event queries join: selected_customers_t, timeline_t, coverage_t
    (with m<k> flags), periods_t (period_idx = position in scope.periods) and slots_t (coverage cut
    by billed period), by DuckDB (sql/lookup_*.sql) from one row per contract (or piece of its
    terms) and per distinct set of metrics.

    With --contract or --customer only the selected contracts' customers' events are considered,
    so the customer tables hold only those customers (all of their contracts)."""
    ws = scope.workspace
    customers = {k.customer_id for k in scope.contracts} if scope.selected else set(ws.customers)
    if scope.shard is not None:
        customers = {c for c in customers if shard_of(c, scope.shard.count) == scope.shard.index}
    contracts = [k for k in sorted(ws.contracts.values(), key=lambda k: k.contract_id) if k.customer_id in customers]
    at: dict[tuple[dt.date, str], dt.datetime] = {}  # local midnights, each worked out once
    for b in scope.periods:
        for day in (b.period.start, b.period.end):
            if (day, b.timezone) not in at:
                at[day, b.timezone] = instant(day, b.timezone)
    con.register("periods_t", pa.table({
        "period_idx": pa.array(range(len(scope.periods)), pa.int32()),
        "contract_id": pa.array([b.contract.contract_id for b in scope.periods], pa.string()),
        "period_start": pa.array([b.period.start for b in scope.periods], pa.date32()),
        "start_at": pa.array([at[b.period.start, b.timezone] for b in scope.periods], TS),
        "end_at": pa.array([at[b.period.end, b.timezone] for b in scope.periods], TS),
    }))
    shapes: dict[frozenset[str], int] = {}
    segments_t = _segments_table(ws, contracts, True, shapes)
    changing = any(len(terms_starts(k, ws.terms.change_dates(k))) > 1 for k in contracts if not ws.unchanging(k))
    # without a change of terms inside a contract's life, the whole-range table is the same one
    whole_t = _segments_table(ws, contracts, False, shapes) if changing else None
    flags = "".join(f", t.m{i}" for i in range(len(metric_ids)))
    con.register("shapes_t", _shapes_table(ws, shapes, metric_ids))
    con.register("segments_t", segments_t)
    con.execute(f"CREATE OR REPLACE TEMP TABLE lookup_cov AS {sql('lookup_coverage', flags=flags)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE slots_t AS {sql('lookup_slots', flags=flags.replace('t.', 'c.'))}")
    if whole_t is not None:
        con.register("segments_t", whole_t)
        con.execute(f"CREATE OR REPLACE TEMP TABLE coverage_t AS SELECT * EXCLUDE (row_id) FROM "
                    f"({sql('lookup_coverage', flags=flags)})")
    else:
        con.execute("CREATE OR REPLACE TEMP VIEW coverage_t AS SELECT * EXCLUDE (row_id) FROM lookup_cov")
    con.register("ranges_t", _ranges_table(ws))
    con.register("customers_t", pa.table({"customer_id": pa.array(sorted(customers), pa.string())}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE timeline_t AS {sql('lookup_timeline')}",
                {"beginning": BEGINNING, "forever": FOREVER})
    if scope.shard is not None and scope.shard.files is None:
        con.register("shard_customers_t", customers_table(list(ws.customers), scope.shard))  # shards.row_filter
    con.register("selected_customers_t", pa.table({
        "customer_id": pa.array(sorted({k.customer_id for k in scope.contracts}), pa.string())}))
