-- meter_usage: metered quantity per contract, billed period, metric and group.
--
-- Grain: one row per (period_idx, metric_idx, group_values); period_idx is a row of periods_t.
-- Input: the `folded` temp table (sql/classify_events.sql): its usage rows whose flag mask
-- has bit k are metric k's events, folded.
-- Slots: <branches> one aggregate SELECT per metric (count, sum, max, unique_count, latest)
-- over those rows, each casting its quantity to DECIMAL(38, 9).
SELECT period_idx, metric_idx, group_values, quantity, events
FROM (
{{branches}}
)
ORDER BY period_idx, metric_idx, group_values
