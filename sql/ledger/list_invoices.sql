-- The invoices listing: one row per invoice document, in number order.
-- Parameters: $status (NULL = any), $contracts and $customers (empty list = any).
SELECT invoice_number, status, kind, contract_id, customer_id, period_start, period_end, issue_date, due_date,
       currency, subtotal, discount_total, tax_total, total, original_invoice_number, run_seq
FROM invoices
WHERE ($status IS NULL OR status = $status)
  AND (len($contracts) = 0 OR list_contains($contracts, contract_id))
  AND (len($customers) = 0 OR list_contains($customers, customer_id))
ORDER BY sequence
