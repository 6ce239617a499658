-- One row per (customer_id, currency) that ever held credit, as of $as_of (NULL: now). `received`: payments
-- received by then that no invoice took (overpayments), what was paid on invoices credited since, and invoices
-- paid beyond what an adjustment credit note left of them; `applied`: customer credit applied to invoices by then
-- (credit_allocations of source customer_credit; released when the invoice is credited since); `refunded`:
-- refunds by then (credit_refunds). `credit` = received - applied - refunded, never negative: the customer's
-- credit balance, which issue draws down after grants and `credits apply` applies to open invoices.
-- Parameters: $as_of (DATE or NULL). Table: invoice_balances_t (invoice_balances.sql's rows, same $as_of).
WITH received AS (
    SELECT customer_id, currency, payment_id, amount
    FROM payments
    WHERE $as_of IS NULL OR received_date <= $as_of
), unallocated AS (
    SELECT r.customer_id, r.currency, r.amount - coalesce(sum(a.amount), 0) AS amount
    FROM received r LEFT JOIN payment_allocations a USING (payment_id)
    GROUP BY r.customer_id, r.currency, r.payment_id, r.amount
), on_documents AS (
    SELECT customer_id, currency,
           CASE WHEN status = 'credited' THEN paid ELSE greatest(-balance, 0) END AS amount
    FROM invoice_balances_t
), applied AS (
    SELECT i.customer_id, i.currency, a.amount
    FROM credit_allocations a JOIN invoices i USING (invoice_number)
    WHERE a.source = 'customer_credit' AND i.status <> 'credited' AND ($as_of IS NULL OR a.applied_date <= $as_of)
), refunded AS (
    SELECT customer_id, currency, amount FROM credit_refunds WHERE $as_of IS NULL OR refund_date <= $as_of
), movements AS (
    SELECT customer_id, currency, amount AS received, 0 AS applied, 0 AS refunded FROM unallocated
    UNION ALL SELECT customer_id, currency, amount, 0, 0 FROM on_documents
    UNION ALL SELECT customer_id, currency, 0, amount, 0 FROM applied
    UNION ALL SELECT customer_id, currency, 0, 0, amount FROM refunded
)
SELECT customer_id, currency, CAST(sum(received) AS DECIMAL(38, 4)) AS received,
       CAST(sum(applied) AS DECIMAL(38, 4)) AS applied, CAST(sum(refunded) AS DECIMAL(38, 4)) AS refunded,
       CAST(sum(received) - sum(applied) - sum(refunded) AS DECIMAL(38, 4)) AS credit
FROM movements
GROUP BY customer_id, currency
HAVING sum(received) <> 0 OR sum(applied) <> 0 OR sum(refunded) <> 0
ORDER BY customer_id, currency
