-- daily_usage: billed events per UTC day, for the run report's daily usage charts.
--
-- Grain: one row per UTC calendar day (of the event timestamp) that has billed events; per
-- metric k the events it counted (e<k>) and, for `sum` metrics, the sum of its field (q<k>).
-- Input: the `folded` temp table (sql/classify_events.sql), its daily rows: a few per day,
-- folded in the pass that classified the events.
-- Slots: <columns> per metric e<k> (events) and, for sum metrics, q<k>.
SELECT day, {{columns}}
FROM folded
WHERE fold = 'daily'
GROUP BY ALL
ORDER BY day
