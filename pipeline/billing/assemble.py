"""assemble: a run's invoices, lines and usage as columns (the batch form of invoice.py).

Which lines each invoice has, their order and numbers, the sums they total to and the output
tables are DuckDB queries over the whole run at once (sql/assemble_*.sql). The pricing rules are
not written here: the usage lines' charge models are priced by their queries (pipeline/rate/columns.py,
sql/price_<model>.sql, each held to its model's price() by tests/test_price_columns.py), and by
price() what DECIMAL(38) cannot hold; the other rules (flat charges, floors.py, discount.py,
one_time.py, the totals) are their functions in pipeline/rate/ and pipeline/core/money.py, called
once per *distinct* set of figures (charge, proration, currency digits, quantity, ...) rather than
once per line. Either way the results are joined back: a run of 828k invoices and 4.4M usage lines
prices about 127k distinct usage rows. `build_invoice` (invoice.py) builds the same invoice as
Python objects for explain and preview; tests/test_assemble.py pins that both give the same tables.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import rate
from ..config.pricebook import Charge
from ..core.db import fetch_table, sql, stream_table
from ..core.errors import InputDataError
from ..core.money import EXACT, round_money, round_quantity, show_quantity
from ..rate import columns, floors
from ..rate import one_time as one_time_rule
from . import emit
from .invoice import group_key, one_time_in, totals
from .meter import MetricSql, weighted_quantity
from .scope import Scope

DEC9 = pa.decimal128(38, 9)
UNMETERED = -1  # pragma: no mutate - the metric_idx of a metric the run does not meter: only has to join no row


@dataclass
class Assembled:
    invoices: pa.Table
    lines: pa.Table
    usage: pa.Table


@dataclass
class _Keys:
    """The run's distinct charge lists, charges, contract floors (discount_percent, minimum_commitment),
    proration factors and tax rules, by index."""

    charge_lists: list[tuple[Charge, ...]]
    deals: list[tuple[Decimal, Decimal | None]]
    charges: list[Charge]
    factors: list[Fraction]
    taxes: list[tuple[Decimal, str, str]]


def _indexed(values: list, keys: list | None = None) -> tuple[list[int], list]:
    """Each value's index among the distinct values (by `keys` when given, e.g. object ids), and
    the distinct values in order of first appearance."""
    index: dict = {}
    firsts: list = []
    out = []
    for value, key in zip(values, keys if keys is not None else values):
        i = index.get(key)
        if i is None:
            i = index[key] = len(firsts)
            firsts.append(value)
        out.append(i)
    return out, firsts


def _first_seen(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's index among the distinct codes in order of first appearance, and those codes."""
    distinct, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return rank[inverse.reshape(-1)], distinct[order]


def _inv_table(scope: Scope) -> tuple[pa.Table, _Keys, list, pa.Table]:
    """inv_t: one row per billed period (period_idx = its row in scope.billed), with the indices of
    its charge list, discount and commitment, proration factor and tax rule (each numbered in order of
    first appearance); the one-time charges of each period; plan_t (currency and digits per plan)."""
    ws = scope.workspace
    billed = scope.billed
    # each key numbered in order of first appearance among the periods, as one loop over them would
    t_rank, t_order = _first_seen(billed.terms_idx)
    p_rank, p_order = _first_seen(billed.period)
    c_rank, c_order = _first_seen(billed.contract)
    terms = [billed.terms[i] for i in t_order]
    list_code, lists = _indexed([t.charges for t in terms], [id(t.charges) for t in terms])
    deal_code, deals = _indexed([(t.discount_percent, t.minimum_commitment) for t in terms])
    day_code, days = _indexed([((p.end - p.start).days, (p.full_end - p.full_start).days)
                               for p in (billed.calendar[i] for i in p_order)])
    # per contract (in scope.contracts order), in one pass: its customer, plan and payment terms, and
    # the index of its customer's tax situation (country, tax_id, exempt) among the distinct ones
    customers = ws.customers
    customer_ids = [k.customer_id for k in scope.contracts]
    plan_ids = [k.plan_id for k in scope.contracts]
    theirs = list(map(customers.__getitem__, customer_ids))
    pay = [c.payment_terms_days for c in theirs]
    tax_keys = [(c.country, c.tax_id, c.tax_exempt) for c in theirs]
    situations = {key: i for i, key in enumerate(dict.fromkeys(tax_keys))}  # numbered in order of first appearance
    situation = np.fromiter(map(situations.__getitem__, tax_keys), np.int64, len(tax_keys))
    # each situation's rule (every customer's country has a rate: load_workspace holds it), the rules
    # numbered in order of first appearance among the billed contracts (c_order)
    rule_of, rules = _indexed([(r.percent, r.note, r.name) for r in (ws.tax_for(*key) for key in situations)])
    tax_code, rule_order = _first_seen(np.array(rule_of, np.int64)[situation[c_order]])
    taxes = [rules[j] for j in rule_order.tolist()]
    keys = _Keys(lists, deals, [], [Fraction(*d) for d in days], taxes)
    at = lambda code, rank: np.array(code, np.int32)[rank] if len(rank) else np.zeros(0, np.int32)  # noqa: E731
    list_idx, deal_idx = at(list_code, t_rank), at(deal_code, t_rank)
    factor_idx, tax_idx = at(day_code, p_rank), at(tax_code, c_rank)
    one_time = []  # (period, its one-time charges) of the periods of contracts that have any
    if ws.one_time and len(billed):
        owners = np.array([k.contract_id in ws.one_time for k in scope.contracts], bool)
        one_time = [(int(i), one_time_in(ws, scope.period_at(int(i)))) for i in np.flatnonzero(owners[billed.contract])]
    contract = pa.array(billed.contract)
    starts = scope.days("start")
    int32 = pa.int32()
    table = pa.table({
        "period_idx": pa.array(range(len(billed)), int32),
        "contract_id": scope.contract_ids,
        "customer_id": pa.array(customer_ids, pa.string()).take(contract),
        "plan_id": pa.array(plan_ids, pa.string()).take(contract),
        "period_start": starts,
        "period_end": scope.days("end"),
        "list_idx": pa.array(list_idx), "deal_idx": pa.array(deal_idx),
        "factor_idx": pa.array(factor_idx), "tax_idx": pa.array(tax_idx),
        "payment_terms_days": pa.array(pay, int32).take(contract),
    })
    plans = ws.pricebook.plans
    plan_ids = sorted(plans)
    plan_t = pa.table({"plan_id": plan_ids, "currency": [plans[p].currency for p in plan_ids],
                       "digits": pa.array([plans[p].digits for p in plan_ids], int32)})
    return table, keys, one_time, plan_t


def _charge_table(keys: _Keys, ms: MetricSql, metrics: dict) -> pa.Table:
    """charge_t: the charges of every charge list in force (list_idx), pos = place in its list;
    charge_key indexes keys.charges (a charge shared by lists is priced once)."""
    metric_idx = {m.id: k for k, m in enumerate(ms.metrics)}
    charge_of: dict[int, int] = {}
    rows = []
    for t, charges in enumerate(keys.charge_lists):
        for pos, c in enumerate(charges):
            key = charge_of.get(id(c))
            if key is None:
                key = charge_of[id(c)] = len(keys.charges)
                keys.charges.append(c)
            metric = metrics.get(c.metric_id) if c.metric_id else None
            rows.append({"list_idx": t, "pos": pos, "charge_key": key, "charge_id": c.id,
                         "metric_idx": None if c.metric_id is None else metric_idx.get(c.metric_id, UNMETERED),
                         "grouped": bool(metric and metric.group_by), "has_min": c.min_amount is not None})
    schema = pa.schema([("list_idx", pa.int32()), ("pos", pa.int32()), ("charge_key", pa.int32()),
                        ("charge_id", pa.string()), ("metric_idx", pa.int32()), ("grouped", pa.bool_()),
                        ("has_min", pa.bool_())])
    return pa.Table.from_pylist(rows, schema=schema)


def _usage_t(scope: Scope, usage: pa.Table, weighted: pa.Table, ms: MetricSql) -> pa.Table:
    """usage_t: metered quantity per (period, metric, group): the usage query's rows and the
    weighted_sum metrics' levels turned into quantities (meter.weighted_quantity)."""
    cols = ["period_idx", "metric_idx", "group_values", "quantity", "events"]
    parts = [usage.select(cols).cast(pa.schema([("period_idx", pa.int32()), ("metric_idx", pa.int32()),
                                                ("group_values", pa.list_(pa.string())), ("quantity", DEC9),
                                                ("events", pa.int64())]))] if usage.num_rows else []
    if weighted.num_rows:
        rows = [r for r in weighted.to_pylist()
                if not (r["events"] == 0 and r["opening"] == 0 and ms.metrics[r["metric_idx"]].group_by)]
        full = scope.full_seconds_us.take(pa.array([r["period_idx"] for r in rows], pa.int64())).to_pylist()
        q = [weighted_quantity(r["level_us"], f) for r, f in zip(rows, full)]
        parts.append(pa.table({"period_idx": pa.array([r["period_idx"] for r in rows], pa.int32()),
                               "metric_idx": pa.array([r["metric_idx"] for r in rows], pa.int32()),
                               "group_values": pa.array([r["group_values"] for r in rows], pa.list_(pa.string())),
                               "quantity": pa.array(q, DEC9), "events": pa.array([r["events"] for r in rows],
                                                                                  pa.int64())}))
    if not parts:
        return pa.table({"period_idx": pa.array([], pa.int32()), "metric_idx": pa.array([], pa.int32()),
                         "group_values": pa.array([], pa.list_(pa.string())), "quantity": pa.array([], DEC9),
                         "events": pa.array([], pa.int64())})
    return pa.concat_tables(parts)


def _event_amount_t(percentage: pa.Table, pct_charges: list[str]) -> pa.Table:
    if not percentage.num_rows:
        return pa.table({"period_idx": pa.array([], pa.int32()), "charge_id": pa.array([], pa.string()),
                         "group_values": pa.array([], pa.list_(pa.string())),
                         # an empty column (no percentage charge billed): no value, NULL event_amount when joined
                         "event_amount": pa.array([], pa.decimal128(38, 12))})  # pragma: no mutate
    charge_ids = pa.array(pct_charges, pa.string())
    return pa.table({"period_idx": pc.cast(percentage["period_idx"], pa.int32()),
                     "charge_id": pc.take(charge_ids, percentage["charge_idx"]),
                     "group_values": percentage["group_values"], "event_amount": percentage["event_amount"]})


def _decimal(values: list, kind: pa.DataType, what: str, where) -> pa.Array:
    """Decimal values as an output column; one too large for it is an input error naming where it is
    (where(i): 'invoice_id ..., contract_id ..., charge_id ...' of the first invoice holding value i)."""
    try:
        return pa.array(values, kind)
    except (pa.ArrowInvalid, OverflowError):
        limit = Decimal(10) ** (kind.precision - kind.scale)
        i = next((i for i, v in enumerate(values) if v is not None and abs(v) >= limit), None)
        if i is None:
            raise
        raise InputDataError(
            f"{where(i)}: {what} {values[i]} does not fit the outputs' DECIMAL({kind.precision}, {kind.scale}) "
            f"(below 10^{kind.precision - kind.scale}); check the events' values and the prices that produce it"
        ) from None


class _Where:
    """Names the first invoice a distinct set of figures belongs to, for error messages."""

    def __init__(self, inv: pa.Table, keys: _Keys):
        self.inv, self.keys = inv, keys

    def __call__(self, first_period: int, charge_key: int | None = None) -> str:
        row = self.inv.slice(first_period, 1).to_pylist()[0]  # pragma: no mutate - [0] is that row for any length
        text = f"invoice_id {row['invoice_id']}, contract_id {row['contract_id']}"
        return text + (f", charge_id {self.keys.charges[charge_key].id}" if charge_key is not None else "")


def _at_12_places(prices: list) -> list:
    """Unit prices at the output's 12 places (pricebook.yaml and one_time_charges refuse more, so no price
    is rounded here)."""
    return [emit.quantize(p, 12) for p in prices]  # pragma: no mutate - prices have at most 12 places


def _distinct(con: duckdb.DuckDBPyConnection, keys: str, source: str) -> pa.Table:
    return fetch_table(con, sql("assemble_distinct", keys=keys, source=source))


def _priced(distinct: pa.Table, drop: list[str], columns: dict[str, pa.Array]) -> pa.Table:
    out = distinct.drop_columns(drop)
    for name, values in columns.items():
        out = out.append_column(name, values)
    return out


def _usage_prices(con: duckdb.DuckDBPyConnection, keys: _Keys, metrics: dict, where: _Where
                  ) -> tuple[pa.Table, pa.Table]:
    """usage_price_t (each distinct (charge, factor, digits, quantity, event_amount) priced once by
    its charge model) and group_key_t (each distinct group of a charge's metric, as its group_key)."""
    distinct = _distinct(con, "charge_key, factor_idx, digits, quantity, event_amount, events",
                         "raw_lines WHERE kind = 'usage'")
    try:  # by the models' queries; what DECIMAL(38) cannot hold, by their price() functions
        priced = columns.price_rows(con, distinct, *_usage_charges(distinct, keys, metrics))
        priced_t = _priced(distinct, ["first_period"], {n: priced[n] for n in ("amount", "unit_price", "head")})
    except columns.NotColumnar:
        amounts, prices, heads = _prices_of(distinct, keys, metrics)
        firsts, charge_keys = distinct["first_period"].to_pylist(), distinct["charge_key"].to_pylist()
        at = lambda i: where(firsts[i], charge_keys[i])  # noqa: E731
        priced_t = _priced(distinct, ["first_period"], {
            "amount": _decimal(amounts, emit.MONEY, "amount", at),
            "unit_price": _decimal(_at_12_places(prices), emit.PRICE, "unit_price", at),
            "head": pa.array(heads, pa.string())})
    groups = _distinct(con, "charge_key, group_values", "raw_lines WHERE kind = 'usage'")
    gks = [group_key(metrics[keys.charges[k].metric_id], tuple(g))
           for k, g in zip(groups["charge_key"].to_pylist(), groups["group_values"].to_pylist())]
    con.register("group_keys_raw", groups.select(["charge_key", "group_values"]).append_column(
        "group_key", pa.array(gks, pa.string())))
    return priced_t, fetch_table(con, sql("assemble_group_ranks"))


def _usage_charges(distinct: pa.Table, keys: _Keys, metrics: dict) -> tuple[dict, dict]:
    """The usage rows' charges for columns.price_rows: charge_key -> (model module, parameters), and
    charge_key -> the head's words around the quantity ("label: ", " unit")."""
    charges, heads = {}, {}
    for k in pc.unique(distinct["charge_key"]).to_pylist():
        c = keys.charges[k]
        metric = metrics[c.metric_id]
        charges[k] = (rate.model(c.model), c.params)
        heads[k] = (f"{c.label}: ", f" {metric.unit or metric.id}")
    return charges, heads


def _prices_of(distinct: pa.Table, keys: _Keys, metrics: dict) -> tuple[list, list, list]:
    """Each distinct usage row's rounded amount, unit price and line head ("label: quantity unit"), by its
    charge model's `price()`: the rows columns.price_rows cannot hold. A loop over columns, with what a
    charge gives every row (its model's function, parameters, the head's words) looked up once, and
    each distinct quantity shown once (Arrow finds them: hashing a Decimal in Python costs more than
    showing it)."""
    models, words = _usage_charges(distinct, keys, metrics)
    charges = {k: (module.price, params, *words[k]) for k, (module, params) in models.items()}
    quantities = distinct["quantity"]
    each = pc.unique(quantities)
    amounts, prices, heads = [], [], []
    usage, factors = rate.Usage, keys.factors
    cols = [distinct[n].to_pylist() for n in ("charge_key", "factor_idx", "digits", "quantity", "event_amount",
                                              "events")]
    with localcontext(EXACT):
        shown = [show_quantity(q) for q in each.to_pylist()]
        for k, f, digits, q, event_amount, events, q_at in zip(*cols, pc.index_in(quantities, each).to_pylist()):
            price, params, label, unit = charges[k]
            priced = price(params, usage(q, factors[f], event_amount, events), False)
            amounts.append(round_money(priced.amount, digits))
            prices.append(priced.unit_price)
            heads.append(label + shown[q_at] + unit)
    return amounts, prices, heads


def _flat_prices(con: duckdb.DuckDBPyConnection, keys: _Keys, where: _Where) -> pa.Table:
    """flat_price_t: each distinct (charge, factor, digits) of a charge with no metric, priced once."""
    distinct = _distinct(con, "charge_key, factor_idx, digits", "raw_lines WHERE kind = 'flat'")
    amounts, prices, descriptions, quantities = [], [], [], []
    with localcontext(EXACT):
        for r in distinct.to_pylist():
            c, factor = keys.charges[r["charge_key"]], keys.factors[r["factor_idx"]]
            # only flat charges have no metric, and flat prices by the factor alone (the quantity is unread)
            priced = rate.price(c.model, c.params, rate.Usage(Decimal(0), factor))  # pragma: no mutate
            amounts.append(round_money(priced.amount, r["digits"]))
            prices.append(priced.unit_price)
            descriptions.append(c.label if factor == 1
                                else f"{c.label} (prorated {factor.numerator}/{factor.denominator})")
            quantities.append(round_quantity(factor))
    firsts, charge_keys = distinct["first_period"].to_pylist(), distinct["charge_key"].to_pylist()
    at = lambda i: where(firsts[i], charge_keys[i])  # noqa: E731
    return _priced(distinct, ["first_period"], {
        "amount": _decimal(amounts, emit.MONEY, "amount", at),
        "unit_price": _decimal(_at_12_places(prices), emit.PRICE, "unit_price", at),
        "description": pa.array(descriptions, pa.string()), "quantity": pa.array(quantities, DEC9)})


def _minimum_lines(con: duckdb.DuckDBPyConnection, keys: _Keys) -> pa.Table:
    """minimum_lines: the `minimum` top-up of each usage charge below its min_amount (rate/floors.py,
    once per distinct (charge, factor, digits, charged)), one row per period that needs one."""
    con.register("candidates_t", fetch_table(con, sql("assemble_minimums")))
    distinct = _distinct(con, "charge_key, factor_idx, digits, charged", "candidates_t").drop_columns(["first_period"])
    tops = []
    with localcontext(EXACT):
        for r in distinct.to_pylist():
            c = keys.charges[r["charge_key"]]
            top = floors.minimum(c.min_amount, r["charged"], keys.factors[r["factor_idx"]], r["digits"])
            tops.append(None if top is None else top.amount)
    top_t = distinct.append_column("amount", pa.array(tops, emit.MONEY))
    con.register("minimum_top_t", top_t)
    return fetch_table(con, sql("assemble_minimum_lines"))


def _one_time_t(one_time: list, inv: pa.Table) -> pa.Table:
    """one_time_t: the one-time lines (rate/one_time.py), seq = their order in the period."""
    digits = inv["digits"].to_pylist()
    rows = []
    with localcontext(EXACT):
        for i, charges in one_time:
            for seq, o in enumerate(charges):
                exact = one_time_rule.price(o.quantity, o.unit_price, o.date).amount
                rows.append((i, seq, o.charge_id, o.description, o.quantity, o.unit_price,
                             round_money(exact, digits[i]), o.date))
    names = ["period_idx", "seq", "charge_id", "description", "quantity", "unit_price", "amount", "service_day"]
    cols = list(zip(*rows)) if rows else [[] for _ in names]
    ids = inv["invoice_id"].to_pylist()
    contracts = inv["contract_id"].to_pylist()
    at = lambda j: f"invoice_id {ids[cols[0][j]]}, contract_id {contracts[cols[0][j]]}, charge_id {cols[2][j]}"  # noqa: E731
    return pa.table({"period_idx": pa.array(cols[0], pa.int32()), "seq": pa.array(cols[1], pa.int32()),
                     "charge_id": pa.array(cols[2], pa.string()), "description": pa.array(cols[3], pa.string()),
                     "quantity": _decimal(list(cols[4]), DEC9, "quantity", at),
                     "unit_price": _decimal(_at_12_places(cols[5]), emit.PRICE, "unit_price", at),
                     "amount": _decimal(list(cols[6]), emit.MONEY, "amount", at),
                     "service_day": pa.array(cols[7], pa.date32())})


def _totals_t(con: duckdb.DuckDBPyConnection, keys: _Keys, where: _Where) -> pa.Table:
    """totals_t: per period, the commitment top-up, subtotal, discount, tax and total (invoice.totals, by
    rate/floors.py and rate/discount.py), computed once per distinct (discount and commitment, factor,
    digits, tax rule, charged, one_time)."""
    con.register("per_period_t", fetch_table(con, sql("assemble_totals")))
    group = ["deal_idx", "factor_idx", "digits", "tax_idx", "charged", "one_time"]
    distinct = _distinct(con, ", ".join(group), "per_period_t")
    out: dict[str, list] = {k: [] for k in ("commitment", "subtotal", "discount_total", "discount_description",
                                            "tax_total", "total")}
    with localcontext(EXACT):
        for r in distinct.to_pylist():
            discount_percent, minimum_commitment = keys.deals[r["deal_idx"]]
            t = totals(r["charged"], r["one_time"], discount_percent, minimum_commitment,
                       keys.factors[r["factor_idx"]], keys.taxes[r["tax_idx"]][0], r["digits"])
            for name, values in out.items():
                values.append(getattr(t, name))
    firsts = distinct["first_period"].to_pylist()
    at = lambda i: where(firsts[i])  # noqa: E731
    table = distinct.select(group)
    for name, values in out.items():
        table = table.append_column(name, pa.array(values, pa.string()) if name == "discount_description"
                                    else _decimal(values, emit.MONEY, name, at))
    con.register("totals_key_t", table)
    return fetch_table(con, sql("assemble_totals_join"))


def _tax_t(keys: _Keys) -> pa.Table:
    return pa.table({"tax_idx": pa.array(range(len(keys.taxes)), pa.int32()),
                     # tax_rates.csv refuses a percent of more than 6 places: quantizing to 6 or more is exact
                     "tax_percent": pa.array([emit.quantize(t[0], 6)  # pragma: no mutate
                                              for t in keys.taxes], emit.PERCENT),
                     "tax_note": pa.array([t[1] for t in keys.taxes], pa.string()),
                     "tax_name": pa.array([t[2] for t in keys.taxes], pa.string())})


def _with_invoice(rows: pa.Table, inv: pa.Table, schema: pa.Schema) -> pa.Table:
    """Rows sorted by period_idx with their invoice's columns (taken by period_idx) and in `schema`."""
    at = rows["period_idx"]
    columns = {n: rows[n] if n in rows.column_names else pc.take(inv[n], at) for n in schema.names}
    return pa.table(columns).cast(schema)


def _numbered(rows: pa.Table, inv: pa.Table) -> pa.Table:
    """invoice_lines: the sorted lines numbered from 1 within each invoice (they are grouped by
    period_idx, in order), with the invoice's id and currency; service dates are the period's
    unless the line has its own day (one_time)."""
    period = rows["period_idx"].to_numpy()
    firsts = np.flatnonzero(np.r_[True, period[1:] != period[:-1]])  # the first row of each invoice
    counts = np.diff(np.r_[firsts, len(period)])
    number = np.arange(len(period)) - np.repeat(firsts, counts) + 1
    day = rows["service_day"]
    rows = rows.append_column("line_number", pa.array(number, pa.int32()))
    rows = rows.append_column("service_start", pc.coalesce(day, pc.take(inv["period_start"], rows["period_idx"])))
    rows = rows.append_column("service_end", pc.coalesce(day, pc.take(inv["period_end"], rows["period_idx"])))
    return _with_invoice(rows, inv, emit.LINE_SCHEMA)


def assemble(con: duckdb.DuckDBPyConnection, scope: Scope, ms: MetricSql, metered: list[pa.Table],
             pct_charges: list[str]) -> Assembled:
    """The run's invoices, invoice_lines and usage tables (emit's schemas), from the metered rows
    (metered: the usage, weighted and percentage rows of pipeline/billing/meter.py, a list that is emptied,
    so that their memory is free once the lines are made: at 500k contracts 0.5 GB before the run's
    largest results). The tables it registers and the temp tables it makes (raw_lines, charge_lines)
    live as long as `con`, the run's connection."""
    usage, weighted, percentage = metered
    metered.clear()
    metrics = scope.workspace.pricebook.metrics
    base, keys, one_time, plan_t = _inv_table(scope)
    con.register("periods_base", base)
    con.register("plan_t", plan_t)
    inv = fetch_table(con, sql("assemble_periods"))
    con.register("inv_t", inv)
    con.register("charge_t", _charge_table(keys, ms, metrics))
    con.register("usage_t", _usage_t(scope, usage, weighted, ms))
    con.register("event_amount_t", _event_amount_t(percentage, pct_charges))
    con.register("charge_key_t", pa.table({
        "charge_key": pa.array(range(len(keys.charges)), pa.int32()),
        "charge_id": pa.array([c.id for c in keys.charges], pa.string()),
        "metric_id": pa.array([c.metric_id for c in keys.charges], pa.string()),
        "model": pa.array([c.model for c in keys.charges], pa.string()),
        "label": pa.array([c.label for c in keys.charges], pa.string())}))
    where = _Where(inv, keys)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE raw_lines AS {sql('assemble_lines')}")
        for name in ("usage_t", "event_amount_t"):  # in raw_lines now
            con.unregister(name)
        del usage, weighted, percentage
        usage_price_t, group_key_t = _usage_prices(con, keys, metrics, where)
        con.register("usage_price_t", usage_price_t)
        con.register("group_key_t", group_key_t)
        con.register("flat_price_t", _flat_prices(con, keys, where))
        con.execute(f"CREATE OR REPLACE TEMP TABLE charge_lines AS {sql('assemble_priced')}")
        con.register("minimum_lines", _minimum_lines(con, keys))
        con.execute("DROP TABLE raw_lines")  # read by the priced lines and the minimums only
        con.register("one_time_t", _one_time_t(one_time, inv))
        con.register("totals_t", _totals_t(con, keys, where))
        con.register("tax_t", _tax_t(keys))
        invoices = fetch_table(con, sql("assemble_invoices")).cast(emit.INVOICE_SCHEMA)
        lines = stream_table(con, sql("assemble_invoice_lines"))  # the two largest results, batch by batch
        usage = stream_table(con, sql("assemble_usage"))
        con.execute("DROP TABLE charge_lines")  # its last readers are done: its memory is the tables' below
        lines = _numbered(lines, inv)
        usage_out = _with_invoice(usage, inv, emit.USAGE_SCHEMA)
    except duckdb.OutOfRangeException as exc:  # a sum of amounts that each fit, beyond DECIMAL(38, 4)
        raise InputDataError(f"the invoices' amounts overflow DECIMAL(38, 4) ({str(exc).splitlines()[0]}); "
                             "check the events' values and the prices that produce them") from None
    return Assembled(invoices, lines, usage_out)
