-- One row per credit allocation recorded by batch $run_seq (at issue) or by `credits apply` $apply_seq (pass one,
-- the other NULL), in the order recorded, with the invoice's customer and currency.
-- Parameters: $run_seq, $apply_seq (INTEGER or NULL).
SELECT a.allocation_id, a.invoice_number, i.customer_id, i.currency, a.source, a.grant_id, a.amount, a.applied_date,
       a.kind
FROM credit_allocations a JOIN invoices i USING (invoice_number)
WHERE (a.kind = 'issue' AND a.run_seq = $run_seq) OR (a.kind = 'apply' AND a.apply_seq = $apply_seq)
ORDER BY a.allocation_id
