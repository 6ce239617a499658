-- One recorded export and its documents' numbers. Parameters: $export_id.
SELECT e.export_id, e.format, e.created_at, e.folder, e.files, e.documents, e.run_seq,
       list(ed.document_number ORDER BY ed.document_number) FILTER (ed.document_number IS NOT NULL) AS numbers
FROM exports e LEFT JOIN export_documents ed USING (export_id)
WHERE e.export_id = $export_id
GROUP BY ALL
