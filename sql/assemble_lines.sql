-- assemble_lines: the charge lines of every billed period, before pricing (pipeline/billing/assemble.py).
--
-- Grain: one row per usage line (period, usage charge, group that appears; exactly one row for a
-- charge whose metric has no group_by, with quantity 0 when unused), per flat line (period, charge
-- with no metric) and per minimum candidate (period, usage charge with a min_amount).
-- Inputs: inv_t (one row per billed period, period_idx = its place in the run), charge_t (the charge
-- lists in force: list_idx, pos = place in the list), usage_t (metered quantities per period,
-- metric and group), event_amount_t (percentage charges' exact per-event sums).
-- kind: 'usage', 'flat' or 'minimum'; the caller prices each distinct set of figures once.
SELECT p.period_idx, c.pos, c.charge_key, p.factor_idx, p.digits, 'usage' AS kind,
       coalesce(u.group_values, []::VARCHAR[]) AS group_values,
       coalesce(u.quantity, 0)::DECIMAL(38, 9) AS quantity, coalesce(u.events, 0)::BIGINT AS events,
       e.event_amount
FROM inv_t p
JOIN charge_t c ON c.list_idx = p.list_idx AND c.metric_idx IS NOT NULL
LEFT JOIN usage_t u ON u.period_idx = p.period_idx AND u.metric_idx = c.metric_idx
LEFT JOIN event_amount_t e ON e.period_idx = p.period_idx AND e.charge_id = c.charge_id
                          AND e.group_values = u.group_values
WHERE u.period_idx IS NOT NULL OR NOT c.grouped  -- a grouped metric has a line per group that appears
UNION ALL
SELECT p.period_idx, c.pos, c.charge_key, p.factor_idx, p.digits, CASE WHEN c.metric_idx IS NULL THEN 'flat'
       ELSE 'minimum' END AS kind, []::VARCHAR[], 0::DECIMAL(38, 9), 0::BIGINT, NULL
FROM inv_t p
JOIN charge_t c ON c.list_idx = p.list_idx AND (c.metric_idx IS NULL OR c.has_min)
