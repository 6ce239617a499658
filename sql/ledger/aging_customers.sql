-- `ar`: one row per (customer_id, currency) that is owed something or holds credit at $as_of: the open balance
-- of its owed invoice documents per aging bucket (aging_t: aging_invoices.sql's rows), their sum `open`, the
-- customer's credit (credit_t: customer_credit.sql's rows, same $as_of) and `balance` = open - credit.
-- `name` from names_t (the workspace's customers; a customer no longer there is named by its id).
-- Parameters: $customers (empty list = every customer).
WITH owed AS (
    SELECT customer_id, currency,
           sum(balance) FILTER (WHERE bucket = 'current') AS b0, sum(balance) FILTER (WHERE bucket = '1-30') AS b1,
           sum(balance) FILTER (WHERE bucket = '31-60') AS b2, sum(balance) FILTER (WHERE bucket = '61-90') AS b3,
           sum(balance) FILTER (WHERE bucket = '90+') AS b4
    FROM aging_t WHERE bucket <> '' GROUP BY customer_id, currency
), credit AS (
    SELECT customer_id, currency, credit FROM credit_t
    WHERE credit <> 0 AND (len($customers) = 0 OR list_contains($customers, customer_id))
), keys AS (
    SELECT customer_id, currency FROM owed UNION SELECT customer_id, currency FROM credit
), amounts AS (
    SELECT k.customer_id, k.currency, coalesce(b0, 0) AS b0, coalesce(b1, 0) AS b1, coalesce(b2, 0) AS b2,
           coalesce(b3, 0) AS b3, coalesce(b4, 0) AS b4, coalesce(c.credit, 0) AS credit
    FROM keys k LEFT JOIN owed o USING (customer_id, currency) LEFT JOIN credit c USING (customer_id, currency)
)
SELECT a.customer_id, coalesce(n.name, a.customer_id) AS name, a.currency,
       CAST(b0 AS DECIMAL(38, 4)) AS "current", CAST(b1 AS DECIMAL(38, 4)) AS "1-30",
       CAST(b2 AS DECIMAL(38, 4)) AS "31-60", CAST(b3 AS DECIMAL(38, 4)) AS "61-90",
       CAST(b4 AS DECIMAL(38, 4)) AS "90+", CAST(b0 + b1 + b2 + b3 + b4 AS DECIMAL(38, 4)) AS open,
       CAST(credit AS DECIMAL(38, 4)) AS credit, CAST(b0 + b1 + b2 + b3 + b4 - credit AS DECIMAL(38, 4)) AS balance
FROM amounts a LEFT JOIN names_t n USING (customer_id)
ORDER BY a.customer_id, a.currency
