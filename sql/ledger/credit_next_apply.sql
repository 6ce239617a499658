-- The number of the next `credits apply`.
SELECT coalesce(max(apply_seq), 0) + 1 FROM credit_allocations
