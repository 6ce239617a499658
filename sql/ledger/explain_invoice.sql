-- explain_ledger_invoice: the ledger's invoice documents an `explain` key names.
--
-- Grain: one row per invoice document whose number or invoice_id is $key: the document with that
-- number first, then the live invoice of the period, then the newest.
-- Parameters: $key (an issued number such as INV-7, or an invoice_id in_...).
SELECT invoice_number, status, kind, invoice_id, contract_id, customer_id, period_start, period_end,
       original_invoice_number, subtotal, discount_total, tax_total, total
FROM invoices
WHERE invoice_number = $key OR invoice_id = $key
ORDER BY invoice_number = $key DESC, (kind = 'invoice' AND status = 'issued') DESC, sequence DESC
