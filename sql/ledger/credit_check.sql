-- Prepaid credit integrity: one row per broken rule (check, detail); no rows means the credit tables are sound.
-- Run by `usagebill check-ledger` and inside every transaction that writes credit (a batch's draw-down, credits
-- import, apply, refund), beside sql/ledger/check.sql. The customer credit never being negative is checked from
-- customer_credit.sql (pipeline/ledger/credits.py). Needs the payments tables (TEMP ones on a ledger without them).
WITH live_drawn AS (  -- what invoices not credited since hold of each grant
    SELECT a.grant_id, sum(a.amount) AS drawn
    FROM credit_allocations a JOIN invoices i USING (invoice_number)
    WHERE a.source = 'grant' AND i.status <> 'credited'
    GROUP BY a.grant_id
), settled AS (  -- per invoice not credited: prepaid credit applied and payments allocated
    SELECT i.invoice_number, i.total,
           coalesce((SELECT sum(amount) FROM credit_allocations a WHERE a.invoice_number = i.invoice_number), 0)
           AS credits,
           coalesce((SELECT sum(amount) FROM payment_allocations p WHERE p.invoice_number = i.invoice_number), 0)
           AS paid
    FROM invoices i WHERE i.status <> 'credited'
)
SELECT 'credit amounts' AS check, 'allocation ' || allocation_id || ' of ' || amount || ' is not positive' AS detail
FROM credit_allocations WHERE amount <= 0
UNION ALL
SELECT 'credit amounts', 'grant ' || grant_id || ' of ' || amount || ' is not positive' FROM credit_grants WHERE amount <= 0
UNION ALL
SELECT 'credit amounts', 'refund ' || reference || ' of ' || amount || ' is not positive' FROM credit_refunds
WHERE amount <= 0
UNION ALL
SELECT 'grant dates', 'grant ' || grant_id || ' expires on ' || expiry_date || ', not after its effective_date '
       || effective_date
FROM credit_grants WHERE expiry_date <= effective_date
UNION ALL
SELECT 'credit allocation ids', count(*) || ' allocations numbered ' || coalesce(min(allocation_id), 0) || '..'
       || coalesce(max(allocation_id), 0)
FROM credit_allocations
HAVING count(*) > 0 AND (min(allocation_id) <> 1 OR max(allocation_id) <> count(*))
UNION ALL
SELECT 'credit sources', 'allocation ' || allocation_id || ': source ' || source || ', grant ' || coalesce(grant_id, 'none')
       || ', kind ' || kind || ', run ' || coalesce(run_seq::VARCHAR, 'none') || ', apply ' || coalesce(apply_seq::VARCHAR, 'none')
FROM credit_allocations
WHERE source NOT IN ('grant', 'customer_credit') OR (source = 'grant') <> (grant_id IS NOT NULL)
   OR kind NOT IN ('issue', 'apply') OR (kind = 'issue') <> (run_seq IS NOT NULL)
   OR (kind = 'apply') <> (apply_seq IS NOT NULL)
UNION ALL
SELECT 'credit references', 'allocation ' || a.allocation_id || ' names unknown invoice ' || a.invoice_number
FROM credit_allocations a ANTI JOIN invoices i USING (invoice_number)
UNION ALL
SELECT 'credit references', 'allocation ' || a.allocation_id || ' names unknown grant ' || a.grant_id
FROM credit_allocations a WHERE a.grant_id IS NOT NULL AND a.grant_id NOT IN (SELECT grant_id FROM credit_grants)
UNION ALL
SELECT 'drawn at issue', 'allocation ' || a.allocation_id || ' (run ' || a.run_seq || ', ' || a.applied_date
       || ') is not of the batch and date that issued ' || i.invoice_number || ' (run ' || i.run_seq || ', '
       || i.issue_date || ')'
FROM credit_allocations a JOIN invoices i USING (invoice_number)
WHERE a.kind = 'issue' AND (a.run_seq <> i.run_seq OR a.applied_date <> i.issue_date)
UNION ALL
SELECT 'credit of another customer', 'allocation ' || a.allocation_id || ': grant ' || g.grant_id || ' is '
       || g.customer_id || ' ' || g.currency || ', invoice ' || i.invoice_number || ' ' || i.customer_id || ' ' || i.currency
FROM credit_allocations a JOIN credit_grants g USING (grant_id) JOIN invoices i USING (invoice_number)
WHERE g.customer_id <> i.customer_id OR g.currency <> i.currency
UNION ALL
SELECT 'grant in effect', 'allocation ' || a.allocation_id || ': grant ' || g.grant_id || ' ('
       || g.effective_date || ' to ' || coalesce(g.expiry_date::VARCHAR, 'no expiry') || ') drawn for '
       || i.invoice_number || ' issued ' || i.issue_date || ', on ' || a.applied_date
FROM credit_allocations a JOIN credit_grants g USING (grant_id) JOIN invoices i USING (invoice_number)
WHERE i.issue_date < g.effective_date OR i.issue_date >= coalesce(g.expiry_date, DATE '9999-12-31')
   OR a.applied_date < g.effective_date OR a.applied_date >= coalesce(g.expiry_date, DATE '9999-12-31')
UNION ALL
SELECT 'grant overdrawn', 'grant ' || g.grant_id || ' of ' || g.amount || ': invoices hold ' || d.drawn
FROM credit_grants g JOIN live_drawn d USING (grant_id) WHERE d.drawn > g.amount
UNION ALL
SELECT 'invoice overpaid', s.invoice_number || ': total ' || s.total || ', credit applied ' || s.credits || ', paid '
       || s.paid
FROM settled s WHERE s.credits + s.paid > s.total AND s.credits > 0
