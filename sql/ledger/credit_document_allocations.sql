-- One row per prepaid credit drawn at issue (credit_allocations of kind 'issue') by the invoice documents named in
-- the registered table `selected` (position, document_type, number): part of the document as issued (its PDF's
-- "Prepaid credit applied", its UBL PrepaidAmount). Credit applied later (`credits apply`) is not: like a payment,
-- it does not change the document. Order: selected's position, then the allocation's id.
SELECT s.position, a.source, a.grant_id, coalesce(g.description, '') AS description, a.amount
FROM selected s
JOIN credit_allocations a ON s.document_type = 'invoice' AND a.invoice_number = s.number AND a.kind = 'issue'
LEFT JOIN credit_grants g USING (grant_id)
ORDER BY s.position, a.allocation_id
