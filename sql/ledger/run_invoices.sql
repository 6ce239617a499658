-- One row per invoice document issued by ledger run $run_seq, in number order: the columns of a run's
-- invoices output, then kind and original_invoice_number. status is the current one.
SELECT * EXCLUDE (sequence, run_seq)
FROM invoices
WHERE run_seq = $run_seq
ORDER BY sequence
