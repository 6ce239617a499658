-- The id the next recorded export gets (sql/ledger/record_export.sql gives it under the same exclusive lock).
SELECT coalesce(max(export_id), 0) + 1 AS export_id FROM exports
