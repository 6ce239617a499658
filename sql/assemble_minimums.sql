-- assemble_minimums: each usage charge with a min_amount, per billed period, with what its lines
-- charged (pipeline/billing/assemble.py prices the top-up by pipeline/rate/floors.py).
--
-- Grain: one row per (period, usage charge with a min_amount); charged = the sum of the rounded
-- amounts of that charge's usage lines in the period (0 when it has none).
SELECT r.period_idx, r.pos, r.charge_key, r.factor_idx, r.digits,
       coalesce(s.charged, 0)::DECIMAL(38, 4) AS charged
FROM raw_lines r
LEFT JOIN (SELECT period_idx, pos, sum(amount) AS charged FROM charge_lines GROUP BY ALL) s
       ON s.period_idx = r.period_idx AND s.pos = r.pos
WHERE r.kind = 'minimum'
