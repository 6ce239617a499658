-- classify_events: every considered event copy gets the one place it ends in (its status), and
-- the events are folded, in the same pass, into the small `folded` temp table.
--
-- Considered: every event row read whose timestamp is in [$span_start, $span_end) or null.
-- Copies in [$lookback_start, $span_start) are read only to find duplicates.
-- status: 0 billed, 1 duplicate, 2 invalid, 3 unknown_customer, 4 no_active_contract,
-- 5 unmetered, 6 outside_window (pipeline/billing/ingest.py STATUSES, same order).
-- Grain of `folded`: one row per group of three grouping sets, named by `fold`:
--   status      events per status (n), one row per quarantined event with its file index and
--               row (q_file, q_row; null for the other statuses);
--   usage       billed events per period_idx, text slots t<j>, metric flag masks mask<i> and,
--               for events a percentage charge rates one by one, their ts and event_id
--               (ev_ts, ev_id; else null): n, s<j> = sum(v<j>), mx<j> = max(v<j>), and
--               l<j> = the last (ts, event_id, value) of latest metrics (pipeline/billing/meter.py);
--   daily       billed events per UTC day of ts and flag masks (the run report's daily usage).
-- Every event of a usage or daily row has the same flags, so metric k reads the rows whose
-- mask has bit k. Why fold here: the events themselves are never written, so nothing of
-- their size spills to disk and no later query reads them again.
-- Parameters: $files (list of paths, sorted: file_index orders copies; unless staged), $lookback_start,
-- $span_start, $span_end (TIMESTAMPTZ), and the metric filter lists ($f<k>_<j>).
-- Inputs: timeline_t(customer_id, range_from, range_to, active): each known customer's whole
-- time line as disjoint ranges, active when some contract is; slots_t(customer_id, event_type,
-- contract_id, active_from, active_to, m<k>..., period_idx): which contract meters an event
-- type when, cut at the billed periods (period_idx null between them). Two range joins.
-- Slots: <events> the files, or the selected customers' rows staged once by
-- pipeline/billing/ingest.py stage_selected (a table with the files' columns, file_index and
-- file_row_number), <projection> typed event columns,
-- <kept_columns> the value slots t<j>, v<j> and event_id kept for metering (pipeline/billing/meter.py),
-- <customer_filter> the customer selection,
-- <copies_source> what candidates and copies read: narrow scans of the key columns (cheaper
-- than holding `raw` for three readers; of the staged table when <events> is that), or `raw`
-- itself when the run selects customers from the files (few rows),
-- <metric_flags> per metric k: ok<k> (counts the event), is_metered, is_counted,
-- <fold_inner> the per-event fold columns (null unless billed), <fold_columns> the fold keys,
-- <usage_keys>, <daily_keys> those grouping sets, <fold_aggregates> n, s<j>, mx<j>, l<j>.
-- Dedup is narrow passes joined back, not a window over every row: the hashes of
-- (customer_id, event_id) seen more than once (8 bytes a key, sorted: equal neighbours; at 20M
-- events the sort took half the time of a GROUP BY over 19M distinct hashes, and neither holds
-- the strings or the first copy), then, among the events with such a hash only, the keys with
-- more than one copy and their earliest copy (exact: a hash collision only adds candidates).
-- A copy is ordered by one HUGEINT, epoch_us(ts) * 2^64 + file_index * 2^40 + row: the
-- (timestamp, file, row) order, and a far cheaper aggregate than a struct (files < 2^24, rows
-- per file < 2^40).
CREATE OR REPLACE TEMP TABLE folded AS
WITH raw AS (  -- filtered outside the projection, so `ts` is always the converted timestamp
    SELECT *
    FROM (SELECT {{projection}}
          FROM {{events}})
    WHERE (ts IS NULL OR (ts >= $lookback_start AND ts < $span_end)) {{customer_filter}}
),
candidates AS (  -- key hashes seen more than once: equal neighbours once the hashes are sorted
    SELECT h
    FROM (SELECT h, lag(h) OVER (ORDER BY h) AS previous
          FROM (SELECT hash(customer_id, event_id) AS h
                FROM {{copies_source}}
                WHERE customer_id IS NOT NULL AND event_id IS NOT NULL AND event_type IS NOT NULL
                  AND ts >= $lookback_start AND ts < $span_end {{customer_filter}}))
    WHERE h = previous
),
copies AS (  -- the keys with more than one copy, exactly, and their earliest copy
    SELECT customer_id, event_id, min(epoch_us(ts)::HUGEINT * 18446744073709551616 + _file::HUGEINT * 1099511627776 + _row) AS first_copy
    FROM {{copies_source}}
    WHERE customer_id IS NOT NULL AND event_id IS NOT NULL AND event_type IS NOT NULL
      AND ts >= $lookback_start AND ts < $span_end {{customer_filter}}
      AND hash(customer_id, event_id) IN (SELECT h FROM candidates)
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
),
classified AS (
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
)
SELECT CASE GROUPING(status, q_file, period_idx, day)
           WHEN 3 THEN 'status' WHEN 13 THEN 'usage' ELSE 'daily' END AS fold,
       status, q_file, q_row, {{fold_columns}},
       {{fold_aggregates}}
FROM (SELECT status,
             CASE WHEN status IN (2, 3, 4, 5) THEN _file END AS q_file,
             CASE WHEN status IN (2, 3, 4, 5) THEN _row END AS q_row,
             {{fold_inner}}
      FROM classified)
GROUP BY GROUPING SETS ((status, q_file, q_row), ({{usage_keys}}), ({{daily_keys}}))
