-- The ledger file's schema version.
SELECT value FROM ledger_info WHERE key = 'schema_version'
