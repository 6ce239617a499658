"""Peers for make bench: the floor's dedup and aggregate on the same files with chdb or Polars.

    python tests/perf/peers.py chdb|polars 'WS/events/**/*.parquet'

Each runs as its own process (bench.py measures wall, CPU and peak RSS); a peer that is not
installed exits with status 3 and bench.py reports it as skipped.
"""
from __future__ import annotations

import sys


def chdb_query(glob: str) -> int:
    import chdb

    sql = f"""
    SELECT customer_id, event_type, region, count(), uniqExact(user_id), sum(hours), max(gb),
           sum(toDecimal128(amount, 9))
    FROM (SELECT * FROM file('{glob}', Parquet) ORDER BY timestamp LIMIT 1 BY customer_id, event_id)
    GROUP BY customer_id, event_type, region
    """
    return len(chdb.query(sql, "CSV").bytes().splitlines())


def polars_query(glob: str) -> int:
    import polars as pl

    d = (pl.scan_parquet(glob).sort("timestamp")
         .unique(subset=["customer_id", "event_id"], keep="first", maintain_order=False))
    out = (d.group_by("customer_id", "event_type", "region")
           .agg(pl.len(), pl.col("user_id").n_unique(), pl.col("hours").sum(), pl.col("gb").max(),
                pl.col("amount").cast(pl.Decimal(38, 9)).sum())
           .collect(engine="streaming"))
    return out.height


def main(peer: str, glob: str) -> None:
    try:
        n = {"chdb": chdb_query, "polars": polars_query}[peer](glob)
    except ImportError:
        sys.exit(3)
    print(n)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
