-- meter_usage: metered quantity per contract, billed period, metric and group.
--
-- Grain: one row per (period_idx, metric_idx, group_values); period_idx is a row of periods_t.
-- Input: the `classified` temp table (sql/classify_events.sql); only billed events
-- that metric <k> counts (ok<k>) are aggregated.
-- Slots: <branches> one aggregate SELECT per metric (count, sum, max,
-- unique_count, latest), each casting its quantity to DECIMAL(38, 9).
SELECT period_idx, metric_idx, group_values, quantity, events
FROM (
{{branches}}
)
ORDER BY period_idx, metric_idx, group_values
