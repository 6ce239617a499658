-- assemble_totals: per billed period, the figures its totals follow from (pipeline/billing/assemble.py
-- computes commitment, discount, tax and total once per distinct set of them).
--
-- Grain: one row per period: charged = its charge lines (flat, usage, minimum top-ups), what the
-- minimum commitment compares; one_time = its one-time lines, outside the commitment.
SELECT p.period_idx, p.deal_idx, p.factor_idx, p.digits, p.tax_idx,
       (coalesce(c.charged, 0) + coalesce(m.charged, 0))::DECIMAL(38, 4) AS charged,
       coalesce(o.amount, 0)::DECIMAL(38, 4) AS one_time
FROM inv_t p
LEFT JOIN (SELECT period_idx, sum(amount) AS charged FROM charge_lines GROUP BY ALL) c USING (period_idx)
LEFT JOIN (SELECT period_idx, sum(amount) AS charged FROM minimum_lines GROUP BY ALL) m USING (period_idx)
LEFT JOIN (SELECT period_idx, sum(amount) AS amount FROM one_time_t GROUP BY ALL) o USING (period_idx)
ORDER BY p.period_idx
