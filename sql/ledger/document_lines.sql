-- One row per line of the documents named in the registered table `selected` (position, document_type,
-- number): invoice lines and credit note lines alike, in order of `selected`'s position, then line_number.
SELECT s.position, l.* EXCLUDE (document_type)
FROM selected s
JOIN (
    SELECT 'invoice' AS document_type, invoice_number AS number, line_number, line_type, charge_id, metric_id,
           group_key, description, quantity, unit_price, amount, service_start, service_end
    FROM invoice_lines
    UNION ALL
    SELECT 'credit_note', credit_note_number, line_number, line_type, charge_id, metric_id, group_key,
           description, quantity, unit_price, amount, service_start, service_end
    FROM credit_note_lines
) l ON l.document_type = s.document_type AND l.number = s.number
ORDER BY s.position, l.line_number
