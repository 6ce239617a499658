-- assemble_periods: inv_t, one row per billed period (pipeline/billing/assemble.py).
--
-- Grain: one row per period_idx (its place in the run: sorted by period_end, contract_id). Adds the
-- plan's currency and minor-unit digits, and the invoice_id: "in_" and the first 24 hex digits of
-- sha256(contract_id, U+001F, period_start as YYYY-MM-DD), the same in every run.
SELECT p.*, 'in_' || left(sha256(p.contract_id || chr(31) || strftime(p.period_start, '%Y-%m-%d')), 24)
           AS invoice_id, pl.currency, pl.digits
FROM periods_base p
JOIN plan_t pl USING (plan_id)
ORDER BY p.period_idx
