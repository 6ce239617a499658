"""shards: which customers one shard of a distributed run rates, and which event files it reads.

Rating is partitionable by customer: an event is one (customer_id, event_id), a contract
belongs to one customer, and nothing in a run mixes two customers' events. So the whole run
equals the union of its shards, each rating the customers that hash to it with the same stage
code, over the same span of instants (the whole run's, `Scope.whole`).

The hash is explicit, not DuckDB's `hash()` (which may change between versions): the first 16
hex digits of md5(customer_id as UTF-8) read as an unsigned 64-bit integer, mod the count.
Python (`customer_hash`) and DuckDB (`BUCKET_SQL`) compute the same number (tested). Events
with a null customer_id belong to bucket 0.

A shard reads its events in one of two ways:
- every event file, keeping the rows of its customers (`row_filter`): known customers by their
  hash (a semi-join on `shard_customers_t`, no hashing per row); shard 0 also takes null and
  unknown customer_ids. Each shard scans all files' customer_id column.
- only its own files, when events/ is a bucket layout written by `usagebill repartition`
  (`read_layout`, pipeline/repartition.py) whose bucket count is a multiple of the shard
  count: shard i reads the folders `bucket=b` with b mod count = i, and of those only the
  `event_date=` folders the run can read (the dedup lookback and the weighted_sum history).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from .scope import Scope

LAYOUT_FILE = "_usagebill_layout.json"  # written last by `usagebill repartition`, in the events folder
LAYOUT_FORMAT = "usagebill-buckets/1"
HASH_RULE = "md5(customer_id UTF-8), first 16 hex digits as an unsigned integer, mod buckets; null: bucket 0"
# the same rule in DuckDB, over a VARCHAR expression; $buckets is a query parameter
BUCKET_SQL = "coalesce(CAST('0x' || left(md5({column}), 16) AS UBIGINT) % CAST($buckets AS UBIGINT), 0)"


def customer_hash(customer_id: str) -> int:
    return int(hashlib.md5(customer_id.encode("utf-8")).hexdigest()[:16], 16)


def shard_of(customer_id: str, count: int) -> int:
    return customer_hash(customer_id) % count


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`. files: the event files it reads (relative to events/, a bucket
    layout), or None: every file, rows filtered by customer."""

    index: int
    count: int
    files: tuple[str, ...] | None = None

    @property
    def key(self) -> tuple[int, int]:
        return self.index, self.count


def customers_table(customer_ids: list[str], shard: Shard) -> pa.Table:
    """shard_customers_t for `row_filter`: the shard's known customers; for shard 0 (which also
    takes null and unknown ids) the known customers of every *other* shard."""
    if shard.index == 0:
        ids = [c for c in customer_ids if shard_of(c, shard.count) != 0]
    else:
        ids = [c for c in customer_ids if shard_of(c, shard.count) == shard.index]
    return pa.table({"customer_id": pa.array(sorted(ids), pa.string())})


def row_filter(shard: Shard | None) -> str:
    """The WHERE fragment of sql/classify_events.sql that keeps a shard's rows (empty when it reads
    only its own files)."""
    if shard is None or shard.files is not None:
        return ""
    if shard.index == 0:
        return " AND (customer_id IS NULL OR customer_id NOT IN (SELECT customer_id FROM shard_customers_t))"
    return " AND customer_id IN (SELECT customer_id FROM shard_customers_t)"


# -- the bucket layout ------------------------------------------------------------------------

def read_layout(events_dir: Path, relative_files: list[str]) -> int | None:
    """The bucket count of a layout written by `usagebill repartition`, or None when events/ is
    not one, or no longer exactly the files it wrote (a file added, removed, renamed or resized)."""
    path = events_dir / LAYOUT_FILE
    try:
        layout = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(layout, dict) or layout.get("format") != LAYOUT_FORMAT or layout.get("hash") != HASH_RULE:
        return None
    written = layout.get("files")
    if not isinstance(written, dict) or sorted(written) != sorted(relative_files):
        return None
    for rel, size in written.items():
        try:
            if (events_dir / rel).stat().st_size != size:
                return None
        except OSError:
            return None
    buckets = layout.get("buckets")
    return buckets if isinstance(buckets, int) and buckets > 0 else None


def _bucket_and_day(rel: str) -> tuple[int, dt.date | None]:
    """bucket=0007/event_date=2026-10-01/part-0.parquet -> (7, 2026-10-01); a null timestamp's folder
    (event_date=__HIVE_DEFAULT_PARTITION__) has no day."""
    bucket, day = rel.split("/")[:2]
    try:
        when = dt.date.fromisoformat(day.split("=", 1)[1])
    except ValueError:
        when = None
    return int(bucket.split("=", 1)[1]), when


def plan(relative_files: list[str], count: int, buckets: int | None,
         days: tuple[dt.date, dt.date] | None) -> list[Shard]:
    """The `count` shards of a run. With a bucket layout whose bucket count is a multiple of
    `count`, each shard gets its buckets' files whose day lies in `days` (inclusive; null-day
    folders always); otherwise every shard reads every file."""
    if not buckets or buckets % count:
        return [Shard(i, count) for i in range(count)]
    files: list[list[str]] = [[] for _ in range(count)]
    for rel in relative_files:
        bucket, day = _bucket_and_day(rel)
        if day is None or days is None or days[0] <= day <= days[1]:
            files[bucket % count].append(rel)
    return [Shard(i, count, tuple(f)) for i, f in enumerate(files)]


def event_days(scope: "Scope", dedup_window_days: int) -> tuple[dt.date, dt.date] | None:
    """The event days a run can read: the dedup lookback before its span, and the weighted_sum
    history since the start of each contract metering one (a day of margin each side)."""
    span = scope.span
    if span is None:
        return None
    ws = scope.workspace
    first = (span[0] - dt.timedelta(days=dedup_window_days)).date()
    metrics = ws.pricebook.metrics
    for k in scope.contracts:
        if any(m in metrics and metrics[m].aggregation == "weighted_sum" for m in ws.metric_ids_ever(k)):
            first = min(first, k.start_date - dt.timedelta(days=2))
    return first - dt.timedelta(days=1), span[1].date() + dt.timedelta(days=1)
