"""scope: what one run bills, and the lookup tables the event queries join against.

From the workspace and the run's arguments: the selected contracts, their periods
that close in [from, to), the span [S, E) of instants those periods cover, and the
small Arrow tables (customers, coverage, active contracts, periods) DuckDB joins
events with. A shard of a distributed run (`cut`) is the same with fewer customers.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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


@dataclass(frozen=True, eq=False)  # index arrays: compared (and hashed) by identity
class Billed:
    """The billed periods as columns, in the run's order (row = period_idx): each row's contract (an
    index into Scope.contracts), period (into `calendar`, the distinct Period objects: contracts of
    one calendar share them) and terms (into `terms`, the distinct terms in force)."""

    contract: np.ndarray  # int64
    period: np.ndarray  # int64
    terms_idx: np.ndarray  # int64
    calendar: tuple[Period, ...]
    terms: tuple[Terms, ...]

    def __len__(self) -> int:
        return len(self.contract)

    def rows(self, mask: np.ndarray, contract: np.ndarray) -> Billed:
        """The rows where mask holds, with their contracts renumbered by `contract` (old -> new index)."""
        return Billed(contract[self.contract[mask]], self.period[mask], self.terms_idx[mask], self.calendar,
                      self.terms)


@dataclass(frozen=True, eq=False)  # holds index arrays: compared (and hashed) by identity
class Scope:
    workspace: Workspace
    contracts: tuple[Contract, ...]  # selected, sorted by id
    billed: Billed  # the billed periods, sorted by (period_end, contract_id, period_start)
    zones: tuple[str, ...]  # the time zones of the contracts' customers
    zone_idx: np.ndarray  # per contract: its customer's zone (an index into zones)
    selected: bool  # --contract or --customer given
    shard: Shard | None = None  # a shard of a distributed run: only the customers hashing to it
    whole: Scope | None = None  # the run a shard is cut from: its span bounds every event read
    until: dt.datetime | None = None  # preview: events at or after this instant are not read

    @cached_property
    def periods(self) -> tuple[BilledPeriod, ...]:
        """The billed periods as objects (explain, preview, build_invoice); a run reads the columns."""
        return tuple(self.period_at(i) for i in range(len(self.billed)))

    def period_at(self, i: int) -> BilledPeriod:
        b = self.billed
        k = int(b.contract[i])
        return BilledPeriod(self.contracts[k], b.calendar[b.period[i]], self.zones[self.zone_idx[k]],
                            b.terms[b.terms_idx[i]])

    @cached_property
    def contract_ids(self) -> pa.Array:
        """Each billed period's contract_id."""
        ids = pa.array([k.contract_id for k in self.contracts], pa.string())
        return ids.take(pa.array(self.billed.contract))

    def days(self, name: str) -> pa.Array:
        """Each billed period's `name` date (start, end, full_start, full_end) as date32."""
        values = pa.array([getattr(p, name) for p in self.billed.calendar], pa.date32())
        return values.take(pa.array(self.billed.period))

    @cached_property
    def _zone_pairs(self) -> tuple[list[tuple[Period, str]], pa.Array]:
        """The distinct (period, zone) of the billed periods, and each billed period's among them."""
        b = self.billed
        zone = self.zone_idx[b.contract]
        nz = max(len(self.zones), 1)
        pairs, inverse = np.unique(b.period * nz + zone, return_inverse=True)
        return ([(b.calendar[x // nz], self.zones[x % nz]) for x in pairs.tolist()],
                pa.array(inverse.astype(np.int64)))

    def _per_zone(self, value) -> tuple[list, pa.Array]:
        """value(period, zone) for each billed period, worked out once per distinct (period, zone)."""
        pairs, at = self._zone_pairs
        return [value(p, z) for p, z in pairs], at

    @cached_property
    def start_at(self) -> pa.Array:
        values, at = self._per_zone(lambda p, tz: instant(p.start, tz))
        return pa.array(values, TS).take(at)

    @cached_property
    def end_at(self) -> pa.Array:
        values, at = self._per_zone(lambda p, tz: instant(p.end, tz))
        return pa.array(values, TS).take(at)

    @cached_property
    def full_seconds_us(self) -> pa.Array:
        """Each billed period's full period length in microseconds (as BilledPeriod.full_seconds_us)."""
        values, at = self._per_zone(
            lambda p, tz: (instant(p.full_end, tz) - instant(p.full_start, tz)) // dt.timedelta(microseconds=1))
        return pa.array(values, pa.int64()).take(at)

    @cached_property  # read by several stages; the periods do not change
    def span(self) -> tuple[dt.datetime, dt.datetime] | None:
        if self.whole is not None:
            return self.whole.span
        if not len(self.billed):
            return None
        end = pc.max(self.end_at).as_py().astimezone(dt.UTC)
        start = pc.min(self.start_at).as_py().astimezone(dt.UTC)
        return start, end if self.until is None else min(end, self.until)


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
    found = _periods_of_each(chosen, periods_of, first_day, stop_day)
    lens = np.fromiter(map(len, found), np.int64, len(found))
    # each distinct list of periods (contracts of one calendar share theirs) placed once in the calendar,
    # in order of first appearance among the contracts that have periods
    calendar: list[Period] = []
    placed: dict[int, int] = {}  # id(a list of periods) -> where it starts in calendar (`found` keeps them alive)
    for periods in {id(f): f for f in found if f}.values():
        placed[id(periods)] = len(calendar)
        calendar.extend(periods)
    at = np.fromiter((placed.get(id(f), 0) for f in found), np.int64, len(found))
    contract = np.repeat(np.arange(len(chosen), dtype=np.int64), lens)
    nth = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)  # within its contract
    period = np.repeat(at, lens) + nth
    # the terms: one per (plan, discount, commitment) of the contracts whose terms never change, one per
    # period of the others, numbered in contract order
    plain_keys = [(k.plan_id, str(k.discount_percent), str(k.minimum_commitment))  # as written: 10 is not 10.0
                  if plain else None for k, plain in zip(chosen, ws.unchanging_each(chosen))]
    terms: list[Terms] = []
    plain: dict[tuple, int] = {}
    base, step = [0] * len(chosen), [0] * len(chosen)  # a contract's first terms, and 1 when one per period
    for ci in np.flatnonzero(lens).tolist():
        key = plain_keys[ci]
        if key is None:
            base[ci], step[ci] = len(terms), 1
            terms.extend(ws.terms_at(chosen[ci], p.start) for p in found[ci])
            continue
        t = plain.get(key)
        if t is None:
            t = plain[key] = len(terms)
            terms.append(ws.terms_at(chosen[ci], found[ci][0].start))
        base[ci] = t
    row_terms = np.repeat(np.array(base, np.int64), lens) + np.repeat(np.array(step, np.int64), lens) * nth
    ordinal = np.array([p.end.toordinal() for p in calendar] or [0], np.int64)
    first = np.array([p.start.toordinal() for p in calendar] or [0], np.int64)
    order = np.lexsort((first[period], contract, ordinal[period]))  # (period.end, contract_id, period.start)
    billed = Billed(contract[order], period[order], row_terms[order], tuple(calendar),
                    tuple(terms))
    zone_names, zone_idx = _zones_of(ws, chosen)
    return Scope(ws, tuple(chosen), billed, zone_names, zone_idx, bool(contract_ids or customer_ids), until=until)


def _periods_of_each(contracts: list[Contract], periods_of: Callable, first: dt.date,
                     stop: dt.date) -> list[list[Period]]:
    """Each contract's periods; by closing_periods (the default), a pure function of the calendar fields
    many contracts share, once per distinct (start, end, billing period, anchor day), and contracts
    of one calendar share one list."""
    if periods_of is not closing_periods:
        return [periods_of(k, first, stop) for k in contracts]
    keys = [(k.start_date, k.end_date, k.billing_period, k.anchor_day) for k in contracts]
    one_of = dict(zip(keys, contracts))  # a contract of each calendar
    calendars = {key: closing_periods(k, first, stop) for key, k in one_of.items()}
    return list(map(calendars.__getitem__, keys))


def _zones_of(ws: Workspace, contracts: list[Contract]) -> tuple[tuple[str, ...], np.ndarray]:
    """The distinct time zones of the contracts' customers, and each contract's."""
    customers = ws.customers
    zones = [customers[k.customer_id].timezone for k in contracts]
    index = {z: i for i, z in enumerate(dict.fromkeys(zones))}  # numbered in order of first appearance
    return tuple(index), np.fromiter(map(index.__getitem__, zones), np.int64, len(zones))


def cut(scope: Scope, shard: Shard) -> Scope:
    """The part of a run that one shard rates: the contracts and periods of the customers hashing to
    it, in the run's order, with the run's span (so outside_window, the dedup lookback and the
    weighted_sum history are the same as in the whole run)."""
    mine = np.array([shard_of(k.customer_id, shard.count) == shard.index for k in scope.contracts], bool)
    renumber = np.cumsum(mine) - 1
    billed = scope.billed.rows(mine[scope.billed.contract], renumber)
    return Scope(scope.workspace, tuple(k for k, m in zip(scope.contracts, mine) if m), billed, scope.zones,
                 scope.zone_idx[mine], scope.selected, shard, scope)


def _active_range(ws: Workspace, k: Contract) -> tuple[dt.datetime, dt.datetime]:
    tz = ws.customers[k.customer_id].timezone
    return instant(k.start_date, tz), instant(k.end_date, tz) if k.end_date else FOREVER


def _active_ranges(ws: Workspace, contracts: list[Contract],
                   zones: tuple[tuple[str, ...], np.ndarray] | None = None) -> tuple[pa.Array, pa.Array]:
    """Every contract's active range [lo, hi) as instants (as _active_range), each distinct (day, zone)
    worked out once (zones: the contracts' zones as _zones_of gives them, when known)."""
    names, zone = zones or _zones_of(ws, contracts)
    start = np.array([k.start_date.toordinal() for k in contracts], np.int64)
    end = np.array([k.end_date.toordinal() if k.end_date else 0 for k in contracts], np.int64)  # 0: no end

    def midnights(days: np.ndarray) -> pa.Array:
        nz = max(len(names), 1)
        pairs, inverse = np.unique(days * nz + zone, return_inverse=True)
        values = [FOREVER if int(x) // nz == 0 else instant(dt.date.fromordinal(int(x) // nz), names[int(x) % nz])
                  for x in pairs]
        return pa.array(values, TS).take(pa.array(inverse.reshape(-1)))
    return midnights(start), midnights(end)


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
                   shapes: dict[frozenset[str], int], ranges: tuple[pa.Array, pa.Array, pa.Array]) -> pa.Table:
    """segments_t: one row per contract's whole active range, or (segmented) per piece of it between
    changes of terms, with shape_idx = the index in `shapes` of the set of metrics in force there.
    Contracts whose terms never change (no plan version, no contract entry) are one row each, taken
    as columns; the others are cut piece by piece."""
    plans, entries = ws.pricebook.plans, ws.terms.entries
    plan_of = [k.plan_id for k in contracts]
    plain_shape = {}  # plan_id -> the shape of its contracts whose terms never change
    for pid in dict.fromkeys(plan_of):
        used = frozenset(c.metric_id for c in plans[pid].charges if c.metric_id)
        plain_shape[pid] = shapes.setdefault(used, len(shapes))
    if any(plans[pid].versions for pid in plain_shape) or entries:
        changing = np.array([bool(plans[pid].versions) or k.contract_id in entries
                             for pid, k in zip(plan_of, contracts)] or [False], bool)[:len(contracts)]
    else:  # no plan version and no contract entry: no contract's terms change
        changing = np.zeros(len(contracts), bool)
    customers, lo, hi = ranges
    plain = pa.array(~changing)
    position = [np.flatnonzero(~changing)]
    customer = [customers.filter(plain)]
    contract = [pa.array([k.contract_id for k in contracts], pa.string()).filter(plain)]
    active_from, active_to = [lo.filter(plain)], [hi.filter(plain)]
    shape = [pa.array(np.array([plain_shape[p] for p in plan_of] or [0], np.int32)[:len(contracts)]).filter(plain)]
    cut: dict[str, list] = {"position": [], "customer": [], "contract": [], "from": [], "to": [], "shape": []}
    for i in np.flatnonzero(changing):  # cut where the terms change, each piece after the one before it
        k = contracts[i]
        pieces = _segments(ws, k) if segmented else [(*_active_range(ws, k), ws.metric_ids_ever(k))]
        for lo_i, hi_i, used in pieces:
            cut["position"].append(i)
            cut["customer"].append(k.customer_id)
            cut["contract"].append(k.contract_id)
            cut["from"].append(lo_i)
            cut["to"].append(hi_i)
            cut["shape"].append(shapes.setdefault(frozenset(used), len(shapes)))
    position.append(np.array(cut["position"], np.int64))
    customer.append(pa.array(cut["customer"], pa.string()))
    contract.append(pa.array(cut["contract"], pa.string()))
    active_from.append(pa.array(cut["from"], TS))
    active_to.append(pa.array(cut["to"], TS))
    shape.append(pa.array(cut["shape"], pa.int32()))
    order = pa.array(np.argsort(np.concatenate(position), kind="stable"))  # contract order, pieces in order
    columns = {name: pa.concat_arrays(parts).take(order) for name, parts in (
        ("customer_id", customer), ("contract_id", contract), ("active_from", active_from),
        ("active_to", active_to), ("shape_idx", shape))}
    return pa.table({"seq": pa.array(range(len(order)), pa.int64()), **columns})


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


def _ranges(ws: Workspace, contracts: list[Contract],
            zones: tuple[tuple[str, ...], np.ndarray] | None = None) -> tuple[pa.Array, pa.Array, pa.Array]:
    """The contracts' customer ids and active ranges [lo, hi) as instants: ranges_t
    (sql/lookup_timeline.sql), and the segments' bounds."""
    lo, hi = _active_ranges(ws, contracts, zones)
    return pa.array([k.customer_id for k in contracts], pa.string()), lo, hi


def lookup_tables(con: duckdb.DuckDBPyConnection, scope: Scope, metric_ids: list[str]) -> None:
    """Make in `con` the tables the event queries join: selected_customers_t, timeline_t, coverage_t
    (with m<k> flags), periods_t (period_idx = position in scope.periods) and slots_t (coverage cut
    by billed period), by DuckDB (sql/lookup_*.sql) from one row per contract (or piece of its
    terms) and per distinct set of metrics.

    With --contract or --customer only the selected contracts' customers' events are considered,
    so the customer tables hold only those customers (all of their contracts)."""
    ws = scope.workspace
    if scope.selected or scope.shard is not None:
        customers = {k.customer_id for k in scope.contracts} if scope.selected else set(ws.customers)
        if scope.shard is not None:
            customers = {c for c in customers if shard_of(c, scope.shard.count) == scope.shard.index}
        contracts = [k for k in sorted(ws.contracts.values(), key=lambda k: k.contract_id)
                     if k.customer_id in customers]
        zones = None
    else:  # every customer and every contract: the scope's own contracts (sorted by id) and zones
        customers, contracts, zones = ws.customers.keys(), list(scope.contracts), (scope.zones, scope.zone_idx)
    con.register("periods_t", pa.table({
        "period_idx": pa.array(range(len(scope.billed)), pa.int32()),
        "contract_id": scope.contract_ids,
        "period_start": scope.days("start"),
        "start_at": scope.start_at,
        "end_at": scope.end_at,
    }))
    shapes: dict[frozenset[str], int] = {}
    ranges = _ranges(ws, contracts, zones)  # of the considered customers' contracts: the timeline reads no other
    segments_t = _segments_table(ws, contracts, True, shapes, ranges)
    versioned = ws.versioned_plans
    changing = bool(versioned or ws.terms.entries) and any(
        len(terms_starts(k, ws.terms.change_dates(k))) > 1 for k in contracts
        if k.plan_id in versioned or k.contract_id in ws.terms.entries)
    # without a change of terms inside a contract's life, the whole-range table is the same one
    whole_t = _segments_table(ws, contracts, False, shapes, ranges) if changing else None
    flags = "".join(f", t.m{i}" for i in range(len(metric_ids)))
    con.register("shapes_t", _shapes_table(ws, shapes, metric_ids))
    con.register("segments_t", segments_t)
    con.execute(f"CREATE OR REPLACE TEMP TABLE slots_t AS {sql('lookup_slots', flags=flags)}")
    if whole_t is not None:
        con.register("segments_t", whole_t)
    con.execute(f"CREATE OR REPLACE TEMP TABLE coverage_t AS {sql('lookup_coverage', flags=flags)}")
    con.register("ranges_t", pa.table(dict(zip(("customer_id", "lo", "hi"), ranges))))
    con.register("customers_t", pa.table({"customer_id": pa.array(list(customers), pa.string())}))  # a set: any order
    con.execute(f"CREATE OR REPLACE TEMP TABLE timeline_t AS {sql('lookup_timeline')}",
                {"beginning": BEGINNING, "forever": FOREVER})
    if scope.shard is not None and scope.shard.files is None:
        con.register("shard_customers_t", customers_table(list(ws.customers), scope.shard))  # shards.row_filter
    con.register("selected_customers_t", selected_customers(scope))


def selected_customers(scope: Scope) -> pa.Table:
    """selected_customers_t: the customers of the scope's contracts, a set in order of first appearance."""
    return pa.table({"customer_id": pc.unique(pa.array([k.customer_id for k in scope.contracts], pa.string()))})


LOOKUP_TABLES = ("slots_t", "coverage_t", "timeline_t")


def drop_lookup_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Free the lookup tables once the event queries have run (at 500k contracts they hold ~1 GB of
    the connection's memory, which assembling the invoices then needs)."""
    for name in LOOKUP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {name}")
