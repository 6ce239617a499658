-- assemble_totals_join: totals_t, each period's totals (per_period_t, sql/assemble_totals.sql) joined
-- with those computed once per distinct set of figures (totals_key_t).
SELECT p.period_idx, k.commitment, k.subtotal, k.discount_total, k.discount_description, k.tax_total, k.total
FROM per_period_t p
JOIN totals_key_t k ON k.deal_idx = p.deal_idx AND k.factor_idx = p.factor_idx AND k.digits = p.digits
                   AND k.tax_idx = p.tax_idx AND k.charged = p.charged AND k.one_time = p.one_time
ORDER BY p.period_idx
