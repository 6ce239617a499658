-- assemble_minimum_lines: the `minimum` lines (pipeline/billing/assemble.py): each candidate of
-- sql/assemble_minimums.sql whose top-up (minimum_top_t, by rate/floors.py) is not null.
SELECT m.period_idx, m.pos, m.charge_key, t.amount, c.label || ': minimum' AS description
FROM candidates_t m
JOIN minimum_top_t t ON t.charge_key = m.charge_key AND t.factor_idx = m.factor_idx AND t.digits = m.digits
                    AND t.charged = m.charged
JOIN charge_key_t c ON c.charge_key = m.charge_key
WHERE t.amount IS NOT NULL
