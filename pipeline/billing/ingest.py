"""ingest: event files -> a status per considered event, folded (DuckDB temp table `folded`).

Finds every Parquet file under events/, checks each footer (readable, required
columns, convertible types) before reading any event, then runs
sql/classify_events.sql: dedup on (customer_id, event_id) keeping the earliest
copy by (timestamp, file path, row), and one status per event: billed,
duplicate, invalid, unknown_customer, no_active_contract, unmetered or
outside_window. In the same pass the events are folded (counts per status, the
quarantined rows' places, billed events per period and metric flags, per day):
no table as large as the events is written.
"""
from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ..core import storage
from ..core.db import cursor, done, fetch_table, in_background, quote_ident, sql
from ..core.errors import InputDataError
from ..core.io import fingerprint

REQUIRED = ("event_id", "customer_id", "event_type", "timestamp")
QUARANTINE_REASONS = ("invalid", "unknown_customer", "no_active_contract", "unmetered")  # quarantine.parquet's reason
STATUSES = ("billed", "duplicate", *QUARANTINE_REASONS, "outside_window")  # every event read ends in exactly one


@dataclass(frozen=True)
class EventFiles:
    """The event files of a workspace and their combined schema.

    Local: root is the events folder and files are Paths. In object storage (pipeline/storage.py):
    root is the s3:// prefix, files are the objects' s3:// URIs and `objects` their sizes and ETags."""

    root: Path | storage.Prefix
    files: tuple  # sorted by path relative to root: the dedup tie-break order
    schema: dict[str, pa.DataType]
    objects: dict[str, storage.ObjectInfo] = field(default_factory=dict)  # by relative name (object storage)
    footers: dict = field(default_factory=dict, compare=False, repr=False)  # object storage: each read once
    uniform: bool = False  # every file has the same columns in the same order with the same types

    @property
    def remote(self) -> bool:
        return isinstance(self.root, storage.Prefix)

    def relative(self, path: str | Path) -> str:
        if self.remote:
            return self.root.relative(str(path))
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    def name(self, path: str | Path) -> str:
        """How messages name a file: events/REL in a folder, the object's s3:// URI in object storage."""
        return str(path) if self.remote else f"events/{self.relative(path)}"

    def attach(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """Make the files readable on this DuckDB connection (object storage: its filesystem)."""
        if self.remote:
            storage.attach(con)
        return con

    def metadata(self, path: str | Path) -> pq.FileMetaData:
        if not self.remote:
            return pq.ParquetFile(path).metadata
        if str(path) not in self.footers:  # one footer read per object and run (discover, then the checks)
            self.footers[str(path)] = storage.metadata(str(path))
        return self.footers[str(path)]

    def read_schema(self, path: str | Path) -> pa.Schema:
        return self.metadata(path).schema.to_arrow_schema() if self.remote else pq.read_schema(path)

    def fingerprint(self, path: str | Path) -> str:
        """sha256 of a local file; an object's ETag and size (no download)."""
        return self.objects[self.relative(path)].fingerprint() if self.remote else fingerprint(path)


def _check_types(path: Path, schema: pa.Schema, name: str) -> None:
    ts_type = schema.field("timestamp").type
    if not pa.types.is_timestamp(ts_type):
        raise InputDataError(f"{name}: column timestamp is {ts_type}, not a timestamp; "
                             "write it as a Parquet TIMESTAMP (UTC, or with a time zone)")
    for column in ("event_id", "customer_id", "event_type"):
        t = schema.field(column).type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
                or pa.types.is_dictionary(t) or pa.types.is_null(t) or pa.types.is_string_view(t)):
            raise InputDataError(f"{name}: column {column} is {t}; write it as a string")


# Names an events file cannot use: DuckDB's Parquet reader adds file_row_number and file_index itself.
RESERVED = {"file_row_number": "the Parquet reader adds a column of that name",
            "file_index": "the Parquet reader adds a column of that name"}


def _shape(t: pa.DataType) -> str:
    """plain, list, struct, map or union: DuckDB unifies plain types across files (a number column that
    is text in one file is read as text), but not a nested column with a differently shaped one."""
    t = t.value_type if pa.types.is_dictionary(t) else t
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return "list"
    for shape in ("struct", "map", "union"):
        if getattr(pa.types, f"is_{shape}")(t):
            return shape
    return "plain"


def _check_columns(file_schema: pa.Schema, name: str, seen: dict[str, tuple[pa.DataType, str]]) -> None:
    """Names used twice, reserved names, and a column shaped differently in two files: DuckDB cannot
    read such files together, so name both files instead of failing in the middle of the query.
    name: how messages name the file (events/REL, or an object's URI)."""
    folded: dict[str, str] = {}
    for column in file_schema.names:
        if column.lower() in folded:
            raise InputDataError(f"{name}: columns {folded[column.lower()]!r} and {column!r} have the same name "
                                 "(names are compared without case); keep one of them")
        folded[column.lower()] = column
        if column.lower() in RESERVED:
            raise InputDataError(f"{name}: column {column!r} is reserved ({RESERVED[column.lower()]}); "
                                 "rename the column in the file")
    for f in file_schema:
        first, where = seen.setdefault(f.name.lower(), (f.type, name))
        if _shape(f.type) != _shape(first):
            raise InputDataError(f"{name}: column {f.name!r} is {f.type} but {first} in "
                                 f"{where}; write the column with one type in every file")


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))  # _SUCCESS, .crc, _temporary/: written by Spark, Hadoop and the like


def _event_files(events_dir: Path) -> list[Path]:
    """Every `*.parquet` file under events_dir at any depth, skipping files and folders whose names start
    with `.` or `_`; any other file is an input error (an export dropped here must not be skipped)."""
    out, other = [], []
    for folder, dirs, names in os.walk(events_dir):
        dirs[:] = sorted(d for d in dirs if not _hidden(d))
        for name in sorted(names):
            if _hidden(name):
                continue
            (out if name.endswith(".parquet") else other).append(Path(folder) / name)
    if other:
        raise _not_parquet([f"events/{p.relative_to(events_dir).as_posix()}" for p in other], "events/")
    return out


def _not_parquet(names: list[str], where: str) -> InputDataError:
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    it = "it" if len(names) == 1 else "them"
    return InputDataError(f"{shown}: not a Parquet file (only *.parquet files are events); convert {it} to Parquet, "
                          f"or move {it} out of {where} (names starting with . or _ are ignored; see "
                          "docs/input-rules.md)")


def _remote_files(prefix: storage.Prefix, subset: tuple[str, ...] | None
                  ) -> tuple[list[str], dict[str, storage.ObjectInfo]]:
    """The events objects under the prefix (the same rules as a folder), or only `subset` (a shard's)."""
    if subset is not None:
        return [prefix.object_uri(rel) for rel in subset], {}
    objects = {o.relative: o for o in storage.list_objects(prefix) if not storage.hidden(o.relative)}
    other = [prefix.object_uri(rel) for rel in objects if not rel.endswith(".parquet")]
    if other:
        raise _not_parquet(other, prefix.uri)
    return [prefix.object_uri(rel) for rel in sorted(objects)], objects


def discover(events_dir: Path | storage.Prefix, subset: tuple[str, ...] | None = None) -> EventFiles:
    """All Parquet files under events_dir (any depth; a folder or an s3:// prefix), each checked; an
    unreadable one stops the run. `subset`: only these files (paths relative to events_dir; a shard's,
    pipeline/billing/shards.py)."""
    objects: dict[str, storage.ObjectInfo] = {}
    if isinstance(events_dir, storage.Prefix):
        found, objects = _remote_files(events_dir, subset)
        files: list = found
    else:
        if not events_dir.is_dir():
            raise InputDataError(f"{events_dir}: events folder not found; create it (it may be empty)")
        local = (events_dir / rel for rel in subset) if subset is not None else _event_files(events_dir)
        files = sorted((p for p in local if p.is_file()), key=lambda p: p.relative_to(events_dir).as_posix())
    located = EventFiles(events_dir, tuple(files), {}, objects, {})
    schema: dict[str, pa.DataType] = {}
    seen: dict[str, tuple[pa.DataType, str]] = {}
    shapes = set()
    for path in files:
        name = located.name(path)
        try:
            file_schema = located.read_schema(path)
        except InputDataError:
            raise  # object storage: access denied, bucket gone, endpoint unreachable, said as such
        except Exception as exc:  # any footer failure means the same: unreadable file
            what = "object" if located.remote else "file"
            raise InputDataError(f"{name}: cannot be read as Parquet ({exc}); "
                                 f"replace or remove the {what}") from None
        missing = [c for c in REQUIRED if c not in file_schema.names]
        if missing:
            raise InputDataError(f"{name}: required column(s) {', '.join(missing)} missing; "
                                 f"every events file needs {', '.join(REQUIRED)}")
        _check_columns(file_schema, name, seen)
        _check_types(path, file_schema, name)
        for field_ in file_schema:
            schema.setdefault(field_.name, field_.type)
        shapes.add(tuple((f.name, str(f.type)) for f in file_schema))
    return EventFiles(events_dir, tuple(files), schema, objects, located.footers, len(shapes) == 1)


@dataclass
class Columns:
    """The event columns the metrics use, under safe aliases: u<i> as text, n<i> as DECIMAL(38,9)."""

    schema: dict[str, pa.DataType]
    text: dict[str, str]
    number: dict[str, str]

    @classmethod
    def empty(cls, schema: dict[str, pa.DataType]) -> Columns:
        return cls(schema, {}, {})

    def text_of(self, column: str) -> str:
        return self.text.setdefault(column, f"u{len(self.text)}")

    def number_of(self, column: str) -> str:
        return self.number.setdefault(column, f"n{len(self.number)}")

    def timestamp(self) -> str:
        """The events' timestamp as a TIMESTAMPTZ (a timestamp without a zone is UTC)."""
        ts = quote_ident("timestamp")
        ts_type = self.schema.get("timestamp")
        zoned = ts if ts_type is not None and getattr(ts_type, "tz", None) else f"timezone('UTC', {ts})"
        return f"CAST({zoned} AS TIMESTAMPTZ)"

    def projection(self, keys_only: bool = False) -> str:
        parts = [f"CAST({quote_ident(c)} AS VARCHAR) AS {c}" for c in ("event_id", "customer_id", "event_type")]
        parts += [f"{self.timestamp()} AS ts", "file_index AS _file", "file_row_number AS _row"]
        if keys_only:
            return ", ".join(parts)
        for col, alias in self.text.items():
            parts.append(f"CAST({quote_ident(col)} AS VARCHAR) AS {alias}" if col in self.schema
                         else f"CAST(NULL AS VARCHAR) AS {alias}")
        for col, alias in self.number.items():
            parts.append(f"TRY_CAST({quote_ident(col)} AS DECIMAL(38, 9)) AS {alias}" if col in self.schema
                         else f"CAST(NULL AS DECIMAL(38, 9)) AS {alias}")
        return ",\n           ".join(parts)


FILES = "read_parquet($files, union_by_name = true, file_row_number = true, hive_partitioning = false)"
STAGED = "selected_events"  # the selected customers' rows, read once (stage_selected)


def relation(events: EventFiles, staged: bool) -> tuple[str, dict]:
    """What the event queries read (the files, or the staged rows) and the parameters that needs."""
    return (STAGED, {}) if staged else (FILES, {"files": [str(p) for p in events.files]})


def stage_selected(con: duckdb.DuckDBPyConnection, events: EventFiles, columns: Columns, start: dt.datetime,
                   end: dt.datetime) -> bool:
    """A run that selects customers (--contract, --customer: the nightly's) reads the files once: their
    rows with a null timestamp or one in [start, end), with every column, file_index and file_row_number,
    go into the table `selected_events`, which classify, meter_weighted and quarantine then read in place
    of the files (each of those would otherwise decode every row of every file to keep the selected
    customers'). Only when every file has the same columns and types, so that the quarantined rows'
    columns are what reading the files holding them gives; returns whether it staged."""
    if not events.uniform or not events.files:
        return False
    ts = columns.timestamp()
    try:
        events.attach(con).execute(
            f"CREATE OR REPLACE TEMP TABLE {STAGED} AS SELECT *, file_index FROM {FILES} "
            f"WHERE CAST({quote_ident('customer_id')} AS VARCHAR) IN (SELECT customer_id FROM selected_customers_t) "
            f"AND ({ts} IS NULL OR ({ts} >= $start AND {ts} < $end))",
            {"files": [str(p) for p in events.files], "start": start, "end": end})
    except (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise InputDataError(f"events: reading failed: {exc}; check or remove the file it names") from None
    return True


def classify(con: duckdb.DuckDBPyConnection, events: EventFiles, columns: Columns, metric_flags: str,
             kept_columns: str, params: dict, customer_filter: bool, fold: dict[str, str],
             shard_filter: str = "", staged: bool = False) -> dict[str, int]:
    """Classify every considered event and fold them into the `folded` temp table (fold: the metering
    fragments, pipeline/meter.py MetricSql.fold); return the count of events per status.
    shard_filter: a shard's rows (pipeline/shards.py row_filter), on top of the customer selection;
    staged: read `selected_events` (stage_selected: only the selected customers' rows) for the files."""
    keys = columns.projection(keys_only=True)
    source, files = relation(events, staged)
    # dedup's two readers: narrow scans of the key columns, or, when the run selects customers from the
    # files, `raw` itself (few rows, so one materialized CTE); the staged rows are a table already, whose
    # narrow scans are cheap (and `raw`, then read once, is not materialized: a night 0.3 GB less)
    selection = "AND customer_id IN (SELECT customer_id FROM selected_customers_t)"
    query = sql("classify_events", projection=columns.projection(), events=source,
                copies_source="raw" if customer_filter and not staged else f"(SELECT {keys} FROM {source})",
                metric_flags=metric_flags,
                kept_columns=kept_columns,
                customer_filter=(selection if customer_filter and not staged else "") + shard_filter,
                **fold)
    try:
        events.attach(con).execute(query, {**files, **params})
    except (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise InputDataError(f"events: reading failed: {exc}; check or remove the file it names") from None
    counts = dict.fromkeys(STATUSES, 0)
    for code, n in con.execute("SELECT status, sum(n) FROM folded WHERE fold = 'status' GROUP BY status").fetchall():
        counts[STATUSES[code]] = n
    return {"read": sum(counts.values()), **counts}


def empty_quarantine(events: EventFiles) -> pa.Table:
    fields = [pa.field(n, t) for n, t in events.schema.items()]
    fields += [pa.field("reason", pa.string()), pa.field("source_file", pa.string()),
               pa.field("source_row", pa.int64())]
    return pa.schema(fields).empty_table()


def quarantine(con: duckdb.DuckDBPyConnection, events: EventFiles, customers: pa.Table | None = None,
               staged: bool = False) -> Future:
    """Quarantined events with their original columns, `reason`, and where they came from, as a Future.

    Which rows: found now on `con` (the `folded` table classify made there). Reading them back, a scan
    of only the files that hold them for only those rows, runs on a cursor of `con` in a worker thread,
    so that it overlaps the metering and pricing that follow (1.7 s of a 20M-event run's 26 s).
    customers: the run selected these customers (one column, customer_id), so are the rows: the scan
    skips the other customers' rows, as classify did. staged: the rows are taken from `selected_events`
    (stage_selected) at once, on `con` (a join of the staged rows, not a scan of files), and that table,
    whose last reader this is, is dropped.
    """
    rows = fetch_table(con, "SELECT q_file AS _file, q_row AS _row, status FROM folded "
                            "WHERE fold = 'status' AND q_file IS NOT NULL")
    reasons = pa.array(STATUSES, pa.string()).take(rows.column("status").cast(pa.int64()))
    if staged:
        table = _read_staged(con, events, rows.column("_file"), rows.column("_row"), reasons)
        con.execute(f"DROP TABLE {STAGED}")
        return done(table if table.num_rows else empty_quarantine(events))
    if not rows.num_rows:
        return done(empty_quarantine(events))
    other = cursor(con)  # made here: `con` refuses calls from two threads at once
    selected = "AND CAST(e.customer_id AS VARCHAR) IN (SELECT customer_id FROM selected_customers_t)"

    def read() -> pa.Table:
        with other:
            if customers is not None:
                other.register("selected_customers_t", customers)
            return read_quarantined(other, events, rows.column("_file"), rows.column("_row"), reasons,
                                    "" if customers is None else selected)
    return in_background(read)


def _read_staged(con: duckdb.DuckDBPyConnection, events: EventFiles, file_index: pa.ChunkedArray,
                 row: pa.ChunkedArray, reason: pa.Array) -> pa.Table:
    """read_quarantined's table, from the staged rows (every file has the same columns: the same table)."""
    con.register("quarantined_t", pa.table({"_file": file_index.cast(pa.uint64()), "_row": row.cast(pa.int64()),
                                            "reason": reason}))
    table = fetch_table(con, f"""
        SELECT e.* EXCLUDE (file_row_number, file_index), q.reason,
               e.file_index AS source_file, e.file_row_number AS source_row
        FROM {STAGED} e
        JOIN quarantined_t q ON q._file = e.file_index AND q._row = e.file_row_number
        ORDER BY e.file_index, e.file_row_number
    """)
    con.unregister("quarantined_t")
    names = pa.array([events.relative(f) for f in events.files], pa.string())
    rel = names.take(table.column("source_file").cast(pa.int64()))
    return table.set_column(table.schema.get_field_index("source_file"), "source_file", rel)


def read_quarantined(con: duckdb.DuckDBPyConnection, events: EventFiles, file_index: pa.Array | pa.ChunkedArray,
                     row: pa.Array | pa.ChunkedArray, reason: pa.Array | pa.ChunkedArray,
                     customer_filter: str = "") -> pa.Table:
    """The quarantine table of these rows (index in events.files, 0-based row in that file, reason):
    their original columns as DuckDB reads the files holding them together, `reason`, `source_file`
    and `source_row`, in file and row order. Row -1 is in no file: keys that all have it give the
    empty table with the schema those files give (a distributed run's merge checks its parts so)."""
    wanted = sorted(set(file_index.to_pylist()))
    position = {f: i for i, f in enumerate(wanted)}
    keys = pa.table({"_file": pa.array([position[f] for f in file_index.to_pylist()], pa.uint64()),
                     "_row": row.cast(pa.int64()), "reason": reason.cast(pa.string())})
    events.attach(con).register("quarantined_t", keys)
    table = fetch_table(con, f"""
        SELECT e.* EXCLUDE (file_row_number), q.reason,
               e.file_index AS source_file, e.file_row_number AS source_row
        FROM read_parquet($files, union_by_name = true, file_row_number = true, hive_partitioning = false) e
        JOIN quarantined_t q ON q._file = e.file_index AND q._row = e.file_row_number
        WHERE true {customer_filter}
        ORDER BY e.file_index, e.file_row_number
    """, {"files": [str(events.files[f]) for f in wanted]})
    con.unregister("quarantined_t")
    names = pa.array([events.relative(events.files[f]) for f in wanted], pa.string())
    rel = names.take(table.column("source_file").cast(pa.int64()))
    return table.set_column(table.schema.get_field_index("source_file"), "source_file", rel)
