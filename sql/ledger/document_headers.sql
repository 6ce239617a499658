-- One row per issued document, invoices (every kind and status) and credit notes, whose issue_date lies in
-- [$first, $stop) (NULL: unbounded): the header fields both kinds share. `reference` is the invoice an
-- adjustment or reissued invoice replaces or adjusts, or the invoice a credit note credits.
-- Order: issue_date, invoices before credit notes, then number (sequence) within each series.
-- Parameters: $first, $stop (DATE or NULL).
SELECT document_type, number, kind, status, reference, reason, customer_id, contract_id, plan_id, currency,
       period_start, period_end, issue_date, due_date, subtotal, discount_total, tax_percent, tax_note, tax_name,
       tax_total, total
FROM (
    SELECT 'invoice' AS document_type, invoice_number AS number, kind, status,
           original_invoice_number AS reference, CAST(NULL AS VARCHAR) AS reason, customer_id, contract_id,
           plan_id, currency, period_start, period_end, issue_date, due_date, subtotal, discount_total,
           tax_percent, tax_note, tax_name, tax_total, total, sequence, 0 AS series
    FROM invoices
    UNION ALL
    SELECT 'credit_note', credit_note_number, 'credit_note', 'issued', invoice_number, reason, customer_id,
           contract_id, plan_id, currency, period_start, period_end, issue_date, CAST(NULL AS DATE), subtotal,
           discount_total, tax_percent, tax_note, tax_name, tax_total, total, sequence, 1
    FROM credit_notes
)
WHERE ($first IS NULL OR issue_date >= $first) AND ($stop IS NULL OR issue_date < $stop)
ORDER BY issue_date, series, sequence
