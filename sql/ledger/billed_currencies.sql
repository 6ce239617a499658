-- Every (customer, currency) an invoice was issued in: the currencies a grant may be in.
SELECT DISTINCT customer_id, currency FROM invoices
