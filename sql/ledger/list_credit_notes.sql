-- The credit notes listing: one row per credit note, in number order.
-- Parameters: $contracts and $customers (empty list = any).
SELECT credit_note_number, invoice_number, reason, contract_id, customer_id, period_start, period_end, issue_date,
       currency, subtotal, discount_total, tax_total, total, run_seq
FROM credit_notes
WHERE (len($contracts) = 0 OR list_contains($contracts, contract_id))
  AND (len($customers) = 0 OR list_contains($customers, customer_id))
ORDER BY sequence
