-- assemble_invoices: invoices.parquet (pipeline/billing/assemble.py; contract section 3).
--
-- Grain: one row per billed period, in the run's order (period_idx). issue_date is the period's
-- end; due_date adds the customer's payment_terms_days.
SELECT p.invoice_id, NULL::VARCHAR AS invoice_number, 'draft' AS status, p.customer_id, p.contract_id, p.plan_id,
       p.currency, p.period_start, p.period_end, p.period_end AS issue_date,
       p.period_end + p.payment_terms_days AS due_date, t.subtotal, t.discount_total, x.tax_percent,
       x.tax_note, x.tax_name, t.tax_total, t.total
FROM inv_t p
JOIN totals_t t USING (period_idx)
JOIN tax_t x USING (tax_idx)
ORDER BY p.period_idx
