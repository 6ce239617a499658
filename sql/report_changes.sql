-- report_changes: the invoices of this run against an earlier run's (pipeline/billing/report/compare.py).
--
-- Grain: one row per invoice_id in either run: its fields from this run (else the earlier one),
-- the earlier and current totals, and what happened to it: added, removed, changed (total or
-- currency differ) or unchanged. Inputs: new_t (this run's invoices), $earlier (invoices.parquet).
WITH old_t AS (
    SELECT invoice_id, contract_id, currency, period_start, total FROM read_parquet($earlier)
)
SELECT coalesce(n.invoice_id, o.invoice_id) AS invoice_id, coalesce(n.contract_id, o.contract_id) AS contract_id,
       coalesce(n.currency, o.currency) AS currency, coalesce(n.period_start, o.period_start) AS period_start,
       coalesce(n.total, o.total) AS total, o.total AS before, n.total AS after,
       coalesce(n.total, 0) - coalesce(o.total, 0) AS delta,
       CASE WHEN o.invoice_id IS NULL THEN 'added' WHEN n.invoice_id IS NULL THEN 'removed'
            WHEN o.total <> n.total OR o.currency <> n.currency THEN 'changed' ELSE 'unchanged' END AS what
FROM old_t o
FULL OUTER JOIN new_t n ON n.invoice_id = o.invoice_id
