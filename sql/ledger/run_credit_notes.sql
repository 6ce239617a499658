-- One row per credit note issued by ledger run $run_seq, in number order.
SELECT * EXCLUDE (sequence, run_seq)
FROM credit_notes
WHERE run_seq = $run_seq
ORDER BY sequence
