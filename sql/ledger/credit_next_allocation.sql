-- The id of the next credit allocation.
SELECT coalesce(max(allocation_id), 0) + 1 FROM credit_allocations
