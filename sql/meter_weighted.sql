-- meter_weighted: time-weighted levels (weighted_sum metrics) per billed period.
--
-- Grain: one row per (period_idx, metric_idx, group_values) with
--   opening    = the level at the period start (all earlier changes since the contract start),
--   level_us   = the integral of the level over the period, in (units x microseconds),
--   events     = changes inside the period.
-- quantity = level_us / microseconds of the full period (done exactly in Python).
-- Each event value is a change (+/-); copies are deduplicated, the earliest kept.
-- Parameters: $files (unless the rows were staged), $event_types, $history_start, $span_end.
-- Inputs: coverage_t, periods_t. Slots: <events> (the files, or the selected customers' rows staged
-- by pipeline/billing/ingest.py stage_selected), <projection>, <metric_flags>, <branches>
-- (one SELECT per weighted metric giving contract_id, metric_idx, group_values, ts, value).
WITH raw AS (
    SELECT {{projection}}
    FROM {{events}}
),
history AS (
    SELECT * FROM raw
    WHERE event_type IN (SELECT unnest($event_types)) AND ts >= $history_start AND ts < $span_end
      AND customer_id IS NOT NULL AND event_id IS NOT NULL
      AND customer_id IN (SELECT customer_id FROM coverage_t)  -- only customers the run considers
    QUALIFY row_number() OVER (PARTITION BY customer_id, event_id ORDER BY ts, _file, _row) = 1
),
owned AS (
    SELECT e.*, cv.contract_id, {{metric_flags}}
    FROM history e
    JOIN coverage_t cv
      ON cv.customer_id = e.customer_id AND cv.event_type = e.event_type
     AND e.ts >= cv.active_from AND e.ts < cv.active_to
),
changes AS (
{{branches}}
)
SELECT p.period_idx, c.metric_idx, c.group_values,
       sum(CASE WHEN c.ts < p.start_at THEN c.value ELSE 0 END) AS opening,
       sum(c.value * (epoch_us(p.end_at) - epoch_us(greatest(c.ts, p.start_at)))) AS level_us,
       count(*) FILTER (WHERE c.ts >= p.start_at) AS events
FROM changes c
JOIN periods_t p ON p.contract_id = c.contract_id AND c.ts < p.end_at
GROUP BY ALL
ORDER BY p.period_idx, c.metric_idx, c.group_values
