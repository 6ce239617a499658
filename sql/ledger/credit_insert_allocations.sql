-- New credit allocations (registered table new_credit_allocations).
INSERT INTO credit_allocations BY NAME SELECT * FROM new_credit_allocations
