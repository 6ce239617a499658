-- rate_percentage: per-event rating of percentage charges, summed per line.
--
-- Grain: one row per (period_idx, charge_idx, group_values): the
-- exact (unrounded) sum of per-event costs and the number of charged events.
-- Events are taken in (timestamp, event_id) order within their line. An event is
-- free while among the first free_events and the running total stays within
-- free_amount (each limit only if set); the crossing event is charged on the part
-- above free_amount. A charge with neither limit charges every event in full, so only
-- the charges with a limit are sorted into their lines (a window). Cost = percent/100 *
-- chargeable + fixed_fee, raised to per_event_min, capped at per_event_max.
-- Inputs: `folded` usage rows (sql/classify_events.sql: one row per event for these metrics);
-- pct_t(period_idx, metric_idx, charge_idx, rate, fixed_fee, per_event_min, per_event_max,
-- free_events, free_amount), rate = percent / 100.
-- Slots: <branches> one SELECT per percentage metric giving period_idx,
-- metric_idx, group_values, ts, event_id, amount.
WITH events AS (
{{branches}}
),
priced AS (
    SELECT e.period_idx, e.group_values, e.amount, e.ts, e.event_id, c.* EXCLUDE (period_idx, metric_idx)
    FROM events e
    JOIN pct_t c ON c.period_idx = e.period_idx AND c.metric_idx = e.metric_idx
),
running AS (  -- each event's place in its line: only a charge with a free limit needs it (a sort)
    SELECT * EXCLUDE (ts, event_id),
           row_number() OVER w AS n,
           sum(amount) OVER w AS total
    FROM priced
    WHERE free_events IS NOT NULL OR free_amount IS NOT NULL
    WINDOW w AS (PARTITION BY period_idx, charge_idx, group_values
                 ORDER BY ts, event_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
chargeable AS (
    SELECT * EXCLUDE (n, total),
           CASE
               WHEN free_events IS NOT NULL AND n > free_events THEN amount
               WHEN free_amount IS NULL OR total <= free_amount THEN NULL   -- free
               WHEN total - amount < free_amount THEN total - free_amount  -- crosses free_amount
               ELSE amount
           END AS charged
    FROM running
    UNION ALL BY NAME
    SELECT * EXCLUDE (ts, event_id), amount AS charged  -- no free limit: every event is charged in full
    FROM priced
    WHERE free_events IS NULL AND free_amount IS NULL
)
SELECT period_idx, charge_idx, group_values,
       sum(CASE WHEN charged IS NULL THEN 0
                ELSE least(greatest(charged * rate + fixed_fee, coalesce(per_event_min, charged * rate + fixed_fee)),
                           coalesce(per_event_max, charged * rate + fixed_fee)) END) AS event_amount,
       count(charged) AS charged_events
FROM chargeable
GROUP BY ALL
ORDER BY period_idx, charge_idx, group_values
