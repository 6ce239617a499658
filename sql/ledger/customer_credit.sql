-- One row per (customer_id, currency) holding credit as of $as_of (NULL: now): payments received by then that no
-- invoice took (overpayments), what was paid on invoices credited since, and invoices paid beyond what an
-- adjustment credit note left of them.
-- Parameters: $as_of (DATE or NULL).
WITH received AS (
    SELECT customer_id, currency, payment_id, amount
    FROM payments
    WHERE $as_of IS NULL OR received_date <= $as_of
), unallocated AS (
    SELECT r.customer_id, r.currency, r.amount - coalesce(sum(a.amount), 0) AS credit
    FROM received r LEFT JOIN payment_allocations a USING (payment_id)
    GROUP BY r.customer_id, r.currency, r.payment_id, r.amount
), on_documents AS (
    SELECT customer_id, currency,
           CASE WHEN status = 'credited' THEN paid ELSE greatest(-balance, 0) END AS credit
    FROM invoice_balances_t
)
SELECT customer_id, currency, sum(credit) AS credit
FROM (SELECT * FROM unallocated UNION ALL SELECT * FROM on_documents)
GROUP BY customer_id, currency
HAVING sum(credit) <> 0
ORDER BY customer_id, currency
