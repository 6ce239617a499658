"""columns: the usage charge models over a table of rows at once, for the run (DuckDB).

Each model's rule is its module's `price()`. The same rule over columns is its module's QUERY,
sql/price_<model>.sql, reading the parameter table its `params_table()` makes; the run prices
every distinct usage row in one query of them (sql/assemble_usage_prices.sql), where a Python loop
called `price()` once a row (128k rows at 20M events: 1.2 s). DECIMAL(38) arithmetic is exact but
bounded: a parameter of more than 38 digits, a bound or free units of more places than a
quantity's 9, a product past 38 digits or a currency of more than 4 digits is `NotColumnar`, and
the caller then prices those rows by `price()`, which holds any size. tests/test_price_columns.py
holds every query against its `price()`.
"""
from __future__ import annotations

from decimal import Decimal
from types import ModuleType

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..core.db import fetch_table, sql

MAX_DIGITS = 4  # the currencies' minor units the query rounds to (ISO 4217 has none above 4)


class NotColumnar(Exception):
    """Rows or parameters the columnar pricing cannot hold exactly (the rows are priced by `price()`)."""


def exact_column(values: list[Decimal], places: int | None = None) -> pa.Array:
    """Decimals as one column, exactly: at `places` (QUANTITY_SCALE for what is compared with or
    subtracted from a quantity: DuckDB's least(), greatest(), coalesce() and CASE of two DECIMAL types
    round to one of them, so a quantity and its bounds share one), else at the fewest places that hold
    them all. NotColumnar when a value has more places, or when it takes more than 38 digits."""
    most = max((max(0, -v.as_tuple().exponent) for v in values), default=0)
    if places is not None and most > places:
        raise NotColumnar(f"a parameter of more than {places} places")
    scale = most if places is None else places
    whole = max((max(0, v.adjusted() + 1) for v in values), default=0)
    if scale + whole > 38:
        raise NotColumnar(f"a parameter of {scale + whole} digits")
    return pa.array(values, pa.decimal128(38, scale))


def price_rows(con: duckdb.DuckDBPyConnection, rows: pa.Table, charges: dict[int, tuple[ModuleType, object]],
               heads: dict[int, tuple[str, str]]) -> pa.Table:
    """rows (charge_key, digits, quantity DECIMAL(38, 9), event_amount) priced: amount (DECIMAL(38, 4),
    rounded to the row's digits), unit_price (DECIMAL(38, 12)) and head (prefix, the quantity as
    shown, suffix), in the rows' order. charges: charge_key -> (its model's module, its parameters);
    heads: charge_key -> (prefix, suffix). NotColumnar when some row is beyond the queries."""
    if rows.num_rows and pc.max(rows["digits"]).as_py() > MAX_DIGITS:
        raise NotColumnar("a currency of more than 4 digits")
    by_model: dict[str, list[tuple[int, object]]] = {}
    modules: dict[str, ModuleType] = {}
    for key, (module, params) in sorted(charges.items()):
        if getattr(module, "QUERY", None) is None:
            raise NotColumnar(f"no query for the {module.NAME} model")
        by_model.setdefault(module.NAME, []).append((key, params))
        modules[module.NAME] = module
    keys = sorted(charges)  # each row's model, taken by its charge's place among them
    model = pa.array([charges[k][0].NAME for k in keys], pa.string()).take(
        pc.index_in(rows["charge_key"], value_set=pa.array(keys, rows["charge_key"].type)))
    con.register("price_rows_t", pa.table({
        "row_id": pa.array(range(rows.num_rows), pa.int64()), "charge_key": rows["charge_key"], "model": model,
        "digits": rows["digits"], "quantity": rows["quantity"], "event_amount": rows["event_amount"]}))
    con.register("heads_t", pa.table({"charge_key": pa.array(list(heads), pa.int32()),
                                      "prefix": [h[0] for h in heads.values()],
                                      "suffix": [h[1] for h in heads.values()]}))
    branches = []
    for name, params in sorted(by_model.items()):
        con.register(f"price_params_{name}", modules[name].params_table(params))
        query = sql(modules[name].QUERY, rows=f"(SELECT * FROM price_rows_t WHERE model = '{name}')",
                    params=f"price_params_{name}")
        branches.append(f"    SELECT m.row_id, round_money(m.exact, r.digits) AS amount, "
                        f"CAST(m.unit_price AS DECIMAL(38, 12)) AS unit_price\n"
                        f"    FROM (\n{query}\n) m JOIN price_rows_t r USING (row_id)")
    if not branches:
        branches.append("    SELECT NULL::BIGINT AS row_id, NULL::DECIMAL(38, 4) AS amount, "
                        "NULL::DECIMAL(38, 12) AS unit_price WHERE false")
    con.execute(sql("price_round_money"))
    try:
        out = fetch_table(con, sql("assemble_usage_prices", branches="\n    UNION ALL\n".join(branches)))
    except (duckdb.OutOfRangeException, duckdb.ConversionException) as exc:
        raise NotColumnar(str(exc).splitlines()[0]) from None
    finally:
        for name in by_model:
            con.unregister(f"price_params_{name}")
        con.unregister("price_rows_t")
        con.unregister("heads_t")
    if out.num_rows != rows.num_rows:  # every row has a model with a query: a row missing is a bug
        raise AssertionError(f"columnar pricing gave {out.num_rows} rows for {rows.num_rows}")
    return out
