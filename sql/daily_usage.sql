-- daily_usage: billed events per UTC day, for the run report's daily usage charts.
--
-- Grain: one row per UTC calendar day (of the event timestamp) that has billed events; per
-- metric k the events it counted (e<k>) and, for `sum` metrics, the sum of its field (q<k>).
-- One pass over `classified` grouped by the day alone (a few dozen groups), so it stays cheap
-- at any event count.
-- Input: the `classified` temp table (sql/classify_events.sql); only billed events (status 0).
-- Slots: <columns> count_if(ok<k>) AS e<k> per metric, and sum(...) AS q<k> per sum metric.
SELECT CAST(timezone('UTC', ts) AS DATE) AS day, {{columns}}
FROM classified
WHERE status = 0
GROUP BY ALL
ORDER BY day
