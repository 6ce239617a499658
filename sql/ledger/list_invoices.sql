-- The invoices listing: one row per invoice document, in number order, with the prepaid credit applied to it,
-- what has been paid on it and the balance left (sql/ledger/invoice_balances.sql, every payment recorded so far, as `ar --invoices`).
-- Parameters: $status (NULL = any), $contracts and $customers (empty list = any).
-- Table: invoice_balances_t (invoice_balances.sql's rows).
SELECT i.invoice_number, i.status, i.kind, i.contract_id, i.customer_id, i.period_start, i.period_end,
       i.issue_date, i.due_date, i.currency, i.subtotal, i.discount_total, i.tax_total, i.total,
       b.payment_status, b.credits_applied, b.paid, b.balance, i.original_invoice_number, i.run_seq
FROM invoices i LEFT JOIN invoice_balances_t b USING (invoice_number)
WHERE ($status IS NULL OR i.status = $status)
  AND (len($contracts) = 0 OR list_contains($contracts, i.contract_id))
  AND (len($customers) = 0 OR list_contains($customers, i.customer_id))
ORDER BY i.sequence
