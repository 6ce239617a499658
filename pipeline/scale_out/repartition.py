"""repartition: rewrite event files as a customer-bucketed Hive layout, so a shard reads only its own files.

    OUT/bucket=0007/event_date=2026-10-01/part-0.parquet
    OUT/_usagebill_layout.json        the bucket count, the hash rule, every file written and its size

bucket = shards.BUCKET_SQL of customer_id (md5, stable across versions and machines; null
customer_id: bucket 0); event_date = the UTC day of the event's timestamp (read as a run reads it:
naive means UTC), `__HIVE_DEFAULT_PARTITION__` for a null timestamp. One file per bucket and day.

Every row and column is kept (duplicates too: deduplication is the run's job), so a run gives
the same invoices, lines, usage and counts on either layout. Columns get the type a run reads
them as (a column that is a number in one file and text in another is text in every new file).
Inside a file rows keep their original order ((file path, row) of the source), and all copies of
one (customer_id, timestamp) share a file: the dedup tie-break between copies with the same
timestamp (earliest file path, then row) therefore keeps the same copy as on the source files.
Quarantined rows name their new file and row.

The sort runs in passes over ranges of buckets, each of at most ROWS_PER_PASS events (counted
from the files' footers), so it stays in memory at any size (one sort of 100M full rows did not:
18 GB and more than 20 minutes); each pass reads the files again, keeping its buckets' rows.

The output is written beside OUT and renamed into place when complete; OUT must not exist or be
empty. With a workspace as SOURCE, OUT is a workspace: its configuration files are copied and the
events written to OUT/events.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..billing import emit, ingest
from ..billing.shards import BUCKET_SQL, HASH_RULE
from ..core.db import connect, quote_ident
from ..core.errors import BillingError, InputDataError
from .layout import LAYOUT_FILE, LAYOUT_FORMAT

NULL_DAY = "__HIVE_DEFAULT_PARTITION__"
CONFIG_NAMES = ("pricebook.yaml", "customers.csv", "customers.parquet", "contracts.csv", "contracts.parquet",
                "tax_rates.csv", "tax_rates.parquet")
BATCH_ROWS = 1_000_000
ROWS_PER_PASS = 10_000_000  # events sorted at once (~9 s and ~2 GB at 10M here)
HELPERS = ("__usagebill_bucket", "__usagebill_day", "__usagebill_file", "__usagebill_row")


@dataclass
class Repartitioned:
    out: Path
    events: int
    files: int
    buckets: int


def _source(source: Path) -> tuple[Path, bool]:
    """The events folder of SOURCE, and whether SOURCE is a workspace."""
    if (source / "pricebook.yaml").is_file():
        return source / "events", True
    return source, False


def repartition(source: Path, out: Path, buckets: int, *, threads: int | None = None,
                memory_limit: str | None = None, progress: Callable[[str], None] = lambda _s: None) -> Repartitioned:
    """Write SOURCE's events to OUT in the bucket layout (see the module doc)."""
    if not 1 <= buckets <= 9999:
        raise BillingError(f"--buckets {buckets}: use 1 to 9999")
    events_dir, is_workspace = _source(source)
    events = ingest.discover(events_dir)
    clash = [n for n in events.schema if n.lower() in HELPERS]
    if clash:
        raise InputDataError(f"events: column {clash[0]!r} is reserved by repartition; rename it in the files")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BillingError(f"--out {out}: exists and is not empty; give a new folder")
    stage = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        target = stage / "events" if is_workspace else stage
        target.mkdir(exist_ok=True)
        if is_workspace:
            for name in CONFIG_NAMES:
                if (source / name).is_file():
                    shutil.copy2(source / name, stage / name)
        written, rows = _write(events, target, buckets, threads, memory_limit, progress)
        layout = {"format": LAYOUT_FORMAT, "buckets": buckets, "hash": HASH_RULE, "files": written}
        (target / LAYOUT_FILE).write_text(json.dumps(layout, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()
        os.replace(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return Repartitioned(out, rows, len(written), buckets)


def _write(events: ingest.EventFiles, target: Path, buckets: int, threads: int | None, memory_limit: str | None,
           progress: Callable[[str], None]) -> tuple[dict[str, int], int]:
    """Stream the events sorted by (bucket, day, source file, source row) and write one file per bucket and day."""
    if not events.files:
        return {}, 0
    ts = quote_ident("timestamp")
    tz = getattr(events.schema.get("timestamp"), "tz", None)
    instant = f"CAST({ts if tz else f'timezone({chr(39)}UTC{chr(39)}, {ts})'} AS TIMESTAMPTZ)"
    bucket, day, source, row = HELPERS
    query = f"""
        SELECT * FROM (
            SELECT * EXCLUDE (file_row_number),
                   {BUCKET_SQL.format(column=f'CAST({quote_ident("customer_id")} AS VARCHAR)')} AS {bucket},
                   coalesce(strftime(CAST({instant} AS DATE), '%Y-%m-%d'), '{NULL_DAY}') AS {day},
                   file_index AS {source}, file_row_number AS {row}
            FROM read_parquet($files, union_by_name = true, file_row_number = true, hive_partitioning = false))
        WHERE {bucket} >= $first_bucket AND {bucket} < $stop_bucket
        ORDER BY {bucket}, {day}, {source}, {row}
    """
    rows_in = sum(pq.ParquetFile(p).metadata.num_rows for p in events.files)
    passes = max(1, min(buckets, -(-rows_in // ROWS_PER_PASS)))
    bounds = [buckets * i // passes for i in range(passes + 1)]
    width = len(str(buckets - 1))
    con = connect(threads, memory_limit)
    written: dict[str, int] = {}
    total = 0
    pending: list[pa.Table] = []
    current: tuple[int, str] | None = None

    def flush() -> None:
        if not pending:
            return
        rel = f"bucket={current[0]:0{width}d}/event_date={current[1]}/part-0.parquet"
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        emit.write_parquet(pa.concat_tables(pending), path)  # one chunk, zstd, row groups of 1M: same bytes
        written[rel] = path.stat().st_size
        pending.clear()

    def batches():  # the passes' sorted batches, in bucket order
        for lo, hi in zip(bounds, bounds[1:]):
            params = {"files": [str(p) for p in events.files], "buckets": buckets, "first_bucket": lo,
                      "stop_bucket": hi}
            yield from con.sql(query, params=params).to_arrow_reader(BATCH_ROWS)

    try:
        for batch in batches():
            table = pa.Table.from_batches([batch])
            keys = {"b": table.column(bucket).combine_chunks(), "d": table.column(day).combine_chunks()}
            data = table.drop_columns(list(HELPERS))
            # runs of equal (bucket, day) in this sorted batch
            change = pc.or_(pc.not_equal(keys["b"][1:], keys["b"][:-1]), pc.not_equal(keys["d"][1:], keys["d"][:-1]))
            starts = [0] + [i + 1 for i in pc.indices_nonzero(change).to_pylist()] + [table.num_rows]
            for lo, hi in zip(starts, starts[1:]):
                key = (keys["b"][lo].as_py(), keys["d"][lo].as_py())
                if key != current:
                    flush()
                    current = key
                    progress(f"bucket {key[0]} day {key[1]}")
                pending.append(data.slice(lo, hi - lo))
            total += table.num_rows
        flush()
    finally:
        con.close()
    return written, total
