-- The imported grants (registered table new_credit_grants).
INSERT INTO credit_grants BY NAME SELECT * FROM new_credit_grants
