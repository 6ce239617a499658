-- price_percentage: the percentage rule of pipeline/rate/percentage.py over many rows at once: the
-- line's exact sum of per-event costs (sql/rate_percentage.sql), 0 without one; no single unit price.
-- Inputs: <rows> (row_id, charge_key, quantity, event_amount).
SELECT row_id, coalesce(event_amount, 0) AS exact, CAST(NULL AS DECIMAL(38, 12)) AS unit_price
FROM {{rows}}
