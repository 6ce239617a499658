-- assemble_periods: inv_t, one row per billed period (pipeline/billing/assemble.py).
--
-- Grain: one row per period_idx (its place in the run: sorted by period_end, contract_id), with its
-- invoice_id (invoice.invoice_id) and the plan's currency and minor-unit digits.
SELECT p.*, pl.currency, pl.digits
FROM periods_base p
JOIN plan_t pl USING (plan_id)
ORDER BY p.period_idx
