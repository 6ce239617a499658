-- One row per line of an invoice document issued by ledger run $run_seq, in number then line order:
-- the columns of a run's invoice_lines output, then invoice_number.
SELECT i.invoice_id, l.*
FROM invoice_lines l
JOIN invoices i USING (invoice_number)
WHERE i.run_seq = $run_seq
ORDER BY i.sequence, l.line_number
