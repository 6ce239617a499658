-- The number of the next payments import.
SELECT coalesce(max(import_seq), 0) + 1 AS import_seq FROM payments
