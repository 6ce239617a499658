-- One row per invoice document (kinds invoice and adjustment) issued on or before $as_of (NULL: all): what it
-- asks, what credit notes of reason 'adjustment' took off it, what prepaid credit was applied to it by $as_of
-- (credit_allocations: grants and customer credit), what payments received by $as_of paid on it, and the balance
-- left. A credited invoice (cancelled in full by a reissue or cancellation credit note) is not open: its balance
-- is 0, what was paid on it is the customer's credit (see customer_credit.sql), and the credit applied to it is
-- released (back to its grant, or to the customer's credit).
-- Order: the allocation order, oldest first: due_date, issue_date, number.
-- Parameters: $as_of (DATE or NULL).
WITH adjusted AS (
    SELECT invoice_number, sum(total) AS credited
    FROM credit_notes
    WHERE reason = 'adjustment' AND ($as_of IS NULL OR issue_date <= $as_of)
    GROUP BY invoice_number
), paid AS (
    SELECT a.invoice_number, sum(a.amount) AS paid
    FROM payment_allocations a JOIN payments p USING (payment_id)
    WHERE $as_of IS NULL OR p.received_date <= $as_of
    GROUP BY a.invoice_number
), applied AS (
    SELECT invoice_number, sum(amount) AS credits_applied
    FROM credit_allocations
    WHERE $as_of IS NULL OR applied_date <= $as_of
    GROUP BY invoice_number
)
SELECT i.invoice_number, i.sequence, i.kind, i.status, i.customer_id, i.contract_id, i.currency, i.issue_date,
       i.due_date, i.total,
       coalesce(adjusted.credited, 0) AS credited,
       coalesce(applied.credits_applied, 0) AS credits_applied,
       coalesce(paid.paid, 0) AS paid,
       CASE WHEN i.status = 'credited' THEN 0
            ELSE i.total - coalesce(adjusted.credited, 0) - coalesce(applied.credits_applied, 0)
                 - coalesce(paid.paid, 0) END AS balance,
       CASE WHEN i.status = 'credited' THEN 'credited'
            WHEN i.total - coalesce(adjusted.credited, 0) - coalesce(applied.credits_applied, 0)
                 - coalesce(paid.paid, 0) <= 0 THEN 'paid'
            WHEN coalesce(paid.paid, 0) = 0 AND coalesce(applied.credits_applied, 0) = 0 THEN 'open'
            ELSE 'partially_paid' END AS payment_status
FROM invoices i
LEFT JOIN adjusted USING (invoice_number)
LEFT JOIN paid USING (invoice_number)
LEFT JOIN applied USING (invoice_number)
WHERE $as_of IS NULL OR i.issue_date <= $as_of
ORDER BY i.due_date, i.issue_date, i.sequence
