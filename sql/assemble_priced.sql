-- assemble_priced: the usage and flat lines of raw_lines with their prices (pipeline/billing/assemble.py).
--
-- Grain: one row per usage line and per flat line.
-- Inputs: raw_lines (sql/assemble_lines.sql), usage_price_t and flat_price_t (each distinct set of
-- figures priced once, by the rules in pipeline/rate/), group_key_t (group_values -> group_key).
SELECT r.period_idx, r.pos, r.charge_key, 'usage' AS kind, r.group_values, g.group_key, g.group_rank,
       r.quantity, r.events,
       pr.unit_price, pr.amount,
       pr.head || CASE WHEN g.group_key <> '' THEN ' (' || g.group_key || ')' ELSE '' END AS description
FROM raw_lines r
JOIN usage_price_t pr ON pr.charge_key = r.charge_key AND pr.factor_idx = r.factor_idx
                     AND pr.digits = r.digits AND pr.quantity = r.quantity
                     AND pr.events = r.events AND pr.event_amount IS NOT DISTINCT FROM r.event_amount
JOIN group_key_t g ON g.charge_key = r.charge_key AND g.group_values = r.group_values
WHERE r.kind = 'usage'
UNION ALL
SELECT r.period_idx, r.pos, r.charge_key, 'flat', r.group_values, '', 0, f.quantity, 0, f.unit_price, f.amount,
       f.description
FROM raw_lines r
JOIN flat_price_t f ON f.charge_key = r.charge_key AND f.factor_idx = r.factor_idx AND f.digits = r.digits
WHERE r.kind = 'flat'
