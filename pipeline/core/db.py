"""DuckDB sessions and the SQL files under sql/.

Queries live one per file. Values always travel as `$name` parameters; the only
text spliced into a query is built by this package from identifiers that were
checked against the events' schema and quoted with `quote_ident`.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

# pipeline/sql: in a checkout a link to the top-level sql/, in an installed wheel the copied files.
SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
_SLOT = re.compile(r"\{\{(\w+)\}\}")


def default_memory_limit() -> str:
    """The query engine's memory limit when --memory-limit is not given: a sixth of physical RAM
    (4 GB on 24 GB), at least 1 GB. DuckDB's own default (80% of RAM) let a 100M-event run reach
    10.6 GB; beyond the limit it spills to a temporary folder, so a bigger machine gets a bigger
    limit and the same run stays bounded (BENCHMARKS.md)."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # a platform without these: DuckDB's own default
        return ""
    return f"{max(1024, ram // 6 // 2**20)}MB"


def connect(threads: int | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB, offline, quiet, UTC, with bounded threads and memory (default:
    default_memory_limit())."""
    config = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "preserve_insertion_order": False,
    }
    threads = threads or int(os.environ.get("USAGEBILL_THREADS", "0")) or None
    if threads:
        config["threads"] = threads
    memory_limit = memory_limit or os.environ.get("USAGEBILL_MEMORY_LIMIT") or default_memory_limit()
    if memory_limit:
        config["memory_limit"] = memory_limit
    config["temp_directory"] = str(Path(tempfile.gettempdir()) / f"usagebill-spill-{os.getpid()}")
    return _session(duckdb.connect(config=config))


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A second connection to `con`'s database, with the same session settings (a thread of its own
    can use it while `con` works; temp tables and registered views stay `con`'s own)."""
    return _session(con.cursor())


def _session(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")  # a session setting: a cursor without it shows Etc/UTC
    return con


@cache
def _template(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def sql(name: str, **fragments: str) -> str:
    """The query in sql/<name>.sql with its {{slots}} filled by package-built fragments."""
    text = _template(name)
    missing = set(_SLOT.findall(text)) - set(fragments)
    if missing:
        raise KeyError(f"sql/{name}.sql needs fragments {sorted(missing)}")
    return _SLOT.sub(lambda m: fragments[m.group(1)], text)


def fetch_table(con: duckdb.DuckDBPyConnection, query: str, params: dict | None = None) -> pa.Table:
    """Run a query and return its result as one Arrow table."""
    return con.sql(query, params=params or None).to_arrow_table()


BATCH_ROWS = 1_000_000


def stream_table(con: duckdb.DuckDBPyConnection, query: str) -> pa.Table:
    """A large result as an Arrow table of batches of BATCH_ROWS rows, each converted as DuckDB yields it:
    no whole copy of the result is held in DuckDB beside the Arrow one (6M invoice lines and 4.4M usage
    rows at 500k contracts: the run's in-process high-water mark 4.9 -> 4.1-4.6 GB)."""
    return con.sql(query).to_arrow_reader(BATCH_ROWS).read_all()


def in_background(fn: Callable, *args) -> Future:
    """fn(*args) on a worker thread of its own, which ends with it. DuckDB and Arrow release the GIL
    while they work, so a query on a cursor there overlaps the caller's next queries and Python."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)


def done(value) -> Future:
    """A Future already holding `value` (what in_background would give, without a thread)."""
    future: Future = Future()
    future.set_result(value)
    return future


def quote_ident(name: str) -> str:
    """A DuckDB identifier, quoted so that no column name can end the quote."""
    return '"' + name.replace('"', '""') + '"'
