"""scope: what one run bills, and the lookup tables the event queries join against.

From the workspace and the run's arguments: the selected contracts, their periods
that close in [from, to), the span [S, E) of instants those periods cover, and the
small Arrow tables (customers, coverage, active contracts, periods) DuckDB joins
events with. A shard of a distributed run (`cut`) is the same with fewer customers.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from ..config.terms import Terms
from ..config.workspace import Contract, Workspace
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

    @property
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


def _merged_active_ranges(ws: Workspace) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """When each customer has some contract: disjoint ranges, so a range join matches at most once."""
    ranges = sorted((k.customer_id, *_active_range(ws, k)) for k in ws.contracts.values())
    merged: list[tuple[str, dt.datetime, dt.datetime]] = []
    for customer, lo, hi in ranges:
        if merged and merged[-1][0] == customer and lo <= merged[-1][2]:
            merged[-1] = (customer, merged[-1][1], max(hi, merged[-1][2]))
        else:
            merged.append((customer, lo, hi))
    return merged


def _timeline(ws: Workspace, customers: set[str]) -> pa.Table:
    """timeline_t: every known customer's whole time line as disjoint ranges, `active` when some
    contract of theirs is: one range join answers both "known customer?" and "active contract?"."""
    rows: list[tuple[str, dt.datetime, dt.datetime, bool]] = []
    active: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    for customer, lo, hi in _merged_active_ranges(ws):
        active.setdefault(customer, []).append((lo, hi))
    for customer in sorted(customers):
        cur = BEGINNING
        for lo, hi in active.get(customer, []):
            if lo > cur:
                rows.append((customer, cur, lo, False))
            rows.append((customer, lo, hi, True))
            cur = hi
        if cur < FOREVER:
            rows.append((customer, cur, FOREVER, False))
    return pa.table({"customer_id": pa.array([r[0] for r in rows], pa.string()),
                     "range_from": pa.array([r[1] for r in rows], TS),
                     "range_to": pa.array([r[2] for r in rows], TS),
                     "active": pa.array([r[3] for r in rows], pa.bool_())})


def _slots(coverage_t: pa.Table, coverage: dict[str, list], periods: tuple[BilledPeriod, ...]) -> pa.Table:
    """slots_t: coverage_t cut at the billed periods' bounds, each piece with its period_idx (null
    between billed periods): one range join gives an event its contract, metric flags and period.
    `coverage` holds coverage_t's columns as Python lists (cheaper than reading them back)."""
    by_contract: dict[str, list[tuple[dt.datetime, dt.datetime, int]]] = {}
    for i, b in enumerate(periods):
        by_contract.setdefault(b.contract.contract_id, []).append((b.start_at, b.end_at, i))
    for ranges in by_contract.values():
        ranges.sort()
    take, starts, ends, idx = [], [], [], []
    rows = zip(coverage["contract_id"], coverage["active_from"], coverage["active_to"])
    for row, (contract_id, cur, hi) in enumerate(rows):
        for start, end, i in by_contract.get(contract_id, ()):
            if end <= cur or start >= hi:  # a billed period outside this piece of the contract's terms
                continue
            if start > cur:
                take.append(row), starts.append(cur), ends.append(start), idx.append(None)
            take.append(row), starts.append(start), ends.append(end), idx.append(i)
            cur = end
        if cur < hi:
            take.append(row), starts.append(cur), ends.append(hi), idx.append(None)
    pieces = coverage_t.take(pa.array(take, pa.int64()))
    pieces = pieces.set_column(pieces.schema.get_field_index("active_from"), "active_from", pa.array(starts, TS))
    pieces = pieces.set_column(pieces.schema.get_field_index("active_to"), "active_to", pa.array(ends, TS))
    return pieces.append_column("period_idx", pa.array(idx, pa.int32()))


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


def _coverage(ws: Workspace, contracts: list[Contract], metric_ids: list[str],
              segmented: bool) -> tuple[pa.Table, dict[str, list]]:
    """coverage_t: which contract meters an event type when, with a flag m<k> per metric: one row
    per contract and event type over its whole active range, flagged with every metric its terms
    ever use (weighted_sum history); segmented, one row per piece of terms (the classification).
    Also its columns as Python lists.

    The event types and flags of a set of metrics are worked out once per distinct set (contracts
    of a plan share it) and taken for every contract's rows by index, in Arrow."""
    metrics = ws.pricebook.metrics
    coverage: dict[str, list] = {"customer_id": [], "event_type": [], "contract_id": [], "active_from": [],
                                 "active_to": []}
    shapes: dict[frozenset[str], tuple[list[str], list[int]]] = {}  # metrics -> (event types, template rows)
    template_types: list[str] = []
    template_flags: list[list[bool]] = [[] for _ in metric_ids]
    take: list[int] = []
    customer, event_type, contract, active_from, active_to = coverage.values()
    for k in contracts:
        if segmented:
            pieces = _segments(ws, k)
        else:
            lo, hi = _active_range(ws, k)
            pieces = [(lo, hi, ws.metric_ids_ever(k))]
        for lo, hi, used in pieces:
            key = frozenset(used)
            shape = shapes.get(key)
            if shape is None:
                metered = {m for m in used if m in metrics}
                types = sorted({metrics[m].event_type for m in metered})
                rows = []
                for et in types:
                    rows.append(len(template_types))
                    template_types.append(et)
                    for f, m in zip(template_flags, metric_ids):
                        f.append(m in metered and metrics[m].event_type == et)
                shape = shapes[key] = (types, rows)
            types, rows = shape
            n = len(types)
            customer.extend([k.customer_id] * n)
            event_type.extend(types)
            contract.extend([k.contract_id] * n)
            active_from.extend([lo] * n)
            active_to.extend([hi] * n)
            take.extend(rows)
    index = pa.array(take, pa.int64())
    flags = {f"m{i}": pa.array(f, pa.bool_()).take(index) for i, f in enumerate(template_flags)}
    table = pa.table({"customer_id": pa.array(customer, pa.string()), "event_type": pa.array(event_type, pa.string()),
                      "contract_id": pa.array(contract, pa.string()), "active_from": pa.array(active_from, TS),
                      "active_to": pa.array(active_to, TS), **flags})
    return table, coverage


def lookup_tables(scope: Scope, metric_ids: list[str]) -> dict[str, pa.Table]:
    """selected_customers_t, timeline_t, coverage_t (with m<k> flags), periods_t (period_idx =
    position in scope.periods) and slots_t (coverage cut by billed period).

    With --contract or --customer only the selected contracts' customers' events are considered,
    so the customer tables hold only those customers (all of their contracts)."""
    ws = scope.workspace
    customers = {k.customer_id for k in scope.contracts} if scope.selected else set(ws.customers)
    if scope.shard is not None:
        customers = {c for c in customers if shard_of(c, scope.shard.count) == scope.shard.index}
    contracts = [k for k in sorted(ws.contracts.values(), key=lambda k: k.contract_id) if k.customer_id in customers]
    segments_t, segments = _coverage(ws, contracts, metric_ids, segmented=True)
    changing = any(len(terms_starts(k, ws.terms.change_dates(k))) > 1 for k in contracts)
    # without a change of terms inside a contract's life, the whole-range table is the same one
    coverage_t = _coverage(ws, contracts, metric_ids, segmented=False)[0] if changing else segments_t
    periods_t = pa.table({
        "period_idx": pa.array(range(len(scope.periods)), pa.int32()),
        "contract_id": pa.array([b.contract.contract_id for b in scope.periods], pa.string()),
        "period_start": pa.array([b.period.start for b in scope.periods], pa.date32()),
        "start_at": pa.array([b.start_at for b in scope.periods], TS),
        "end_at": pa.array([b.end_at for b in scope.periods], TS),
    })
    shard = {} if scope.shard is None or scope.shard.files is not None else {
        "shard_customers_t": customers_table(list(ws.customers), scope.shard)}  # shards.row_filter
    return {
        **shard,
        "selected_customers_t": pa.table({"customer_id": pa.array(sorted({k.customer_id for k in scope.contracts}),
                                                                  pa.string())}),
        "timeline_t": _timeline(ws, customers),
        "coverage_t": coverage_t,
        "periods_t": periods_t,
        "slots_t": _slots(segments_t, segments, scope.periods),
    }
