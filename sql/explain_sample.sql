-- explain_sample: the events some invoice lines of one customer and period counted: the first few
-- of each line and how many.
--
-- Grain: one row per (line, event counted), the copy kept by dedup, in (timestamp, event_id) order,
-- at most $limit rows per line; `matched` is the number of such events of the line.
-- Same rules as sql/classify_events.sql for one customer: copies of (customer_id, event_id) are
-- looked for from $lookback_start, the earliest by (timestamp, file, row) is kept; the kept copy
-- counts when it falls in [$start_at, $end_at), has the line's event type and passes its metric's
-- conditions.
-- Parameters: $files, $customer_id, $lookback_start, $start_at, $end_at, $limit, and per line i
-- $et<i> (event type) and its condition values ($f<i>_<j> filter lists, $g<i>_<j> group values).
-- Slots: <projection> typed event columns (pipeline/billing/ingest.py Columns); <branches> one SELECT per
-- line over `kept` with its conditions (filters, group values, a non-null number for numeric
-- metrics), built from quoted identifiers.
WITH raw AS (
    SELECT *
    FROM (SELECT {{projection}}
          FROM read_parquet($files, union_by_name = true, file_row_number = true, hive_partitioning = false))
    WHERE customer_id = $customer_id AND event_id IS NOT NULL AND event_type IS NOT NULL
      AND ts >= $lookback_start AND ts < $end_at
),
kept AS MATERIALIZED (
    SELECT * EXCLUDE (copy)
    FROM (SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY ts, _file, _row) AS copy FROM raw)
    WHERE copy = 1 AND ts >= $start_at
)
{{branches}}
ORDER BY line, ts, event_id
