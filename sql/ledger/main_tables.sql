-- The ledger file's own tables (not TEMP ones).
SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'
