-- The numbers of the documents one batch issued (invoices of every kind, then credit notes, each in number
-- order). Parameters: $run_seq.
SELECT number FROM (
    SELECT invoice_number AS number, 0 AS series, sequence FROM invoices WHERE run_seq = $run_seq
    UNION ALL
    SELECT credit_note_number, 1, sequence FROM credit_notes WHERE run_seq = $run_seq
) d
ORDER BY series, sequence
