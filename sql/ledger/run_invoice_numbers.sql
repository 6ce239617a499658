-- The invoices one batch issued ($s: its run_seq).
SELECT invoice_number FROM invoices WHERE run_seq = $s
