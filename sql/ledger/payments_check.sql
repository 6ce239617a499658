-- Rules every committed state of the payments keeps (checked before an import commits): allocations
-- positive, within their payment, to a known invoice of the payment's customer and currency.
SELECT 'allocation not positive' AS rule, payment_id AS detail FROM payment_allocations WHERE amount <= 0
UNION ALL
SELECT 'payment over-allocated', p.payment_id FROM payments p JOIN payment_allocations a USING (payment_id)
GROUP BY p.payment_id, p.amount HAVING sum(a.amount) > p.amount
UNION ALL
SELECT 'allocation to an unknown invoice', a.invoice_number FROM payment_allocations a
LEFT JOIN invoices i USING (invoice_number) WHERE i.invoice_number IS NULL
UNION ALL
SELECT 'allocation in another currency', a.payment_id FROM payment_allocations a
JOIN payments p ON p.payment_id = a.payment_id JOIN invoices i ON i.invoice_number = a.invoice_number
WHERE i.currency <> p.currency OR i.customer_id <> p.customer_id
