"""From the ledger to files and screens: a batch's documents, re-exports, and the listings.

A batch's output folder is written from the ledger after the batch committed (the same rows
that were stored, read back), so `usagebill export --run N` reproduces it exactly; a batch
killed between its commit and its output loses nothing.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from ..billing import emit
from ..core.db import sql
from ..core.errors import BillingError
from ..core.io import staged_dir, write_bytes
from ..core.money import currency_digits
from .store import Ledger
from .tables import EXPORTED

FILES = {"invoices": "invoices", "invoice_lines": "invoice_lines", "credit_notes": "credit_notes",
         "credit_note_lines": "credit_note_lines"}


def _shaped(t: pa.Table, schema: pa.Schema) -> pa.Table:
    return t.select(schema.names).cast(schema)


def run_documents(ledger: Ledger, run_seq: int) -> dict[str, pa.Table]:
    """The documents ledger run `run_seq` issued, as exported tables (numbers in order)."""
    return {name: _shaped(ledger.fetch(f"run_{name}", {"run_seq": run_seq}), schema)
            for name, schema in EXPORTED.items()}


def run_record(ledger: Ledger, run_seq: int) -> dict:
    rows = ledger.fetch("run_record", {"run_seq": run_seq}).to_pylist()
    if not rows:
        last = ledger.last_run_seq()
        raise BillingError(f"{ledger.path}: no ledger run {run_seq}; runs are numbered 1 to {last}"
                           if last else f"{ledger.path}: nothing has been issued yet (no runs)")
    return rows[0]


def digits_of(*tables: pa.Table) -> dict[str, int]:
    currencies = {c for t in tables if "currency" in t.column_names
                  for c in pc.unique(t.column("currency")).to_pylist()}
    return {c: currency_digits(c) or 0 for c in sorted(currencies)}


def write_documents(stage: Path, docs: dict[str, pa.Table], parquet: dict[str, pa.Table] | None = None) -> None:
    """Parquet and CSV of each document table (money at its currency's minor unit in the CSV), and the
    `parquet` tables beside them as name.parquet (issue's usage and quarantine: written by the Parquet
    thread while the CSV files are rendered)."""
    emit.write_files({**{stage / f"{FILES[name]}.parquet": t for name, t in docs.items()},
                      **{stage / f"{name}.parquet": t for name, t in (parquet or {}).items()}},
                     {stage / f"{FILES[name]}.csv": t for name, t in docs.items()}, digits_of(*docs.values()))


def export_run(ledger: Ledger, run_seq: int, out: Path | None, workspace: Path) -> Path:
    """Write ledger run `run_seq`'s documents and manifest again (default WORKSPACE/out/ledger-run-<n>)."""
    record = run_record(ledger, run_seq)
    target = out or workspace / "out" / f"ledger-run-{run_seq}"
    with staged_dir(target) as stage:
        write_documents(stage, run_documents(ledger, run_seq))
        write_bytes(stage / "manifest.json", record["manifest"].encode())
    return target


def listing(ledger: Ledger, what: str, *, status: str | None = None, contracts: tuple[str, ...] = (),
            customers: tuple[str, ...] = ()) -> pa.RecordBatchReader:
    """The `invoices` (with payment status, paid and balance) or `credit_notes` listing, filtered, as
    DuckDB gives it batch by batch (read it while the ledger is open)."""
    params = {"contracts": list(contracts), "customers": list(customers)}
    query = sql(f"ledger/list_{what}")
    if what == "invoices":
        from .payments import ensure_tables, with_balances

        ensure_tables(ledger, write=False)  # a ledger without payments: empty temporary tables, nothing paid
        query, params = with_balances(query), {**params, "status": status, "as_of": None}
    return ledger.con.sql(query, params=params).to_arrow_reader(_SLICE)


def _money_text(column: pa.Array, currency: pa.Array, digits: dict[str, int]) -> pa.Array:
    """Each amount as text with its row's currency's digits (12.30, 1230 for JPY)."""
    place = pc.index_in(currency, value_set=pa.array(list(digits), pa.string()))
    of_row = pc.take(pa.array(list(digits.values()), pa.int8()), place)
    out = pa.nulls(len(column), pa.string())
    for d in sorted(set(digits.values())):
        mine = pc.fill_null(pc.equal(of_row, d), False)
        exact = pc.if_else(mine, column, pa.scalar(0, column.type))  # the other rows' digits would not fit
        out = pc.if_else(mine, pc.cast(pc.cast(exact, pa.decimal128(38, d)), pa.string()), out)
    return out


_ISO_DATES = (dt.date(1000, 1, 1), dt.date(9999, 12, 31))  # Arrow writes these as isoformat() does


def _half_even(value: Decimal, digits: int) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-digits)):f}"


def texts(part: pa.Table, digits: dict[str, int], inexact: Callable[[Decimal, int], str] = _half_even
           ) -> list[pa.Array]:
    """A slice's columns as text (null: no value): money exactly at its currency's minor unit, dates
    ISO, numbers and text as str() writes them. Arrow kernels, except for the kinds of value they
    write otherwise (more places than the currency, years outside 1000-9999, timestamps, floats,
    booleans), which Python writes value by value (money with more places by `inexact`)."""
    out = []
    for field in part.schema:
        col, t = part.column(field.name).combine_chunks(), field.type
        if pa.types.is_decimal(t):
            try:
                out.append(_money_text(col, part.column("currency").combine_chunks(), digits))
            except pa.ArrowInvalid:  # a value with more places than its currency: rounded as Decimal does
                out.append(pa.array([None if v is None else inexact(v, digits[c])
                                     for v, c in zip(col.to_pylist(), part.column("currency").to_pylist())],
                                    pa.string()))
        elif pa.types.is_date32(t) and _in_iso_years(col):
            out.append(pc.cast(col, pa.string()))
        elif pa.types.is_temporal(t):
            out.append(pa.array([None if v is None else v.isoformat() for v in col.to_pylist()], pa.string()))
        elif pa.types.is_integer(t):
            out.append(pc.cast(col, pa.string()))
        elif pa.types.is_string(t):
            out.append(col)
        else:
            out.append(pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string()))
    return out


def _in_iso_years(col: pa.Array) -> bool:
    low, high = pc.min_max(col).values()
    return not low.is_valid or (low.as_py() >= _ISO_DATES[0] and high.as_py() <= _ISO_DATES[1])


_SLICE = 200_000  # rows rendered at once: a listing of millions of documents is written slice by slice
_JSON_PLAIN = r"^[\x20\x21\x23-\x5b\x5d-\x7e]*$"  # printable ASCII without " and \: JSON text as it is


def write_listing(t: pa.Table | pa.RecordBatchReader, fmt: str, out: BinaryIO, *, right: set[str] | None = None,
                  guarded: set[str] | None = None, inexact: Callable[[Decimal, int], str] = _half_even) -> None:
    """The listing as an aligned text table, CSV (as Python's csv module quotes; the `guarded` columns,
    default all, spreadsheet-safe) or JSON (money as exact strings; json.dumps(rows, indent=2)),
    written to `out` slice by slice, each column rendered by Arrow kernels. In the table the `right`
    columns (default the money) are right-aligned; money with more places than its currency is
    written by `inexact`. CSV and JSON read a RecordBatchReader batch by batch; the table reads it whole."""
    names = t.schema.names
    if fmt == "json":
        return _write_json(_slices(t), names, out)
    if fmt == "csv":
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow(names)
        out.write(header.getvalue().encode())
        for part in _slices(t):
            cells = [emit.text_cells(c, emit.QUOTED_BY_PYTHON, guard=guarded is None or name in guarded)
                     for name, c in zip(names, texts(part, digits_of(part), inexact))]
            out.write(emit.string_bytes(_lines([pc.fill_null(c, "") for c in cells], ",")))
        return None
    t = t.read_all() if isinstance(t, pa.RecordBatchReader) else t  # every width before the first row
    digits = digits_of(t)
    slices = list(_slices(t))
    rights = [name in right if right is not None else pa.types.is_decimal(f.type) for name, f in zip(names, t.schema)]
    widths = [len(n) for n in names]
    for part in slices:  # the widths first: every row is padded to its columns' widest value
        for i, c in enumerate(texts(part, digits, inexact)):
            widths[i] = max(widths[i], pc.max(pc.utf8_length(c)).as_py() or 0)
    head = "  ".join(n.rjust(w) if r else n.ljust(w) for n, w, r in zip(names, widths, rights))
    out.write((head.rstrip() + "\n").encode())
    for part in slices:
        cells = [(pc.utf8_lpad if r else pc.utf8_rpad)(pc.fill_null(c, ""), width=w, padding=" ")
                 for c, w, r in zip(texts(part, digits, inexact), widths, rights)]
        out.write(emit.string_bytes(_rstripped(_lines(cells, "  "))))
    return None


def _lines(cells: list[pa.Array], separator: str) -> pa.Array:
    """Each row's cells joined by `separator`, with its line break."""
    last = pc.binary_join_element_wise(cells[-1], "", "\n")
    return pc.binary_join_element_wise(*cells[:-1], last, separator)


def _rstripped(lines: pa.Array) -> pa.Array:
    """Each line (its break kept) with its trailing whitespace removed as str.rstrip() does: the
    padding's spaces by Arrow, then, for the few lines ending in another character str.isspace()
    might take (anything but printable ASCII), by Python."""
    body = pc.utf8_rtrim(pc.utf8_slice_codeunits(lines, 0, -1), characters=" ")
    odd = pc.match_substring_regex(body, r"[^\x21-\x7e]$")
    if pc.any(odd).as_py():
        fixed = pa.array([v.rstrip() for v in body.filter(odd).to_pylist()], pa.string())
        body = pc.replace_with_mask(body, odd, fixed)
    return pc.binary_join_element_wise(body, "\n", "")


def _slices(t: pa.Table | pa.RecordBatchReader) -> Iterator[pa.Table]:
    """The rows in slices of at most _SLICE (a reader's batches as they come), none empty."""
    if isinstance(t, pa.RecordBatchReader):
        parts = (pa.Table.from_batches([b]) for b in t)
    else:
        parts = (t.slice(i, _SLICE) for i in range(0, t.num_rows, _SLICE))
    return (p for p in parts if p.num_rows)


def _write_json(slices: Iterator[pa.Table], names: list[str], out: BinaryIO) -> None:
    """json.dumps(rows, indent=2) and a line break, written slice by slice: '[', the rows' objects
    indented and separated by commas, ']' ('[]' for none)."""
    keys = [f"    {json.dumps(n)}: " for n in names]
    first = True
    for part in slices:
        values = [_json_values(text, part.column(i).combine_chunks())
                  for i, text in enumerate(texts(part, digits_of(part)))]
        cells = [pc.binary_join_element_wise(key, v, "") for key, v in zip(keys, values)]
        rows = pc.binary_join_element_wise("  {\n", pc.binary_join_element_wise(*cells, ",\n"), "\n  },\n", "")
        out.write(b"[\n" if first else b",\n")
        out.write(emit.string_bytes(rows)[:-2])  # the last row's comma and break: the next slice's, or none
        first = False
    out.write(b"[]\n" if first else b"\n]\n")


def _json_values(text: pa.Array, col: pa.Array) -> pa.Array:
    """JSON of each value as json.dumps writes it: null; an integer as it is; a boolean or float by
    json.dumps; any other value as the JSON string of its text (non-ASCII escaped), by Arrow for
    printable ASCII and by json.dumps for the rest."""
    if pa.types.is_integer(col.type):
        return pc.fill_null(text, "null")
    if not (pa.types.is_string(col.type) or pa.types.is_decimal(col.type) or pa.types.is_temporal(col.type)):
        return pa.array([json.dumps(v) for v in col.to_pylist()], pa.string())
    plain = pc.fill_null(pc.match_substring_regex(text, _JSON_PLAIN), True)
    quoted = pc.binary_join_element_wise('"', text, '"', "")
    if not pc.all(plain).as_py():
        odd = pc.invert(plain)
        quoted = pc.replace_with_mask(quoted, odd, pa.array([json.dumps(v) for v in text.filter(odd).to_pylist()],
                                                            pa.string()))
    return pc.fill_null(quoted, "null")


def render(t: pa.Table, fmt: str) -> str:
    """The listing as text (write_listing's bytes)."""
    buf = io.BytesIO()
    write_listing(t, fmt, buf)
    return buf.getvalue().decode()
