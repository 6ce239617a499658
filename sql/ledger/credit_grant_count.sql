-- How many grants the ledger holds.
SELECT count(*) FROM credit_grants
