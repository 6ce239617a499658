-- `ar --invoices`: one row per invoice document of invoice_balances_t (invoice_balances.sql's rows as of $as_of),
-- in their order (due_date, issue_date, number), with its days past due at $as_of and its aging bucket when it
-- is owed (not credited, balance above 0); a document paid in full or credited has neither.
-- Parameters: $as_of (DATE), $customers (empty list = every customer).
SELECT invoice_number, customer_id, currency, issue_date, due_date, total, credited, credits_applied, paid, balance,
       payment_status,
       CASE WHEN owed THEN days END AS days_past_due,
       CASE WHEN NOT owed THEN '' WHEN days <= 0 THEN 'current' WHEN days <= 30 THEN '1-30'
            WHEN days <= 60 THEN '31-60' WHEN days <= 90 THEN '61-90' ELSE '90+' END AS bucket
FROM (SELECT *, status <> 'credited' AND balance > 0 AS owed, CAST($as_of - due_date AS BIGINT) AS days
      FROM invoice_balances_t
      WHERE len($customers) = 0 OR list_contains($customers, customer_id))
ORDER BY due_date, issue_date, sequence
