-- classify_events: one row per considered event copy, with the one place it ends in.
--
-- Grain: one row per event row read whose timestamp is in [$span_start, $span_end)
-- or null. Copies in [$lookback_start, $span_start) are read only to find duplicates.
-- Parameters: $files (list of paths), $lookback_start, $span_start, $span_end (TIMESTAMPTZ),
-- plus the metric filter lists ($f<k>_<j>).
-- Inputs: customers_t(customer_id); coverage_t(customer_id, event_type, contract_id,
-- active_from, active_to, m<k>...): which contract meters an event type when;
-- active_t(customer_id, active_from, active_to); periods_t(contract_id, period_start,
-- start_at, end_at): the billed periods.
-- Slots: <projection> typed event columns, <customer_filter> the customer
-- selection, <metric_flags> per metric k: p<k> (meters the event) and ok<k> (counts it).
CREATE OR REPLACE TEMP TABLE classified AS
WITH raw AS (
    SELECT {{projection}}
    FROM read_parquet($files, union_by_name = true, filename = true, file_row_number = true,
                      hive_partitioning = false)
),
windowed AS (
    SELECT *,
           customer_id IS NULL OR event_id IS NULL OR event_type IS NULL OR ts IS NULL AS is_invalid
    FROM raw
    WHERE (ts IS NULL OR (ts >= $lookback_start AND ts < $span_end)) {{customer_filter}}
),
ranked AS (
    SELECT *,
           row_number() OVER (PARTITION BY is_invalid, customer_id, event_id ORDER BY ts, _file, _row) AS copy_rank
    FROM windowed
),
considered AS (
    SELECT * FROM ranked WHERE ts IS NULL OR ts >= $span_start
),
resolved AS (
    SELECT e.*,
           cu.customer_id IS NOT NULL AS is_known_customer,
           cv.contract_id,
           {{metric_flags}}
    FROM considered e
    LEFT JOIN customers_t cu ON cu.customer_id = e.customer_id AND NOT e.is_invalid
    LEFT JOIN coverage_t cv
           ON cv.customer_id = e.customer_id AND cv.event_type = e.event_type
          AND e.ts >= cv.active_from AND e.ts < cv.active_to AND NOT e.is_invalid AND e.copy_rank = 1
),
placed AS (
    SELECT r.*, p.period_start,
           r.contract_id IS NULL AND r.is_known_customer AND NOT r.is_invalid AND r.copy_rank = 1
             AND NOT EXISTS (SELECT 1 FROM active_t a
                             WHERE a.customer_id = r.customer_id AND r.ts >= a.active_from AND r.ts < a.active_to)
             AS is_without_contract
    FROM resolved r
    LEFT JOIN periods_t p ON p.contract_id = r.contract_id AND r.ts >= p.start_at AND r.ts < p.end_at
)
SELECT * EXCLUDE (is_invalid, copy_rank, is_known_customer, is_without_contract),
       CASE
           WHEN is_invalid THEN 'invalid'
           WHEN copy_rank > 1 THEN 'duplicate'
           WHEN NOT is_known_customer THEN 'unknown_customer'
           WHEN is_without_contract THEN 'no_active_contract'
           WHEN contract_id IS NULL OR NOT is_metered THEN 'unmetered'
           WHEN NOT is_counted THEN 'invalid'
           WHEN period_start IS NULL THEN 'outside_window'
           ELSE 'billed'
       END AS status
FROM placed
