"""The floor: the least work any correct run must do on an events folder, as one DuckDB query.

Keep the earliest copy per (customer_id, event_id), then one grouped aggregation of
every metered column (issue 17's form: the fastest measured here; arg_min and
DISTINCT ON were slower). Run as its own process by bench.py so its time and memory
are measured like the real run's. The generator's duration column is `hours`.
"""
from __future__ import annotations

import sys

import duckdb

QUERY = """
WITH d AS (SELECT * FROM read_parquet($files, union_by_name = true)
           QUALIFY row_number() OVER (PARTITION BY customer_id, event_id ORDER BY timestamp) = 1)
SELECT customer_id, event_type, region, count(*), count(DISTINCT user_id), sum(hours), max(gb),
       sum(amount::DECIMAL(38,9))
FROM d GROUP BY ALL
"""


def main(events_glob: str, memory_limit: str | None = None) -> None:
    config = {"memory_limit": memory_limit} if memory_limit else {}
    con = duckdb.connect(config=config)
    con.execute("SET enable_progress_bar = false")
    rows = con.execute(QUERY, {"files": events_glob}).fetchall()
    print(len(rows))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
