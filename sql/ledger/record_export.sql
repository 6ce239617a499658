-- Record one published export (pipeline/ledger/store.py record_export), in the transaction that also writes
-- its documents (record_export_documents.sql). Its id is the next one. Parameters: $format, $at, $folder,
-- $files (JSON), $documents, $run_seq.
INSERT INTO exports
SELECT coalesce(max(export_id), 0) + 1, $format, $at, $folder, $files, $documents, $run_seq FROM exports
RETURNING export_id
