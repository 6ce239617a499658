"""layout: the bucket layout `usagebill repartition` writes, and which files each shard reads.

events/bucket=NNNN/event_date=YYYY-MM-DD/part-0.parquet, with _usagebill_layout.json written last
(format, hash rule, bucket count, every file and its size). A Dask run whose shard count divides
the bucket count gives each shard only its own buckets' files, and of those only the days the run
can read (the dedup lookback and the weighted_sum history); otherwise every shard reads every
file and keeps its customers' rows (pipeline/billing/shards.py `row_filter`).
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from ..billing.scope import Scope
from ..billing.shards import HASH_RULE, Shard

LAYOUT_FILE = "_usagebill_layout.json"  # written last by `usagebill repartition`, in the events folder
LAYOUT_FORMAT = "usagebill-buckets/1"


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


def event_days(scope: Scope, dedup_window_days: int) -> tuple[dt.date, dt.date] | None:
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
