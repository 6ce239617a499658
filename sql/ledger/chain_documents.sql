-- One row per document (invoice, adjustment or credit note) of the billed periods in scope_keys_t
-- (contract_id, period_start), with sign +1 for invoice documents and -1 for credit notes, so that the
-- net billed for a period is sum(sign * amount). Ordered by period, then series, then number.
WITH docs AS (
    SELECT 'invoice' AS series, invoice_number AS number, sequence, kind, status, 1 AS sign,
           contract_id, period_start, subtotal, discount_total, tax_total, total
    FROM invoices
    UNION ALL
    SELECT 'credit_note', credit_note_number, sequence, reason, 'credit', -1,
           contract_id, period_start, subtotal, discount_total, tax_total, total
    FROM credit_notes
)
SELECT docs.*
FROM docs
JOIN scope_keys_t USING (contract_id, period_start)
ORDER BY contract_id, period_start, series DESC, sequence
