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
  (pipeline/scale_out/layout.py, written by pipeline/scale_out/repartition.py) whose bucket count is
  a multiple of the shard count: shard i reads the folders `bucket=b` with b mod count = i, and of those only the
  `event_date=` folders the run can read (the dedup lookback and the weighted_sum history).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pyarrow as pa

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
