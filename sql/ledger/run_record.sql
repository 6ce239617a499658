-- The runs row of ledger run $run_seq (no row when there is no such run).
SELECT run_seq, run_id, command, recorded_at, invoices, credit_notes, manifest
FROM runs
WHERE run_seq = $run_seq
