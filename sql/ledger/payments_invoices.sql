-- The invoices a payment may name: their customer, currency and status.
SELECT invoice_number, customer_id, currency, status FROM invoices
