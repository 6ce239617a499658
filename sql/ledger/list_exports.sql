-- The exports recorded by `usagebill export --pending`, oldest first: the `export --list` listing.
SELECT export_id, format, created_at, documents, folder, files, run_seq
FROM exports
ORDER BY export_id
