-- assemble_periods: inv_t, one row per billed period (pipeline/billing/assemble.py).
--
-- Grain: one row per period_idx (its place in the run: sorted by period_end, contract_id), with its
-- invoice_id and the plan's currency and minor-unit digits. The invoice_id is invoice.invoice_id's
-- rule (the first 24 hex digits of the SHA-256 of contract_id, unit separator, ISO period start),
-- computed here for every period at once (tests/test_invoice_lines.py holds the two alike).
SELECT p.period_idx,
       'in_' || left(sha256(p.contract_id || chr(31) || CAST(p.period_start AS VARCHAR)), 24) AS invoice_id,
       p.* EXCLUDE (period_idx), pl.currency, pl.digits
FROM periods_base p
JOIN plan_t pl USING (plan_id)
ORDER BY p.period_idx
