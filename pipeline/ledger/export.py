"""From the ledger to files and screens: a batch's documents, re-exports, and the listings.

A batch's output folder is written from the ledger after the batch committed (the same rows
that were stored, read back), so `usagebill export --run N` reproduces it exactly; a batch
killed between its commit and its output loses nothing.
"""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..billing import emit
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


def write_documents(stage: Path, docs: dict[str, pa.Table]) -> None:
    """Parquet and CSV of each document table (money at its currency's minor unit in the CSV)."""
    emit.write_files({stage / f"{FILES[name]}.parquet": t for name, t in docs.items()},
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
            customers: tuple[str, ...] = ()) -> pa.Table:
    """The `invoices` (with payment status, paid and balance) or `credit_notes` listing, filtered."""
    params = {"contracts": list(contracts), "customers": list(customers)}
    if what != "invoices":
        return ledger.fetch(f"list_{what}", params)
    from .payments import balances, ensure_tables

    ensure_tables(ledger, write=False)  # a ledger without payments: empty temporary tables, nothing paid
    params["status"] = status
    return ledger.fetch("list_invoices", params, invoice_balances_t=balances(ledger))


def _columns(t: pa.Table) -> list[list]:
    """The table's columns with money as exact text at its currency's minor unit and dates as ISO
    text (a money column is cast to each currency's digits by Arrow, where its values already are)."""
    digits = digits_of(t)
    columns = []
    for field in t.schema:
        column = t.column(field.name)
        if pa.types.is_decimal(field.type):
            try:
                columns.append(_money_text(column, t.column("currency"), digits).to_pylist())
            except pa.ArrowInvalid:  # a value with more places than its currency: rounded as Decimal does
                columns.append([None if v is None else f"{v.quantize(Decimal(1).scaleb(-digits[c])):f}"
                                for v, c in zip(column.to_pylist(), t.column("currency").to_pylist())])
        elif any(is_type(field.type) for is_type in (pa.types.is_date, pa.types.is_timestamp, pa.types.is_time)):
            columns.append([None if v is None else v.isoformat() for v in column.to_pylist()])
        else:
            columns.append(column.to_pylist())
    return columns


def _money_text(column: pa.ChunkedArray, currency: pa.ChunkedArray, digits: dict[str, int]) -> pa.ChunkedArray:
    """Each amount as text with its row's currency's digits (12.30, 1230 for JPY)."""
    place = pc.index_in(currency, value_set=pa.array(list(digits), pa.string()))
    of_row = pc.take(pa.array(list(digits.values()), pa.int8()), place)
    out = pa.nulls(len(column), pa.string())
    for d in sorted(set(digits.values())):
        mine = pc.fill_null(pc.equal(of_row, d), False)
        exact = pc.if_else(mine, column, pa.scalar(0, column.type))  # the other rows' digits would not fit
        out = pc.if_else(mine, pc.cast(pc.cast(exact, pa.decimal128(38, d)), pa.string()), out)
    return out


def render(t: pa.Table, fmt: str) -> str:
    """The listing as an aligned text table, CSV (spreadsheet-safe) or JSON (money as exact strings)."""
    names, columns = t.column_names, _columns(t)
    if fmt == "json":
        return json.dumps([dict(zip(names, row)) for row in zip(*columns)], indent=2) + "\n"
    rows = [["" if v is None else str(v) for v in row] for row in zip(*columns)]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(names)
        w.writerows([[emit.neutralize(c) for c in r] for r in rows])
        return buf.getvalue()
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    money = {i for i, f in enumerate(t.schema) if pa.types.is_decimal(f.type)}
    lines = ["  ".join(n.rjust(w) if i in money else n.ljust(w) for i, (n, w) in enumerate(zip(names, widths)))]
    lines += ["  ".join(c.rjust(w) if i in money else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
              for r in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"
