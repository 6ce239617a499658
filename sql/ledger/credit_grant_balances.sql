-- One row per grant as of $as_of (NULL: now, and nothing counted as expired): granted, used, expired, remaining.
-- used: what invoice documents not credited since drew from it by $as_of (allocations with applied_date <= $as_of;
-- what a credited invoice drew went back to the grant); expired: from its expiry_date on, whatever it did not give
-- (granted - used); remaining = granted - used - expired.
-- status: not_yet_effective (before effective_date), active, used_up, expired.
-- Order: customer, currency, then the draw-down order (priority, earliest expiry, effective_date, grant_id).
-- Parameters: $as_of (DATE or NULL), $customers (empty list = any).
WITH used AS (
    SELECT a.grant_id, sum(a.amount) AS used
    FROM credit_allocations a JOIN invoices i USING (invoice_number)
    WHERE a.source = 'grant' AND i.status <> 'credited' AND ($as_of IS NULL OR a.applied_date <= $as_of)
    GROUP BY a.grant_id
), figures AS (
    SELECT g.*, CAST(coalesce(u.used, 0) AS DECIMAL(38, 4)) AS used,
           $as_of IS NOT NULL AND g.expiry_date IS NOT NULL AND g.expiry_date <= $as_of AS is_expired
    FROM credit_grants g LEFT JOIN used u USING (grant_id)
    WHERE len($customers) = 0 OR list_contains($customers, g.customer_id)
)
SELECT grant_id, customer_id, currency, effective_date, expiry_date, priority, description,
       amount AS granted, used,
       CAST(CASE WHEN is_expired THEN amount - used ELSE 0 END AS DECIMAL(38, 4)) AS expired,
       CAST(CASE WHEN is_expired THEN 0 ELSE amount - used END AS DECIMAL(38, 4)) AS remaining,
       CASE WHEN is_expired AND amount > used THEN 'expired'
            WHEN amount <= used THEN 'used_up'
            WHEN $as_of IS NOT NULL AND $as_of < effective_date THEN 'not_yet_effective'
            ELSE 'active' END AS status,
       source_file, source_line, import_seq
FROM figures
ORDER BY customer_id, currency, priority, expiry_date NULLS LAST, effective_date, grant_id
