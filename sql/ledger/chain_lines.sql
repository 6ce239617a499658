-- One row per line of a document of the billed periods in scope_keys_t (contract_id, period_start), with the
-- document's series, sequence and sign (+1 invoice documents, -1 credit notes). Ordered like chain_documents,
-- then by line_number.
WITH lines AS (
    SELECT 'invoice' AS series, i.sequence, 1 AS sign, i.contract_id, i.period_start, l.*
    FROM invoice_lines l JOIN invoices i USING (invoice_number)
    UNION ALL BY NAME
    SELECT 'credit_note' AS series, c.sequence, -1 AS sign, c.contract_id, c.period_start, l.*
    FROM credit_note_lines l JOIN credit_notes c USING (credit_note_number)
)
SELECT lines.* EXCLUDE (invoice_number, credit_note_number)
FROM lines
JOIN scope_keys_t USING (contract_id, period_start)
ORDER BY contract_id, period_start, series DESC, sequence, line_number
