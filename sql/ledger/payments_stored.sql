-- Every payment imported so far (a payment_id is imported once).
SELECT * FROM payments
