-- The last batch's run_seq (0: none yet).
SELECT coalesce(max(run_seq), 0) FROM runs
