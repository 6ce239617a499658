"""The ledger file: opening it under its lock, its schema, and committing one batch in one transaction.

A batch (every document one command issues, the status changes, the number sequences and its
`runs` row) is written between BEGIN and COMMIT. DuckDB's write-ahead log makes that all or
nothing, even when the process is killed in the middle: a ledger is always as before the batch
or as after it. Numbers come from `number_sequences`, read and advanced inside the transaction.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ..core.db import sql
from ..core.errors import BillingError, CheckError
from .lock import POLL_SECONDS, LedgerBusy, busy_message, ledger_lock
from .tables import STORED

SCHEMA_VERSION = 1
CREDIT_TABLES = {"credit_grants", "credit_allocations", "credit_refunds"}  # sql/ledger/credit_schema.sql
LEDGER_NAME = "ledger.duckdb"
CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False, "threads": 2}


def run(con: duckdb.DuckDBPyConnection, statement: str, params: dict | None = None) -> list[tuple]:
    """Execute one statement (or script) and fetch its result, so that the connection is free for the next."""
    return con.execute(statement, params).fetchall()


def ledger_path(workspace: Path, ledger: Path | None = None) -> Path:
    """--ledger, or WORKSPACE/ledger.duckdb."""
    return Path(ledger) if ledger is not None else Path(workspace) / LEDGER_NAME


@dataclass
class Ledger:
    path: Path
    con: duckdb.DuckDBPyConnection

    def fetch(self, query: str, params: dict | None = None, **tables: pa.Table) -> pa.Table:
        """Run sql/ledger/<query>.sql with `$name` parameters and registered Arrow tables."""
        for name, t in tables.items():
            self.con.register(name, t)
        try:
            return self.con.sql(sql(f"ledger/{query}"), params=params or None).to_arrow_table()
        finally:
            for name in tables:
                self.con.unregister(name)

    def sequences(self) -> dict[str, int]:
        return dict(run(self.con, sql("ledger/sequences")))

    def last_run_seq(self) -> int:
        return run(self.con, sql("ledger/last_run"))[0][0]


def _connect(path: Path, *, read_only: bool, deadline: float, wait: float) -> duckdb.DuckDBPyConnection:
    """Open the file; another process holding DuckDB's own lock is waited for until the deadline."""
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only, config=CONFIG)
            run(con, "SET TimeZone = 'UTC'")
            run(con, "SET enable_progress_bar = false")
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise BillingError(f"{path}: cannot open the ledger ({exc}); pass a usagebill ledger to --ledger, "
                                   "or move this file away") from None
            if time.monotonic() >= deadline:
                raise LedgerBusy(busy_message(path, wait)) from None
            time.sleep(POLL_SECONDS)
        except duckdb.Error as exc:
            raise BillingError(f"{path}: cannot open the ledger ({exc}); pass a usagebill ledger to --ledger, "
                               "or move this file away") from None


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in run(con, sql("ledger/tables"))}


def _check_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    if "ledger_info" not in _tables(con):
        raise BillingError(f"{path}: is a DuckDB file but not a usagebill ledger; pass another --ledger")
    row = (run(con, sql("ledger/schema_version")) or [None])[0]
    if row is None or int(row[0]) > SCHEMA_VERSION:
        raise BillingError(f"{path}: ledger schema version {row and row[0]} is newer than this usagebill "
                           f"understands ({SCHEMA_VERSION}); upgrade usagebill")


def _create(path: Path) -> None:
    """A new, empty ledger at `path`, appearing whole: made under a hidden name, then renamed into place.

    A process killed while creating it leaves at most a hidden `.NAME.new-PID` file, never a
    half-made ledger that every later batch would refuse to open.
    """
    from .. import __version__

    tmp = path.with_name(f".{path.name}.new-{os.getpid()}")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(tmp), config=CONFIG)
        try:
            run(con, "BEGIN TRANSACTION")
            run(con, sql("ledger/schema"))
            run(con, sql("ledger/ledger_info"),
                {"v": str(SCHEMA_VERSION), "by": f"usagebill {__version__}"})
            run(con, "COMMIT")
            run(con, "CHECKPOINT")
        finally:
            con.close()
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.rename(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BillingError(f"{path}: cannot create the ledger ({exc.strerror}); check permissions and free space, "
                           "or pass another --ledger") from None


@contextmanager
def open_ledger(path: Path, *, write: bool, wait: float) -> Iterator[Ledger]:
    """The ledger under its lock: exclusive and created if missing for writers, shared for readers.

    A reader of a ledger that does not exist yet gets an empty in-memory one (nothing issued).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise BillingError(f"{path.parent}: folder not found; create it or pass another --ledger")
    if not write and not path.exists():
        con = duckdb.connect(config=CONFIG)
        run(con, sql("ledger/schema"))
        run(con, sql("ledger/credit_schema", temp=""))
        try:
            yield Ledger(path, con)
        finally:
            con.close()
        return
    with ledger_lock(path, exclusive=write, wait=wait) as deadline:
        if write and not path.exists():
            _create(path)
        con = _connect(path, read_only=not write, deadline=deadline, wait=wait)
        try:
            _check_schema(con, path)
            if write:  # tables added since schema version 1 (CREATE TABLE IF NOT EXISTS): an older ledger gets them
                run(con, sql("ledger/schema"))
                run(con, sql("ledger/credit_schema", temp=""))
            elif not _tables(con) >= CREDIT_TABLES:  # a ledger not written since credits came: empty TEMP tables
                run(con, sql("ledger/credit_schema", temp="TEMP"))
            yield Ledger(path, con)
        finally:
            con.close()


@dataclass
class RunRecord:
    run_seq: int
    run_id: str
    command: str
    manifest: str


def add_tasks(ledger: Ledger, run_seq: int, tasks: tuple[str, ...]) -> None:
    """Record a batch's post-issue tasks (--then) as pending, each once (sql/ledger/add_tasks.sql)."""
    ledger.con.register("new_tasks_t", pa.table({"run_seq": pa.array([run_seq] * len(tasks), pa.int32()),
                                                 "task": pa.array(list(tasks), pa.string())}))
    try:
        run(ledger.con, sql("ledger/add_tasks"), {"at": dt.datetime.now(dt.UTC)})
    finally:
        ledger.con.unregister("new_tasks_t")


def insert(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """Append an Arrow table to the ledger table `name` (one of our own names), by column name."""
    con.register(f"new_{name}", table)
    try:
        run(con, sql("ledger/insert_rows", table=name))
    finally:
        con.unregister(f"new_{name}")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, registered: list[str]) -> Iterator[None]:
    """BEGIN ... COMMIT, rolled back on any failure (a kill loses it whole); the Arrow tables the
    body registered under `registered` names are unregistered either way."""
    run(con, "BEGIN TRANSACTION")
    try:
        yield
        run(con, "COMMIT")
    except BaseException:
        with suppress(duckdb.Error):
            run(con, "ROLLBACK")
        raise
    finally:
        for name in registered:
            with suppress(duckdb.Error):
                con.unregister(name)


def commit(ledger: Ledger, tables: dict[str, pa.Table], credited: list[str], numbers: dict[str, int],
           expected: dict[str, int], record: RunRecord,
           then: Callable[[Ledger], None] | None = None) -> None:
    """Write one batch atomically: its documents, the invoices it credits, the sequences and its run row.

    `expected` are the sequences the numbers were assigned from; they cannot have moved (the batch
    holds the exclusive lock), and are checked again inside the transaction all the same. Before
    COMMIT the ledger's integrity rules are checked on what the batch wrote (sql/ledger/check_batch.sql:
    the rules of check.sql, without reading the older documents' lines); any failure rolls the whole
    batch back. `then` runs in the same transaction once the documents, statuses and run row are in
    (the draw-down of prepaid credit, pipeline/ledger/credits.py).
    """
    con = ledger.con
    with transaction(con, [*(f"new_{n}" for n in STORED), "new_invoice_line_terms", "credited_t", "batch_t",
                           "batch_lines_t"]):
        if ledger.sequences() != expected or ledger.last_run_seq() != record.run_seq - 1:
            raise BillingError(f"{ledger.path}: the ledger changed while this batch was prepared; run it again")
        for name in [*STORED, "invoice_line_terms"]:
            if name in tables and tables[name].num_rows:
                con.register(f"new_{name}", tables[name])
                run(con, sql("ledger/insert_rows", table=name))  # our own table names
        con.register("credited_t", pa.table({"invoice_number": pa.array(credited, pa.string())}))
        if credited:
            run(con, sql("ledger/mark_credited"))
        for series, value in numbers.items():
            run(con, sql("ledger/set_sequence"), {"v": value, "s": series})
        run(con, sql("ledger/insert_run"),
            {"seq": record.run_seq, "id": record.run_id, "command": record.command,
             "at": dt.datetime.now(dt.UTC), "invoices": tables["invoices"].num_rows,
             "credit_notes": tables["credit_notes"].num_rows, "manifest": record.manifest})
        if then is not None:
            then(ledger)
        con.register("batch_t", pa.table({"series": list(expected), "before": pa.array(expected.values(), pa.int64()),
                                          "after": pa.array([numbers.get(k, v) for k, v in expected.items()],
                                                            pa.int64())}))
        con.register("batch_lines_t", _batch_lines(tables))
        broken = run(con, sql("ledger/check_batch"), {"run_seq": record.run_seq})
        if broken:  # a bug, never the user's input: nothing of the batch is kept
            raise CheckError(f"{ledger.path}: the ledger would break its rules with this batch, so nothing was "
                             "written (a bug in usagebill, or a ledger edited by hand; run check-ledger): "
                             + "; ".join(f"{c}: {d}" for c, d in broken[:5]))


_BATCH_LINES = pa.schema([("series", pa.string()), ("number", pa.string()), ("line_number", pa.int32()),
                          ("line_type", pa.string()), ("amount", pa.decimal128(38, 4))])


def _batch_lines(tables: dict[str, pa.Table]) -> pa.Table:
    """The lines a batch inserts, of both series, with what sql/ledger/check_batch.sql checks."""
    parts = [_BATCH_LINES.empty_table()]
    for series, name, number in (("invoice", "invoice_lines", "invoice_number"),
                                 ("credit_note", "credit_note_lines", "credit_note_number")):
        t = tables.get(name)
        if t is not None and t.num_rows:
            parts.append(pa.table([pa.array([series] * t.num_rows, pa.string()), t[number], t["line_number"],
                                   t["line_type"], t["amount"]], names=_BATCH_LINES.names).cast(_BATCH_LINES))
    return pa.concat_tables(parts)


def has_exports(ledger: Ledger) -> bool:
    """Whether the ledger has the exports tables (a ledger never written since they were added has not)."""
    return {"exports", "export_documents"} <= _tables(ledger.con)


def record_export(ledger: Ledger, fmt: str, folder: Path, files: list[dict], numbers: list[str]) -> int:
    """Record one published export (its files' names and sha256, its documents) in one transaction; its id.

    The caller holds the exclusive lock, so no other export can record the same documents meanwhile.
    """
    con = ledger.con
    with transaction(con, ["exported_t"]):
        export_id = run(con, sql("ledger/record_export"),
                        {"format": fmt, "at": dt.datetime.now(dt.UTC), "folder": str(folder),
                         "files": json.dumps(files), "documents": len(numbers), "run_seq": ledger.last_run_seq()})[0][0]
        con.register("exported_t", pa.table({"document_number": pa.array(numbers, pa.string())}))
        run(con, sql("ledger/record_export_documents"), {"export_id": export_id})
    return export_id
