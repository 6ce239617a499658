-- The numbers of the documents (invoices of every kind and status, and credit notes) that no export of
-- format $format has recorded yet, in export order (issue_date, invoices before credit notes, number).
-- Parameters: $format.
SELECT number FROM (
    SELECT invoice_number AS number, issue_date, 0 AS series, sequence FROM invoices
    UNION ALL
    SELECT credit_note_number, issue_date, 1, sequence FROM credit_notes
) d
WHERE NOT EXISTS (
    SELECT 1 FROM export_documents ed JOIN exports e USING (export_id)
    WHERE e.format = $format AND ed.document_number = d.number)
ORDER BY issue_date, series, sequence
