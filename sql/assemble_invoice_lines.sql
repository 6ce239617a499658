-- assemble_invoice_lines: invoice_lines.parquet (pipeline/billing/assemble.py; contract section 3).
--
-- Grain: one row per invoice line. Per invoice, in this order: each charge of the charge list in
-- force (its usage lines by group_key (group_rank), or its flat line, then its `minimum` top-up), the one-time
-- charges by (date, charge_id), the `commitment` top-up, the `discount` line. Sorted in that order:
-- the caller numbers them from 1 per invoice and adds the invoice's columns (Arrow, no second sort).
-- Inputs: charge_lines (sql/assemble_priced.sql), minimum_lines, one_time_t, totals_t, charge_key_t.
WITH lines AS (
    SELECT period_idx, 0 AS sec, pos, 0 AS sub, group_rank, CASE WHEN kind = 'flat' THEN c.model ELSE kind END
           AS line_type, c.charge_id, CASE WHEN kind = 'usage' THEN c.metric_id END AS metric_id, group_key,
           description, quantity, unit_price, amount, NULL::DATE AS service_day
    FROM charge_lines JOIN charge_key_t c USING (charge_key)
    UNION ALL
    SELECT period_idx, 0, pos, 1, 0, 'minimum', c.charge_id, NULL, '', description, 1, NULL, amount, NULL
    FROM minimum_lines JOIN charge_key_t c USING (charge_key)
    UNION ALL
    SELECT period_idx, 1, seq, 0, 0, 'one_time', charge_id, NULL, '', description, quantity, unit_price,
           amount, service_day
    FROM one_time_t
    UNION ALL
    SELECT period_idx, 2, 0, 0, 0, 'commitment', NULL, NULL, '', 'Minimum commitment', 1, NULL,
           commitment, NULL
    FROM totals_t WHERE commitment IS NOT NULL
    UNION ALL
    SELECT period_idx, 3, 0, 0, 0, 'discount', NULL, NULL, '', discount_description, 1, NULL,
           0 - discount_total, NULL
    FROM totals_t WHERE discount_description IS NOT NULL
)
SELECT period_idx, line_type, charge_id, metric_id, group_key, description, quantity, unit_price, amount,
       service_day
FROM lines
ORDER BY period_idx, sec, pos, sub, group_rank
