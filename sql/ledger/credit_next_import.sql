-- The number of the next credit grants import.
SELECT coalesce(max(import_seq), 0) + 1 FROM credit_grants
