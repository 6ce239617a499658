-- classify_events: one row per considered event copy, with the one place it ends in.
--
-- Grain: one row per event row read whose timestamp is in [$span_start, $span_end)
-- or null. Copies in [$lookback_start, $span_start) are read only to find duplicates.
-- status: 0 billed, 1 duplicate, 2 invalid, 3 unknown_customer, 4 no_active_contract,
-- 5 unmetered, 6 outside_window (pipeline/ingest.py STATUSES, same order).
-- Parameters: $files (list of paths, sorted: file_index orders copies), $lookback_start,
-- $span_start, $span_end (TIMESTAMPTZ), and the metric filter lists ($f<k>_<j>).
-- Inputs: timeline_t(customer_id, range_from, range_to, active): each known customer's whole
-- time line as disjoint ranges, active when some contract is; slots_t(customer_id, event_type,
-- contract_id, active_from, active_to, m<k>..., period_idx): which contract meters an event
-- type when, cut at the billed periods (period_idx null between them). Two range joins.
-- Slots: <projection> typed event columns (<key_projection>: only the dedup key columns),
-- <kept_columns> the value slots t<j>, v<j> and event_id kept for metering (pipeline/meter.py),
-- <customer_filter> the customer selection,
-- <metric_flags> per metric k: ok<k> (counts the event), is_metered, is_counted.
-- Dedup is one narrow aggregation (keys with more than one copy, and their earliest
-- copy) joined back, not a window over every row. A copy is ordered by one HUGEINT,
-- epoch_us(ts) * 2^64 + file_index * 2^40 + row: the (timestamp, file, row) order,
-- and a far cheaper aggregate than a struct (files < 2^24, rows per file < 2^40).
CREATE OR REPLACE TEMP TABLE classified AS
WITH raw AS (  -- filtered outside the projection, so `ts` is always the converted timestamp
    SELECT *
    FROM (SELECT {{projection}}
          FROM read_parquet($files, union_by_name = true, file_row_number = true, hive_partitioning = false))
    WHERE (ts IS NULL OR (ts >= $lookback_start AND ts < $span_end)) {{customer_filter}}
),
copies AS (  -- a second, narrow scan: cheaper than materializing `raw` for two readers
    SELECT customer_id, event_id, min(epoch_us(ts)::HUGEINT * 18446744073709551616 + _file::HUGEINT * 1099511627776 + _row) AS first_copy
    FROM (SELECT {{key_projection}}
          FROM read_parquet($files, union_by_name = true, file_row_number = true, hive_partitioning = false))
    WHERE customer_id IS NOT NULL AND event_id IS NOT NULL AND event_type IS NOT NULL
      AND ts >= $lookback_start AND ts < $span_end {{customer_filter}}
    GROUP BY customer_id, event_id
    HAVING count(*) > 1
),
considered AS (
    SELECT r.*,
           r.customer_id IS NULL OR r.event_id IS NULL OR r.event_type IS NULL OR r.ts IS NULL AS is_invalid,
           coalesce(d.first_copy <> epoch_us(r.ts)::HUGEINT * 18446744073709551616
                                  + r._file::HUGEINT * 1099511627776 + r._row, false) AS is_duplicate
    FROM raw r
    LEFT JOIN copies d ON d.customer_id = r.customer_id AND d.event_id = r.event_id
    WHERE r.ts IS NULL OR r.ts >= $span_start
),
resolved AS (
    SELECT e._file, e._row, e.ts, e.is_invalid, e.is_duplicate, {{kept_columns}}
           tl.customer_id IS NOT NULL AS is_known_customer,
           coalesce(tl.active, false) AS has_active_contract,
           cv.contract_id, cv.period_idx,
           {{metric_flags}}
    FROM considered e
    LEFT JOIN timeline_t tl
           ON tl.customer_id = e.customer_id AND e.ts >= tl.range_from AND e.ts < tl.range_to
    LEFT JOIN slots_t cv
           ON cv.customer_id = e.customer_id AND cv.event_type = e.event_type
          AND e.ts >= cv.active_from AND e.ts < cv.active_to
)
SELECT * EXCLUDE (is_invalid, is_duplicate, is_known_customer, has_active_contract, contract_id,
                  is_metered, is_counted),
       CAST(CASE
           WHEN is_invalid THEN 2
           WHEN is_duplicate THEN 1
           WHEN NOT is_known_customer THEN 3
           WHEN NOT has_active_contract THEN 4
           WHEN contract_id IS NULL OR NOT is_metered THEN 5
           WHEN NOT is_counted THEN 2
           WHEN period_idx IS NULL THEN 6
           ELSE 0
       END AS UTINYINT) AS status
FROM resolved
