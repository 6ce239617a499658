"""The floor: the least work any correct run must do on an events folder, as one DuckDB query.

Keep the earliest copy per (customer_id, event_id), then one grouped aggregation of
every metered column. Run as its own process by bench.py so its time and memory
are measured like the real run's.
"""
from __future__ import annotations

import sys

import duckdb

QUERY = """
SELECT customer_id, event_type, count(*) AS n, sum(hours) AS hours, sum(gb) AS gb, sum(amount) AS amount,
       max(seats) AS seats, count(DISTINCT user_id) AS users
FROM (
    SELECT customer_id, event_id, arg_min(event_type, timestamp) AS event_type, arg_min(hours, timestamp) AS hours,
           arg_min(gb, timestamp) AS gb, arg_min(amount, timestamp) AS amount, arg_min(seats, timestamp) AS seats,
           arg_min(user_id, timestamp) AS user_id
    FROM read_parquet($files, union_by_name = true)
    GROUP BY customer_id, event_id
)
GROUP BY customer_id, event_type
"""


def main(events_glob: str, memory_limit: str) -> None:
    con = duckdb.connect(config={"memory_limit": memory_limit})
    con.execute("SET enable_progress_bar = false")
    rows = con.execute(QUERY, {"files": events_glob}).fetchall()
    print(len(rows))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
