"""emit: invoices, lines and usage as Arrow tables, then Parquet and CSV files.

Money columns are DECIMAL(38, 4) in Parquet (every ISO 4217 minor unit fits) and
hold values rounded to the invoice currency's minor unit; CSV writes exactly that
many fractional digits. Rows are sorted, so the same inputs give the same bytes.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor, wait
from decimal import ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..core.db import connect, quote_ident
from ..core.errors import OutputError
from ..core.io import os_reason
from ..core.money import MONEY_SCALE, QUANTITY_SCALE

MONEY = pa.decimal128(38, MONEY_SCALE)
QUANTITY = pa.decimal128(38, QUANTITY_SCALE)
PRICE = pa.decimal128(38, 12)
PERCENT = pa.decimal128(12, 6)

INVOICE_SCHEMA = pa.schema([
    ("invoice_id", pa.string()), ("invoice_number", pa.string()), ("status", pa.string()),
    ("customer_id", pa.string()), ("contract_id", pa.string()), ("plan_id", pa.string()),
    ("currency", pa.string()), ("period_start", pa.date32()), ("period_end", pa.date32()),
    ("issue_date", pa.date32()), ("due_date", pa.date32()), ("subtotal", MONEY), ("discount_total", MONEY),
    ("tax_percent", PERCENT), ("tax_note", pa.string()), ("tax_name", pa.string()), ("tax_total", MONEY),
    ("total", MONEY),
])
LINE_SCHEMA = pa.schema([
    ("invoice_id", pa.string()), ("line_number", pa.int32()), ("line_type", pa.string()),
    ("charge_id", pa.string()), ("metric_id", pa.string()), ("group_key", pa.string()),
    ("description", pa.string()), ("quantity", QUANTITY), ("unit_price", PRICE), ("amount", MONEY),
    ("currency", pa.string()), ("service_start", pa.date32()), ("service_end", pa.date32()),
])
USAGE_SCHEMA = pa.schema([
    ("invoice_id", pa.string()), ("contract_id", pa.string()), ("customer_id", pa.string()),
    ("period_start", pa.date32()), ("period_end", pa.date32()), ("charge_id", pa.string()),
    ("metric_id", pa.string()), ("group_key", pa.string()), ("quantity", QUANTITY), ("events", pa.int64()),
])
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_COLUMNS = {"subtotal", "discount_total", "tax_total", "total", "amount",
                 "issued_amount", "recomputed_amount", "delta_amount"}  # the last three: reconciliation
QUANTITY_COLUMNS = {"quantity", "issued_quantity", "recomputed_quantity", "delta_quantity"}  # all 9 digits


# Decimal's default rounding (half to even), with digits enough for any value an output column holds
# (the default context's 28 digits refused a unit price of 10^16 at 12 places)
_OUTPUT = Context(prec=60, rounding=ROUND_HALF_EVEN)


def quantize(value: Decimal | None, scale: int) -> Decimal | None:
    """A price or percent at its column's scale (unit prices 12 places, tax percent 6)."""
    return None if value is None else value.quantize(Decimal(1).scaleb(-scale), context=_OUTPUT)


def neutralize(text: str) -> str:
    """Keep a spreadsheet from running a text cell as a formula: prefix =, +, -, @, tab and CR with a quote."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def _csv_expr(field: pa.Field) -> str:
    """SQL rendering one column as accounting CSV text (identifiers are our own schema's names)."""
    col = quote_ident(field.name)
    if field.name in MONEY_COLUMNS:  # exactly the currency's digits; values are already rounded to them
        cases = " ".join(f"WHEN {d} THEN CAST(CAST({col} AS DECIMAL(38, {d})) AS VARCHAR)" for d in range(5))
        return f"CASE _digits {cases} END"
    if pa.types.is_decimal(field.type) and field.name not in QUANTITY_COLUMNS:  # 0.120000000000 -> 0.12
        text = f"CAST({col} AS VARCHAR)"
        return f"CASE WHEN contains({text}, '.') THEN rtrim(rtrim({text}, '0'), '.') ELSE {text} END"
    if any(is_type(field.type) for is_type in (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean,
                                                pa.types.is_decimal, pa.types.is_temporal)):
        return f"CAST({col} AS VARCHAR)"  # numbers, dates, booleans: never a formula
    text = col if pa.types.is_string(field.type) else f"CAST({col} AS VARCHAR)"  # any other column is text
    return (f"CASE WHEN list_contains($formula_starts, left({text}, 1)) THEN concat($quote, {text}) "
            f"ELSE nullif({text}, '') END")  # an empty string is an empty cell, as null is


def write_csv(table: pa.Table, path: Path, digits_of: dict[str, int]) -> None:
    """CSV with a header, quotes only where needed, empty cells for nulls, money at the currency's minor unit.

    Rendered and written by DuckDB in one vectorized pass, rows in the table's order.
    """
    if "currency" in table.column_names:  # each row's minor-unit digits, for its money columns
        codes = list(digits_of)
        place = pc.index_in(table["currency"], value_set=pa.array(codes, pa.string()))
        table = table.append_column("_digits", pc.take(pa.array([digits_of[c] for c in codes], pa.int32()), place))
    con = connect()  # the run's default memory bound (the sort below holds the whole table)
    try:  # a parallel COPY does not keep the rows' order by itself (measured): _n orders them
        con.register("t", table.append_column("_n", pa.array(range(table.num_rows), pa.int64())))
        select = ", ".join(f"{_csv_expr(f)} AS {quote_ident(f.name)}" for f in table.schema if f.name != "_digits")
        con.execute(f"COPY (SELECT {select} FROM t ORDER BY _n) TO $path (HEADER, DELIMITER ',')",
                    {"formula_starts": list(FORMULA_STARTS), "quote": "'", "path": str(path)})
    except duckdb.IOException as exc:  # a full disk, a read-only folder: the caller removes the partial output
        raise OutputError(f"writing {path.name} failed ({_io_reason(exc)}); check free space and permissions, "
                          "then rerun") from None
    finally:
        con.close()


def _io_reason(exc: duckdb.Error) -> str:
    """The operating system's words for a DuckDB I/O error ('... "errno":"28"}' -> No space left on device)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if m := re.search(r'"errno"\s*:\s*"?(\d+)', text):
        return os.strerror(int(m.group(1)))
    return text.rsplit(": ", 1)[-1].strip('"} ')


def write_files(parquet: dict[Path, pa.Table], csv: dict[Path, pa.Table], digits_of: dict[str, int]) -> None:
    """Write the Parquet files (pyarrow, in a thread of their own) while DuckDB renders the CSV files;
    on a failure of either, the other has finished before the error is raised (the caller removes the
    staging folder)."""
    with ThreadPoolExecutor(max_workers=1) as writer:
        written = writer.submit(lambda: [write_parquet(t, path) for path, t in parquet.items()])
        try:
            for path, t in csv.items():
                write_csv(t, path, digits_of)
        finally:
            wait([written])
        written.result()


def write_parquet(table: pa.Table, path: Path) -> None:
    """Same rows, same bytes: the table is written as one chunk, because where the writer falls back
    from dictionary to plain encoding (a dictionary page over 1 MB) depends on the chunks it is given,
    and DuckDB's result chunks vary with its threads (and a sharded run's merge gives one chunk)."""
    try:
        pq.write_table(table.combine_chunks(), path, compression="zstd", row_group_size=1_000_000)
    except OSError as exc:  # a full disk: the caller removes the partial output
        raise OutputError(f"writing {path.name} failed ({os_reason(exc)}); check free space and permissions, "
                          "then rerun") from None
